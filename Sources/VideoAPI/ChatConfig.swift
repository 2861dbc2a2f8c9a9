// Where the chat model lives and how patiently to talk to it. By default the same base URL and key as
// the Videos API (a gateway such as LiteLLM serves both); PROMPTREEL_CHAT_* variables override them.

public struct ChatConfig: Sendable {
    public var baseURL: String
    public var apiKey: String
    public var organization: String?
    public var project: String?
    public var model: String
    public var connectTimeoutMs = 5_000
    /// Total time for one completion: models take tens of seconds to write a long answer.
    public var timeoutMs = 60_000
    /// Retries after the first attempt (a chat call creates nothing, so it may always be retried).
    public var maxRetries = 2
    /// Backoff without a Retry-After: 0.5 s doubling up to this.
    public var maxBackoffSeconds = 8.0
    /// The longest Retry-After honoured before giving up on an immediate retry.
    public var maxRetryAfterSeconds = 120.0

    public static let defaultModel = "gpt-4.1-mini"

    public init(
        baseURL: String, apiKey: String, organization: String? = nil, project: String? = nil,
        model: String = ChatConfig.defaultModel
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.apiKey = apiKey
        self.organization = organization
        self.project = project
        self.model = model
    }

    /// Base URL: `PROMPTREEL_CHAT_BASE_URL`, else `OPENAI_BASE_URL`, else OpenAI's. Key:
    /// `PROMPTREEL_CHAT_API_KEY`, else `OPENAI_API_KEY`; nil without either. Model:
    /// `PROMPTREEL_CHAT_MODEL` (default gpt-4.1-mini); timeout: `PROMPTREEL_CHAT_TIMEOUT_MS`;
    /// `OPENAI_ORG_ID` / `OPENAI_PROJECT_ID` as for the video client. Empty values count as unset.
    public static func fromEnvironment(_ env: [String: String]) -> ChatConfig? {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let key = value("PROMPTREEL_CHAT_API_KEY") ?? value("OPENAI_API_KEY") else { return nil }
        var config = ChatConfig(
            baseURL: value("PROMPTREEL_CHAT_BASE_URL") ?? value("OPENAI_BASE_URL") ?? ProviderConfig.defaultBaseURL,
            apiKey: key, organization: value("OPENAI_ORG_ID"), project: value("OPENAI_PROJECT_ID"),
            model: value("PROMPTREEL_CHAT_MODEL") ?? defaultModel)
        if let ms = value("PROMPTREEL_CHAT_TIMEOUT_MS").flatMap({ Int($0) }), ms > 0 { config.timeoutMs = ms }
        return config
    }
}
