// Typed failures of a Videos API call. Each carries the provider's request id (for the log) and a
// plain public message (for users); the provider's own words go to the log and, for 400s, the user.

public struct VideoAPIError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case badKey = "bad_key"                      // 401
        case notAllowed = "not_allowed"              // 403
        case notFound = "not_found"                  // 404
        case invalidRequest = "invalid_request"      // 400, 409, 422
        case rateLimited = "rate_limited"            // 429
        case upstream = "upstream_error"             // 5xx and other unexpected statuses
        case timeout = "timeout"
        case connectionFailed = "connection_failed"
        case malformedResponse = "malformed_response"
        case tooLarge = "too_large"                  // a download over its cap
    }

    public var kind: Kind
    public var status: Int?
    /// The provider's message (or the transport's), for the log and for invalid-request feedback.
    public var detail: String
    public var param: String?
    public var code: String?
    public var requestID: String?
    /// Seconds the provider asked us to wait (Retry-After / retry-after-ms).
    public var retryAfter: Double?
    /// True when the request surely never reached the provider (nothing could have been created).
    public var nothingWasSent = false

    public init(_ kind: Kind, status: Int? = nil, detail: String, param: String? = nil, code: String? = nil,
                requestID: String? = nil, retryAfter: Double? = nil, nothingWasSent: Bool = false) {
        self.kind = kind
        self.status = status
        self.detail = detail
        self.param = param
        self.code = code
        self.requestID = requestID
        self.retryAfter = retryAfter
        self.nothingWasSent = nothingWasSent
    }

    /// What a failed create means for the job it asked for.
    public enum CreateOutcome: Sendable, Equatable {
        /// Surely not taken (refused before sending, or 429 / 503, which say so): safe to send again.
        case notTaken
        /// The provider answered and refused it (4xx): nothing was made.
        case refused
        /// Sent, and the answer is lost or unclear (timeout, dropped connection, 500, 502, 504, an
        /// unreadable body): a job may exist and be billed. Never resend; look for it instead.
        case lostAnswer
    }

    /// 429 codes that no waiting cures: the account has no credit.
    static let quotaCodes: Set<String> = ["insufficient_quota", "billing_hard_limit_reached", "billing_not_active"]

    public var createOutcome: CreateOutcome {
        if kind == .rateLimited, let code, VideoAPIError.quotaCodes.contains(code) { return .refused }
        if nothingWasSent || kind == .rateLimited || (kind == .upstream && status == 503) { return .notTaken }
        switch kind {
        case .badKey, .notAllowed, .notFound: return .refused
        case .invalidRequest: return status == 408 || status == 409 ? .lostAnswer : .refused
        default: return .lostAnswer
        }
    }

    /// A failure that says the provider itself is unwell (counted by the breaker): timeouts, refused or
    /// dropped connections, 5xx.
    public var isProviderFailure: Bool {
        kind == .timeout || kind == .connectionFailed || kind == .upstream
    }

    public var publicMessage: String {
        switch kind {
        case .badKey: "The video provider rejected PromptReel's API key. Ask the operator to check OPENAI_API_KEY."
        case .notAllowed: "The video provider does not allow this account to generate videos (for Sora, the organization must be verified)."
        case .notFound: "The video provider does not know this video any more."
        case .invalidRequest: "The video provider refused the request: \(detail)"
        case .rateLimited:
            retryAfter.flatMap { $0.isFinite && $0 >= 0 && $0 < 86_400 ? Int($0.rounded(.up)) : nil }
                .map { "The video provider is rate limiting us. Try again in \($0) seconds." }
                ?? "The video provider is rate limiting us. Try again shortly."
        case .upstream: "The video provider is having trouble right now. Try again shortly."
        case .timeout: "The video provider did not answer in time."
        case .connectionFailed: "PromptReel could not reach the video provider."
        case .malformedResponse: "The video provider sent an answer PromptReel could not read."
        case .tooLarge: "The video file is larger than PromptReel accepts."
        }
    }

    public var description: String {
        "\(kind.rawValue)\(status.map { " (\($0))" } ?? ""): \(detail)\(requestID.map { " [\($0)]" } ?? "")"
    }
}
