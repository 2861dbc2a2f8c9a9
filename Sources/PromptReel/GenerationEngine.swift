// Moves generations forward: submit, reconcile unknown creates, poll, download, time out. The web
// handlers use it for one generation at a time (submit on click, refresh on status); the worker runs
// it in a loop for all of them. Every step claims its row first, so any number of threads and
// processes can run it at once; everything needed to resume lives in the database.

import Glibc
import Postgres
import VideoAPI

public struct EngineConfig: Sendable {
    public var mediaDirectory: String
    /// Jobs in flight upstream at once, across every process.
    public var maxInFlight = 4
    /// A generation in flight longer than this fails.
    public var timeoutSeconds = 600
    /// How long after a create with an unknown outcome (or a crashed creator) to look for the job in the
    /// provider's list: long enough for it to show up there.
    public var reconcileDelaySeconds = 10.0
    /// Poll backoff without `openai-poll-after-ms`: from `pollMinSeconds`, ×1.5 per poll, up to `pollMaxSeconds`.
    public var pollMinSeconds = 5.0
    public var pollMaxSeconds = 20.0
    public var maxVideoBytes = 1 << 30
    public var maxImageBytes = 32 << 20
    /// For crash tests only: "after-create" exits the process right after the provider accepts a create.
    public var failpoint: String?

    public init(mediaDirectory: String) { self.mediaDirectory = mediaDirectory }

    public static func fromEnvironment(_ env: [String: String], defaultMedia: String) -> EngineConfig {
        var c = EngineConfig(mediaDirectory: env["PROMPTREEL_MEDIA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultMedia)
        func int(_ key: String) -> Int? { env[key].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } }
        if let n = int("PROMPTREEL_MAX_IN_FLIGHT") { c.maxInFlight = n }
        if let n = int("PROMPTREEL_GENERATION_TIMEOUT_SECONDS") { c.timeoutSeconds = n }
        if let n = env["PROMPTREEL_RECONCILE_DELAY_SECONDS"].flatMap({ Double($0) }), n >= 0 { c.reconcileDelaySeconds = n }
        if let n = env["PROMPTREEL_POLL_MIN_SECONDS"].flatMap({ Double($0) }), n > 0 { c.pollMinSeconds = n }
        c.failpoint = env["PROMPTREEL_FAILPOINT"]
        return c
    }
}

/// What a submit attempt came to, for the web handler to answer with.
enum SubmitOutcome {
    case submitted(Generation)
    case waitingLocally
    /// The provider refused; the generation is recorded as failed with this error.
    case refused(VideoAPIError)
    /// Sent, but the answer was lost: the reconciler will find or rule out the job.
    case unknown(VideoAPIError)
}

final class GenerationEngine {
    let db: Connection
    let api: VideoAPIClient
    let config: EngineConfig
    var store: GenerationStore { GenerationStore(db: db) }

    init(db: Connection, api: VideoAPIClient, config: EngineConfig) {
        self.db = db
        self.api = api
        self.config = config
    }

    // MARK: Submit

    /// Submits `id` (or the oldest waiting generation) if a slot is free. Never resends a create whose
    /// outcome is unknown; a 429 / 503 / refused connection puts the generation back in the queue
    /// (from the worker) or fails it with the provider's reason (from a click, `failOnRefusal`).
    @discardableResult
    func submit(id: Int64? = nil, failOnRefusal: Bool = false) throws -> SubmitOutcome? {
        guard let g = try store.claim(.submit(maxInFlight: config.maxInFlight, reconcileAfter: config.reconcileDelaySeconds), id: id) else {
            return id == nil ? nil : .waitingLocally
        }
        defer { store.unlock(g.id) }
        do {
            let created = try api.create(CreateVideo(prompt: g.prompt, model: g.model, seconds: String(g.seconds), size: g.size), maxRetries: 0)
            if config.failpoint == "after-create" { Log.error("failpoint after-create: exiting"); _exit(137) }
            Log.info("generation \(g.id): created \(created.value.id) [\(created.requestID ?? "-")]")
            _ = try store.recordSubmitted(g.id, video: created.value, requestID: created.requestID, nextPollSeconds: pollInterval(created.pollAfterMs, polls: 0))
            try apply(g.id, created.value, pollAfterMs: created.pollAfterMs, polls: 0)
            return .submitted(try store.byID(g.id) ?? g)
        } catch let error as VideoAPIError {
            Log.error("generation \(g.id): create failed: \(error)")
            if error.outcomeUnknown {
                try store.reconcileLater(g.id, afterSeconds: config.reconcileDelaySeconds)
                return .unknown(error)
            }
            let transient = error.kind == .rateLimited || error.nothingWasSent || (error.kind == .upstream && error.status == 503)
            if transient && !failOnRefusal && g.submitAttempts < 20 {
                let wait = error.retryAfter ?? min(300, 5 * Double(1 << min(g.submitAttempts, 6)))
                try store.retrySubmitLater(g.id, afterSeconds: wait, note: error.publicMessage)
                return .waitingLocally
            }
            try store.fail(g.id, code: error.code ?? error.kind.rawValue, message: error.publicMessage)
            return .refused(error)
        }
    }

    // MARK: Reconcile

    /// Settles one create whose outcome is unknown: adopt the provider's job if it exists (matched by
    /// prompt, model, size and seconds, created after the intent), resubmit if it surely does not, and
    /// fail without resending if the provider cannot tell us (a gateway without list).
    @discardableResult
    func reconcileOne() throws -> Bool {
        guard let g = try store.claim(.orphan(retryAfter: 15)) else { return false }
        defer { store.unlock(g.id) }
        let intent = try store.submitStartedEpoch(g.id) ?? 0
        do {
            if let match = try findOrphan(g, intentEpoch: intent) {
                Log.info("generation \(g.id): adopted orphan \(match.id)")
                _ = try store.recordSubmitted(g.id, video: match, requestID: nil, nextPollSeconds: 0)
                try apply(g.id, match, pollAfterMs: nil, polls: 0)
            } else {
                Log.info("generation \(g.id): no provider job found; submitting again")
                try store.retrySubmitLater(g.id, afterSeconds: 0, note: "Sending to the video provider again.")
            }
        } catch let error as VideoAPIError {
            Log.error("generation \(g.id): cannot list provider videos: \(error)")
            if g.submitAttempts >= 3 || error.kind == .invalidRequest || error.kind == .notFound {
                try store.fail(g.id, code: "submit_unknown", message: """
                    PromptReel lost the provider's answer while submitting and could not check whether the job was \
                    created, so it did not resend it (that could have paid twice). Check your provider's dashboard, then retry.
                    """)
            } else {
                try store.reconcileLater(g.id, afterSeconds: 15)
            }
        }
        return true
    }

    /// Pages through recent provider videos until they predate the intent.
    func findOrphan(_ g: Generation, intentEpoch: Double) throws(VideoAPIError) -> ProviderVideo? {
        var after: String?
        for _ in 0..<5 {
            let page = try api.list(limit: 100, after: after).value
            for v in page.data {
                let created = Double(v.createdAt ?? Int.max)
                if created + 120 < intentEpoch { return nil }  // older than the intent (allowing clock skew)
                let sameModel = v.model == nil || v.model == g.model || v.model?.hasPrefix(g.model + "-") == true
                if v.prompt == g.prompt, sameModel, v.size == nil || v.size == g.size, v.seconds == nil || v.seconds == String(g.seconds),
                   (try? store.isAdopted(providerJobID: v.id)) == false {
                    return v
                }
            }
            guard page.hasMore, let last = page.lastID else { return nil }
            after = last
        }
        return nil
    }

    // MARK: Poll

    /// Polls one due generation (or exactly `id` if it is due). Returns false when none was due.
    @discardableResult
    func pollOne(id: Int64? = nil) throws -> Bool {
        guard let g = try store.claim(.poll(retryAfter: config.pollMinSeconds), id: id) else { return false }
        defer { store.unlock(g.id) }
        guard let jobID = g.providerJobID else { return false }
        do {
            let result = try api.retrieve(jobID)
            try apply(g.id, result.value, pollAfterMs: result.pollAfterMs, polls: g.polls)
        } catch let error as VideoAPIError {
            Log.error("generation \(g.id): poll failed: \(error)")
            if error.kind == .notFound || error.kind == .badKey && g.polls > 10 {
                try store.fail(g.id, code: error.kind.rawValue, message: error.publicMessage)
            } else {
                try store.recordProgress(g.id, status: g.status, progress: g.progress,
                                         nextPollSeconds: max(error.retryAfter ?? 0, pollInterval(nil, polls: g.polls)))
            }
        }
        return true
    }

    /// Records a provider state: progress, completion (hand over to downloads) or failure.
    func apply(_ id: Int64, _ video: ProviderVideo, pollAfterMs: Int?, polls: Int) throws {
        switch video.status {
        case .queued, .inProgress:
            try store.recordProgress(id, status: video.status.rawValue, progress: video.progress ?? 0,
                                     nextPollSeconds: pollInterval(pollAfterMs, polls: polls))
        case .completed:
            try store.recordProviderCompleted(id, video: video)
        case .failed, .other:
            let code = video.errorCode ?? (video.status == .failed ? "failed" : video.status.rawValue)
            try store.fail(id, code: code, message: FailureMessages.plain(code: code, providerMessage: video.failureMessage))
        }
    }

    /// `openai-poll-after-ms` when the provider sends it; otherwise 5 s growing to 20 s.
    func pollInterval(_ pollAfterMs: Int?, polls: Int) -> Double {
        if let ms = pollAfterMs, ms > 0 { return min(60, Double(ms) / 1000) }
        var interval = config.pollMinSeconds
        for _ in 0..<min(polls, 10) { interval *= 1.5 }
        return min(config.pollMaxSeconds, interval)
    }

    // MARK: Download

    /// Downloads what one finished generation still lacks; completes it when the video is stored.
    @discardableResult
    func downloadOne() throws -> Bool {
        guard let g = try store.claim(.download(retryAfter: 10)) else { return false }
        defer { store.unlock(g.id) }
        guard let jobID = g.providerJobID else { return false }
        let directory = config.mediaDirectory + "/" + String(g.id)
        mkdir(config.mediaDirectory, 0o755)
        mkdir(directory, 0o755)
        var videoError: VideoAPIError?
        for asset in MediaAsset.allCases where !g.has(asset) {
            let relative = "\(g.id)/\(asset.fileName)"
            do {
                let file = try api.download(jobID, variant: ContentVariant(rawValue: asset.rawValue) ?? .video,
                                            to: config.mediaDirectory + "/" + relative,
                                            maxBytes: asset == .video ? config.maxVideoBytes : config.maxImageBytes)
                try store.recordAsset(g.id, asset, path: relative, bytes: file.value.bytes, sha256: file.value.sha256)
            } catch let error as VideoAPIError {
                Log.error("generation \(g.id): \(asset.rawValue) download failed: \(error)")
                if asset == .video {
                    videoError = error
                } else if g.downloadAttempts >= 3 || error.kind == .invalidRequest || error.kind == .notFound {
                    try store.skipAsset(g.id, asset)  // a preview is optional; the video is what was paid for
                }
            }
        }
        if let refreshed = try store.byID(g.id), MediaAsset.allCases.allSatisfy({ refreshed.has($0) }) {
            if try store.complete(g.id) { Log.info("generation \(g.id): completed") }
            return true
        }
        // Retry the downloads (never the paid generation) until the provider's copy expires.
        if let videoError, g.assetsExpired || g.downloadAttempts >= 12 || videoError.kind == .notFound {
            try store.fail(g.id, code: "download_failed", message: """
                The video was generated (and billed) but PromptReel could not download it before the provider's copy \
                expired: \(videoError.publicMessage)
                """, billed: true)
        } else {
            try store.retryDownloadLater(g.id, afterSeconds: min(300, 5 * Double(1 << min(g.downloadAttempts, 6))))
        }
        return true
    }

    // MARK: Timeouts

    func failTimedOut() throws {
        let minutes = config.timeoutSeconds / 60
        let span = minutes >= 1 && config.timeoutSeconds % 60 == 0 ? "\(minutes) minute\(minutes == 1 ? "" : "s")" : "\(config.timeoutSeconds) seconds"
        for id in try store.failTimedOut(afterSeconds: config.timeoutSeconds,
                                         message: "Timed out: the video provider did not finish within \(span), so PromptReel stopped waiting. Nothing was charged.") {
            Log.info("generation \(id): timed out")
        }
    }

    /// One pass of everything due; true when it did some work (so the worker loops again at once).
    func runOnce() throws -> Bool {
        try failTimedOut()
        var worked = try reconcileOne()
        if try submit() != nil { worked = true }
        if try pollOne() { worked = true }
        if try downloadOne() { worked = true }
        return worked
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
