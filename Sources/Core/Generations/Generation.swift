// A generation row as the application reads it, and its JSON forms.

import Formats
package import Images
package import Postgres

package struct Generation: Sendable {
    package let id: ID<Generation>
    /// Nil once the video was deleted: the row stays (it is the money record), with the title it had.
    package let videoID: ID<Video>?
    package let deletedVideoTitle: String?
    package let userID: ID<User>
    package let settings: StoredSettings
    package let prompt: String
    package let model: String
    package let seconds: Int
    package let size: String
    package let resolution: String
    package let status: GenerationStatus
    package let phase: GenerationPhase
    package let progress: Int
    /// False while the provider has sent no progress figure (then pages show elapsed time and an estimate).
    package let progressKnown: Bool
    package let providerStatus: String?
    package let providerJobID: String?
    package let providerRequestID: String?
    package let estimatedCost: USD
    package let actualCost: USD?
    /// The provider may have billed this failure; `cost` is then the estimate.
    package let possiblyBilled: Bool
    package let errorCode: GenerationErrorCode?
    package let errorMessage: String?
    package let submitAttempts: Int
    package let polls: Int
    package let downloadAttempts: Int
    package let createdAt: Timestamp
    package let submitStartedAt: Timestamp?
    package let submittedAt: Timestamp?
    package let startedAt: Timestamp?
    package let completedAt: Timestamp?
    package let lastCheckedAt: Timestamp?
    package let expiresAt: Timestamp?
    package let resultSeconds: String?
    package let resultSize: String?
    /// What ffprobe found in the stored video.
    package let deliveredSeconds: String?, deliveredWidth: Int64?, deliveredHeight: Int64?
    /// Sent as Idempotency-Key with the create.
    package let requestKey: String
    package let videoPath: String?, videoBytes: Int64?, videoSHA256: String?
    package let thumbnailPath: String?, thumbnailBytes: Int64?
    package let spritesheetPath: String?, spritesheetBytes: Int64?
    package let thumbnailSkipped: Bool
    package let spritesheetSkipped: Bool
    /// Where the stored poster and spritesheet came from (nil while there is none).
    package let thumbnailSource: PreviewSource?, spritesheetSource: PreviewSource?
    package let elapsedSeconds: Int64
    /// The provider's copy of the media has expired (no point retrying downloads).
    package let assetsExpired: Bool
    /// The reference image it started from (original and fitted frame), if any.
    package let reference: GenerationReference?
    /// The click that started it (several takes share one).
    package let batchID: Int64?
    /// A remix: our generation it remixed, and that one's provider job.
    package let remixedFromGenerationID: ID<Generation>?
    /// Continuity: the generation whose last frame this one starts from, and that shot's place then.
    package let chainPreviousID: ID<Generation>?
    package let chainFromShot: Int?
    /// False while it waits for that frame.
    package let chainReady: Bool
    package let remixSourceJobID: String?
    /// The provider it was sent to (or will be), and the `model` sent there (nil: `model`; older rows).
    package let provider: String
    package let providerModel: String?
    /// The GPU time the provider reported for the job (`inference_time_s`), as decimal text.
    package let gpuSeconds: String?
    /// Priced per GPU-second: the rate it was confirmed at (`estimatedCost` is then the ceiling).
    package let usdPerGPUSecond: String?
    /// The `model` the provider is asked for.
    package var apiModel: String { providerModel ?? model }
    /// The provider's own `expires_at` (nil when it sent none), and whether it has passed by the database's clock.
    /// The store that holds the generation's media (its video, previews and reference frame).
    package let mediaStore: MediaStoreName
    /// Downloaded and checked, but the store has not taken it yet: its error code (`SlowDown`), for the page.
    package let storageProblem: String?
    package let providerExpiresAt: Timestamp?
    package let providerCopyExpired: Bool
    /// Who started it, when the query asked (`Access.starter`).
    package let startedBy: String?

    /// The columns every generation query selects, timestamps as ISO-8601 text.
    package static let columns: Query = """
        g.id, g.video_id, g.user_id, g.settings::text AS settings, g.prompt, g.model, g.seconds, g.size, g.resolution,
        g.status, g.phase, g.progress, g.progress_known, g.provider_status, g.possibly_billed, g.request_key::text AS request_key,
        g.delivered_seconds::text AS delivered_seconds, g.delivered_width, g.delivered_height, g.provider_job_id, g.provider_request_id, g.estimated_cost::text AS estimated_cost,
        g.actual_cost::text AS actual_cost, g.error_code, g.error_message, g.submit_attempts, g.polls, g.download_attempts,
        iso(g.created_at) AS created_at, iso(g.submit_started_at) AS submit_started_at, iso(g.submitted_at) AS submitted_at,
        iso(g.started_at) AS started_at, iso(g.completed_at) AS completed_at, iso(g.last_checked_at) AS last_checked_at,
        iso(g.expires_at) AS expires_at, g.result_seconds, g.result_size,
        g.video_path, g.video_bytes, g.video_sha256, g.thumbnail_path, g.thumbnail_bytes, g.spritesheet_path, g.spritesheet_bytes,
        g.thumbnail_skipped, g.spritesheet_skipped, g.thumbnail_source, g.spritesheet_source,
        extract(epoch FROM (coalesce(g.completed_at, now()) - g.created_at))::bigint AS elapsed_seconds,
        coalesce(g.expires_at < now(), false) AS assets_expired,
        g.video_title AS deleted_video_title,
        g.reference_path, g.reference_content_type, g.reference_width, g.reference_height, g.reference_sha256,
        g.reference_fit, g.reference_fitted_path,
        g.batch_id, g.remixed_from_generation_id, g.chain_previous_id, g.chain_from_shot, g.chain_ready, g.remix_source_job_id, g.provider, g.provider_model, iso(g.provider_expires_at) AS provider_expires_at,
        g.gpu_seconds::text AS gpu_seconds, g.usd_per_gpu_second::text AS usd_per_gpu_second,
        g.media_store, g.storage_problem,
        coalesce(g.provider_expires_at <= now(), false) AS provider_copy_expired
        """

    package init(_ r: Row) {
        id = r.id("id")
        videoID = r.optionalID("video_id")
        userID = r.id("user_id")
        startedBy = r.ifSelected("started_by")
        deletedVideoTitle = r["deleted_video_title"]
        settings = StoredSettings(jsonText: r.string("settings"))
        prompt = r.string("prompt")
        model = r.string("model")
        seconds = Int(r.int("seconds"))
        size = r.string("size")
        resolution = r.string("resolution")
        // The CHECK constraints allow nothing else; an unexpected value reads as failed, never a crash.
        status = GenerationStatus(rawValue: r.string("status")) ?? .failed
        phase = GenerationPhase(rawValue: r.string("phase")) ?? .done
        progress = Int(r.int("progress"))
        progressKnown = r.bool("progress_known")
        providerStatus = r["provider_status"]
        possiblyBilled = r.bool("possibly_billed")
        requestKey = r.string("request_key")
        deliveredSeconds = r["delivered_seconds"]
        deliveredWidth = r.optionalInt("delivered_width")
        deliveredHeight = r.optionalInt("delivered_height")
        providerJobID = r["provider_job_id"]
        providerRequestID = r["provider_request_id"]
        estimatedCost = USD(parsing: r.string("estimated_cost")) ?? .zero
        actualCost = r["actual_cost"].flatMap { USD(parsing: $0) }
        errorCode = r["error_code"].map(GenerationErrorCode.init(rawValue:))
        errorMessage = r["error_message"]
        submitAttempts = Int(r.int("submit_attempts"))
        polls = Int(r.int("polls"))
        downloadAttempts = Int(r.int("download_attempts"))
        createdAt = r.timestamp("created_at")
        submitStartedAt = r.optionalTimestamp("submit_started_at")
        submittedAt = r.optionalTimestamp("submitted_at")
        startedAt = r.optionalTimestamp("started_at")
        completedAt = r.optionalTimestamp("completed_at")
        lastCheckedAt = r.optionalTimestamp("last_checked_at")
        expiresAt = r.optionalTimestamp("expires_at")
        resultSeconds = r["result_seconds"]
        resultSize = r["result_size"]
        mediaStore = MediaStoreName(r.string("media_store"))
        storageProblem = r["storage_problem"]
        videoPath = r["video_path"]
        videoBytes = r.optionalInt("video_bytes")
        videoSHA256 = r["video_sha256"]
        thumbnailPath = r["thumbnail_path"]
        thumbnailBytes = r.optionalInt("thumbnail_bytes")
        spritesheetPath = r["spritesheet_path"]
        spritesheetBytes = r.optionalInt("spritesheet_bytes")
        thumbnailSkipped = r.bool("thumbnail_skipped")
        spritesheetSkipped = r.bool("spritesheet_skipped")
        // Only with a file: deleting the video clears the paths (Migrations/0008), not the sources.
        thumbnailSource = thumbnailPath == nil ? nil : r["thumbnail_source"].flatMap(PreviewSource.init(rawValue:))
        spritesheetSource =
            spritesheetPath == nil ? nil : r["spritesheet_source"].flatMap(PreviewSource.init(rawValue:))
        elapsedSeconds = r.int("elapsed_seconds")
        assetsExpired = r.bool("assets_expired")
        batchID = r.optionalInt("batch_id")
        remixedFromGenerationID = r.optionalID("remixed_from_generation_id")
        chainPreviousID = r.optionalID("chain_previous_id")
        chainFromShot = r.optionalInt("chain_from_shot").map { Int($0) }
        chainReady = r["chain_ready"] != "f"
        remixSourceJobID = r["remix_source_job_id"]
        provider = r["provider"] ?? Provider.defaultName
        providerModel = r["provider_model"]
        gpuSeconds = r["gpu_seconds"]
        usdPerGPUSecond = r["usd_per_gpu_second"]
        providerExpiresAt = r.optionalTimestamp("provider_expires_at")
        providerCopyExpired = r.bool("provider_copy_expired")
        if let path = r["reference_path"], let fitted = r["reference_fitted_path"],
            let format = r["reference_content_type"].flatMap(ImageFormat.init(contentType:))
        {
            reference = GenerationReference(
                originalPath: path, format: format, width: Int(r.optionalInt("reference_width") ?? 0),
                height: Int(r.optionalInt("reference_height") ?? 0), sha256: r["reference_sha256"] ?? "",
                fit: r["reference_fit"].flatMap(FitMode.init(rawValue:)) ?? .crop, fittedPath: fitted)
        } else {
            reference = nil
        }
    }

    package var isActive: Bool { status.isActive }

    /// What the generation costs: the actual cost once finished (0 for failures the provider did not
    /// bill, the estimate for those it may have), else the estimate.
    package var cost: USD {
        switch status {
        case .completed: actualCost ?? estimatedCost
        case .failed: actualCost ?? (possiblyBilled ? estimatedCost : .zero)
        case .queued, .inProgress: estimatedCost
        }
    }

    /// The id clients know the job by: the provider's, or ours while it waits locally.
    package var jobID: String { providerJobID ?? id.description }

    /// What a waiting generation waits for ("Waiting for a free slot on wan-2.2: 1 at a time, 3 ahead of you."),
    /// when a service read it (`Generations.noted`); nil otherwise.
    package var queueNote: String?

    package var statusMessage: String {
        switch (status, phase) {
        case (.queued, .waiting): queueNote ?? "Waiting to be sent to the video provider."
        case (.queued, .submitting): "Being sent to the video provider."
        case (.queued, _): "Queued at the video provider."
        case (.inProgress, .downloading):
            storageProblem == nil
                ? "Finished; saving the video."
                : "Finished; storing the video: the media store is not taking it yet, and PromptReel keeps trying."
        case (.inProgress, _): "Generating the video."
        case (.completed, _): "The video is ready."
        case (.failed, _): errorMessage ?? "The generation failed."
        }
    }

    /// "delivered 4.0 s of 8 s" / "delivered 1280x720, asked 1920x1080" when the video differs from the order.
    package var deliveryDifference: String? {
        var notes: [String] = []
        if let delivered = deliveredSeconds, let value = Double(delivered), value + 0.5 < Double(seconds) {
            notes.append(
                "delivered \(delivered.hasSuffix("0") ? String(delivered.dropLast()) : delivered) s of \(seconds) s")
        }
        if let w = deliveredWidth, let h = deliveredHeight, "\(w)x\(h)" != size {
            notes.append("delivered \(w)x\(h), asked \(size)")
        }
        return notes.isEmpty ? nil : notes.joined(separator: "; ")
    }

}

/// How long a model usually takes, from its past completed generations.
package struct DurationEstimate: Sendable {
    package let model: String
    package let medianSeconds: Int64?
    package let samples: Int

    package static let noHistory = "no estimate yet: this model has no finished generations here."

}

/// The reference image a generation started from: the original as uploaded, and the frame fitted to
/// the generation's size (always PNG). Named by PromptReel, never by user input.
package enum ReferenceFile: Equatable, Sendable {
    case original(ImageFormat)
    case fitted

    package var fileName: String {
        switch self {
        case let .original(format): "reference.\(format.fileExtension)"
        case .fitted: "reference-fitted.png"
        }
    }

    package var contentType: String {
        switch self {
        case let .original(format): format.contentType
        case .fitted: "image/png"
        }
    }

    package init?(fileName: String) {
        if fileName == ReferenceFile.fitted.fileName {
            self = .fitted
            return
        }
        guard let format = ImageFormat.allCases.first(where: { ReferenceFile.original($0).fileName == fileName }) else {
            return nil
        }
        self = .original(format)
    }
}

/// The three files a finished generation keeps, named by PromptReel (never by user input).
package enum MediaAsset: String, CaseIterable, Sendable {
    case video, thumbnail, spritesheet

    package var fileName: String {
        switch self {
        case .video: "video.mp4"
        case .thumbnail: "thumbnail.webp"
        case .spritesheet: "spritesheet.jpg"
        }
    }

    package var contentType: String {
        switch self {
        case .video: "video/mp4"
        case .thumbnail: "image/webp"
        case .spritesheet: "image/jpeg"
        }
    }

    package init?(fileName: String) {
        guard let match = MediaAsset.allCases.first(where: { $0.fileName == fileName }) else { return nil }
        self = match
    }
}

/// Where a stored poster or spritesheet came from (the `*_source` columns of Migrations/0020).
package enum PreviewSource: String, Sendable {
    case provider, local
}

extension Generation {
    /// Where an asset of this generation is stored, under the media directory (a video only once completed).
    package func path(of asset: MediaAsset) -> String? {
        switch asset {
        case .video: status == .completed ? videoPath : nil
        case .thumbnail: thumbnailPath
        case .spritesheet: spritesheetPath
        }
    }
}
