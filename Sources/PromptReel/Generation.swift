// A generation row as the application reads it, and its JSON forms.

import Postgres
import Web

struct Generation: Sendable {
    let id: Int64
    let videoID: Int64
    let userID: Int64
    let settings: String  // jsonb text
    let prompt: String
    let model: String
    let seconds: Int
    let size: String
    let resolution: String
    let status: String
    let phase: String
    let progress: Int
    let providerJobID: String?
    let providerRequestID: String?
    let estimatedCost: String
    let actualCost: String?
    let errorCode: String?
    let errorMessage: String?
    let submitAttempts: Int
    let polls: Int
    let downloadAttempts: Int
    let createdAt: String
    let submitStartedAt: String?
    let submittedAt: String?
    let startedAt: String?
    let completedAt: String?
    let lastCheckedAt: String?
    let expiresAt: String?
    let resultSeconds: String?
    let resultSize: String?
    let videoPath: String?, videoBytes: Int64?, videoSHA256: String?
    let thumbnailPath: String?, thumbnailBytes: Int64?
    let spritesheetPath: String?, spritesheetBytes: Int64?
    let thumbnailSkipped: Bool
    let spritesheetSkipped: Bool
    let elapsedSeconds: Int64
    /// The provider's copy of the media has expired (no point retrying downloads).
    let assetsExpired: Bool

    /// The columns every generation query selects, timestamps as ISO-8601 text.
    static let columns: Query = """
        g.id, g.video_id, g.user_id, g.settings::text AS settings, g.prompt, g.model, g.seconds, g.size, g.resolution,
        g.status, g.phase, g.progress, g.provider_job_id, g.provider_request_id, g.estimated_cost::text AS estimated_cost,
        g.actual_cost::text AS actual_cost, g.error_code, g.error_message, g.submit_attempts, g.polls, g.download_attempts,
        iso(g.created_at) AS created_at, iso(g.submit_started_at) AS submit_started_at, iso(g.submitted_at) AS submitted_at,
        iso(g.started_at) AS started_at, iso(g.completed_at) AS completed_at, iso(g.last_checked_at) AS last_checked_at,
        iso(g.expires_at) AS expires_at, g.result_seconds, g.result_size,
        g.video_path, g.video_bytes, g.video_sha256, g.thumbnail_path, g.thumbnail_bytes, g.spritesheet_path, g.spritesheet_bytes,
        g.thumbnail_skipped, g.spritesheet_skipped,
        extract(epoch FROM (coalesce(g.completed_at, now()) - g.created_at))::bigint AS elapsed_seconds,
        coalesce(g.expires_at < now(), false) AS assets_expired
        """

    init(_ r: Row) {
        id = r.int("id"); videoID = r.int("video_id"); userID = r.int("user_id")
        settings = r.string("settings"); prompt = r.string("prompt"); model = r.string("model")
        seconds = Int(r.int("seconds")); size = r.string("size"); resolution = r.string("resolution")
        status = r.string("status"); phase = r.string("phase"); progress = Int(r.int("progress"))
        providerJobID = r["provider_job_id"]; providerRequestID = r["provider_request_id"]
        estimatedCost = r.string("estimated_cost"); actualCost = r["actual_cost"]
        errorCode = r["error_code"]; errorMessage = r["error_message"]
        submitAttempts = Int(r.int("submit_attempts")); polls = Int(r.int("polls")); downloadAttempts = Int(r.int("download_attempts"))
        createdAt = r.string("created_at"); submitStartedAt = r["submit_started_at"]; submittedAt = r["submitted_at"]
        startedAt = r["started_at"]; completedAt = r["completed_at"]; lastCheckedAt = r["last_checked_at"]; expiresAt = r["expires_at"]
        resultSeconds = r["result_seconds"]; resultSize = r["result_size"]
        videoPath = r["video_path"]; videoBytes = r.optionalInt("video_bytes"); videoSHA256 = r["video_sha256"]
        thumbnailPath = r["thumbnail_path"]; thumbnailBytes = r.optionalInt("thumbnail_bytes")
        spritesheetPath = r["spritesheet_path"]; spritesheetBytes = r.optionalInt("spritesheet_bytes")
        thumbnailSkipped = r.bool("thumbnail_skipped"); spritesheetSkipped = r.bool("spritesheet_skipped")
        elapsedSeconds = r.int("elapsed_seconds")
        assetsExpired = r.bool("assets_expired")
    }

    var isActive: Bool { status == "queued" || status == "in_progress" }

    /// What the generation costs: the actual cost once finished (0 for failures), else the estimate.
    var cost: String {
        switch status {
        case "completed": actualCost ?? estimatedCost
        case "failed": actualCost ?? "0.00"
        default: estimatedCost
        }
    }

    /// The id clients know the job by: the provider's, or ours while it waits locally.
    var jobID: String { providerJobID ?? String(id) }

    static func mediaURL(_ id: Int64, _ asset: MediaAsset) -> String { "/media/generations/\(id)/\(asset.fileName)" }
    var videoURL: String? { status == "completed" && videoPath != nil ? Generation.mediaURL(id, .video) : nil }
    var thumbnailURL: String? { thumbnailPath != nil ? Generation.mediaURL(id, .thumbnail) : nil }
    var spritesheetURL: String? { spritesheetPath != nil ? Generation.mediaURL(id, .spritesheet) : nil }

    var statusMessage: String {
        switch (status, phase) {
        case ("queued", "waiting"): "Waiting to be sent to the video provider."
        case ("queued", _): "Queued at the video provider."
        case ("in_progress", "downloading"): "Finished; saving the video."
        case ("in_progress", _): "Generating the video."
        case ("completed", _): "The video is ready."
        default: errorMessage ?? "The generation failed."
        }
    }

    var json: JSON {
        var pairs: [(String, JSON)] = [
            ("id", .int(id)), ("videoId", .int(videoID)), ("jobId", .string(jobID)), ("status", .string(status)),
            ("progress", .int(progress)), ("message", .string(statusMessage)),
            ("settings", (try? JSONParser.parse(settings)) ?? .null),
            ("model", .string(model)), ("seconds", .string(String(seconds))), ("size", .string(size)),
            ("estimatedCost", .number(estimatedCost)), ("cost", .number(cost)),
            ("actualCost", actualCost.map(JSON.number) ?? .null),
            ("error", .optional(errorMessage)), ("errorCode", .optional(errorCode)),
            ("providerJobId", .optional(providerJobID)), ("providerRequestId", .optional(providerRequestID)),
            ("createdAt", .string(createdAt)), ("submittedAt", .optional(submittedAt)), ("startedAt", .optional(startedAt)),
            ("completedAt", .optional(completedAt)), ("lastCheckedAt", .optional(lastCheckedAt)),
            ("videoUrl", .optional(videoURL)), ("thumbnailUrl", .optional(thumbnailURL)), ("spritesheetUrl", .optional(spritesheetURL)),
        ]
        if let videoBytes { pairs.append(("videoBytes", .int(videoBytes))) }
        if let videoSHA256 { pairs.append(("videoSha256", .string(videoSHA256))) }
        return .object(pairs)
    }

    /// The status contract of GET /api/videos/{id}/sora-status.
    var statusJSON: JSON {
        switch status {
        case "completed":
            .object([("status", .string(status)), ("videoUrl", .optional(videoURL)), ("cost", .number(cost)),
                     ("completedAt", .optional(completedAt)), ("thumbnailUrl", .optional(thumbnailURL)), ("generationId", .int(id))])
        case "failed":
            .object([("status", .string(status)), ("error", .string(errorMessage ?? "The generation failed.")),
                     ("errorCode", .optional(errorCode)), ("completedAt", .optional(completedAt)), ("cost", .number(cost)),
                     ("generationId", .int(id))])
        default:
            .object([("status", .string(status)), ("message", .string(statusMessage)), ("progress", .int(progress)),
                     ("estimatedCost", .number(estimatedCost)), ("generationId", .int(id)), ("jobId", .string(jobID))])
        }
    }
}

/// The three files a finished generation keeps, named by PromptReel (never by user input).
enum MediaAsset: String, CaseIterable, Sendable {
    case video, thumbnail, spritesheet

    var fileName: String {
        switch self {
        case .video: "video.mp4"
        case .thumbnail: "thumbnail.webp"
        case .spritesheet: "spritesheet.jpg"
        }
    }

    var contentType: String {
        switch self {
        case .video: "video/mp4"
        case .thumbnail: "image/webp"
        case .spritesheet: "image/jpeg"
        }
    }

    init?(fileName: String) {
        guard let match = MediaAsset.allCases.first(where: { $0.fileName == fileName }) else { return nil }
        self = match
    }
}
