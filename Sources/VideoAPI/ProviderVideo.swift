// The Video object, decoded tolerantly: only `id` and `status` are indispensable. Gateways leave keys
// out, add their own, send `seconds` as a number or null, and invent states.

public import Web

public enum VideoStatus: Sendable, Equatable {
    case queued, inProgress, completed, failed
    /// A state this client does not know (`expired`, `cancelled`, …): treated as a terminal failure.
    case other(String)

    init(_ raw: String) {
        switch raw {
        case "queued": self = .queued
        case "in_progress": self = .inProgress
        case "completed": self = .completed
        case "failed": self = .failed
        default: self = .other(raw)
        }
    }

    public var rawValue: String {
        switch self {
        case .queued: "queued"
        case .inProgress: "in_progress"
        case .completed: "completed"
        case .failed: "failed"
        case let .other(s): s
        }
    }

    public var isTerminal: Bool { self != .queued && self != .inProgress }
}

public struct ProviderVideo: Sendable {
    public var id: String
    public var status: VideoStatus
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

    /// A plain message for a failed or unknown-state video.
    public var failureMessage: String? {
        switch status {
        case .failed: errorMessage ?? errorCode ?? "The provider reported the generation as failed."
        case let .other(s): "The provider reported an unknown status '\(s)'; treating the generation as failed."
        default: nil
        }
    }

    public init(json: JSON) throws(DecodeError) {
        guard case .object = json else { throw DecodeError("the Video is not a JSON object") }
        guard let id = json["id"]?.stringValue, !id.isEmpty else { throw DecodeError("the Video has no id") }
        guard let status = json["status"]?.stringValue else { throw DecodeError("the Video has no status") }
        self.id = id
        self.status = VideoStatus(status)
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
        if let error = json["error"], case .object = error {
            errorCode = error["code"]?.stringValue
            errorMessage = error["message"]?.stringValue
        }
    }

    /// Integers, also when written as 12.0 or as a numeric string.
    static func integer(_ value: JSON) -> Int? {
        switch value {
        case let .number(n): Int(n) ?? Double(n).flatMap { $0.isFinite ? Int($0) : nil }
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
