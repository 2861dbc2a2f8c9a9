// The generate flow as pages, with no script: settings (Review recomputes the estimate), confirm
// with the exact price, a progress page that refreshes itself, and the finished or failed result.

import Core
import Formats
import Images
import Postgres
import Telemetry
import Web

enum GenerationPages {
    // MARK: Settings and review

    /// GET /dashboard/videos/{id}/generate?model=&duration=&aspect_ratio=&resolution=
    static func settings(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: videoID, userID: user.id) else {
            throw HTTPError.notFound("No such video.")
        }
        let requested = (try? Catalog.requested(fromFields: c.request.query)) ?? RequestedSettings()
        let fit = (try? ReferencePages.fitMode(c.request.query["image_fit"])) ?? .crop
        return try settingsPage(c, video: video, requested: requested, status: 200, error: nil, fit: fit)
    }

    /// POST /dashboard/videos/{id}/generate: starts the generation at the price the user confirmed.
    static func confirm(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: videoID, userID: user.id) else {
            throw HTTPError.notFound("No such video.")
        }
        let form = try c.form()
        let requested = try Catalog.requested(fromFields: form.fields)
        let fit = try ReferencePages.fitMode(form["image_fit"])
        var expected: USD?
        if let text = form["expected_cost"], !text.isEmpty {
            guard let amount = USD(parsing: text) else {
                return try settingsPage(
                    c, video: video, requested: requested, status: 422,
                    error:
                        "The confirmed price was not a plain amount in dollars. Review the settings and confirm again.",
                    fit: fit)
            }
            expected = amount
        }
        do {
            let started = try c.generations.start(
                user: user, video: video, requested: requested, expectedCost: expected, fit: fit)
            c.setFlash(GenerationAPI.startedMessage(c))
            guard let latest = started.latest, started.takes.count == 1 else {
                return .redirect(to: Route.generations(.videoTakes(video: videoID)).path)
            }
            return .redirect(to: Route.generations(.generation(latest.id)).path)
        } catch let refusal as Generations.Refusal {
            if case .alreadyActive = refusal {
                // A second press, or another tab: show the job that is running.
                c.setFlash("This video is already being generated; here is its progress.")
                return .redirect(to: Route.generations(.latestGeneration(video: videoID)).path)
            }
            let error = refusal.httpError
            return try settingsPage(
                c, video: video, requested: requested, status: error.status, error: error.publicMessage, fit: fit)
        }
    }

    /// POST /dashboard/generations/{id}/cancel: only while it has not been sent.
    static func cancel(_ c: inout Context, id: ID<Generation>) throws -> Response {
        let user = try c.requireUser()
        guard try c.generations.store.generation(id: id, userID: user.id) != nil else {
            throw HTTPError.notFound("No such generation.")
        }
        c.setFlash(
            try c.generations.cancel(id: id, userID: user.id)
                ? "Cancelled. Nothing was sent to the video provider and nothing was charged."
                : "Too late to cancel: the video provider already has this generation.")
        return .redirect(to: Route.generations(.generation(id)).path)
    }

    /// Resolves what the user chose; a choice the newly picked model cannot do falls back to its
    /// default with a note, so switching models never dead-ends the form.
    static func resolveForPage(_ catalog: Catalog, _ requested: RequestedSettings, db: Connection) throws -> (
        ResolvedSettings?, [String], String?
    ) {
        var current = requested
        var notes: [String] = []
        for _ in 0..<4 {
            do {
                return (try catalog.resolve(current, db: db), notes, nil)
            } catch let error as SettingsError where !error.unavailable {
                switch error.field {
                case .duration where current.duration != nil: current.duration = nil
                case .aspectRatio where current.aspectRatio != nil: current.aspectRatio = nil
                case .resolution where current.resolution != nil: current.resolution = nil
                case .model where current.model != nil: current.model = nil
                case .seed: current.parameters.seed = nil
                case .negativePrompt: current.parameters.negativePrompt = nil
                case .steps: current.parameters.steps = nil
                case .guidance: current.parameters.guidance = nil
                default: return (nil, notes, error.httpError.publicMessage)
                }
                notes.append(
                    "\(error.field.rawValue): not available here; \(error.message). PromptReel picked the default instead."
                )
            }
        }
        return (nil, notes, "These settings are not available.")
    }

    static func settingsPage(
        _ c: Context, video: Video, requested: RequestedSettings, status: Int, error: String?,
        fit: FitMode = .crop
    ) throws -> Response {
        let catalog = try Catalog.load(c.db)
        let header: HTML = """
            \(Breadcrumbs.video(video).html)
            <h1>Generate “\(video.title)”</h1>
            """
        guard !video.finalPrompt.isEmpty else {
            return .html(
                Views.layout(
                    "Generate", c,
                    body: header + """
                        <p class="error" role="alert">This video has no final prompt yet, so there is nothing to send to Sora.</p>
                        <p><a href="\(Route.library(.video(video.id)).path)">Back to the video</a></p>
                        """), status: 422)
        }
        let (resolved, notes, problem) = try resolveForPage(catalog, requested, db: c.db)
        let chosenModel = catalog.model(named: resolved?.model ?? requested.model ?? "") ?? catalog.models.first
        let takes = requested.takes ?? 1
        let image = try ReferencePages.images(c).current(videoID: video.id, userID: c.requireUser().id)
        let reference = referenceSection(video: video, image: image, model: chosenModel, resolved: resolved, fit: fit)
        let form = settingsForm(
            action: Route.generations(.generateVideo(video: video.id)).path, catalog: catalog, model: chosenModel,
            resolved: resolved, takes: takes,
            extra: image != nil && chosenModel?.acceptsImage != false ? fitSelect(fit) : .empty,
            seeds: try c.generations.store.takeSeeds(videoID: video.id, userID: c.requireUser().id))
        let notesHTML: [HTML] = notes.map { "<p class=\"notice\" role=\"status\">\($0)</p>" }
        var estimate: HTML = Views.errorBox(error ?? problem ?? reference.blocker)
        if let resolved, let model = chosenModel, reference.blocker == nil,
            let total = resolved.estimatedCost.times(takes)
        {
            let price =
                model.sizes.first { $0.aspectRatio == resolved.aspectRatio && $0.resolution == resolved.resolution }?
                .usdPerSecond ?? "0"
            let perTake: HTML =
                takes == 1
                ? .empty : "<br>\(takes) takes × \(resolved.estimatedCost.display) = <strong>\(total.display)</strong>"
            let button = takes == 1 ? "Generate video (\(total.display))" : "Generate \(takes) takes (\(total.display))"
            let (budget, disabled) = try budgetNote(c, total: total, cheaper: "pick cheaper settings or fewer takes")
            estimate =
                estimate + """
                    \(estimateLine(resolved, price: price))\(perTake)
                    <span class="muted">(\(model.displayName), \(resolved.aspectRatio), \(resolved.resolution), \(resolved.size))</span></p>
                    <form method="post" action="\(Route.generations(.generateVideo(video: video.id)).path)">\(Views.csrfField(c))
                    \(settingsFields(resolved, takes: takes))
                    <input type="hidden" name="expected_cost" value="\(total.jsonText)">
                    <input type="hidden" name="image_fit" value="\(fit.rawValue)">
                    <button type="submit" class="primary"\(disabled)>\(button)</button>
                    </form>\(budget)
                    <p class="muted">This is the exact amount recorded for this generation. If the provider refuses or fails it, it costs nothing; if the provider cannot confirm what happened, it counts as possibly billed.</p>
                    """
        }
        let prompt: HTML =
            "<details><summary>The prompt Sora will get</summary><pre class=\"prompt\">\(video.finalPrompt)</pre></details>"
        let body: HTML = """
            \(header)\(prompt)\(notesHTML)
            <div class="columns">
            <section aria-labelledby="settings-title"><h2 id="settings-title">Settings</h2>\(form)\(reference.html)</section>
            <section aria-labelledby="estimate-title"><h2 id="estimate-title">Cost</h2>\(estimate)\(priceTable(chosenModel))</section>
            </div>
            """
        return .html(Views.layout("Generate", c, body: body), status: status)
    }

    /// The confirmed settings as the confirm form's hidden fields.
    static func settingsFields(_ resolved: ResolvedSettings, takes: Int) -> HTML {
        """
        <input type="hidden" name="model" value="\(resolved.model)">
        <input type="hidden" name="duration" value="\(resolved.duration)">
        <input type="hidden" name="aspect_ratio" value="\(resolved.aspectRatio)">
        <input type="hidden" name="resolution" value="\(resolved.resolution)">
        <input type="hidden" name="takes" value="\(takes)">
        \(parameterHiddenFields(resolved.parameters))
        """
    }

    /// The chosen parameters as hidden fields (a seed left empty: a new one per take).
    static func parameterHiddenFields(_ p: VideoParameters) -> HTML {
        let fields: [HTML] = p.members.map { name, value in
            let text = value.stringValue ?? value.serialized
            return "<input type=\"hidden\" name=\"\(name)\" value=\"\(text)\">"
        }
        return fields.joined()
    }

    /// The parameters the chosen model declares, as inputs; `seeds`: the seeds earlier takes of this video
    /// used, offered as "same seed as take N".
    static func parameterInputs(_ model: CatalogModel?, _ p: VideoParameters, seeds: [(take: Int, seed: Int64)]) -> HTML
    {
        guard let model, !model.parameters.isEmpty else { return .empty }
        let inputs: [HTML] = model.parameters.map { parameter in
            switch parameter {
            case .seed:
                let options: [HTML] = seeds.map { take, seed in
                    "<option value=\"\(seed)\"\(p.seed == seed ? " selected" : "")>same seed as take \(take) (\(seed))</option>"
                }
                let choose: HTML =
                    seeds.isEmpty
                    ? .empty
                    : """
                    <label for="seed_take">Seed from an earlier take</label>
                    <select id="seed_take" name="seed_take"><option value="">a new seed for each take</option>\(options)</select>
                    """
                let typed = seeds.contains { $0.seed == p.seed } ? nil : p.seed
                return """
                    \(choose)<label for="seed">\(parameter.label)</label>
                    <input id="seed" name="seed" inputmode="numeric" pattern="[0-9]*" value="\(typed.map(String.init) ?? "")" placeholder="random">
                    <small>0 to \(VideoParameters.maxSeed). Empty: a new random seed; with several takes, each take gets the next seed.</small>
                    """
            case .negativePrompt:
                return """
                    <label for="negative_prompt">\(parameter.label)</label>
                    <textarea id="negative_prompt" name="negative_prompt" rows="2" maxlength="\(VideoParameters.maxNegativePrompt)">\(p.negativePrompt ?? "")</textarea>
                    """
            case .steps:
                return """
                    <label for="num_inference_steps">\(parameter.label)</label>
                    <input id="num_inference_steps" name="num_inference_steps" type="number" min="1" max="200" value="\(p.steps.map(String.init) ?? "")" placeholder="the model's default">
                    """
            case .guidance:
                return """
                    <label for="guidance_scale">\(parameter.label)</label>
                    <input id="guidance_scale" name="guidance_scale" type="number" min="0" max="20" step="0.01" value="\(p.guidance ?? "")" placeholder="the model's default">
                    """
            }
        }
        return inputs.joined()
    }

    /// What is left of the budget beside a confirm button, and the attributes that disable the button when
    /// `total` does not fit (the click would be refused: all or nothing).
    static func budgetNote(_ c: Context, total: USD, cheaper: String) throws -> (note: HTML, disabled: HTML) {
        guard let left = try Budgets(db: c.db).remaining(userID: c.requireUser().id) else { return (.empty, .empty) }
        guard total > left else {
            return (
                "<p class=\"muted\" id=\"budget-note\">Budget left this month (UTC): <strong>\(left.flooredToCents.display)</strong>.</p>",
                .empty
            )
        }
        return (
            "<p class=\"error\" id=\"budget-note\" role=\"note\">Budget left this month (UTC): <strong>\(left.flooredToCents.display)</strong>. This costs \(total.display), so it cannot start: \(cheaper), or ask the operator to raise the budget.</p>",
            " disabled aria-describedby=\"budget-note\""
        )
    }

    /// The settings form: everything the catalog has, with what the chosen model cannot do disabled
    /// and the reason said. "Review" resubmits it (GET) to recompute the estimate.
    static func settingsForm(
        action: String, catalog: Catalog, model: CatalogModel?, resolved: ResolvedSettings?, takes: Int,
        leading: HTML = .empty, extra: HTML = .empty, seeds: [(take: Int, seed: Int64)] = [],
        takesNote: String = "Each take is a separate video from the same prompt and settings, at the same price each."
    ) -> HTML {
        let takeOptions: [HTML] = (1...Catalog.maxTakes).map { n in
            "<option value=\"\(n)\"\(n == takes ? " selected" : "")>\(n == 1 ? "1 take" : "\(n) takes")</option>"
        }
        let modelOptions: [HTML] = catalog.models.map { m in
            let cheapest = m.sizes.map(\.usdPerSecond).min { (Double($0) ?? 0) < (Double($1) ?? 0) } ?? "0"
            let selected: HTML = m.name == model?.name ? " selected" : .empty
            let image = m.requiresImage ? " (image to video only)" : m.acceptsImage ? "" : " (no reference image)"
            return
                "<option value=\"\(m.name)\"\(selected)>\(m.displayName) — from \(Views.perSecond(cheapest))\(image)</option>"
        }
        let durations = Set(catalog.models.flatMap(\.durations)).sorted()
        let durationOptions: [HTML] = durations.map { d in
            let offered = model?.durations.contains(d) ?? false
            let selected: HTML = d == resolved?.duration ? " selected" : .empty
            let disabled: HTML = offered ? .empty : " disabled"
            let why: String = offered ? "" : " — not offered by \(model?.displayName ?? "this model")"
            return "<option value=\"\(d)\"\(selected)\(disabled)>\(d) seconds\(why)</option>"
        }
        let aspects = unique(catalog.models.flatMap(\.aspectRatios) + ["16:9", "9:16", "1:1"])
        let aspectOptions: [HTML] = aspects.map { a in
            let offered = model?.aspectRatios.contains(a) ?? false
            let selected: HTML = a == resolved?.aspectRatio ? " selected" : .empty
            let disabled: HTML = offered ? .empty : " disabled"
            let name = ["16:9": "16:9 landscape", "9:16": "9:16 portrait", "1:1": "1:1 square"][a] ?? a
            let why: String = offered ? "" : " — not offered by \(model?.displayName ?? "this model")"
            return "<option value=\"\(a)\"\(selected)\(disabled)>\(name)\(why)</option>"
        }
        let aspect = resolved?.aspectRatio ?? "16:9"
        let resolutions = unique(catalog.models.flatMap(\.resolutions)).sorted {
            Catalog.height($0) < Catalog.height($1)
        }
        let resolutionOptions: [HTML] = resolutions.map { r in
            let size = model?.sizes.first { $0.aspectRatio == aspect && $0.resolution == r }
            let selected: HTML = r == resolved?.resolution ? " selected" : .empty
            let disabled: HTML = size == nil ? " disabled" : .empty
            let label: String =
                size.map { "\(r) — \(priceLabel($0))" }
                ?? "\(r) — not offered by \(model?.displayName ?? "this model") at \(aspect)"
            return "<option value=\"\(r)\"\(selected)\(disabled)>\(label)</option>"
        }
        return """
            <form method="get" action="\(action)" class="settings">\(leading)
            <label for="model">Model</label>
            <select id="model" name="model">\(modelOptions)</select>
            <label for="duration">Duration</label>
            <select id="duration" name="duration">\(durationOptions)</select>
            <label for="aspect_ratio">Aspect ratio</label>
            <select id="aspect_ratio" name="aspect_ratio">\(aspectOptions)</select>
            <label for="resolution">Resolution</label>
            <select id="resolution" name="resolution">\(resolutionOptions)</select>
            \(parameterInputs(model, resolved?.parameters ?? VideoParameters(), seeds: seeds))
            \(extra)
            <label for="takes">Takes</label>
            <select id="takes" name="takes">\(takeOptions)</select>
            <small>\(takesNote)</small>
            <button type="submit" class="secondary">Review</button>
            <small>Changed something? Review updates the price before you confirm.</small>
            </form>
            """
    }

    // MARK: Reference image

    static func fitSelect(_ fit: FitMode) -> HTML {
        let options: [HTML] = [
            (FitMode.crop, "Crop to fill the frame"), (FitMode.letterbox, "Letterbox (black bars, nothing cut)"),
        ].map { mode, label in
            "<option value=\"\(mode.rawValue)\"\(mode == fit ? " selected" : "")>\(label)</option>"
        }
        return """
            <label for="image_fit">Fit the reference image</label>
            <select id="image_fit" name="image_fit">\(options)</select>
            """
    }

    /// The reference image as this model and size will use it (a preview of the fitted frame), or why
    /// the model cannot generate this video as it is (`blocker`, shown instead of the Generate button).
    static func referenceSection(
        video: Video, image: ReferenceImage?, model: CatalogModel?, resolved: ResolvedSettings?,
        fit: FitMode
    ) -> (html: HTML, blocker: String?) {
        let upload: HTML = "<a href=\"\(Route.library(.video(video.id)).path)#reference-image\">on the video page</a>"
        guard let model else { return (.empty, nil) }
        guard let image else {
            if model.requiresImage {
                let refusal = Generations.Refusal.referenceImageRequired(model: model.displayName).httpError
                    .publicMessage
                return (
                    "<h3>Reference image</h3><p class=\"notice\">\(model.displayName) needs a reference image: upload one \(upload).</p>",
                    refusal
                )
            }
            return (
                "<h3>Reference image</h3><p class=\"muted\">None: this video starts from the prompt alone. Add an image \(upload) to start from a picture.</p>",
                nil
            )
        }
        guard model.acceptsImage else {
            let refusal = Generations.Refusal.referenceImageNotSupported(model: model.displayName).httpError
                .publicMessage
            return (
                "<h3>Reference image</h3><p class=\"notice\">\(model.displayName) makes videos from text only; remove the image \(upload) or pick another model.</p>",
                refusal
            )
        }
        guard let resolved else { return (.empty, nil) }
        let preview =
            Route.references(.videoReferencePreview(video: video.id)).path
            + "?size=\(URLEncoding.encode(resolved.size))&fit=\(fit.rawValue)&v=\(String(image.sha256.prefix(12)))"
        let html: HTML = """
            <h3>Reference image</h3>
            <figure class="reference"><img src="\(preview)" alt="The first frame: the reference image fitted to \(resolved.size)">
            <figcaption>The first frame: your \(image.width)×\(image.height) image fitted to \(resolved.size) (\(fit == .crop ? "cropped to fill" : "letterboxed")). \
            Change the fit above and press Review to compare.</figcaption></figure>
            """
        return (html, nil)
    }

    /// " · from an image (crop)" in the history, linking the fitted frame the take started from.
    static func referenceNote(_ g: Generation) -> HTML {
        guard let reference = g.reference, let fitted = g.referenceFittedURL else { return .empty }
        return " <a class=\"muted\" href=\"\(fitted)\">from an image (\(reference.fit.rawValue))</a>"
    }

    /// "5 s × $0.10/s = $0.50", or for a price per GPU-second the ceiling the user confirms ("up to").
    static func estimateLine(_ resolved: ResolvedSettings, price: String) -> HTML {
        guard let gpu = resolved.gpuPricing else {
            return
                "<p class=\"estimate\">\(resolved.duration) s × \(Views.perSecond(price)) = <strong>\(resolved.estimatedCost.display)</strong>"
        }
        return """
            <p class="estimate">Up to <strong>\(resolved.estimatedCost.display)</strong>: \(Views.dollars(gpu.usdPerGPUSecond)) per GPU-second, \
            at most \(gpu.maxGPUSecondsPerSecond) GPU-seconds per second of video × \(resolved.duration) s. You pay the GPU time the job \
            reports, never more than this ceiling.
            """
    }

    /// ", measured: 41.25 GPU-seconds × $0.0011 (confirmed up to $0.14)" for a generation priced per GPU-second.
    static func gpuCostNote(_ g: Generation) -> HTML {
        guard let rate = g.usdPerGPUSecond else { return .empty }
        let measured: String =
            g.gpuSeconds.map { "measured: \($0) GPU-seconds × \(Views.dollars(rate))" }
            ?? (g.status == .completed
                ? "the provider reported no GPU time, so the ceiling" : "per GPU-second at \(Views.dollars(rate))")
        return " <span class=\"muted\">(\(measured); confirmed up to \(g.estimatedCost.display))</span>"
    }

    /// "$0.10/s", or "up to $0.0264/s ($0.0011 per GPU-second)".
    static func priceLabel(_ s: CatalogSize) -> String {
        guard let gpu = s.gpuPricing else { return Views.perSecond(s.usdPerSecond) }
        return "up to \(Views.perSecond(s.usdPerSecond)) (\(Views.dollars(gpu.usdPerGPUSecond)) per GPU-second)"
    }

    static func priceTable(_ model: CatalogModel?) -> HTML {
        guard let model else { return .empty }
        let rows: [HTML] = model.sizes.map { s in
            "<tr><td>\(s.aspectRatio)</td><td>\(s.resolution)</td><td>\(s.size)</td><td>\(priceLabel(s))</td></tr>"
        }
        return """
            <table class="prices"><caption>\(model.displayName) prices</caption>
            <thead><tr><th scope="col">Aspect</th><th scope="col">Resolution</th><th scope="col">Size</th><th scope="col">Per second</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
    }

    static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }

    // MARK: Progress and result

    /// GET /dashboard/videos/{id}/generation: the latest generation's page.
    static func latest(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.video(id: videoID, userID: user.id) != nil else { throw HTTPError.notFound("No such video.") }
        guard let takes = try c.generations.store.latestTakes(videoID: videoID, userID: user.id),
            let latest = takes.last
        else {
            throw HTTPError(404, "no_generation", "This video has not been generated yet.")
        }
        // Several takes are watched side by side.
        return .redirect(
            to: takes.count > 1
                ? Route.generations(.videoTakes(video: videoID)).path : Route.generations(.generation(latest.id)).path)
    }

    /// GET /dashboard/generations/{id}: refreshes itself every 5 s while the job runs (unless `?refresh=off`
    /// or the account says not to).
    static func show(_ c: inout Context, id: ID<Generation>) throws -> Response {
        let user = try c.requireUser()
        guard let (found, video) = try c.generationWithVideo(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such generation.")
        }
        let g = try c.generations.noted(found)
        let refresh = AutoRefresh(c, page: .generations(.generation(g.id)), every: 5, while: g.isActive)
        let header: HTML = """
            \(Breadcrumbs.video(video).html)
            <h1>\(video.title) \(Views.statusBadge(g.status))</h1>\(VideoPages.earlierPrompt(g, current: video.finalPrompt))
            <p class="muted">Started by \(VideoPages.starter(found.startedBy, mine: g.userID == user.id)).</p>
            """
        let canEdit = video.role.canEdit
        let body: HTML
        switch g.status {
        case .completed:
            let poster: HTML = g.thumbnailURL.map { " poster=\"\($0)\"" } ?? .empty
            let delivery: HTML =
                g.deliveryDifference.map {
                    "<p class=\"notice\" role=\"note\">The provider \($0). You were charged the confirmed price, never more.</p>"
                } ?? .empty
            body = """
                \(header)
                <video controls preload="metadata" src="\(g.videoURL ?? "")"\(poster)>Your browser cannot play this video; use Download.</video>
                \(delivery)
                <p><a class="button" href="\(g.videoURL ?? "")?download=1" download>Download video</a>
                \(canEdit ? try remixAction(c, g, catalog: Catalog.load(c.db)) : .empty)
                \(canEdit ? "<a class=\"button secondary\" href=\"\(retryPath(video.id, g))\">Generate again</a>" as HTML : .empty)</p>
                \(details(g))
                """
        case .failed:
            let headline =
                switch g.errorCode {
                case .timeout?: "This generation timed out."
                case .unconfirmed?: "PromptReel could not confirm this generation."
                case .cancelled?: "This generation was cancelled."
                default: "This generation failed."
                }
            let billed: HTML =
                g.possiblyBilled
                ? """
                <p><strong>Possibly billed: \(g.cost.display).</strong> The provider may have made and charged this video, so it \
                counts in your spend. Check your provider's dashboard before retrying: the first job may still be running.</p>
                """
                : .empty
            body = """
                \(header)
                <div class="error" role="alert"><p><strong>\(headline)</strong></p>
                <p>\(g.errorMessage ?? "The video provider could not generate this video.")</p>\(billed)</div>
                \(canEdit ? "<p><a class=\"button\" href=\"\(retryPath(video.id, g))\">Retry</a> <span class=\"muted\">opens the settings with the same choices, so you can change them first.</span></p>" as HTML : .empty)
                \(details(g))
                """
        case .queued, .inProgress:
            let estimate = try c.generations.estimate(for: g)
            // Without figures from a provider that is working on it, elapsed time and the usual duration.
            // The status region holds the text that changes between two looks at the page.
            let progress: HTML =
                g.progressKnown || g.phase == .waiting || g.phase == .submitting
                ? """
                <div role="status"><p class="lead">\(g.statusMessage)</p>
                <p>\(g.progress)% · running for \(Formatting.duration(seconds: g.elapsedSeconds))</p></div>
                <label for="progress">Progress</label>
                <progress id="progress" max="100" value="\(g.progress)">\(g.progress)%</progress>
                """
                : """
                <div role="status"><p class="lead">\(g.statusMessage)</p>
                <p>Running for \(Formatting.duration(seconds: g.elapsedSeconds)). The provider does not report progress; \
                \(estimate?.sentence ?? DurationEstimate.noHistory)</p></div>
                """
            let cancel: HTML =
                g.phase == .waiting && canEdit
                ? """
                <form method="post" action="\(Route.generations(.cancelGeneration(g.id)).path)">\(Views.csrfField(c))
                <button type="submit" class="secondary">Cancel (not sent yet)</button></form>
                """
                : .empty
            body = """
                \(header)
                \(progress)
                <p>You can leave this page — generation continues.</p>
                \(refresh.map(Views.refreshControl) ?? .empty)
                \(cancel)
                \(details(g))
                """
        }
        return .html(Views.layout(video.title, c, body: body, refresh: refresh))
    }

    // MARK: Takes and remix

    /// The Remix button of a completed generation, or why it cannot be remixed (then "Generate again" is next to it).
    static func remixAction(_ c: Context, _ g: Generation, catalog: Catalog) throws -> HTML {
        guard g.status == .completed else { return .empty }
        switch try c.generations.remixOffer(g, catalog: catalog) {
        case .success: return "<a class=\"button\" href=\"\(Route.generations(.remixGeneration(g.id)).path)\">Remix</a>"
        case let .failure(why): return "<span class=\"remix-unavailable\">Remix unavailable: \(why.message)</span>"
        }
    }

    /// GET /dashboard/videos/{id}/takes: the latest click's takes side by side; refreshes while any runs.
    static func takes(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: videoID, userID: user.id) else {
            throw HTTPError.notFound("No such video.")
        }
        let takes = try c.generations.store.latestTakes(videoID: videoID, userID: user.id) ?? []
        let running = takes.filter(\.isActive).count
        let refresh = AutoRefresh(c, page: .generations(.videoTakes(video: videoID)), every: 5, while: running > 0)
        // While any runs, the status region says how many are done; each take's card says where it is.
        let status: HTML =
            refresh.map {
                """
                <p role="status" class="lead">\(takes.count - running) of \(takes.count) takes finished, \(running) running.</p>
                <p>You can leave this page — generation continues.</p>\(Views.refreshControl($0))
                """
            } ?? .empty
        let body: HTML = """
            \(Breadcrumbs.video(video).html)
            <h1>Takes of “\(video.title)”</h1>
            \(status)
            \(try takesSection(c, takes: takes, video: video))
            <p><a href="\(Route.library(.video(video.id)).path)">Back to the video</a></p>
            """
        return .html(Views.layout("Takes of \(video.title)", c, body: body, refresh: refresh))
    }

    /// The takes of one click side by side: each plays (or shows its progress or why it failed), downloads,
    /// and offers Remix. Used by the takes page and the video page.
    /// The takes of the video's latest click; remix and "use in the film" for its editors.
    static func takesSection(_ c: Context, takes: [Generation], video: Video) throws -> HTML {
        let chosen = video.chosenGenerationID
        guard !takes.isEmpty else { return "<p class=\"muted\">Not generated yet.</p>" }
        let total = takes.reduce(USD.zero) { $0.adding($1.cost) ?? $0 }
        let catalog = try Catalog.load(c.db)
        let cards: [HTML] = try takes.enumerated().map { index, g in
            let media: HTML
            switch g.status {
            case .completed:
                let poster: HTML = g.thumbnailURL.map { " poster=\"\($0)\"" } ?? .empty
                media = """
                    <video controls preload="none" src="\(g.videoURL ?? "")"\(poster)>Your browser cannot play this video; use Download.</video>
                    <div class="take-actions"><a class="button" href="\(g.videoURL ?? "")?download=1" download>Download</a>
                    \(video.role.canEdit ? try remixAction(c, g, catalog: catalog) + " " + StoryboardPages.chooseAction(c, g, chosen: chosen) : .empty)</div>
                    """
            case .failed:
                media = "<p class=\"error\">\(g.errorMessage ?? "The generation failed.")</p>"
            case .queued, .inProgress:
                media = """
                    <progress max="100" value="\(g.progress)" aria-label="Take \(index + 1) progress">\(g.progress)%</progress>
                    <p>\(g.statusMessage)</p>
                    """
            }
            return """
                <li class="take"><h3><a href="\(Route.generations(.generation(g.id)).path)">Take \(index + 1)</a> \(Views.statusBadge(g.status))</h3>
                \(media)
                <p class="muted">\(g.cost.display)\(g.possiblyBilled ? " (possibly billed)" : "")\(g.remixedFromGenerationID.map { " · remix of generation \($0)" } ?? "")\(localPosterNote(g)) · started by \(VideoPages.starter(g.startedBy, mine: g.userID == c.user?.id))</p></li>
                """
        }
        let summary = takes.count == 1 ? "1 take" : "\(takes.count) takes"
        return """
            <section aria-labelledby="takes-title" class="takes-section"><h2 id="takes-title">Latest: \(summary) · \(total.display)</h2>
            <ul class="takes">\(cards)</ul></section>
            """
    }

    /// GET /dashboard/generations/{id}/remix: a new prompt for a completed generation, at the catalog's
    /// price for its model, size and seconds; or why it cannot be remixed, and "Generate again".
    static func remixForm(_ c: inout Context, id: ID<Generation>) throws -> Response {
        let user = try c.requireUser()
        guard let (g, video) = try c.generationWithVideo(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such generation.")
        }
        return try remixPage(c, g, video, prompt: g.prompt, status: 200, error: nil)
    }

    /// POST /dashboard/generations/{id}/remix: starts the remix at the confirmed price.
    static func remix(_ c: inout Context, id: ID<Generation>) throws -> Response {
        let user = try c.requireUser()
        guard let (g, video) = try c.generationWithVideo(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such generation.")
        }
        let form = try c.form()
        let text = form["prompt"] ?? ""
        var expected: USD?
        if let cost = form["expected_cost"], !cost.isEmpty {
            guard let amount = USD(parsing: cost) else {
                return try remixPage(
                    c, g, video, prompt: text, status: 422,
                    error: "The confirmed price was not a plain amount in dollars.")
            }
            expected = amount
        }
        do {
            let prompt = try Field.text(text, name: "prompt", max: 32000, required: true)
            let remix = try c.generations.remix(user: user, sourceID: id, prompt: prompt, expectedCost: expected)
            c.setFlash(GenerationAPI.startedMessage(c))
            return .redirect(to: Route.generations(.generation(remix.id)).path)
        } catch let refusal as Generations.Refusal {
            if case .alreadyActive = refusal {
                c.setFlash("This video is already being generated; here is its progress.")
                return .redirect(to: Route.generations(.latestGeneration(video: video.id)).path)
            }
            let error = refusal.httpError
            return try remixPage(c, g, video, prompt: text, status: error.status, error: error.publicMessage)
        } catch let error as InvalidInput {
            return try remixPage(c, g, video, prompt: text, status: 422, error: error.description)
        }
    }

    static func remixPage(_ c: Context, _ g: Generation, _ video: Video, prompt: String, status: Int, error: String?)
        throws -> Response
    {
        let header: HTML = """
            \(Breadcrumbs.video(video).then("generation \(g.id)", .generations(.generation(g.id))).html)
            <h1>Remix “\(video.title)”</h1>
            """
        let content: HTML
        switch try c.generations.remixOffer(g, catalog: Catalog.load(c.db)) {
        case let .failure(why):
            content = """
                <p class="error" role="alert">Remix unavailable: \(why.message)</p>
                <p><a class="button primary" href="\(retryPath(video.id, g))">Generate again</a></p>
                """
        case let .success(price):
            let poster: HTML =
                g.thumbnailURL.map {
                    "<img class=\"remix-source\" src=\"\($0)\" alt=\"The video being remixed\" width=\"192\" height=\"108\">"
                } ?? .empty
            content = """
                \(Views.errorBox(error))\(poster)
                <p>The provider changes its finished video following your new prompt: same model and settings (\(settingsSummary(g))).</p>
                <form method="post" action="\(Route.generations(.remixGeneration(g.id)).path)">\(Views.csrfField(c))
                \(Views.textArea("New prompt", name: "prompt", value: prompt, rows: 6, maxLength: 32000, hint: "Describe the change, e.g. the same scene at night."))
                <input type="hidden" name="expected_cost" value="\(price.jsonText)">
                <p class="estimate">\(g.seconds) s at \(g.resolution) = <strong>\(price.display)</strong></p>
                <button type="submit" class="primary">Remix (\(price.display))</button>
                </form>
                <p class="muted">This is the exact amount recorded for the remix. The provider keeps the original \
                \(g.providerExpiresAt.map { "until " + Views.when($0) } ?? "for a limited time"); after that it can only be generated again.</p>
                """
        }
        return .html(Views.layout("Remix", c, body: header + content), status: status)
    }

    static func details(_ g: Generation) -> HTML {
        let s = settingsSummary(g)
        let costLabel =
            switch g.status {
            case .completed: "Cost"
            case .failed: g.possiblyBilled ? "Possibly billed" : "Cost"
            case .queued, .inProgress: "Estimated cost"
            }
        let delivered: HTML =
            g.deliveredSeconds.map { seconds in
                let size: String = g.deliveredWidth.flatMap { w in g.deliveredHeight.map { " · \(w)x\($0)" } } ?? ""
                return "<dt>Delivered</dt><dd>\(seconds) s\(size)</dd>"
            } ?? .empty
        return """
            <h2>Details</h2>
            <dl class="facts">
            <dt>Settings</dt><dd>\(s)</dd>
            <dt>\(costLabel)</dt><dd>\(g.cost.display)\(gpuCostNote(g))</dd>
            \(g.gpuSeconds.map { "<dt>GPU time</dt><dd>\($0) s (as the provider reported it)</dd>" as HTML } ?? .empty)
            \(g.settings.parameters.negativePrompt.map { "<dt>Negative prompt</dt><dd>\($0)</dd>" as HTML } ?? .empty)
            <dt>Started</dt><dd>\(Views.when(g.createdAt))</dd>
            \(g.completedAt.map { "<dt>Finished</dt><dd>\(Views.when($0))</dd>" as HTML } ?? .empty)
            \(delivered)
            \(previewFacts(g))
            \(referenceFacts(g))
            \(g.remixedFromGenerationID.map { "<dt>Remix of</dt><dd><a href=\"\(Route.generations(.generation($0)).path)\">generation \($0)</a></dd>" as HTML } ?? .empty)
            \(g.providerJobID.map { "<dt>Provider job</dt><dd><code>\($0)</code></dd>" as HTML } ?? .empty)
            \(g.providerStatus.map { "<dt>Provider status</dt><dd>\($0)</dd>" as HTML } ?? .empty)
            </dl>
            """
    }

    /// The poster and spritesheet, and where each came from: the provider's, or made locally from the
    /// video (ffmpeg) because the provider sent none usable.
    static func previewFacts(_ g: Generation) -> HTML {
        let items: [HTML] = [
            ("poster", g.thumbnailURL, g.thumbnailSource), ("spritesheet", g.spritesheetURL, g.spritesheetSource),
        ]
        .compactMap { name, url, source in
            guard let url else { return nil }
            let origin = source == .local ? "made locally from the video (the provider sent none)" : "from the provider"
            return "<a href=\"\(url)\">\(name)</a> \(origin)"
        }
        return items.isEmpty ? .empty : "<dt>Previews</dt><dd>\(items.joined(separator: " · "))</dd>"
    }

    /// "poster made locally" for a take whose poster was made from its video.
    static func localPosterNote(_ g: Generation) -> String {
        g.thumbnailSource == .local ? " · poster made locally" : ""
    }

    /// The frame the generation started from: the fitted image and a link to the original.
    static func referenceFacts(_ g: Generation) -> HTML {
        let chain: HTML = chainNote(g).map { "<dt>Continuity</dt><dd>\($0)</dd>" } ?? .empty
        guard let reference = g.reference, let original = g.referenceURL, let fitted = g.referenceFittedURL else {
            return chain
        }
        return chain + """
            <dt>Started from</dt><dd><img class="reference-frame" src="\(fitted)" alt="The first frame this generation started from" width="160"><br>
            <a href="\(fitted)">fitted frame</a> (\(g.size), \(reference.fit.rawValue)) · <a href="\(original)">original image</a> (\(reference.width)×\(reference.height))</dd>
            """
    }

    /// A continuity shot: the frame it starts (or will start) from, in words.
    static func chainNote(_ g: Generation) -> HTML? {
        guard let previous = g.chainPreviousID else { return nil }
        let shot = g.chainFromShot.map { "shot \($0)" } ?? "the shot before"
        let link: HTML = "<a href=\"\(Route.generations(.generation(previous)).path)\">\(shot)</a>"
        if !g.chainReady && g.status == .queued {
            return "Waiting for \(link) to finish: it starts from its last frame."
        }
        if g.reference != nil { return "Started from the last frame of \(link)." }
        return "Was to start from the last frame of \(link)."
    }

    /// "Sora 2 · 4 s · 16:9 · 720p" from the stored settings.
    static func settingsSummary(_ g: Generation) -> String {
        let aspect = g.settings.aspectRatio ?? ""
        let fps = g.settings.fps.map { "\($0) fps" } ?? ""
        return [g.model, "\(g.seconds) s", aspect, g.resolution, fps, g.settings.parameters.summary].filter {
            !$0.isEmpty
        }.joined(separator: " · ")
    }

    /// The settings page prefilled with this generation's choices.
    static func retryPath(_ videoID: ID<Video>, _ g: Generation) -> String {
        // The same parameters, but a new seed: "same seed as take N" is offered on the page.
        let p = g.settings.parameters
        let pairs =
            [
                ("model", g.model), ("duration", String(g.seconds)),
                ("aspect_ratio", g.settings.aspectRatio ?? ""), ("resolution", g.resolution),
            ]
            + [
                (VideoParameter.negativePrompt.rawValue, p.negativePrompt),
                (VideoParameter.steps.rawValue, p.steps.map(String.init)),
                (VideoParameter.guidance.rawValue, p.guidance),
            ].compactMap { name, value in value.map { (name, $0) } }
        return Route.generations(.generateVideo(video: videoID)).path + "?"
            + pairs.map { "\($0.0)=\(URLEncoding.encode($0.1))" }.joined(separator: "&")
    }
}
