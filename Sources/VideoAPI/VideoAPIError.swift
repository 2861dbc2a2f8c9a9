// Typed failures of a provider call (the Videos API, and Chat Completions: same envelope, same
// classes). Each carries the provider's request id (for the log) and a plain public message (for
// users); the provider's own words go to the log and, for 400s, the user.

public struct VideoAPIError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case badKey = "bad_key"  // 401
        case notAllowed = "not_allowed"  // 403
        case notFound = "not_found"  // 404
        case invalidRequest = "invalid_request"  // 400, 409, 422
        case rateLimited = "rate_limited"  // 429
        case upstream = "upstream_error"  // 5xx and other unexpected statuses
        case timeout = "timeout"
        case connectionFailed = "connection_failed"
        case malformedResponse = "malformed_response"
        case tooLarge = "too_large"  // a download over its cap
        case refused = "refused"  // a chat model declined to answer (message.refusal)
    }

    /// Which API failed: only the public message depends on it.
    public enum Service: String, Sendable {
        case video, chat
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
    /// Which API failed; set by the client that made the error.
    public var service = Service.video

    public init(
        _ kind: Kind, status: Int? = nil, detail: String, param: String? = nil, code: String? = nil,
        requestID: String? = nil, retryAfter: Double? = nil, nothingWasSent: Bool = false
    ) {
        self.kind = kind
        self.status = status
        self.detail = detail
        self.param = param
        self.code = code
        self.requestID = requestID
        self.retryAfter = retryAfter
        self.nothingWasSent = nothingWasSent
    }

    /// The same error, said of another API.
    func of(_ service: Service) -> VideoAPIError {
        var copy = self
        copy.service = service
        return copy
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
        case .badKey, .notAllowed, .notFound, .refused: return .refused
        case .invalidRequest: return status == 408 || status == 409 ? .lostAnswer : .refused
        default: return .lostAnswer
        }
    }

    /// The call reached the provider and no answer PromptReel could use came back (timeout, dropped
    /// connection, 500/502/504, an unreadable body): a paid call may have been billed all the same.
    public var possiblyBilled: Bool { createOutcome == .lostAnswer }

    /// A failure that says the provider itself is unwell (counted by the breaker): timeouts, refused or
    /// dropped connections, 5xx.
    public var isProviderFailure: Bool {
        kind == .timeout || kind == .connectionFailed || kind == .upstream
    }

    /// A 429 that no waiting cures (the account has no credit).
    var isQuotaExhausted: Bool {
        kind == .rateLimited && code.map(VideoAPIError.quotaCodes.contains) == true
    }

    /// The video wording is as before; a chat failure names the chat provider and the chat's own
    /// subjects (a model, not a video), so a roundtable error never blames the video provider.
    public var publicMessage: String {
        let provider = service == .chat ? "chat provider" : "video provider"
        return switch (kind, service) {
        case (.badKey, .video):
            "The video provider rejected PromptReel's API key. Ask the operator to check OPENAI_API_KEY."
        case (.badKey, .chat):
            "The chat provider rejected PromptReel's API key. Ask the operator to check PROMPTREEL_CHAT_API_KEY (or OPENAI_API_KEY)."
        case (.notAllowed, .video):
            "The video provider does not allow this account to generate videos (for Sora, the organization must be verified)."
        case (.notAllowed, .chat): "The chat provider does not allow this account to use this model."
        case (.notFound, .video): "The video provider does not know this video any more."
        case (.notFound, .chat): "The chat provider does not know this model."
        case (.invalidRequest, _): "The \(provider) refused the request: \(detail)"
        case (.rateLimited, _):
            retryAfter.flatMap { $0.isFinite && $0 >= 0 && $0 < 86_400 ? Int($0.rounded(.up)) : nil }
                .map { "The \(provider) is rate limiting us. Try again in \($0) seconds." }
                ?? "The \(provider) is rate limiting us. Try again shortly."
        case (.upstream, _): "The \(provider) is having trouble right now. Try again shortly."
        case (.timeout, _): "The \(provider) did not answer in time."
        case (.connectionFailed, _): "PromptReel could not reach the \(provider)."
        case (.malformedResponse, _): "The \(provider) sent an answer PromptReel could not read."
        case (.tooLarge, .video): "The video file is larger than PromptReel accepts."
        case (.tooLarge, .chat): "The chat provider's answer is larger than PromptReel accepts."
        case (.refused, _): "The model declined to answer this request."
        }
    }

    public var description: String {
        "\(kind.rawValue)\(status.map { " (\($0))" } ?? ""): \(detail)\(requestID.map { " [\($0)]" } ?? "")"
    }
}
