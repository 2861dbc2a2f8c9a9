// Film pages: "Make the film" (a plain form on the storyboard), the film's page (plays, downloads, says
// when it is out of date, refreshes itself while it is made), its history on the storyboard, read-only
// links, and the page such a link opens (no navigation into the app).

import Core
import Formats
import Web

enum FilmPages {
    /// POST /dashboard/projects/{id}/films (`transition`, `crossfade_ms`, `size`).
    static func make(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        let form = try c.form()
        guard let transition = form["transition"].flatMap(Film.Transition.init(rawValue:)) else {
            throw InvalidInput(field: "transition", "must be cut or crossfade")
        }
        var crossfade: Int?
        if transition == .crossfade {
            guard let ms = form["crossfade_ms"].flatMap({ Int($0) }), Films.crossfadeRange.contains(ms) else {
                throw InvalidInput(field: "crossfade_ms", "must be a whole number of milliseconds from 200 to 2000")
            }
            crossfade = ms
        }
        let sizeText = form["size"] ?? ""
        let size = sizeText.isEmpty ? nil : try Films.Request.size(sizeText)
        do {
            let film = try c.films.make(
                userID: user.id, projectID: project,
                request: .init(transition: transition, crossfadeMs: crossfade, size: size))
            c.setFlash("The film is being made; this page follows it.")
            return .redirect(to: Route.films(.film(film.id)).path)
        } catch let refusal as Films.Refusal {
            if case .noSuchProject = refusal { throw refusal.httpError }
            c.setFlash(refusal.httpError.publicMessage)
            return .redirect(to: Route.storyboards(.storyboard(project)).path + "#films")
        }
    }

    /// The storyboard's film section: the form, and the film history (newest first).
    static func section(_ c: Context, project: Project, user: User) throws -> HTML {
        let films = try c.films.list(
            projectID: project.id, userID: user.id,
            page: PageRequest.parse([:], list: .films, scope: 0, userID: user.id))
        let rows: [HTML] = films.items.map { f in
            let state: HTML =
                f.outOfDate && f.status == .completed ? " <span class=\"muted\">(out of date)</span>" : .empty
            return """
                <li><a href="\(Route.films(.film(f.id)).path)">Film \(f.id)</a> \(statusBadge(f.status))\(state) · \(f.shots.count) shots · \(f.transition.rawValue)\(f.durationSeconds.map { " · \(Formatting.seconds($0))" } ?? "") · \(Views.when(f.createdAt)) · by \(VideoPages.starter(f.startedBy, mine: f.userID == user.id))</li>
                """
        }
        let history: HTML = rows.isEmpty ? "<p class=\"muted\">No film yet.</p>" : "<ul>\(rows)</ul>"
        return """
            <section aria-labelledby="films" class="films"><h2 id="films">The film</h2>
            \(project.role.canEdit ? makeForm(c, project: project) : .empty)
            <h3>Films of this storyboard</h3>\(history)</section>
            """
    }

    static func makeForm(_ c: Context, project: Project) -> HTML {
        """
        <form method="post" action="\(Route.films(.makeFilm(project: project.id)).path)" class="settings">\(Views.csrfField(c))
        <fieldset><legend>Between shots</legend>
        <label class="choice"><input type="radio" name="transition" value="cut" checked> Cut</label>
        <label class="choice"><input type="radio" name="transition" value="crossfade"> Crossfade</label></fieldset>
        <label for="crossfade_ms">Crossfade length (ms, 200–2000)</label>
        <input id="crossfade_ms" name="crossfade_ms" type="number" min="200" max="2000" step="100" value="500" class="short">
        <label for="size">Size (WIDTHxHEIGHT; empty: the size most shots have)</label>
        <input id="size" name="size" type="text" pattern="[0-9]{2,4}x[0-9]{2,4}" placeholder="1280x720" class="short">
        <button type="submit" class="primary">Make the film</button>
        <small>Stitches each shot’s chosen take in this order. Shots of other sizes are scaled and padded, never stretched.</small>
        </form>
        """
    }

    /// "24/1" as 24, "30000/1001" as 29.97.
    static func frames(_ rate: String?) -> String {
        let parts = (rate ?? "").split(separator: "/").compactMap { Double($0) }
        guard let first = parts.first else { return "?" }
        let value = parts.count == 2 && parts[1] > 0 ? first / parts[1] : first
        return value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }

    static func statusBadge(_ s: Film.Status) -> HTML {
        "<span class=\"badge badge-\(s == .running ? "in_progress" : s.rawValue)\">\(s.rawValue)</span>"
    }

    /// GET /dashboard/films/{id}
    static func show(_ c: inout Context, id: ID<Film>) throws -> Response {
        let user = try c.requireUser()
        guard let f = try c.films.film(id: id, userID: user.id) else { throw HTTPError.notFound("No such film.") }
        let refresh = AutoRefresh(c, page: .films(.film(id)), every: 3, while: f.isActive)
        let state: HTML
        switch f.status {
        case .queued, .running:
            state = """
                <p role="status" class="lead">\(f.status == .queued ? "Waiting for a worker" : "Being stitched") — \(f.shots.count) shots, about \(Formatting.seconds(f.expectedSeconds)).</p>
                \(refresh.map(Views.refreshControl) ?? .empty)
                """
        case .failed:
            state = "<p class=\"error\" role=\"alert\">\(f.error ?? "The film could not be made.")</p>"
        case .completed:
            let poster: HTML =
                f.posterPath != nil ? " poster=\"\(Route.films(.filmMedia(id, file: "poster.webp")).path)\"" : .empty
            let video = Route.films(.filmMedia(id, file: "film.mp4")).path
            state = """
                <video controls preload="metadata" src="\(video)"\(poster)>Your browser cannot play this video; use Download.</video>
                <p><a class="button" href="\(video)?download=1" download>Download the film</a></p>
                <p class="muted">\(f.width ?? 0)×\(f.height ?? 0) · \(frames(f.frameRate)) fps · \(Formatting.seconds(f.durationSeconds ?? 0)) · \(Formatting.bytes(f.bytes ?? 0)) · \(f.reencoded == true ? "shots normalised and encoded once" : "joined without re-encoding")</p>
                """
        }
        let outOfDate: HTML =
            f.outOfDate
            ? "<p class=\"notice\" role=\"note\">Out of date: the storyboard’s order or a chosen take changed since this film was asked for. <a href=\"\(Route.storyboards(.storyboard(f.projectID)).path)#films\">Make it again</a> (this one stays until you delete it).</p>"
            : .empty
        let shots: [HTML] = f.shots.map { s in
            "<li><a href=\"\(Route.generations(.generation(s.generationID)).path)\">\(s.title)</a> · \(Formatting.seconds(s.seconds))</li>"
        }
        let canEdit = try Members(db: c.db).role(projectID: f.projectID, userID: user.id)?.canEdit == true
        let links = f.status == .completed && canEdit ? try linksSection(c, film: f, user: user) : .empty
        let body: HTML = """
            \(Breadcrumbs.project(id: f.projectID, name: f.projectName).html)
            <h1>Film \(f.id) of “\(f.projectName)” \(statusBadge(f.status))</h1>
            \(outOfDate)\(state)
            <h2>Shots</h2><p class="muted">\(f.transition == .crossfade ? "Crossfades of \(f.crossfadeMs ?? 0) ms" : "Cuts") between shots; asked for \(Views.when(f.createdAt)) by \(VideoPages.starter(f.startedBy, mine: f.userID == user.id)).</p><ol>\(shots)</ol>
            \(links)
            \(canEdit ? "<form method=\"post\" action=\"\(Route.films(.deleteFilm(id)).path)\">\(Views.csrfField(c))<button type=\"submit\" class=\"danger\">Delete this film</button></form>" as HTML : .empty)
            <p><a href="\(Route.storyboards(.storyboard(f.projectID)).path)">Back to the storyboard</a></p>
            """
        return .html(Views.layout("Film \(f.id)", c, body: body, refresh: refresh))
    }

    static func linksSection(_ c: Context, film: Film, user: User) throws -> HTML {
        let links = try FilmLinks(db: c.db).list(filmID: film.id, userID: user.id)
        let rows: [HTML] = links.map { l in
            let state: HTML =
                l.revoked ? "revoked" : l.expired ? "expired" : "works until \(Views.when(l.expiresAt))"
            let revoke: HTML =
                l.revoked || l.expired
                ? .empty
                : "<form method=\"post\" action=\"\(Route.films(.revokeFilmLink(l.id)).path)\" class=\"inline\">\(Views.csrfField(c))<button type=\"submit\" class=\"link\">Revoke</button></form>"
            return "<li>Link \(l.id), made \(Views.when(l.createdAt)): \(state) \(revoke)</li>"
        }
        return """
            <section aria-labelledby="links-title"><h2 id="links-title">Share a read-only link</h2>
            <p class="muted">Anyone with the link can play and download this film, and nothing else, until it expires or you revoke it. The link is shown once.</p>
            \(rows.isEmpty ? HTML.empty : "<ul>\(rows)</ul>")
            <form method="post" action="\(Route.films(.filmLinks(film.id)).path)">\(Views.csrfField(c))
            <label for="hours">Expires after</label>
            <select id="hours" name="hours"><option value="24">1 day</option><option value="168" selected>7 days</option><option value="720">30 days</option><option value="2160">90 days</option></select>
            <button type="submit" class="secondary">Make a link</button></form></section>
            """
    }

    /// POST /dashboard/films/{id}/delete
    static func delete(_ c: inout Context, id: ID<Film>) throws -> Response {
        let user = try c.requireUser()
        guard let film = try c.films.film(id: id, userID: user.id), try c.films.delete(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such film.")
        }
        c.setFlash("Film \(id) deleted.")
        return .redirect(to: Route.storyboards(.storyboard(film.projectID)).path + "#films")
    }

    /// POST /dashboard/films/{id}/links (`hours`): shows the new link once.
    static func createLink(_ c: inout Context, id: ID<Film>) throws -> Response {
        let user = try c.requireUser()
        guard let hours = try c.form()["hours"].flatMap({ Int($0) }), FilmLinks.hoursRange.contains(hours) else {
            throw InvalidInput(field: "hours", "must be a whole number of hours from 1 to 2160")
        }
        let (link, token) = try FilmAPI.createdLink(c, filmID: id, user: user, hours: hours)
        let url = Route.films(.sharedFilm(token: token)).path
        let body: HTML = """
            <h1>A read-only link to film \(id)</h1>
            <p>Copy it now: it is not shown again. It works until \(Views.when(link.expiresAt)).</p>
            <p><input type="text" readonly value="\(url)" aria-label="The link" class="wide"></p>
            <p><a href="\(Route.films(.film(id)).path)">Back to the film</a></p>
            """
        return .html(Views.layout("Link to film \(id)", c, body: body), status: 201)
    }

    /// POST /dashboard/film-links/{id}/revoke
    static func revokeLink(_ c: inout Context, id: ID<FilmLink>) throws -> Response {
        let user = try c.requireUser()
        guard let film = try FilmLinks(db: c.db).revoke(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such link.")
        }
        c.setFlash("Link revoked: it no longer opens the film.")
        return .redirect(to: Route.films(.film(film)).path)
    }

    /// GET /media/films/{id}/{file}: the owner's film files (nginx sends them, with Range).
    static func media(_ c: inout Context, id: ID<Film>, file: String) throws -> Response {
        let user = try c.requireUser()
        guard let film = try c.films.film(id: id, userID: user.id) else { throw HTTPError.notFound("No such file.") }
        return try serve(c, film: film, file: file)
    }

    static func serve(_ c: Context, film: Film, file: String, shared: Bool = false) throws -> Response {
        let path: String?
        let type: String
        switch file {
        case "film.mp4": (path, type) = (film.videoPath, "video/mp4")
        case "poster.webp": (path, type) = (film.posterPath, "image/webp")
        case "spritesheet.jpg": (path, type) = (film.spritesheetPath, "image/jpeg")
        default: (path, type) = (nil, "")
        }
        guard film.status == .completed, let path else { throw HTTPError.notFound("No such file.") }
        let disposition =
            c.request.query["download"] == "1" && file == "film.mp4"
            ? Media.attachment(name: film.projectName, suffix: "film-\(film.id)", ext: "mp4") : nil
        return try Media.deliver(
            c, store: film.mediaStore, key: path, contentType: type, disposition: disposition, shared: shared)
    }

    /// GET /shared/films/{token}: the film and its download, for anyone holding a live link; nothing else of the app.
    static func shared(_ c: inout Context, token: String) throws -> Response {
        guard let film = try FilmLinks(db: c.db).film(token: token) else {
            throw HTTPError.notFound("This link does not open a film: it may have expired or been revoked.")
        }
        let video = Route.films(.sharedFilmMedia(token: token, file: "film.mp4")).path
        let poster: HTML =
            film.posterPath != nil
            ? " poster=\"\(Route.films(.sharedFilmMedia(token: token, file: "poster.webp")).path)\"" : .empty
        let main: HTML = """
            <h1>\(film.projectName)</h1>
            <video controls preload="metadata" src="\(video)"\(poster)>Your browser cannot play this video; use Download.</video>
            <p><a class="button" href="\(video)?download=1" download>Download</a> <span class="muted">\(Formatting.seconds(film.durationSeconds ?? 0)) · \(Formatting.bytes(film.bytes ?? 0))</span></p>
            """
        var response = Response.html(Views.sharedDocument(film.projectName, main: main))
        response.addHeader("X-Robots-Tag", "noindex")
        return response
    }

    static func sharedMedia(_ c: inout Context, token: String, file: String) throws -> Response {
        guard let film = try FilmLinks(db: c.db).film(token: token) else { throw HTTPError.notFound("No such file.") }
        return try serve(c, film: film, file: file, shared: true)
    }
}
