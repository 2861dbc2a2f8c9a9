// Moves generations forward: submit, settle lost create answers, poll, download and check media, time
// out. Only workers run it (a request thread never waits on a provider); every step claims its row
// first, so any number of threads and processes can run it at once, and everything needed to resume
// lives in the database. It talks to a `VideoProvider`, so its transitions are tested without sockets.

import Core
import Glibc
import Logging
import Postgres
import Synchronization
import Telemetry
import VideoAPI

final class GenerationEngine {
    let db: Connection
    /// The providers this worker talks to, by name (each generation goes to its own).
    let providers: ProviderPool
    let config: EngineConfig
    /// Reads the delivered duration and size of a stored video (ffprobe; tests may pass their own).
    let probe: (String) -> VideoProbe?
    var store: GenerationStore { GenerationStore(db: db) }
    /// The breaker of the generation's provider.
    func health(_ g: Generation) -> ProviderHealth { ProviderHealth(db: db, provider: g.provider) }

    init(
        db: Connection, providers: ProviderPool, config: EngineConfig,
        probe: @escaping (String) -> VideoProbe? = VideoProbe.run
    ) {
        self.db = db
        self.providers = providers
        self.config = config
        self.probe = probe
    }

    /// One pass of everything due; true when it did some work (so the worker loops again at once).
    func runOnce() throws -> Bool {
        try failTimedOut()
        var worked = try reconcileOne()
        if try linkChainOne() { worked = true }
        if try submitOne() { worked = true }
        if try pollOne() { worked = true }
        if try downloadOne() { worked = true }
        return worked
    }

    /// Every create goes through here, so the breaker (which guards creates) sees each outcome: a
    /// successful poll must not hide that creates are timing out.
    private func create(_ g: Generation, reference: ReferenceUpload?) throws(VideoAPIError) -> APIResult<ProviderVideo>
    {
        do {
            // A remix is a create too: it starts a paid job from the provider's copy of the original.
            let created =
                if let source = g.remixSourceJobID {
                    try provider(for: g).remix(source, prompt: g.prompt, idempotencyKey: g.requestKey)
                } else {
                    try provider(for: g).create(g.createRequest(reference: reference))
                }
            try? health(g).recordSuccess()
            return created
        } catch {
            if error.isProviderFailure {
                if let pause = try? health(g).recordFailure(error.description, config: config.breaker) {
                    Log.error("provider \(g.provider) failing (\(error)); no new creates there for \(pause) s")
                }
            } else {
                try? health(g).recordSuccess()  // it answered: refusals and rate limits are not outages
            }
            throw error
        }
    }

    /// The stores this process can write: it claims only generations whose media live in one of them.
    var stores: [MediaStoreName] { config.media.all.map(\.name) }

    // MARK: Submit

    /// Sends the oldest waiting generation if a slot is free and the breaker is closed. What was surely
    /// not taken (refused connection, 429, 503) goes back to the queue; a refusal fails it; a lost
    /// answer is never resent but settled by `reconcileOne`.
    @discardableResult
    func submitOne() throws -> Bool {
        guard
            let g = try store.claim(
                .submit(maxInFlight: config.maxInFlight, reconcileAfter: config.reconcileDelaySeconds),
                providers: providers.names, stores: stores)
        else {
            return false
        }
        defer { store.unlock(g.id) }
        // The fitted frame recorded at the click; without it nothing is sent (and nothing billed).
        var reference: ReferenceUpload?
        if let frame = g.reference {
            do {
                reference = ReferenceUpload(
                    data: try config.media.required(g.mediaStore).read(
                        frame.fittedPath, maxBytes: config.maxImageBytes),
                    contentType: ReferenceFile.fitted.contentType, filename: ReferenceFile.fitted.fileName)
            } catch let error as MediaStoreError where error.kind == .transient {
                // The store is unwell, not the frame: nothing was sent, so it waits its turn again.
                Log.error("reference image not readable now (\(error.code ?? "error")): \(error)", g.logMetadata)
                try store.retrySubmitLater(g.id, afterSeconds: 10, note: "The reference image is being fetched.")
                return true
            } catch {
                Log.error("reference image unreadable: \(error)", g.logMetadata)
                try store.fail(
                    g.id, code: .referenceImageMissing,
                    message: "The reference image for this generation could not be read; nothing was sent.")
                return true
            }
        }
        do {
            let created = try create(g, reference: reference)
            if config.failpoint == "after-create" {
                Log.error("failpoint after-create: exiting")
                _exit(137)
            }
            Log.info(
                "created \(created.value.id)",
                g.logMetadata.merging(["provider_request_id": "\(created.requestID ?? "-")"]) { $1 })
            try recordCreated(g, created)
        } catch let error as VideoAPIError {
            Log.error("create failed: \(error)", g.logMetadata(error))
            switch error.createOutcome {
            case .notTaken:
                // The breaker paces a failing provider; this only spaces one generation's own retries.
                let wait = error.retryAfter ?? min(5, 0.5 * Double(1 << min(max(g.submitAttempts - 1, 0), 6)))
                try store.retrySubmitLater(g.id, afterSeconds: wait, note: error.publicMessage)
            case .refused:
                if let source = g.remixedFromGenerationID, try remixSourceGone(error, source: source) {
                    try store.fail(
                        g.id, code: .sourceExpired,
                        message: """
                            The video provider no longer has the original video (its copy expired), so it cannot remix it. \
                            Nothing was charged. Generate again instead.
                            """)
                } else {
                    try store.fail(
                        g.id, code: GenerationErrorCode(rawValue: error.code ?? error.kind.rawValue),
                        message: error.publicMessage)
                }
            case .lostAnswer:
                try store.reconcileLater(g.id, afterSeconds: config.reconcileDelaySeconds)
            }
        }
        return true
    }

    /// A refused remix whose original the provider no longer has: it says so (404, or the code
    /// `video_expired`), or the original's `expires_at` has passed by the database's clock.
    private func remixSourceGone(_ error: VideoAPIError, source: ID<Generation>) throws -> Bool {
        if error.kind == .notFound || error.code == "video_expired" { return true }
        return try store.providerCopyExpired(source)
    }

    /// The provider has the job: its id must reach the database. A failed write is retried a few times;
    /// if it still fails the job id is logged for an operator (the row is then settled by the reconciler).
    private func recordCreated(_ g: Generation, _ created: APIResult<ProviderVideo>) throws {
        var attempt = 0
        while true {
            do {
                _ = try store.recordSubmitted(
                    g.id, providerJobID: created.value.id, requestID: created.requestID,
                    nextPollSeconds: pollInterval(created.pollAfterMs, polls: 0))
                try apply(g, created.value, pollAfterMs: created.pollAfterMs)
                return
            } catch {
                attempt += 1
                Log.error(
                    "the provider created job \(created.value.id) but recording it failed: \(error)", g.logMetadata)
                guard attempt < 3 else { throw error }
                VideoAPIClient.sleep(0.5 * Double(attempt))
            }
        }
    }

    // MARK: Reconcile

    /// Settles one create whose answer was lost (or whose creator died): adopt the provider's job when
    /// its list shows it (same prompt, model, size and seconds, created after the intent); otherwise —
    /// the list does not show it, or cannot be read — never resend: the generation becomes
    /// `unconfirmed`, possibly billed, for an operator to check.
    @discardableResult
    func reconcileOne() throws -> Bool {
        guard let g = try store.claim(.orphan(retryAfter: 15), providers: providers.names, stores: stores) else {
            return false
        }
        defer { store.unlock(g.id) }
        let intent = try store.submitStartedEpoch(g.id) ?? 0
        do {
            if try store.twinSubmitting(g) {
                // A same-prompt generation's create is still in flight: a match could be its job.
                guard g.polls >= 3 else {
                    try store.reconcileLater(g.id, afterSeconds: 15)
                    return true
                }
                try store.markUnconfirmed(
                    g.id,
                    message: GenerationEngine.unconfirmedMessage(
                        "another generation with the same prompt and settings was being sent at the same time"))
            } else if let match = try findOrphan(g, intentEpoch: intent) {
                Log.info("adopted the provider's job \(match.id)", g.logMetadata)
                _ = try store.recordSubmitted(g.id, providerJobID: match.id, requestID: nil, nextPollSeconds: 0)
                try apply(g, match, pollAfterMs: nil)
            } else {
                Log.error("the provider's list does not show the job; unconfirmed", g.logMetadata)
                try store.markUnconfirmed(
                    g.id,
                    message: GenerationEngine.unconfirmedMessage(
                        "the provider's list of videos does not show it"))
            }
        } catch let error as VideoAPIError {
            Log.error("cannot list provider videos: \(error)", g.logMetadata(error))
            // Outages and rate limits pass: look again a few times before giving the job up to an operator.
            if (error.isProviderFailure || error.kind == .rateLimited) && g.polls < 3 {
                try store.reconcileLater(g.id, afterSeconds: max(15, error.retryAfter ?? 0))
            } else {
                try store.markUnconfirmed(
                    g.id,
                    message: GenerationEngine.unconfirmedMessage(
                        "the provider cannot list videos (\(error.publicMessage))"))
            }
        }
        return true
    }

    static func unconfirmedMessage(_ why: String) -> String {
        """
        The request reached the video provider but its answer was lost, and PromptReel could not confirm \
        whether the job was created: \(why). It was not resent (that could pay twice). Its price counts as \
        possibly billed; check your provider's dashboard — an operator can attach the job with \
        `promptreel generations adopt`.
        """
    }

    /// Pages through recent provider videos until they predate the intent.
    func findOrphan(_ g: Generation, intentEpoch: Double) throws(VideoAPIError) -> ProviderVideo? {
        var after: String?
        for _ in 0..<5 {
            let page = try provider(for: g).list(limit: 100, after: after).value
            for v in page.data {
                // Gateways send null or 0 for created_at: then the age is unknown, not old.
                let created = v.createdAt.flatMap { $0 > 0 ? Double($0) : nil } ?? .infinity
                if created + 120 < intentEpoch { return nil }  // older than the intent (allowing clock skew)
                let sameModel =
                    v.model.map {
                        GenerationEngine.isSameModel($0, g.apiModel) || GenerationEngine.isSameModel($0, g.model)
                    }
                    ?? true
                // A remix must come from the same original (and a plain create from none), when the provider says.
                let sameSource = (v.remixedFromVideoID ?? g.remixSourceJobID) == g.remixSourceJobID
                if v.prompt == g.prompt, sameModel, sameSource, v.size == nil || v.size == g.size,
                    v.seconds == nil || v.seconds == String(g.seconds),
                    (try? store.isAdopted(providerJobID: v.id)) == false
                {
                    return v
                }
            }
            guard page.hasMore, let last = page.lastID else { return nil }
            after = last
        }
        return nil
    }

    /// The model itself or a dated snapshot of it (sora-2-2025-10-06 for sora-2), never another model
    /// sharing the prefix (sora-2-pro).
    static func isSameModel(_ listed: String, _ ordered: String) -> Bool {
        guard listed != ordered else { return true }
        guard listed.hasPrefix(ordered + "-") else { return false }
        let suffix = listed.dropFirst(ordered.count + 1)
        return suffix.first?.isNumber == true && suffix.allSatisfy { $0.isNumber || $0 == "-" }
    }

    // MARK: Poll

    /// Polls one due generation. Returns false when none was due.
    @discardableResult
    func pollOne() throws -> Bool {
        guard
            let g = try store.claim(
                .poll(retryAfter: config.pollMinSeconds), providers: providers.names, stores: stores)
        else {
            return false
        }
        defer { store.unlock(g.id) }
        guard let jobID = g.providerJobID else { return false }
        do {
            let result = try provider(for: g).retrieve(jobID)
            try apply(g, result.value, pollAfterMs: result.pollAfterMs)
        } catch let error as VideoAPIError {
            Log.error("poll failed: \(error)", g.logMetadata(error))
            // A gateway may not know a job for a moment after creating it: 404 counts only after a few polls.
            if error.kind == .notFound && g.polls >= 3 || error.kind == .badKey && g.polls > 10 {
                // The provider took the job; whatever happened since, it may have billed it.
                try store.fail(
                    g.id,
                    code: error.kind == .notFound ? .vanished : GenerationErrorCode(rawValue: error.kind.rawValue),
                    message: error.kind == .notFound
                        ? """
                        The video provider lost this job: it no longer knows it (a self-hosted server forgets its jobs \
                        when it restarts). It may have been billed, so its price counts as possibly billed.
                        """ : error.publicMessage, possiblyBilled: true)
            } else {
                let inARow = try store.pollLater(
                    g.id, afterSeconds: max(error.retryAfter ?? 0, pollInterval(nil, polls: g.polls)),
                    upstreamError: error.kind == .upstream && error.status == 500)
                if inARow >= config.pollErrorLimit {
                    // A gateway that turns a failed job into a 500 on every poll, without the job in it: the job
                    // most likely failed, and it may have been billed. (502/503/504 say the provider is unwell, not
                    // the job: those are polled until the timeout.) The provider's words go to the log only.
                    Log.error(
                        "\(inARow) retrieves in a row answered 500; ending the job: \(error)", g.logMetadata(error))
                    try store.fail(
                        g.id, code: .provider("upstream_error"),
                        message: """
                            The video provider answered \(inARow) status checks in a row with an internal error, so \
                            PromptReel stopped waiting: the job most likely failed there. Its price counts as possibly billed.
                            """, possiblyBilled: true)
                }
            }
        }
        return true
    }

    /// States never seen before, logged once per process.
    private static let unknownStatesLogged = Mutex<Set<String>>([])

    /// Records a provider state by its meaning: in flight (progress, if any), completed (hand over to
    /// downloads), failed (not billed), or unknown (logged once, polled again until the timeout).
    func apply(_ g: Generation, _ video: ProviderVideo, pollAfterMs: Int?) throws {
        let next = pollInterval(pollAfterMs, polls: g.polls)
        if let gpuSeconds = video.inferenceSeconds, !video.status.isInFlight {
            try store.recordGPUSeconds(g.id, gpuSeconds)
        }
        switch video.status {
        case .queued:
            try store.recordProgress(
                g.id, status: .queued, providerStatus: video.rawStatus, progress: video.progress, nextPollSeconds: next)
        case .inProgress:
            try store.recordProgress(
                g.id, status: .inProgress, providerStatus: video.rawStatus, progress: video.progress,
                nextPollSeconds: next)
        case let .unknown(raw):
            let first = GenerationEngine.unknownStatesLogged.withLock { $0.insert(raw).inserted }
            if first {
                Log.error("provider sent an unknown status '\(raw)'; polling on until the timeout", g.logMetadata)
            }
            try store.recordProgress(
                g.id, status: g.status, providerStatus: raw, progress: video.progress, nextPollSeconds: next)
        case .completed:
            try store.recordProviderCompleted(
                g.id, video: video.completedJob, deadlineSeconds: config.downloadDeadlineSeconds)
        case .failed:
            let code = video.errorCode ?? video.rawStatus
            try store.fail(
                g.id, code: GenerationErrorCode(rawValue: code),
                message: FailureMessages.plain(code: code, providerMessage: video.failureMessage))
        }
    }

    /// `openai-poll-after-ms` when the provider sends it; otherwise the configured backoff (×1.5 per poll).
    func pollInterval(_ pollAfterMs: Int?, polls: Int) -> Double {
        if let ms = pollAfterMs, ms > 0 { return min(60, Double(ms) / 1000) }
        var interval = config.pollMinSeconds
        for _ in 0..<min(polls, 10) { interval *= 1.5 }
        return min(config.pollMaxSeconds, interval)
    }

    // MARK: Download

    /// Downloads what one finished generation still lacks, keeping only bodies that are what they claim;
    /// completes it when the video is stored. A video that is "not ready" is retried until the provider's
    /// copy expires, then the generation fails as possibly billed; a body naming a definite failure fails
    /// it at once, not billed. A wrong thumbnail or spritesheet is skipped, never a reason to fail.
    @discardableResult
    func downloadOne() throws -> Bool {
        guard let g = try store.claim(.download(retryAfter: 10), providers: providers.names, stores: stores) else {
            return false
        }
        defer { store.unlock(g.id) }
        guard let jobID = g.providerJobID else { return false }
        let media: any MediaStore
        do { media = try config.media.required(g.mediaStore) } catch {
            Log.error("\(error)", g.logMetadata)
            try store.retryDownloadLater(g.id, afterSeconds: 60, storageProblem: "not_configured")
            return true
        }
        let staging = StagedMedia(scratch: media.scratchDirectory, generation: g.id)
        var videoProblem: String?
        var storageProblem: MediaStoreError?
        for asset in MediaAsset.allCases where !g.has(asset) {
            let key = "\(g.id)/\(asset.fileName)"
            // A file checked on an earlier pass whose storing failed is stored now, not downloaded again.
            if let checked = staging.checked(asset) {
                do throws(MediaStoreError) {
                    try keep(checked, asset, key: key, in: media, g)
                } catch {
                    storageProblem = error
                    break
                }
                continue
            }
            let variant: ContentVariant =
                switch asset {
                case .video: .video
                case .thumbnail: .thumbnail
                case .spritesheet: .spritesheet
                }
            let download = staging.downloading(asset)
            do {
                let file = try provider(for: g).download(
                    jobID, variant: variant, to: download,
                    maxBytes: asset == .video ? config.maxVideoBytes : config.maxImageBytes)
                switch MediaCheck.verdict(variant, file.value) {
                case .valid:
                    guard let checked = staging.markChecked(asset, bytes: file.value.bytes, sha256: file.value.sha256)
                    else {
                        throw VideoAPIError(.upstream, detail: "cannot keep \(download) for storing")
                    }
                    if asset == .video, let hold = config.failpoint?.split(separator: "=").last.flatMap({ Double($0) }),
                        config.failpoint?.hasPrefix("store-hold=") == true
                    {
                        Log.error("failpoint store-hold: holding generation \(g.id)'s checked video for \(hold) s")
                        usleep(UInt32(min(hold, 600) * 1_000_000))
                    }
                    do throws(MediaStoreError) {
                        try keep(checked, asset, key: key, in: media, g)
                    } catch {
                        storageProblem = error
                        break
                    }
                case let .notReady(why):
                    unlink(download)
                    Log.error("\(asset.rawValue) not usable yet: \(why)", g.logMetadata)
                    if asset == .video {
                        videoProblem = "the provider did not deliver a video file (\(why))"
                    } else {
                        try store.skipAsset(g.id, asset)
                    }
                case let .failed(code, message):
                    unlink(download)
                    guard asset == .video else {
                        try store.skipAsset(g.id, asset)
                        continue
                    }
                    Log.error("the provider says the video failed: \(code)", g.logMetadata)
                    try store.fail(
                        g.id, code: GenerationErrorCode(rawValue: code),
                        message: FailureMessages.plain(code: code, providerMessage: message))
                    return true
                }
            } catch let error as VideoAPIError {
                unlink(download)
                Log.error("\(asset.rawValue) download failed: \(error)", g.logMetadata(error))
                if asset == .video {
                    videoProblem = error.publicMessage
                } else if g.downloadAttempts >= 3 || error.kind == .invalidRequest || error.kind == .notFound {
                    try store.skipAsset(g.id, asset)  // a preview is optional; the video is what was paid for
                }
            }
        }
        if let storageProblem {
            // The video is billed and checked: it waits (no deadline) until the store takes it.
            Log.error(
                "storing the media failed (\(storageProblem.code ?? "error")): \(storageProblem); trying again",
                g.logMetadata)
            try MediaStoreHealth.record(db, store: media.name, failure: storageProblem)
            try store.retryDownloadLater(
                g.id, afterSeconds: min(60, pollInterval(nil, polls: g.downloadAttempts)),
                storageProblem: storageProblem.code ?? "unavailable")
            return true
        }
        if let refreshed = try store.byID(g.id), MediaAsset.allCases.allSatisfy({ refreshed.has($0) }) {
            try makeMissingPreviews(refreshed)
            if try store.complete(g.id) { Log.info("completed", g.logMetadata) }
            return true
        }
        // Retry (never the paid generation) until the provider's copy expires.
        if let videoProblem, g.assetsExpired {
            try store.fail(
                g.id, code: .downloadFailed,
                message: """
                    The video was generated but PromptReel could not download it before the provider's copy expired: \
                    \(videoProblem). Its price counts as possibly billed.
                    """, possiblyBilled: true)
        } else {
            try store.retryDownloadLater(g.id, afterSeconds: min(60, pollInterval(nil, polls: g.downloadAttempts)))
        }
        return true
    }

    /// A checked file into the store, then into the row: the row never names an object the store has not
    /// confirmed. The staged file goes once the row has it.
    private func keep(
        _ checked: StagedMedia.Checked, _ asset: MediaAsset, key: String, in media: any MediaStore, _ g: Generation
    ) throws(MediaStoreError) {
        // Probed before storing: on the local store the file is renamed into place.
        let probed = asset == .video ? probe(checked.path) : nil
        try media.put(file: checked.path, key: key, contentType: asset.contentType)
        do {
            try store.recordAsset(g.id, asset, path: key, bytes: checked.bytes, sha256: checked.sha256)
            ProcessMetrics.shared.mediaStored(bytes: checked.bytes, kind: asset.rawValue)
            if let probed {
                try store.recordDelivered(g.id, seconds: probed.seconds, width: probed.width, height: probed.height)
            }
        } catch {
            // The object stays for the next pass (same key) or the sweep; the row is retried.
            throw MediaStoreError(.transient, "recording \(key) failed: \(error)")
        }
    }

    /// The video is stored but the provider sent no usable poster or spritesheet: make them from the
    /// video (ffmpeg). Best effort: a failure is logged and the generation completes without one, since
    /// the video is what was paid for.
    func makeMissingPreviews(_ g: Generation) throws {
        let previews = LocalPreviews(ffmpeg: config.ffmpegPath, maxBytes: config.maxImageBytes)
        try previews.makeMissing(g, store: try config.media.required(g.mediaStore)) { asset, path, made in
            try store.recordAsset(g.id, asset, path: path, bytes: made.bytes, sha256: made.sha256, source: .local)
            return true
        }
    }

    // MARK: Timeouts

    func failTimedOut() throws {
        let minutes = config.timeoutSeconds / 60
        let span =
            minutes >= 1 && config.timeoutSeconds % 60 == 0
            ? "\(minutes) minute\(minutes == 1 ? "" : "s")" : "\(config.timeoutSeconds) seconds"
        for id in try store.failTimedOut(
            afterSeconds: config.timeoutSeconds,
            message: """
                Timed out: the video provider did not finish within \(span), so PromptReel stopped waiting. The provider \
                may still finish and bill it, so its price counts as possibly billed.
                """)
        {
            Log.info("timed out", ["generation_id": "\(id)"])
        }
    }
}

extension Generation {
    func has(_ asset: MediaAsset) -> Bool {
        switch asset {
        case .video: videoPath != nil
        case .thumbnail: thumbnailPath != nil || thumbnailSkipped
        case .spritesheet: spritesheetPath != nil || spritesheetSkipped
        }
    }
}

/// Plain-language messages for the failure codes providers use.
enum FailureMessages {
    static func plain(code: String, providerMessage: String?) -> String {
        let said = providerMessage.map { " The provider said: “\($0)”" } ?? ""
        switch code {
        case "moderation_blocked", "content_policy_violation", "content_filter", "safety_violation":
            return "The video provider's content policy blocked this prompt. Rephrase it and try again.\(said)"
        case "billing_hard_limit_reached", "insufficient_quota", "billing_not_active":
            return "The video provider account has no credit left. Ask the operator to check billing.\(said)"
        case "rate_limit_exceeded":
            return "The video provider is rate limiting this account. Try again in a few minutes.\(said)"
        default:
            return providerMessage ?? "The video provider could not generate this video (\(code))."
        }
    }
}

extension Generation {
    /// What a log line about this generation carries.
    var logMetadata: Logger.Metadata { ["generation_id": "\(id)", "user_id": "\(userID)"] }

    /// The same, with the provider's request id of a failed call when it sent one.
    func logMetadata(_ error: VideoAPIError) -> Logger.Metadata {
        var metadata = logMetadata
        if let requestID = error.requestID { metadata["provider_request_id"] = "\(requestID)" }
        return metadata
    }
}

extension Generation {
    /// The create as recorded at the click: the provider's model name, size and seconds, the frame rate and
    /// count for a model that has one, the parameters (this take's own seed).
    func createRequest(reference: ReferenceUpload?) -> CreateVideo {
        var create = CreateVideo(
            prompt: prompt, model: apiModel, seconds: String(seconds), size: size, idempotencyKey: requestKey,
            inputReference: reference)
        create.fps = settings.fps
        create.numFrames = settings.numFrames
        create.seed = settings.parameters.seed
        create.negativePrompt = settings.parameters.negativePrompt
        create.numInferenceSteps = settings.parameters.steps
        create.guidanceScale = settings.parameters.guidance
        return create
    }
}

extension ProviderVideo {
    /// The facts of a finished job the generation row keeps.
    var completedJob: GenerationStore.CompletedJob {
        GenerationStore.CompletedJob(rawStatus: rawStatus, seconds: seconds, size: size, expiresAt: expiresAt)
    }
}
