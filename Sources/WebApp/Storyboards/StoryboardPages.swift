// A project as a storyboard (issue 23): its shots in order on the project page, moved with plain forms,
// and each shot's chosen take (the one the film uses), chosen on the video and takes pages.

import Core
import Web

enum StoryboardPages {
    /// Projects up to this many shots show their storyboard (a larger one is a library, not a sequence).
    static let shownShots = 200

    /// GET /dashboard/projects/{id}/storyboard: the project's shots in order (its page keeps the searchable
    /// list of its videos).
    static func show(_ c: inout Context, project id: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        guard let project = try c.store.project(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such project.")
        }
        let latest: HTML =
            try Batch.latestClick(projectID: id, userID: user.id, db: c.db).map {
                " · <a href=\"\(Route.storyboards(.batch(ID($0))).path)\">The latest click’s progress</a>"
            } ?? .empty
        let actions: HTML =
            project.videoCount > 0 && project.role.canEdit
            ? "<p><a class=\"button\" href=\"\(Route.storyboards(.generateShots(id)).path)\">Generate shots</a>\(latest)</p>"
            : .empty
        let body: HTML = """
            \(Breadcrumbs.project(id: project.id, name: project.name).html)
            <h1>Storyboard of “\(project.name)”</h1>
            \(actions)
            \(try section(c, project: project, user: user))
            \(project.videoCount > 0 ? try FilmPages.section(c, project: project, user: user) : HTML.empty)
            """
        return .html(Views.layout("Storyboard of \(project.name)", c, body: body))
    }

    /// The storyboard: order, the chosen take's poster and length, the latest status, the running time, and
    /// forms to move each shot.
    static func section(_ c: Context, project: Project, user: User) throws -> HTML {
        guard project.videoCount > 0 else { return "<p class=\"muted\">No shots yet: add videos to the project.</p>" }
        guard project.videoCount <= Int64(shownShots) else {
            return """
                <p class="muted">This project has \(project.videoCount) videos; the storyboard shows projects of up to \(shownShots) shots (the API orders any number: <code>PATCH /api/videos/{id}</code> with <code>position</code>).</p>
                """
        }
        let shots = try c.store.storyboard(projectID: project.id, userID: user.id, limit: shownShots)
        let total = shots.compactMap(\.seconds).reduce(0, +)
        let missing = shots.filter { $0.seconds == nil }.count
        let rows: [HTML] = shots.map { shot in
            let v = shot.video
            let thumb = Views.thumbnail(shot.hasThumbnail ? v.chosenGenerationID : nil)
            let length: HTML =
                shot.seconds.map { "\(Formatting.seconds($0))" } ?? "<span class=\"muted\">no take yet</span>"
            let status = Views.latestBadge(v)
            let move = Route.storyboards(.moveVideo(v.id)).path
            func button(_ label: String, _ to: Int, _ name: String) -> HTML {
                guard project.role.canEdit, to >= 1, to <= shots.count, to != v.position else { return .empty }
                return """
                    <form method="post" action="\(move)" class="inline">\(Views.csrfField(c))<input type="hidden" name="position" value="\(to)"><button type="submit" class="secondary" aria-label="\(name) “\(v.title)”">\(label)</button></form>
                    """
            }
            return """
                <tr><td>\(v.position)</td><td>\(thumb)</td><td><a href="\(Route.library(.video(v.id)).path)">\(v.title)</a></td>
                <td>\(length)</td><td>\(status)</td>
                <td>\(button("↑", v.position - 1, "Move up")) \(button("↓", v.position + 1, "Move down"))
                \(project.role.canEdit ? "<form method=\"post\" action=\"\(move)\" class=\"inline\">\(Views.csrfField(c))<input id=\"position-\(v.id)\" name=\"position\" type=\"number\" min=\"1\" max=\"\(shots.count)\" value=\"\(v.position)\" class=\"short\" aria-label=\"Position of “\(v.title)”\"> <button type=\"submit\" class=\"link\">Move</button></form>" as HTML : "<span class=\"muted\">—</span>")</td></tr>
                """
        }
        let running: HTML =
            missing == 0
            ? "Running time \(Formatting.seconds(total))."
            : "Running time \(Formatting.seconds(total)) so far; \(missing) shot\(missing == 1 ? " has" : "s have") no completed take yet."
        return """
            <p id="storyboard">\(running)</p>
            <table class="history"><thead><tr><th scope="col">Shot</th><th scope="col"><span class="visually-hidden">Poster</span></th><th scope="col">Video</th>
            <th scope="col">Chosen take</th><th scope="col">Latest</th><th scope="col">Order</th></tr></thead><tbody>\(rows)</tbody></table>
            """
    }

    /// POST /dashboard/videos/{id}/move (`position`).
    static func move(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let position = try c.form()["position"].flatMap({ Int($0) }) else {
            throw InvalidInput(field: "position", "must be a whole number")
        }
        let video = try c.library.moveVideo(id: id, user: user, to: position)
        c.setFlash("“\(video.title)” is now shot \(video.position).")
        return .redirect(to: Route.storyboards(.storyboard(video.projectID)).path)
    }

    /// POST /dashboard/videos/{id}/chosen-take (`generation_id`).
    static func chooseTake(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let generation = try c.form()["generation_id"].flatMap({ Int64($0) }) else {
            throw InvalidInput(field: "generation_id", "must be a completed generation of this video")
        }
        let video = try c.library.chooseTake(videoID: id, user: user, generationID: ID(generation))
        c.setFlash("The film will use this take for “\(video.title)”.")
        return .redirect(to: Route.library(.video(id)).path)
    }

    /// On a completed take: "In the film" for the chosen one, else the form that chooses it.
    static func chooseAction(_ c: Context, _ g: Generation, chosen: ID<Generation>?) -> HTML {
        guard g.status == .completed, let video = g.videoID else { return .empty }
        if g.id == chosen { return "<strong class=\"chosen\">In the film</strong>" }
        return """
            <form method="post" action="\(Route.storyboards(.chooseTake(video)).path)" class="inline">\(Views.csrfField(c))<input type="hidden" name="generation_id" value="\(g.id)"><button type="submit" class="secondary">Use in the film</button></form>
            """
    }
}
