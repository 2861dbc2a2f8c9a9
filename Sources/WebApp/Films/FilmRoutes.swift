// The films area's routes: making a project's film, its page and media, its history, and read-only links.

package import Core
import Web

package enum FilmRoute: Equatable, Sendable {
    /// POST: make the project's film (the form's transition, crossfade and size).
    case makeFilm(project: ID<Project>)
    case film(ID<Film>)
    /// POST: delete the film and its files.
    case deleteFilm(ID<Film>)
    /// POST: a new read-only link (the form's expiry in hours).
    case filmLinks(ID<Film>)
    /// POST: revoke a link.
    case revokeFilmLink(ID<FilmLink>)
    /// A film's stored file (owner only): `film.mp4`, `poster.webp`, `spritesheet.jpg`.
    case filmMedia(ID<Film>, file: String)
    /// The page a read-only link opens (no account, no navigation into the app), and its files.
    case sharedFilm(token: String)
    case sharedFilmMedia(token: String, file: String)
    case apiProjectFilms(project: ID<Project>)
    case apiFilm(ID<Film>)
    case apiFilmLinks(ID<Film>)
    case apiFilmLink(ID<FilmLink>)

    static let files = Films.fileNames

    init?(_ p: PathParts) {
        if p.segments.count >= 3, p.segments[0] == "shared", p.segments[1] == "films",
            p.segments[2].utf8.count == 43,
            p.segments[2].utf8.allSatisfy({
                $0 == 0x2D || $0 == 0x5F || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0)
                    || (0x61...0x7A).contains($0)
            })
        {
            switch p.segments.count {
            case 3: self = .sharedFilm(token: p.segments[2])
            case 4 where Self.files.contains(p.segments[3]):
                self = .sharedFilmMedia(token: p.segments[2], file: p.segments[3])
            default: return nil
            }
            return
        }
        guard let (a, b, value, rest) = p.withID else { return nil }
        switch (a, b, rest) {
        case ("dashboard", "projects", ["films"]): self = .makeFilm(project: ID(value))
        case ("dashboard", "films", []): self = .film(ID(value))
        case ("dashboard", "films", ["delete"]): self = .deleteFilm(ID(value))
        case ("dashboard", "films", ["links"]): self = .filmLinks(ID(value))
        case ("dashboard", "film-links", ["revoke"]): self = .revokeFilmLink(ID(value))
        case ("media", "films", let r) where r.count == 1 && Self.files.contains(r[0]):
            self = .filmMedia(ID(value), file: r[0])
        case ("api", "projects", ["films"]): self = .apiProjectFilms(project: ID(value))
        case ("api", "films", []): self = .apiFilm(ID(value))
        case ("api", "films", ["links"]): self = .apiFilmLinks(ID(value))
        case ("api", "film-links", []): self = .apiFilmLink(ID(value))
        default: return nil
        }
    }

    var path: String {
        switch self {
        case let .makeFilm(project): "/dashboard/projects/\(project)/films"
        case let .film(id): "/dashboard/films/\(id)"
        case let .deleteFilm(id): "/dashboard/films/\(id)/delete"
        case let .filmLinks(id): "/dashboard/films/\(id)/links"
        case let .revokeFilmLink(id): "/dashboard/film-links/\(id)/revoke"
        case let .filmMedia(id, file): "/media/films/\(id)/\(file)"
        case let .sharedFilm(token): "/shared/films/\(token)"
        case let .sharedFilmMedia(token, file): "/shared/films/\(token)/\(file)"
        case let .apiProjectFilms(project): "/api/projects/\(project)/films"
        case let .apiFilm(id): "/api/films/\(id)"
        case let .apiFilmLinks(id): "/api/films/\(id)/links"
        case let .apiFilmLink(id): "/api/film-links/\(id)"
        }
    }

    /// The project record the route names and the least role `method` needs (nil: a shared link, no account).
    func access(_ method: HTTPMethod) -> AccessNeed? {
        switch self {
        case .sharedFilm, .sharedFilmMedia: nil
        case let .makeFilm(id): AccessNeed(.project(id), .editor)
        case let .apiProjectFilms(id): .reading(.project(id), method)
        case let .film(id), let .filmMedia(id, _), let .apiFilm(id): .reading(.film(id), method)
        case let .deleteFilm(id), let .filmLinks(id), let .apiFilmLinks(id): AccessNeed(.film(id), .editor)
        case let .revokeFilmLink(id), let .apiFilmLink(id): AccessNeed(.filmLink(id), .editor)
        }
    }

    var handlers: [HTTPMethod: App.Handler] {
        switch self {
        case let .makeFilm(project): [.post: { try FilmPages.make(&$0, project: project) }]
        case let .film(id): [.get: { try FilmPages.show(&$0, id: id) }]
        case let .deleteFilm(id): [.post: { try FilmPages.delete(&$0, id: id) }]
        case let .filmLinks(id): [.post: { try FilmPages.createLink(&$0, id: id) }]
        case let .revokeFilmLink(id): [.post: { try FilmPages.revokeLink(&$0, id: id) }]
        case let .filmMedia(id, file): [.get: { try FilmPages.media(&$0, id: id, file: file) }]
        case let .sharedFilm(token): [.get: { try FilmPages.shared(&$0, token: token) }]
        case let .sharedFilmMedia(token, file): [.get: { try FilmPages.sharedMedia(&$0, token: token, file: file) }]
        case let .apiProjectFilms(project):
            [.get: { try FilmAPI.list(&$0, project: project) }, .post: { try FilmAPI.make(&$0, project: project) }]
        case let .apiFilm(id): [.get: { try FilmAPI.one(&$0, id: id) }, .delete: { try FilmAPI.delete(&$0, id: id) }]
        case let .apiFilmLinks(id): [.post: { try FilmAPI.createLink(&$0, id: id) }]
        case let .apiFilmLink(id): [.delete: { try FilmAPI.revokeLink(&$0, id: id) }]
        }
    }
}
