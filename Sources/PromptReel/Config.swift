// Settings read once at start-up from the environment (and the serve command's flags).

public import VideoAPI

public struct AppConfig: Sendable {
    public var databaseURL: String
    public var signupEnabled: Bool
    /// Browser sessions last this long.
    public var sessionSeconds: Int
    /// Failed log-ins allowed per account and per address within `loginWindowMinutes`.
    public var loginFailuresPerAccount: Int
    public var loginFailuresPerAddress: Int
    public var loginWindowMinutes: Int
    /// Accounts one client address may create by sign-up per hour.
    public var signupsPerAddressPerHour: Int
    /// The Videos API endpoint; nil when no key is configured (generation is then unavailable).
    public var provider: ProviderConfig?
    /// The chat completions endpoint for the roundtable; by default the video provider's URL and key.
    public var chat: ChatConfig?
    /// True when the provider is the built-in simulator (pages show a badge).
    public var providerIsSimulator = false
    public var engine = EngineConfig(mediaDirectory: ".local/media")
    public var webhooks = WebhookConfig()

    public init(databaseURL: String, signupEnabled: Bool = true, sessionSeconds: Int = 30 * 24 * 3600,
                loginFailuresPerAccount: Int = 5, loginFailuresPerAddress: Int = 50, loginWindowMinutes: Int = 15,
                signupsPerAddressPerHour: Int = 5) {
        self.databaseURL = databaseURL
        self.signupEnabled = signupEnabled
        self.sessionSeconds = sessionSeconds
        self.loginFailuresPerAccount = loginFailuresPerAccount
        self.loginFailuresPerAddress = loginFailuresPerAddress
        self.loginWindowMinutes = loginWindowMinutes
        self.signupsPerAddressPerHour = signupsPerAddressPerHour
    }

    /// Reads `DATABASE_URL`, `PROMPTREEL_SIGNUP` (on/off) and the log-in throttle settings.
    public static func fromEnvironment(_ env: [String: String]) -> AppConfig {
        var config = AppConfig(databaseURL: env["DATABASE_URL"] ?? "postgresql:///promptreel")
        if let s = env["PROMPTREEL_SIGNUP"]?.lowercased() { config.signupEnabled = !["off", "0", "false", "no"].contains(s) }
        if let n = env["PROMPTREEL_LOGIN_FAILURES_PER_ACCOUNT"].flatMap({ Int($0) }), n > 0 { config.loginFailuresPerAccount = n }
        if let n = env["PROMPTREEL_LOGIN_FAILURES_PER_ADDRESS"].flatMap({ Int($0) }), n > 0 { config.loginFailuresPerAddress = n }
        if let n = env["PROMPTREEL_SIGNUPS_PER_ADDRESS_PER_HOUR"].flatMap({ Int($0) }), n > 0 { config.signupsPerAddressPerHour = n }
        config.provider = ProviderConfig.fromEnvironment(env)
        config.chat = ChatConfig.fromEnvironment(env)
        config.providerIsSimulator = env["PROMPTREEL_PROVIDER"] == "simulator"
        config.engine = EngineConfig.fromEnvironment(env, defaultMedia: ".local/media")
        config.webhooks = WebhookConfig.fromEnvironment(env)
        return config
    }
}
