// Settings read once at start-up from the environment (and the serve command's flags). What the request
// side needs to know of the providers is only whether there is one (and the chat model's name): the
// providers' own settings (URLs, keys, timeouts) are the engine's (`Engine.ProviderSettings`).

package import Postgres

public struct AppConfig: Sendable {
    public var databaseURL: String
    public var signupEnabled: Bool
    /// Browser sessions last this long.
    public var sessionSeconds: Int
    /// A session unseen for this long ends (`PROMPTREEL_SESSION_IDLE_DAYS`, 1–30, default 7).
    public var sessionIdleSeconds = 7 * 86_400
    /// Failed log-ins allowed per account and per address within `loginWindowMinutes`.
    public var loginFailuresPerAccount: Int
    public var loginFailuresPerAddress: Int
    public var loginWindowMinutes: Int
    /// Accounts one client address may create by sign-up per hour.
    public var signupsPerAddressPerHour: Int
    /// "Forgot password" requests one client address may make per hour (`PROMPTREEL_RESET_REQUESTS_PER_ADDRESS_PER_HOUR`).
    public var resetRequestsPerAddressPerHour = 10
    /// The site's address as users reach it (`PROMPTREEL_PUBLIC_URL`): the links in mails and printed links.
    public var publicURL = "http://127.0.0.1:8080"
    /// A mail relay is configured (`PROMPTREEL_SMTP_URL`, read by the engine's `MailRelay`): "Forgot password" mails
    /// a link and invitations are mailed.
    public var mailEnabled = false
    /// The first retry of a mail the relay did not take comes after this (`PROMPTREEL_MAIL_RETRY_BASE_SECONDS`).
    public var mailRetryBaseSeconds = 30.0
    /// A video provider is configured (with a key); without one generation is unavailable.
    public var videoProviderConfigured = false
    /// The roundtable's chat model; nil when no chat provider is configured.
    public var chatModel: String?
    /// True when the provider is the built-in simulator (pages show a badge).
    public var providerIsSimulator = false
    public var engine = EngineConfig(mediaDirectory: ".local/media")
    public var webhooks = WebhookConfig()
    /// The image decoder's program and limits (`ImageTool`).
    public var images = ImageToolConfig()
    /// Each user's storage quota for uploads unless their row sets one (`PROMPTREEL_STORAGE_QUOTA_BYTES`).
    public var storageQuotaBytes: Int64 = 5_000_000_000
    /// The longest one SQL statement may run (`statement_timeout`) on a request thread's connection, so no
    /// statement holds a request thread for ever (`PROMPTREEL_REQUEST_STATEMENT_TIMEOUT_MS`), and on a worker's
    /// (`PROMPTREEL_WORKER_STATEMENT_TIMEOUT_MS`). Migrations and the command line have none.
    public var requestStatementTimeoutMs = 10_000
    public var workerStatementTimeoutMs = 300_000

    public init(
        databaseURL: String, signupEnabled: Bool = true, sessionSeconds: Int = 30 * 24 * 3600,
        loginFailuresPerAccount: Int = 5, loginFailuresPerAddress: Int = 50, loginWindowMinutes: Int = 15,
        signupsPerAddressPerHour: Int = 5
    ) {
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
        if let s = env["PROMPTREEL_SIGNUP"]?.lowercased() {
            config.signupEnabled = !["off", "0", "false", "no"].contains(s)
        }
        if let n = env["PROMPTREEL_LOGIN_FAILURES_PER_ACCOUNT"].flatMap({ Int($0) }), n > 0 {
            config.loginFailuresPerAccount = n
        }
        if let n = env["PROMPTREEL_LOGIN_FAILURES_PER_ADDRESS"].flatMap({ Int($0) }), n > 0 {
            config.loginFailuresPerAddress = n
        }
        if let n = env["PROMPTREEL_SIGNUPS_PER_ADDRESS_PER_HOUR"].flatMap({ Int($0) }), n > 0 {
            config.signupsPerAddressPerHour = n
        }
        if let n = env["PROMPTREEL_RESET_REQUESTS_PER_ADDRESS_PER_HOUR"].flatMap({ Int($0) }), n > 0 {
            config.resetRequestsPerAddressPerHour = n
        }
        if let url = env["PROMPTREEL_PUBLIC_URL"], url.hasPrefix("http://") || url.hasPrefix("https://") {
            config.publicURL = url
        }
        if let s = env["PROMPTREEL_MAIL_RETRY_BASE_SECONDS"].flatMap({ Double($0) }), s.isFinite,
            (0.1...3600).contains(s)
        {
            config.mailRetryBaseSeconds = s
        }
        if let days = env["PROMPTREEL_SESSION_IDLE_DAYS"].flatMap({ Int($0) }), (1...30).contains(days) {
            config.sessionIdleSeconds = days * 86_400
        }
        config.providerIsSimulator = env["PROMPTREEL_PROVIDER"] == "simulator"
        config.engine = EngineConfig.fromEnvironment(env, defaultMedia: ".local/media")
        config.webhooks = WebhookConfig.fromEnvironment(env)
        config.images = ImageToolConfig.fromEnvironment(env)
        if let n = env["PROMPTREEL_STORAGE_QUOTA_BYTES"].flatMap({ Int64($0) }), n >= 0 { config.storageQuotaBytes = n }
        for (key, path) in [
            ("PROMPTREEL_REQUEST_STATEMENT_TIMEOUT_MS", \AppConfig.requestStatementTimeoutMs),
            ("PROMPTREEL_WORKER_STATEMENT_TIMEOUT_MS", \AppConfig.workerStatementTimeoutMs),
        ] {
            if let n = env[key].flatMap({ Int($0) }), (100...86_400_000).contains(n) { config[keyPath: path] = n }
        }
        return config
    }
}

/// The generation engine's settings; the media stores are also where the app serves files from.
public struct EngineConfig: Sendable {
    /// The local store's directory (`PROMPTREEL_MEDIA_DIR`), and the scratch space of every store (`tmp/`).
    public var mediaDirectory: String
    /// The stores when another than the local directory takes new media (`PROMPTREEL_MEDIA_STORE`, set up by the
    /// executable, which alone can build an S3 store).
    package var configuredStores: MediaStores?
    /// Where new media goes, and every store this process can read.
    package var media: MediaStores { configuredStores ?? .local(mediaDirectory) }
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
    /// Retrieves in a row answered 500 after which a job ends as failed and possibly billed: a gateway (LiteLLM's
    /// `hosted_vllm`) turns a failed upstream job into a 500 on every poll (`PROMPTREEL_POLL_ERROR_LIMIT`). 502, 503
    /// and 504 say the provider is unwell, not the job: those are polled until the timeout.
    public var pollErrorLimit = 8
    /// How long to keep trying to download a finished video when the provider gives no `expires_at`.
    public var downloadDeadlineSeconds = 600
    public var breaker = BreakerConfig()
    public var maxVideoBytes = 1 << 30
    public var maxImageBytes = 32 << 20
    /// Makes a poster and spritesheet from the video when the provider sends none (`PROMPTREEL_FFMPEG`).
    public var ffmpegPath = "/usr/bin/ffmpeg"
    /// How often a worker process sweeps media no row names (`PROMPTREEL_MEDIA_SWEEP_SECONDS`).
    public var mediaSweepSeconds = 600
    /// Film makers per worker process (`PROMPTREEL_FILM_THREADS`): one stitch at a time by default.
    public var filmThreads = 1
    /// For crash tests only: "after-create" exits the process right after the provider accepts a create.
    public var failpoint: String?

    public init(mediaDirectory: String) { self.mediaDirectory = mediaDirectory }

    public static func fromEnvironment(_ env: [String: String], defaultMedia: String) -> EngineConfig {
        var c = EngineConfig(
            mediaDirectory: env["PROMPTREEL_MEDIA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultMedia)
        func int(_ key: String) -> Int? { env[key].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } }
        func seconds(_ key: String) -> Double? {
            env[key].flatMap { Double($0) }.flatMap { $0.isFinite && $0 >= 0 && $0 <= 86_400 ? $0 : nil }
        }
        if let n = int("PROMPTREEL_MAX_IN_FLIGHT") { c.maxInFlight = n }
        if let n = int("PROMPTREEL_GENERATION_TIMEOUT_SECONDS") { c.timeoutSeconds = n }
        if let n = seconds("PROMPTREEL_RECONCILE_DELAY_SECONDS") { c.reconcileDelaySeconds = n }
        if let n = seconds("PROMPTREEL_POLL_MIN_SECONDS"), n > 0 { c.pollMinSeconds = n }
        if let n = int("PROMPTREEL_POLL_ERROR_LIMIT") { c.pollErrorLimit = min(n, 1000) }
        if let n = int("PROMPTREEL_DOWNLOAD_DEADLINE_SECONDS") { c.downloadDeadlineSeconds = min(n, 86_400) }
        if let n = int("PROMPTREEL_BREAKER_FAILURES") { c.breaker.failureThreshold = min(n, 1000) }
        if let n = int("PROMPTREEL_BREAKER_PAUSE_SECONDS") {
            c.breaker.firstPauseSeconds = min(n, c.breaker.maxPauseSeconds)
        }
        if let path = env["PROMPTREEL_FFMPEG"], !path.isEmpty { c.ffmpegPath = path }
        if let n = int("PROMPTREEL_MEDIA_SWEEP_SECONDS") { c.mediaSweepSeconds = min(n, 86_400) }
        if let n = env["PROMPTREEL_FILM_THREADS"].flatMap({ Int($0) }), (0...8).contains(n) { c.filmThreads = n }
        c.failpoint = env["PROMPTREEL_FAILPOINT"]
        return c
    }
}

/// Who a database connection serves: its `statement_timeout` follows.
package enum ConnectionRole: Sendable {
    case request, worker
}

extension AppConfig {
    /// A connection for a request thread or a worker, with that role's `statement_timeout` (set with the session's
    /// other settings, again after a reconnect; the URL's own `options` and `PGOPTIONS` stay as they are).
    package func connect(_ role: ConnectionRole) throws(DatabaseError) -> Connection {
        try Connection(
            url: databaseURL,
            statementTimeoutMs: role == .request ? requestStatementTimeoutMs : workerStatementTimeoutMs)
    }
}
