// The roundtable as pages, with no script: start it from the video page, watch the transcript grow (the
// page refreshes itself while it runs), then review the proposal beside the current prompt and decide:
// use it, edit then use, or run again with feedback. Nothing changes the final prompt without a click.

import Core
import Telemetry
import Web

enum RoundtablePages {
    /// POST /dashboard/videos/{id}/roundtables (preset, settings, feedback, previous)
    static func start(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: videoID, userID: user.id) else {
            throw HTTPError.notFound("No such video.")
        }
        let form = try c.form()
        let previous = form["previous"].flatMap { Int64($0) }.map(ID<Roundtable>.init)
        do {
            let table = try c.roundtables.start(
                user: user, video: video, preset: form["preset"], feedback: form["feedback"],
                requested: Catalog.requested(fromFields: form.fields), previous: previous)
            c.setFlash("The roundtable is meeting. This page fills in as each role answers.")
            return .redirect(to: Route.roundtables(.roundtable(table.id)).path)
        } catch let refusal as Roundtables.Refusal where !refusal.isNotFound {
            c.setFlash(refusal.httpError.publicMessage)
            return .redirect(to: Route.library(.video(videoID)).path)
        }
    }

    /// The start form on the video page.
    static func startForm(_ c: Context, video: Video, presets: [RoundtablePreset], catalog: Catalog) -> HTML {
        guard !video.brief.isEmpty else {
            return
                "<p class=\"notice\" role=\"note\">The roundtable drafts the final prompt from the brief: this video has no brief yet.</p>"
        }
        let presetOptions: [HTML] = presets.map { p in
            let selected: HTML = p.name == video.preset ? " selected" : .empty
            return "<option value=\"\(p.name)\"\(selected)>\(p.displayName)</option>"
        }
        func options(_ values: [String], _ label: (String) -> String) -> HTML {
            let items: [HTML] = values.map { "<option value=\"\($0)\">\(label($0))</option>" }
            return "<option value=\"\">Default</option>\(items)"
        }
        let models = catalog.models.map(\.name)
        let durations = Array(Set(catalog.models.flatMap(\.durations))).sorted().map(String.init)
        let aspects = GenerationPages.unique(catalog.models.flatMap(\.aspectRatios))
        let resolutions = GenerationPages.unique(catalog.models.flatMap(\.resolutions))
        return """
            <form method="post" action="\(Route.roundtables(.videoRoundtables(video: video.id)).path)" class="settings">\(Views.csrfField(c))
            <label for="rt-preset">Style preset</label>
            <select id="rt-preset" name="preset"><option value="">None</option>\(presetOptions)</select>
            <label for="rt-model">Model</label><select id="rt-model" name="model">\(options(models) { $0 })</select>
            <label for="rt-duration">Duration</label><select id="rt-duration" name="duration">\(options(durations) { "\($0) seconds" })</select>
            <label for="rt-aspect">Aspect ratio</label><select id="rt-aspect" name="aspect_ratio">\(options(aspects) { $0 })</select>
            <label for="rt-resolution">Resolution</label><select id="rt-resolution" name="resolution">\(options(resolutions) { $0 })</select>
            <button type="submit">Draft the prompt with the roundtable</button>
            <small>Director, Cinematographer, Editor and Feasibility discuss the brief in two rounds; a Moderator proposes a prompt for you to review.</small>
            </form>
            """
    }

    /// GET /dashboard/roundtables/{id}
    static func show(_ c: inout Context, id: ID<Roundtable>) throws -> Response {
        let user = try c.requireUser()
        guard let table = try c.roundtables.store.roundtable(id: id, userID: user.id),
            let video = try c.store.video(id: table.videoID, userID: user.id)
        else { throw HTTPError.notFound("No such roundtable.") }
        let messages = try c.roundtables.store.messages(roundtableID: id)
        let refresh = AutoRefresh(c, page: .roundtables(.roundtable(table.id)), every: 3, while: table.status.isActive)
        let header: HTML = """
            \(Breadcrumbs.video(video).html)
            <h1>Roundtable for “\(video.title)” <span class="status status-rt-\(table.status.rawValue)">\(table.status.label)</span></h1>
            <p class="muted">\(table.settings.summary)\(table.preset.map { " · preset \($0)" } ?? "") · \(table.chatModel) · cost so far \(table.costText) · started by \(VideoPages.starter(table.startedBy, mine: table.userID == user.id))</p>
            \(table.feedback.map { "<p><strong>Feedback:</strong> \($0)</p>" as HTML } ?? .empty)
            """
        let body: HTML
        switch table.status {
        case .queued, .running:
            body = """
                \(header)
                <p class="lead" role="status">\(table.status == .queued ? "Waiting for a free seat at the table…" : "The roles are discussing the brief.") \
                \(messages.count) of \(table.roles.count * 2 + 1) answers so far · \(Formatting.duration(seconds: table.elapsedSeconds)).</p>
                <p>You can leave this page; the roundtable carries on.</p>
                \(refresh.map(Views.refreshControl) ?? .empty)
                \(transcript(messages, open: true))
                """
        case .failed:
            body = """
                \(header)
                <div class="error" role="alert"><p><strong>The roundtable failed.</strong></p><p>\(table.errorMessage ?? "")</p></div>
                \(video.role.canEdit && table.userID == user.id ? retryForm(c, table) : .empty)
                \(transcript(messages, open: true))
                """
        case .completed:
            body = header + proposalSection(c, table: table, video: video) + transcript(messages, open: false)
        }
        return .html(Views.layout("Roundtable", c, body: body, refresh: refresh))
    }

    static func retryForm(_ c: Context, _ table: Roundtable) -> HTML {
        """
        <form method="post" action="\(Route.roundtables(.roundtableRetry(table.id)).path)">\(Views.csrfField(c))
        <button type="submit">Retry</button> <span class="muted">asks only the roles whose answers are missing.</span></form>
        """
    }

    /// The proposal beside the current prompt; using it or running again for the video's editors.
    static func proposalSection(_ c: Context, table: Roundtable, video: Video) -> HTML {
        let proposal = table.proposal ?? ""
        let accepted: HTML =
            table.acceptedAt.map {
                "<p class=\"notice\" role=\"status\">Used as the final prompt \(Views.when($0)).</p>"
            } ?? .empty
        return """
            \(accepted)
            <div class="columns">
            <section aria-labelledby="proposal-title"><h2 id="proposal-title">Proposed prompt</h2><pre class="prompt">\(proposal)</pre></section>
            <section aria-labelledby="current-title"><h2 id="current-title">Current final prompt</h2>\
            \(video.finalPrompt.isEmpty ? "<p class=\"muted\">None yet.</p>" as HTML : "<pre class=\"prompt\">\(video.finalPrompt)</pre>")</section>
            </div>
            <h2>What changes</h2>
            <p class="diff">\(WordDiff.html(video.finalPrompt, proposal))</p>
            <h2>Rationale</h2><p>\(table.rationale ?? "")</p>
            \(video.role.canEdit ? proposalActions(c, table: table, video: video) : .empty)
            """
    }

    static func proposalActions(_ c: Context, table: Roundtable, video: Video) -> HTML {
        """
        <div class="actions">
        <form method="post" action="\(Route.roundtables(.roundtableAccept(table.id)).path)" class="inline">\(Views.csrfField(c))
        <button type="submit" class="primary">Use this prompt</button></form>
        <a class="button secondary" href="\(Route.roundtables(.roundtableEdit(table.id)).path)">Edit, then use</a>
        </div>
        <form method="post" action="\(Route.roundtables(.videoRoundtables(video: video.id)).path)">\(Views.csrfField(c))
        <input type="hidden" name="previous" value="\(table.id)">
        <input type="hidden" name="preset" value="\(table.preset ?? "")">
        \(settingsFields(table))
        \(Views.textArea("Run again with feedback", name: "feedback", rows: 2, maxLength: 2000, hint: "e.g. “moodier, no people”. The table sees this proposal and your feedback."))
        <button type="submit" class="secondary">Run again with feedback</button></form>
        """
    }

    /// The run's settings as hidden fields, so "run again" writes for the same video settings.
    static func settingsFields(_ table: Roundtable) -> HTML {
        let s = table.settings
        let pairs: [(String, String?)] = [
            ("model", s.model), ("duration", s.duration.map(String.init)), ("aspect_ratio", s.aspectRatio),
            ("resolution", s.resolution),
        ]
        let fields: [HTML] = pairs.map { "<input type=\"hidden\" name=\"\($0.0)\" value=\"\($0.1 ?? "")\">" }
        return "\(fields)"
    }

    static func transcript(_ messages: [RoundtableMessage], open: Bool) -> HTML {
        guard !messages.isEmpty else { return .empty }
        let items: [HTML] = messages.map { m in
            let round = m.round == 3 ? "Moderator" : "Round \(m.round)"
            let cost: String = m.cost.map(\.display) ?? "cost unknown"
            let tokens: String =
                m.promptTokens.map { "\($0) + \(m.completionTokens ?? 0) tokens" } ?? "no usage reported"
            return """
                <li><p><strong>\(m.role)</strong> <span class="muted">\(round) · \(tokens) · \(cost)</span></p>
                <p class="prewrap">\(m.content)</p></li>
                """
        }
        let openAttribute: HTML = open ? " open" : .empty
        return
            "<details class=\"transcript\"\(openAttribute)><summary>Transcript (\(messages.count) messages)</summary><ol>\(items)</ol></details>"
    }

    /// POST /dashboard/roundtables/{id}/accept (prompt?: an edited one)
    static func accept(_ c: inout Context, id: ID<Roundtable>) throws -> Response {
        let user = try c.requireUser()
        let edited = try c.form()["prompt"]
        do {
            let (_, video) = try c.roundtables.accept(id: id, user: user, editedPrompt: edited)
            c.setFlash("The final prompt is updated. The previous one is kept under Prompt versions.")
            return .redirect(to: Route.library(.video(video.id)).path)
        } catch let refusal as Roundtables.Refusal {
            let error = refusal.httpError
            guard case .invalidPrompt = refusal else { throw error }
            return try editPage(c, id: id, user: user, prompt: edited ?? "", error: error.publicMessage, status: 422)
        }
    }

    /// GET /dashboard/roundtables/{id}/edit: the proposal in a text box, then "Use this prompt".
    static func edit(_ c: inout Context, id: ID<Roundtable>) throws -> Response {
        let user = try c.requireUser()
        guard let table = try c.roundtables.store.roundtable(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such roundtable.")
        }
        guard let proposal = table.proposal else { throw Roundtables.Refusal.notCompleted.httpError }
        return try editPage(c, id: id, user: user, prompt: proposal, error: nil, status: 200)
    }

    static func editPage(_ c: Context, id: ID<Roundtable>, user: User, prompt: String, error: String?, status: Int)
        throws
        -> Response
    {
        guard let table = try c.roundtables.store.roundtable(id: id, userID: user.id),
            let video = try c.store.video(id: table.videoID, userID: user.id)
        else { throw HTTPError.notFound("No such roundtable.") }
        let body: HTML = """
            \(Breadcrumbs.video(video).then("Roundtable", .roundtables(.roundtable(id))).html)
            <h1>Edit the proposal, then use it</h1>\(Views.errorBox(error))
            <form method="post" action="\(Route.roundtables(.roundtableAccept(id)).path)">\(Views.csrfField(c))
            \(Views.textArea("Final prompt", name: "prompt", value: prompt, rows: 10, maxLength: Roundtable.promptLimit))
            <button type="submit" class="primary">Use this prompt</button></form>
            """
        return .html(Views.layout("Edit the proposal", c, body: body), status: status)
    }

    /// POST /dashboard/roundtables/{id}/retry
    static func retry(_ c: inout Context, id: ID<Roundtable>) throws -> Response {
        let user = try c.requireUser()
        do {
            _ = try c.roundtables.retry(id: id, user: user)
            c.setFlash("Retrying: the roles whose answers are missing are asked again.")
        } catch let refusal as Roundtables.Refusal where !refusal.isNotFound {
            c.setFlash(refusal.httpError.publicMessage)
        }
        return .redirect(to: Route.roundtables(.roundtable(id)).path)
    }

    /// The video page's roundtable section: start form, past runs, prompt versions.
    static func videoSection(_ c: Context, video: Video, user: User) throws -> HTML {
        let tables = try c.roundtables.store.list(videoID: video.id, userID: user.id, limit: 20)
        let runs: [HTML] = tables.map { t in
            "<li><a href=\"\(Route.roundtables(.roundtable(t.id)).path)\">\(Views.when(t.createdAt))</a> <span class=\"status status-rt-\(t.status.rawValue)\">\(t.status.label)</span> <span class=\"muted\">\(t.costText)\(t.acceptedAt == nil ? "" : " · used") · by \(VideoPages.starter(t.startedBy, mine: t.userID == user.id))</span></li>"
        }
        let versions = try c.store.promptVersions(videoID: video.id, userID: user.id)
        let versionItems: [HTML] = versions.map { v in
            let source =
                switch v.source {
                case .written: "written"
                case .roundtable: "from a roundtable"
                case .edited: "edited from a roundtable"
                }
            return
                "<li><details><summary>\(Views.when(v.createdAt)) · \(source) · by \(v.author ?? "deleted user")</summary><pre class=\"prompt\">\(v.prompt)</pre></details></li>"
        }
        return """
            <h2>Roundtable</h2>
            \(video.role.canEdit ? startForm(c, video: video, presets: try c.roundtables.store.presets(), catalog: try Catalog.load(c.db)) : .empty)
            \(runs.isEmpty ? HTML.empty : "<ul class=\"runs\">\(runs)</ul>")
            <h2>Prompt versions</h2>
            \(versions.isEmpty ? "<p class=\"muted\">No final prompt yet.</p>" as HTML : "<ol class=\"versions\">\(versionItems)</ol>")
            """
    }
}
