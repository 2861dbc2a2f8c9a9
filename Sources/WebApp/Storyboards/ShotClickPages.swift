// "Generate shots": choose a project's shots and one set of settings, see each shot's price and the total,
// confirm once; then the click's own page (a batch), which refreshes itself while anything runs.

import Core
import Formats
import Web

enum ShotClickPages {
    /// GET /dashboard/projects/{id}/generate: the shots (default: those without a completed chosen take),
    /// the settings, and the total for them; "Review" resubmits the form to recompute.
    static func review(_ c: inout Context, project id: ID<Project>) throws -> Response {
        let requested = (try? Catalog.requested(fromFields: c.request.query)) ?? RequestedSettings()
        return try page(c, project: id, fields: c.request.query, requested: requested, status: 200, error: nil)
    }

    /// POST /dashboard/projects/{id}/generate: starts the click at the total the user confirmed.
    static func confirm(_ c: inout Context, project id: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        let form = try c.form()
        let requested = try Catalog.requested(fromFields: form.fields)
        var shots: [ID<Video>] = []
        for part in (form["shots"] ?? "").split(separator: ",") {
            guard let n = Int64(part), n > 0 else { throw InvalidInput(field: "shots", "must be video ids") }
            shots.append(ID(n))
        }
        var fields = form.fields
        for shot in shots { fields["shot_\(shot)"] = "on" }
        fields["chosen"] = "1"
        guard let expected = USD(parsing: form["expected_cost"] ?? "") else {
            return try page(
                c, project: id, fields: fields, requested: requested, status: 422,
                error: "The confirmed total was not a plain amount in dollars. Review it and confirm again.")
        }
        do {
            let started = try c.storyboardClicks.start(
                user: user, projectID: id, videoIDs: shots, requested: requested, expectedCost: expected,
                continuity: form["continuity"] == "1")
            c.setFlash(
                "\(started.generations.count == 1 ? "1 generation" : "\(started.generations.count) generations") recorded for \(started.total.display). "
                    + GenerationAPI.startedMessage(c))
            return .redirect(to: Route.storyboards(.batch(ID(started.clickID))).path)
        } catch let refusal as StoryboardClicks.Refusal {
            if case .allActive = refusal, let latest = try Batch.latestClick(projectID: id, userID: user.id, db: c.db) {
                // A second press, or another tab: show the click that is running.
                c.setFlash("These shots are already being generated; here is their progress.")
                return .redirect(to: Route.storyboards(.batch(ID(latest))).path)
            }
            if case .noSuchProject = refusal { throw refusal.httpError }
            let error = refusal.httpError
            return try page(
                c, project: id, fields: fields, requested: requested, status: error.status, error: error.publicMessage)
        }
    }

    static func page(
        _ c: Context, project id: ID<Project>, fields: [String: String], requested: RequestedSettings, status: Int,
        error: String?
    ) throws -> Response {
        let user = try c.requireUser()
        guard let project = try c.store.project(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such project.")
        }
        let catalog = try Catalog.load(c.db)
        let (resolved, notes, problem) = try GenerationPages.resolveForPage(catalog, requested, db: c.db)
        let model = catalog.model(named: resolved?.model ?? requested.model ?? "") ?? catalog.models.first
        let takes = requested.takes ?? 1
        let explicit = fields["chosen"] == "1"
        let continuity = fields["continuity"] == "1"
        let chosen = fields.keys.compactMap { key -> ID<Video>? in
            guard key.hasPrefix("shot_"), let n = Int64(key.dropFirst(5)), n > 0 else { return nil }
            return ID(n)
        }
        var message = error ?? problem
        var plan: StoryboardClicks.Plan?
        if let resolved, message == nil {
            do {
                plan = try c.storyboardClicks.plan(
                    user: user, projectID: id, videoIDs: explicit ? chosen.sorted() : nil,
                    requested: RequestedSettings(
                        model: resolved.model, duration: resolved.duration, aspectRatio: resolved.aspectRatio,
                        resolution: resolved.resolution, takes: takes),
                    continuity: continuity)
            } catch let refusal as StoryboardClicks.Refusal {
                if case .noSuchProject = refusal { throw refusal.httpError }
                message =
                    explicit && chosen.isEmpty ? "Choose at least one shot." : refusal.httpError.publicMessage
            }
        }
        let shots = try c.store.storyboard(projectID: id, userID: user.id, limit: StoryboardPages.shownShots)
        let checked: Set<ID<Video>> =
            plan.map { Set($0.storyboard.filter(\.chosen).map(\.video.id)) }
            ?? (explicit ? Set(chosen) : Set(shots.filter { $0.video.chosenGenerationID == nil }.map(\.video.id)))
        let boxes: [HTML] = shots.map { shot in
            let v = shot.video
            let state: String =
                v.latest.map { $0.status.isActive } == true
                ? "being generated"
                : shot.seconds == nil ? "no take yet" : "has a take (\(Formatting.seconds(shot.seconds ?? 0)))"
            return """
                <label class="choice"><input type="checkbox" name="shot_\(v.id)"\(checked.contains(v.id) ? " checked" : "")> \(v.position). \(v.title) <span class="muted">— \(state)</span></label>
                """
        }
        let leading: HTML = """
            <fieldset><legend>Shots</legend><input type="hidden" name="chosen" value="1">
            \(boxes)
            <small>One click generates at most \(StoryboardClicks.maxShots) shots. Shots already being generated are skipped.</small></fieldset>
            """
        let chain: HTML =
            model?.acceptsImage == false
            ? "<p class=\"muted\">Continuity (each shot from the last frame of the one before) needs a model that takes a reference image.</p>"
            : """
            <label class="choice"><input type="checkbox" name="continuity" value="1"\(continuity ? " checked" : "")> Start each shot from the last frame of the shot before</label>
            <small>One take per shot. A shot is sent only once the shot before it has completed; if that one fails, the shots after it are not sent (nothing charged). A shot’s own reference image wins over the chain.</small>
            """
        let form = GenerationPages.settingsForm(
            action: Route.storyboards(.generateShots(id)).path, catalog: catalog, model: model, resolved: resolved,
            takes: takes, leading: leading, extra: chain,
            takesNote: "Takes per shot: each is a separate video at the same price.")
        let notesHTML: [HTML] = notes.map { "<p class=\"notice\" role=\"status\">\($0)</p>" }
        var cost: HTML = Views.errorBox(message)
        if let plan, let resolved {
            cost = cost + (try confirmSection(c, plan: plan, resolved: resolved, projectID: id))
        }
        let body: HTML = """
            \(Breadcrumbs.project(id: project.id, name: project.name).html)
            <h1>Generate shots of “\(project.name)”</h1>\(notesHTML)
            <div class="columns">
            <section aria-labelledby="settings-title"><h2 id="settings-title">Shots and settings</h2>\(form)</section>
            <section aria-labelledby="estimate-title"><h2 id="estimate-title">Cost</h2>\(cost)\(GenerationPages.priceTable(model))</section>
            </div>
            """
        return .html(Views.layout("Generate shots of \(project.name)", c, body: body), status: status)
    }

    /// Each shot's price, the skipped shots and why, the total, and the one button that starts them all.
    static func confirmSection(
        _ c: Context, plan: StoryboardClicks.Plan, resolved: ResolvedSettings, projectID: ID<Project>
    )
        throws -> HTML
    {
        let rows: [HTML] = plan.shots.map { v in
            let from: HTML =
                plan.links[v.id].map { " <span class=\"muted\">— from the last frame of shot \($0.fromShot)</span>" }
                ?? (plan.continuity && plan.references[v.id] != nil
                    ? " <span class=\"muted\">— from its own reference image</span>" : .empty)
            return "<tr><td>\(v.position)</td><td>\(v.title)\(from)</td><td>\(plan.perShot.display)</td></tr>"
        }
        let skipped: [HTML] = plan.skipped.map { s in
            "<li>\(s.video.position). \(s.video.title): \(s.reason.message)</li>"
        }
        let skippedHTML: HTML =
            skipped.isEmpty
            ? .empty : "<p>Skipped:</p><ul id=\"skipped\">\(skipped)</ul>"
        guard !plan.shots.isEmpty else {
            return "<p class=\"error\" role=\"alert\">No chosen shot can start.</p>\(skippedHTML)"
        }
        let count = plan.shots.count
        let (budget, disabled) = try GenerationPages.budgetNote(
            c, total: plan.total, cheaper: "pick cheaper settings or fewer shots")
        let perTake: HTML =
            plan.takes == 1 ? .empty : " (\(plan.takes) takes × \(resolved.estimatedCost.display))"
        return """
            <p class="muted">\(resolved.duration) s each · \(resolved.aspectRatio) · \(resolved.resolution) (\(resolved.size)) · \(plan.perShot.display) per shot\(perTake)</p>
            <table class="history"><caption>Price per shot</caption><thead><tr><th scope="col">Shot</th><th scope="col">Video</th><th scope="col">Price</th></tr></thead>
            <tbody>\(rows)</tbody><tfoot><tr><th scope="row" colspan="2">Total</th><td><strong id="total">\(plan.total.display)</strong></td></tr></tfoot></table>
            \(skippedHTML)
            <form method="post" action="\(Route.storyboards(.generateShots(projectID)).path)">\(Views.csrfField(c))
            \(GenerationPages.settingsFields(resolved, takes: plan.takes))
            <input type="hidden" name="shots" value="\(plan.shots.map(\.id.description).joined(separator: ","))">
            <input type="hidden" name="expected_cost" value="\(plan.total.jsonText)">
            <input type="hidden" name="continuity" value="\(plan.continuity ? "1" : "0")">
            <button type="submit" class="primary"\(disabled)>Generate \(count == 1 ? "1 shot" : "\(count) shots") (\(plan.total.display))</button>
            </form>\(budget)
            <p class="muted">One click: every shot starts, or none does (the budget is checked for the total). This is the exact amount recorded; a shot the provider refuses or fails costs nothing.</p>
            """
    }

    /// A continuity click that ended with shots not completed: "Continue the chain" reviews a click of the
    /// same settings from the first of its shots without a completed take (the shot before it gives its
    /// frame when it has a completed take).
    /// `canEdit` is asked last, only when there is a chain to continue (it costs a query; the page refreshes).
    static func continueChain(_ batch: Batch, canEdit: () throws -> Bool) rethrows -> HTML {
        guard batch.continuity, !batch.isActive, let project = batch.projectID,
            let first = batch.shots.firstIndex(where: { shot in
                shot.videoID != nil && !shot.generations.contains { $0.status == .completed }
            }),
            try canEdit()
        else { return .empty }
        // The shots from the break on that did not complete (a shot with its own image may have).
        let videos = batch.shots[first...].filter { shot in !shot.generations.contains { $0.status == .completed } }
            .compactMap(\.videoID)
        var query: [(String, String)] = [
            ("model", batch.settings.model ?? ""), ("duration", batch.settings.duration.map(String.init) ?? ""),
            ("aspect_ratio", batch.settings.aspectRatio ?? ""), ("resolution", batch.settings.resolution ?? ""),
            ("takes", "1"), ("continuity", "1"), ("chosen", "1"),
        ]
        query += videos.map { ("shot_\($0)", "on") }
        let href =
            Route.storyboards(.generateShots(project)).path + "?"
            + query.map { "\($0.0)=\(URLEncoding.encode($0.1))" }.joined(separator: "&")
        return """
            <p><a class="button" href="\(href)">Continue the chain</a> <span class="muted">from “\(batch.shots[first].title)”: \(videos.count == 1 ? "1 shot" : "\(videos.count) shots"), the same settings; you see the price before anything starts.</span></p>
            """
    }

    /// Whether the user edits the batch's project (its chain may be continued from the page).
    static func editsProject(_ c: Context, _ batch: Batch, user: User) throws -> Bool {
        guard let project = batch.projectID else { return false }
        return try Members(db: c.db).role(projectID: project, userID: user.id)?.canEdit == true
    }

    /// GET /dashboard/batches/{id}: one click's shots and their takes; refreshes while any runs.
    static func batch(_ c: inout Context, id: ID<Batch>) throws -> Response {
        let user = try c.requireUser()
        guard let batch = try Batch.load(id: id.rawValue, userID: user.id, db: c.db) else {
            throw HTTPError.notFound("No such batch.")
        }
        let all = batch.generations
        let running = all.filter(\.isActive).count
        let refresh = AutoRefresh(c, page: .storyboards(.batch(id)), every: 5, while: running > 0)
        let status: HTML =
            refresh.map {
                """
                <p role="status" class="lead">\(all.count - running) of \(all.count) generations finished, \(running) running.</p>
                <p>You can leave this page — generation continues.</p>\(Views.refreshControl($0))
                """
            } ?? "<p role=\"status\" class=\"lead\">All \(all.count) generations have finished.</p>"
        let rows: [HTML] = batch.shots.map { shot in
            let title: HTML =
                shot.videoID.map { "<a href=\"\(Route.library(.video($0)).path)\">\(shot.title)</a>" }
                ?? "\(shot.title) <span class=\"muted\">(deleted)</span>"
            let takes: [HTML] = shot.generations.map { g in
                let note: HTML = GenerationPages.chainNote(g).map { "<br><small>\($0)</small>" } ?? .empty
                let error: HTML =
                    g.status == .failed ? "<br><small class=\"error\">\(g.errorMessage ?? "Failed.")</small>" : .empty
                return
                    "<div><a href=\"\(Route.generations(.generation(g.id)).path)\">generation \(g.id)</a> \(Views.statusBadge(g.status))\(note)\(error)</div>"
            }
            let cost = shot.generations.reduce(USD.zero) { $0.adding($1.cost) ?? $0 }
            return """
                <tr><td>\(shot.position.map(String.init) ?? "—")</td><td>\(title)</td><td>\(takes)</td><td>\(cost.display)</td></tr>
                """
        }
        let skipped: [HTML] = batch.skipped.map { s in
            let reason = StoryboardClicks.SkipReason(rawValue: s.reason)?.message ?? s.reason
            return "<li><a href=\"\(Route.library(.video(s.videoID)).path)\">video \(s.videoID)</a>: \(reason)</li>"
        }
        let recorded = all.reduce(USD.zero) { $0.adding($1.cost) ?? $0 }
        let crumbs: HTML =
            batch.projectID.map { Breadcrumbs.project(id: $0, name: batch.projectName ?? "Project").html } ?? .empty
        let back: HTML =
            batch.projectID.map {
                "<p><a href=\"\(Route.storyboards(.storyboard($0)).path)\">Back to the storyboard</a></p>"
            } ?? .empty
        let body: HTML = """
            \(crumbs)
            <h1>\(batch.kind == .storyboard ? "Shots generated together" : "One video’s takes") · \(Views.when(batch.createdAt))</h1>
            \(status)
            <p>Confirmed total <strong>\(batch.totalCost.display)</strong>; recorded now \(recorded.display) (a generation the provider refused or failed costs nothing).</p>
            <table class="history"><thead><tr><th scope="col">Shot</th><th scope="col">Video</th><th scope="col">Generations</th><th scope="col">Cost</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            \(skipped.isEmpty ? HTML.empty : "<h2>Skipped</h2><ul>\(skipped)</ul>")
            \(try continueChain(batch) { try editsProject(c, batch, user: user) })
            \(back)
            """
        return .html(Views.layout("Batch \(batch.id)", c, body: body, refresh: refresh))
    }
}
