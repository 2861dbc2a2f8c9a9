// Where the Videos API lives and how patiently to talk to it. Read from the environment names
// OpenAI's own SDKs use, so any OpenAI-compatible gateway is one variable away.

/// How a provider speaks the Videos API.
public enum VideoDialect: String, Sendable, CaseIterable {
    /// OpenAI's shapes (also gateways: LiteLLM, Azure): `size` and `seconds`.
    case openai
    /// vLLM-Omni: a multipart create with `width`, `height`, `num_frames` and `fps`; no remix; `GET /content`
    /// has no variants (posters are made locally); errors as `{"detail": …}`.
    case vllmOmni = "vllm-omni"
}

public struct ProviderConfig: Sendable {
    public var dialect = VideoDialect.openai
    public var baseURL: String
    public var apiKey: String
    public var organization: String?
    public var project: String?
    public var connectTimeoutMs = 5_000
    /// Total time for one JSON call.
    public var timeoutMs = 30_000
    /// Total time for one media download.
    public var downloadTimeoutMs = 300_000
    /// Retries after the first attempt, for calls that may be retried.
    public var maxRetries = 2
    /// Backoff without a Retry-After: 0.5 s doubling up to this.
    public var maxBackoffSeconds = 8.0
    /// The longest Retry-After honoured before giving up on an immediate retry.
    public var maxRetryAfterSeconds = 120.0

    public init(baseURL: String, apiKey: String, organization: String? = nil, project: String? = nil) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.apiKey = apiKey
        self.organization = organization
        self.project = project
    }

    public static let defaultBaseURL = "https://api.openai.com/v1"

    /// `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`; nil without a key.
    public static func fromEnvironment(_ env: [String: String]) -> ProviderConfig? {
        guard let key = env["OPENAI_API_KEY"], !key.isEmpty else { return nil }
        var config = ProviderConfig(
            baseURL: env["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultBaseURL, apiKey: key,
            organization: env["OPENAI_ORG_ID"], project: env["OPENAI_PROJECT_ID"])
        if let ms = env["PROMPTREEL_PROVIDER_TIMEOUT_MS"].flatMap({ Int($0) }), ms > 0 { config.timeoutMs = ms }
        return config
    }
}
