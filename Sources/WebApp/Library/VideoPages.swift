// Writing and saving a video prompt, and the saved video's page.

import Core
import Postgres
import Telemetry
import Web

enum VideoPages {
    struct Draft {
        var title = "", brief = "", finalPrompt = "", preset = ""
        /// The version of the video the edit form started from (its ETag).
        var etag = ""

        /// What the new-video and edit forms sent.
        static func sent(_ f: Form) -> Draft {
            Draft(
                title: f["title"] ?? "", brief: f["brief"] ?? "", finalPrompt: f["final_prompt"] ?? "",
                preset: f["preset"] ?? "", etag: f["etag"] ?? "")
        }
    }

    /// An empty choice means no preset; anything else must name one.
    static func checkedPreset(_ name: String?, db: Connection) throws -> String? {
        guard let name, !name.isEmpty else { return nil }
        guard try RoundtableStore(db: db).presets().contains(where: { $0.name == name }) else {
            throw InvalidInput(field: "preset", "no preset named \(name)")
        }
        return name
    }

    static func newForm(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        guard let p = try c.store.project(id: project, userID: user.id) else {
            throw HTTPError.notFound("No such project.")
        }
        return try form(c, project: p, draft: Draft(), error: nil, status: 200)
    }

    static func create(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        guard let p = try c.store.project(id: project, userID: user.id) else {
            throw HTTPError.notFound("No such project.")
        }
        let f = try c.form()
        let draft = Draft.sent(f)
        do {
            let fields = try validated(title: draft.title, brief: draft.brief, finalPrompt: draft.finalPrompt)
            let preset = try checkedPreset(draft.preset, db: c.db)
            guard
                let video = try c.store.createVideo(
                    projectID: project, userID: user.id, title: fields.title,
                    brief: fields.brief, finalPrompt: fields.finalPrompt, preset: preset)
            else {
                throw HTTPError.notFound("No such project.")
            }
            c.setFlash("Video saved.")
            return .redirect(to: Route.library(.video(video.id)).path)
        } catch let error as InvalidInput {
            return try form(c, project: p, draft: draft, error: error.description, status: 422)
        }
    }

    static func validated(title: String?, brief: String?, finalPrompt: String?) throws(InvalidInput) -> Draft {
        Draft(
            title: try Field.text(title, name: "title", max: 200, required: true),
            brief: try Field.text(brief, name: "brief", max: 10000, required: false),
            finalPrompt: try Field.text(finalPrompt, name: "final_prompt", max: 32000, required: false))
    }

    /// `imageError`: a refused reference-image upload, shown in its section with the refusal's status.
    static func show(_ c: inout Context, id: ID<Video>, imageError: HTTPError? = nil) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: id, userID: user.id) else { throw HTTPError.notFound("No such video.") }
        let page = try c.generations.store.history(
            videoID: id, userID: user.id,
            page: PageRequest.forPage(c.request.query, list: .generations, scope: id.rawValue, userID: user.id))
        let history = page.items
        let latestTakes = try c.generations.store.latestTakes(videoID: id, userID: user.id) ?? []
        let brief: HTML = video.brief.isEmpty ? .empty : "<h2>Brief</h2><p class=\"prewrap\">\(video.brief)</p>"
        let prompt: HTML =
            video.finalPrompt.isEmpty
            ? "<p class=\"muted\">No final prompt yet.</p>"
            : "<pre class=\"prompt\">\(video.finalPrompt)</pre>"
        let action: HTML
        if !video.role.canEdit {
            action =
                "<p class=\"muted\">You are a viewer of this project: you can watch and download its videos; editors change and generate them.</p>"
        } else if video.finalPrompt.isEmpty {
            action =
                "<p class=\"notice\" role=\"note\">To generate this video, it needs a final prompt: the exact text sent to Sora. Draft one with the roundtable below.</p>"
        } else if try c.generations.store.hasActive(videoID: video.id, userID: user.id) {
            action =
                "<p><a class=\"button\" href=\"\(Route.generations(.latestGeneration(video: video.id)).path)\">Watch the generation in progress</a></p>"
        } else {
            let label = latestTakes.isEmpty ? "Generate with Sora" : "Generate again"
            action =
                "<p><a class=\"button primary\" href=\"\(Route.generations(.generateVideo(video: video.id)).path)\">\(label)</a></p>"
        }
        let rows: [HTML] = history.map { g in
            let thumb: HTML =
                g.thumbnailURL.map { "<img src=\"\($0)\" alt=\"\" width=\"96\" height=\"54\">" }
                ?? "<span class=\"thumb-empty\" aria-hidden=\"true\"></span>"
            return """
                <tr><td>\(thumb)</td><td><a href="\(Route.generations(.generation(g.id)).path)">\(GenerationPages.settingsSummary(g))</a>\(earlierPrompt(g, current: video.finalPrompt))\(GenerationPages.referenceNote(g))</td>
                <td>\(Views.statusBadge(g.status))</td><td>\(g.cost.display)\(g.possiblyBilled ? " (possibly billed)" : "")\(GenerationPages.gpuCostNote(g))</td>
                <td>\(starter(g.startedBy, mine: g.userID == user.id))</td><td>\(Views.when(g.createdAt))</td></tr>
                """
        }
        let historyHTML: HTML =
            history.isEmpty
            ? "<p class=\"muted\">Not generated yet.</p>"
            : """
            <table class="history"><thead><tr><th scope="col"><span class="visually-hidden">Thumbnail</span></th><th scope="col">Settings</th>
            <th scope="col">Status</th><th scope="col">Cost</th><th scope="col">Started by</th><th scope="col">When</th></tr></thead><tbody>\(rows)</tbody></table>
            """
                + page.links(
                    path: Route.library(.video(id)).path, \.id, list: .generations, scope: id.rawValue, userID: user.id)
        let body: HTML = """
            \(Breadcrumbs.project(id: video.projectID, name: video.projectName).html)
            <h1>\(video.title)</h1>
            \(video.role.canEdit ? editActions(c, video) : .empty)\(brief)
            <h2>Final prompt</h2>\(prompt)
            \(action)
            \(try ReferencePages.videoSection(c, video: video, user: user, error: imageError?.publicMessage))
            \(latestTakes.isEmpty ? .empty : try GenerationPages.takesSection(c, takes: latestTakes, video: video))
            <h2>Generations</h2>\(historyHTML)
            \(try RoundtablePages.videoSection(c, video: video, user: user))
            <p class="muted">Saved \(Views.when(video.createdAt))</p>
            """
        return .html(Views.layout(video.title, c, body: body), status: imageError?.status ?? 200)
    }

    static func editActions(_ c: Context, _ video: Video) -> HTML {
        """
        <div class="actions"><a href="\(Route.library(.editVideo(video.id)).path)">Edit</a>
        <form method="post" action="\(Route.library(.copyVideo(video.id)).path)" class="inline">\(Views.csrfField(c))<button type="submit" class="link">Save as new video</button></form>
        <a href="\(Route.library(.deleteVideo(video.id)).path)">Delete…</a></div>
        """
    }

    /// Who started a generation, roundtable or film: "you", or the teammate's email.
    static func starter(_ email: String?, mine: Bool) -> HTML {
        mine ? "you" : "\(email ?? "another member")"
    }

    /// For a generation made with another prompt than the video's current one: says so and shows it.
    static func earlierPrompt(_ g: Generation, current: String) -> HTML {
        guard g.prompt != current else { return .empty }
        return """
            <details class="earlier-prompt"><summary>Made with an earlier prompt</summary><pre class="prompt">\(g.prompt)</pre></details>
            """
    }

    // MARK: Editing, copying, deleting

    /// GET /dashboard/videos/{id}/edit
    static func editForm(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: id, userID: user.id) else { throw HTTPError.notFound("No such video.") }
        let draft = Draft(
            title: video.title, brief: video.brief, finalPrompt: video.finalPrompt, preset: video.preset ?? "",
            etag: video.etag)
        return try editPage(c, video: video, draft: draft, error: nil, status: 200)
    }

    /// POST /dashboard/videos/{id}/edit: title, brief, preset and final prompt (a changed prompt is kept as
    /// a version; past generations keep the prompt they were made with).
    static func update(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: id, userID: user.id) else { throw HTTPError.notFound("No such video.") }
        let f = try c.form()
        let draft = Draft.sent(f)
        do {
            let fields = try validated(title: draft.title, brief: draft.brief, finalPrompt: draft.finalPrompt)
            let preset = try checkedPreset(draft.preset, db: c.db)
            // Browsers send a textarea's line breaks as CRLF: a text saved untouched is left as it was.
            let changes = Library.VideoChanges(
                title: fields.title,
                brief: fields.brief.unifiedNewlines == video.brief.unifiedNewlines ? nil : fields.brief.unifiedNewlines,
                finalPrompt: fields.finalPrompt.unifiedNewlines == video.finalPrompt.unifiedNewlines
                    ? nil : fields.finalPrompt.unifiedNewlines,
                preset: .some(preset))
            _ = try c.library.updateVideo(
                id: id, user: user, changes: changes, ifMatch: draft.etag.isEmpty ? nil : draft.etag)
            c.setFlash("Saved.")
            return .redirect(to: Route.library(.video(id)).path)
        } catch let error as InvalidInput {
            return try editPage(c, video: video, draft: draft, error: error.description, status: 422)
        } catch let stale as StaleVideo {
            return try editPage(c, video: stale.current, draft: draft, error: nil, status: 412, theirs: stale.current)
        }
    }

    /// `theirs`: the version someone else saved while this form was open; it is shown beside the user's, and the
    /// form now carries its ETag, so saving again replaces it knowingly.
    static func editPage(
        _ c: Context, video: Video, draft: Draft, error: String?, status: Int, theirs: Video? = nil
    ) throws -> Response {
        let presets: [HTML] = try RoundtableStore(db: c.db).presets().map { p in
            "<option value=\"\(p.name)\"\(p.name == draft.preset ? " selected" : "")>\(p.displayName)</option>"
        }
        let body: HTML = """
            \(Breadcrumbs.video(video).html)
            <h1>Edit “\(video.title)”</h1>\(Views.errorBox(error))\(theirs.map(conflict) ?? .empty)
            <form method="post" action="\(Route.library(.editVideo(video.id)).path)">\(Views.csrfField(c))
            <input type="hidden" name="etag" value="\(theirs?.etag ?? draft.etag)">
            \(Views.textField("Title", name: "title", value: draft.title, required: true, maxLength: 200))
            \(Views.textArea("Brief", name: "brief", value: draft.brief, rows: 3, maxLength: 10000))
            <label for="preset">Style preset</label>
            <select id="preset" name="preset"><option value="">None</option>\(presets)</select>
            \(Views.textArea("Final prompt", name: "final_prompt", value: draft.finalPrompt, rows: 8, maxLength: 32000, hint: "The exact text sent to Sora. Past generations keep the prompt they were made with."))
            <button type="submit">Save</button> <a href="\(Route.library(.video(video.id)).path)">Cancel</a></form>
            """
        return .html(Views.layout("Edit video", c, body: body), status: status)
    }

    /// Someone else's version, saved while the user edited: what it says now, above the form that still holds
    /// the user's own text.
    static func conflict(_ theirs: Video) -> HTML {
        let preset: HTML = theirs.preset.map { "<dt>Style preset</dt><dd>\($0)</dd>" } ?? .empty
        return """
            <div class="error" role="alert"><p>Someone else changed this video while you were editing it, so nothing was \
            saved. Their version is below; the form still holds yours. Save again to replace theirs with yours.</p>
            <dl><dt>Title</dt><dd>\(theirs.title)</dd><dt>Brief</dt><dd class="prewrap">\(theirs.brief)</dd>\(preset)
            <dt>Final prompt</dt><dd><pre class="prompt">\(theirs.finalPrompt)</pre></dd></dl></div>
            """
    }

    /// POST /dashboard/videos/{id}/copy: "Save as new video", then open the copy.
    static func copy(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        let copy = try c.library.copyVideo(id: id, user: user)
        c.setFlash("Saved as a new video; the original is unchanged.")
        return .redirect(to: Route.library(.video(copy.id)).path)
    }

    /// GET /dashboard/videos/{id}/delete: what goes, and the button (or why it cannot go now).
    static func confirmDelete(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: id, userID: user.id),
            let summary = try c.store.deletionSummary(videoID: id, userID: user.id)
        else { throw HTTPError.notFound("No such video.") }
        return deletePage(c, video: video, summary: summary, refusal: summary.blocker, status: 200)
    }

    /// POST /dashboard/videos/{id}/delete: then back to the project, saying what went.
    static func delete(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        do {
            let deleted = try c.library.deleteVideo(id: id, user: user)
            c.setFlash(
                "Deleted “\(deleted.name)”: \(deleted.summary.sentence(withVideos: false)). What it cost stays in your spend."
            )
            return .redirect(to: Route.library(.project(deleted.projectID)).path)
        } catch let refusal as Library.Refusal where refusal != .noSuchVideo {
            guard let video = try c.store.video(id: id, userID: user.id),
                let summary = try c.store.deletionSummary(videoID: id, userID: user.id)
            else { throw HTTPError.notFound("No such video.") }
            return deletePage(c, video: video, summary: summary, refusal: refusal, status: refusal.httpError.status)
        }
    }

    static func deletePage(_ c: Context, video: Video, summary: DeletionSummary, refusal: Library.Refusal?, status: Int)
        -> Response
    {
        Views.deletionPage(
            c, thing: "video", name: video.title,
            crumbs: Breadcrumbs.video(video),
            goes:
                "the video, its final prompt and prompt versions, its reference image, and the media files of its generations",
            summary: summary.sentence(withVideos: false), action: Route.library(.deleteVideo(video.id)).path,
            back: Route.library(.video(video.id)).path,
            refusal: refusal?.httpError.publicMessage, status: status)
    }

    static func form(_ c: Context, project: Project, draft: Draft, error: String?, status: Int) throws -> Response {
        let presets: [HTML] = try RoundtableStore(db: c.db).presets().map { p in
            "<option value=\"\(p.name)\"\(p.name == draft.preset ? " selected" : "")>\(p.displayName)</option>"
        }
        let body: HTML = """
            \(Breadcrumbs.project(id: project.id, name: project.name).html)
            <h1>New video</h1>\(Views.errorBox(error))
            <form method="post" action="\(Route.library(.projectVideos(project: project.id)).path)">\(Views.csrfField(c))
            \(Views.textField("Title", name: "title", value: draft.title, required: true, maxLength: 200))
            \(Views.textArea("Brief", name: "brief", value: draft.brief, rows: 3, maxLength: 10000, hint: "What the video is for, audience, mood, must-haves; the roundtable drafts the prompt from it."))
            <label for="preset">Style preset</label>
            <select id="preset" name="preset"><option value="">None</option>\(presets)</select>
            \(Views.textArea("Final prompt", name: "final_prompt", value: draft.finalPrompt, rows: 8, maxLength: 32000, hint: "The exact text sent to Sora."))
            <button type="submit">Save</button></form>
            """
        return .html(Views.layout("New video", c, body: body), status: status)
    }
}

extension String {
    /// CRLF and lone CR as LF (browsers send a textarea's line breaks as CRLF).
    var unifiedNewlines: String { replacing("\r\n", with: "\n").replacing("\r", with: "\n") }
}
