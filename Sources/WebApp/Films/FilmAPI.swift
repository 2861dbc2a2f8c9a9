// The films JSON API: make a project's film (recorded at once; a worker stitches it), read, list and
// delete films, and share one with a read-only link.

import Core
import Formats
import Web

enum FilmAPI {
    /// POST /api/projects/{id}/films {"transition": "cut"|"crossfade", "crossfadeMs"?: 200–2000, "size"?: "WxH"}
    static func make(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        let doc = try Field.jsonObject(Field.jsonBody(c.request))
        let body = doc.root
        if case let .object(pairs) = body,
            let unknown = pairs.first(where: { !["transition", "crossfadeMs", "size"].contains($0.0) })
        {
            throw InvalidInput(field: unknown.0, "is not a film setting (transition, crossfadeMs, size)")
        }
        guard let transition = body["transition"]?.stringValue.flatMap(Film.Transition.init(rawValue:)) else {
            throw InvalidInput(field: "transition", "must be cut or crossfade")
        }
        var crossfade: Int?
        if let value = body["crossfadeMs"], !value.isNull {
            guard case let .number(text) = value, let ms = Int(text), Films.crossfadeRange.contains(ms) else {
                throw InvalidInput(field: "crossfadeMs", "must be a whole number of milliseconds from 200 to 2000")
            }
            guard transition == .crossfade else {
                throw InvalidInput(field: "crossfadeMs", "is only for the crossfade transition")
            }
            crossfade = ms
        }
        var size: (width: Int, height: Int)?
        if let value = body["size"], !value.isNull {
            guard let text = value.stringValue else {
                throw InvalidInput(field: "size", "must be a string like 1280x720")
            }
            size = try Films.Request.size(text)
        }
        let film: Film
        do {
            film = try c.films.make(
                userID: user.id, projectID: project,
                request: .init(transition: transition, crossfadeMs: crossfade, size: size))
        } catch let refusal as Films.Refusal {
            throw refusal.httpError
        }
        return .json(.object([("filmId", .id(film.id))]), status: 202)
    }

    /// GET /api/films/{id}
    static func one(_ c: inout Context, id: ID<Film>) throws -> Response {
        let user = try c.requireUser()
        guard let film = try c.films.film(id: id, userID: user.id) else { throw HTTPError.notFound("No such film.") }
        return .json(json(film))
    }

    /// GET /api/projects/{id}/films — newest first, paged like the other lists.
    static func list(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.project(id: project, userID: user.id) != nil else {
            throw HTTPError.notFound("No such project.")
        }
        let request = try PageRequest.parse(c.request.query, list: .films, scope: project.rawValue, userID: user.id)
        let page = try c.films.list(projectID: project, userID: user.id, page: request)
        return .json(
            page.json(
                key: "films", next: page.next(\.id, list: .films, scope: project.rawValue, userID: user.id), json))
    }

    /// DELETE /api/films/{id} → 204
    static func delete(_ c: inout Context, id: ID<Film>) throws -> Response {
        let user = try c.requireUser()
        guard try c.films.delete(id: id, userID: user.id) else { throw HTTPError.notFound("No such film.") }
        return Response(status: 204)
    }

    /// POST /api/films/{id}/links {"expiresInHours"?: 1–2160 (default 168)} → 201 {"id", "url", "expiresAt"}
    static func createLink(_ c: inout Context, id: ID<Film>) throws -> Response {
        let user = try c.requireUser()
        let doc = try Field.jsonObject(Field.jsonBody(c.request))
        var hours = 168
        if let value = doc.root["expiresInHours"], !value.isNull {
            guard case let .number(text) = value, let n = Int(text), FilmLinks.hoursRange.contains(n) else {
                throw InvalidInput(field: "expiresInHours", "must be a whole number of hours from 1 to 2160 (90 days)")
            }
            hours = n
        }
        let (link, token) = try createdLink(c, filmID: id, user: user, hours: hours)
        return .json(
            .object([
                ("id", .id(link.id)), ("url", .string(Route.films(.sharedFilm(token: token)).path)),
                ("expiresAt", .string(link.expiresAt.iso)),
            ]), status: 201)
    }

    static func createdLink(_ c: Context, filmID: ID<Film>, user: User, hours: Int) throws -> (
        FilmLinks.Link, String
    ) {
        guard let film = try c.films.film(id: filmID, userID: user.id) else {
            throw HTTPError.notFound("No such film.")
        }
        guard film.status == .completed,
            let created = try FilmLinks(db: c.db).create(
                filmID: filmID, userID: user.id, hours: hours)
        else {
            throw HTTPError(409, "film_not_completed", "Only a completed film can be shared.")
        }
        return created
    }

    /// DELETE /api/film-links/{id} → 204
    static func revokeLink(_ c: inout Context, id: ID<FilmLink>) throws -> Response {
        let user = try c.requireUser()
        guard try FilmLinks(db: c.db).revoke(id: id, userID: user.id) != nil else {
            throw HTTPError.notFound("No such link.")
        }
        return Response(status: 204)
    }

    static func json(_ f: Film) -> JSON {
        let done = f.status == .completed
        return .object([
            ("id", .id(f.id)), ("projectId", .id(f.projectID)), ("status", .string(f.status.rawValue)),
            ("outOfDate", .bool(f.outOfDate)), ("transition", .string(f.transition.rawValue)),
            ("crossfadeMs", f.crossfadeMs.map { .int($0) } ?? .null),
            ("width", f.width.map { .int($0) } ?? .null), ("height", f.height.map { .int($0) } ?? .null),
            ("frameRate", .optional(f.frameRate)),
            ("durationSeconds", f.durationSeconds.map { .number(String(format: "%.3f", $0)) } ?? .null),
            ("bytes", f.bytes.map { .int($0) } ?? .null), ("reencoded", f.reencoded.map { .bool($0) } ?? .null),
            (
                "videoUrl",
                done && f.videoPath != nil ? .string(Route.films(.filmMedia(f.id, file: "film.mp4")).path) : .null
            ),
            (
                "posterUrl",
                done && f.posterPath != nil ? .string(Route.films(.filmMedia(f.id, file: "poster.webp")).path) : .null
            ),
            (
                "shots",
                .array(
                    f.shots.map {
                        .object([
                            ("videoId", .id($0.videoID)), ("generationId", .id($0.generationID)),
                            ("seconds", .number(String(format: "%.3f", $0.seconds))),
                        ])
                    })
            ),
            ("error", .optional(f.error)), ("createdAt", .string(f.createdAt.iso)),
            ("completedAt", .optional(f.completedAt?.iso)),
        ])
    }
}
