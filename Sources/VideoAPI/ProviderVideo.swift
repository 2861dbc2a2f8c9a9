// The Video object, decoded tolerantly: only `id` and `status` are indispensable. Gateways leave keys
// out, add their own, send `seconds` as a number or null, and invent states.

public import Formats

public enum VideoStatus: Sendable, Equatable {
    /// Accepted, not started: queued, pending, starting, throttled, …
    case queued
    /// Being generated: in_progress, processing (LiteLLM's Veo path, also for queued jobs), running, …
    case inProgress
    /// Done: completed, succeeded.
    case completed
    /// Ended without a video: failed, error, cancelled, expired, rejected.
    case failed
    /// A word this client has never seen: not a failure (the provider may still be working and
    /// billing); polled again until the generation timeout.
    case unknown(String)

    /// Maps a provider's state by meaning, whatever dialect it speaks.
    public init(_ raw: String) {
        switch raw.lowercased() {
        case "queued", "pending", "starting", "throttled", "submitted", "created", "waiting", "in_queue", "scheduled":
            self = .queued
        case "in_progress", "processing", "running", "generating", "rendering", "started", "active":
            self = .inProgress
        case "completed", "succeeded", "success", "complete", "done", "finished":
            self = .completed
        case "failed", "failure", "error", "errored", "cancelled", "canceled", "expired", "rejected", "timed_out",
            "timeout":
            self = .failed
        default:
            self = .unknown(raw)
        }
    }

    public var isInFlight: Bool {
        switch self {
        case .queued, .inProgress, .unknown: true
        case .completed, .failed: false
        }
    }
}

public struct ProviderVideo: Sendable {
    public var id: String
    public var status: VideoStatus
    /// The provider's own word for `status`, kept for the log and the generation's details.
    public var rawStatus: String
    public var model: String?
    public var progress: Int?
    public var createdAt: Int?
    public var completedAt: Int?
    public var expiresAt: Int?
    public var prompt: String?
    public var size: String?
    public var seconds: String?
    public var remixedFromVideoID: String?
    public var errorCode: String?
    public var errorMessage: String?
    /// GPU seconds the job took (vLLM-Omni's `inference_time_s`); nil when absent or out of range.
    public var inferenceSeconds: Double?

    /// A plain message for a failed video.
    public var failureMessage: String? {
        guard status == .failed else { return nil }
        return errorMessage ?? errorCode ?? "The provider reported the generation as \(rawStatus)."
    }

    public init(json: JSON) throws(DecodeError) {
        guard case .object = json else { throw DecodeError("the Video is not a JSON object") }
        guard let id = json["id"]?.stringValue, !id.isEmpty else { throw DecodeError("the Video has no id") }
        guard let status = json["status"]?.stringValue else { throw DecodeError("the Video has no status") }
        self.id = id
        self.status = VideoStatus(status)
        rawStatus = status
        model = json["model"]?.stringValue
        progress = json["progress"].flatMap(ProviderVideo.integer)
        createdAt = json["created_at"].flatMap(ProviderVideo.integer)
        completedAt = json["completed_at"].flatMap(ProviderVideo.integer)
        expiresAt = json["expires_at"].flatMap(ProviderVideo.integer)
        prompt = json["prompt"]?.stringValue
        size = json["size"]?.stringValue
        // A string per the spec; some gateways send a number.
        switch json["seconds"] {
        case let .string(s)?: seconds = s
        case let .number(n)?: seconds = n.hasSuffix(".0") ? String(n.dropLast(2)) : n
        default: seconds = nil
        }
        remixedFromVideoID = json["remixed_from_video_id"]?.stringValue
        inferenceSeconds = json["inference_time_s"].flatMap(ProviderVideo.seconds)
        if let error = json["error"], case .object = error {
            errorCode = error["code"]?.stringValue
            errorMessage = error["message"]?.stringValue
        }
    }

    /// A duration in seconds from outside: finite, 0 … one week, else dropped.
    static func seconds(_ value: JSON) -> Double? {
        let text: String? =
            switch value {
            case let .number(n): n
            case let .string(s): s
            default: nil
            }
        guard let seconds = text.flatMap(Double.init), seconds.isFinite, (0...604_800).contains(seconds) else {
            return nil
        }
        return seconds
    }

    /// Integers, also when written as 12.0 or as a numeric string; absurd magnitudes are dropped, never
    /// converted (Int(1e300) would trap).
    static func integer(_ value: JSON) -> Int? {
        switch value {
        case let .number(n): Int(n) ?? Double(n).flatMap { $0.isFinite && abs($0) < 1e15 ? Int($0) : nil }
        case let .string(s): Int(s)
        default: nil
        }
    }
}

public struct VideoList: Sendable {
    public var data: [ProviderVideo]
    public var lastID: String?
    public var hasMore: Bool
}

public struct DecodeError: Error, Sendable {
    public let detail: String
    init(_ detail: String) { self.detail = detail }
}
