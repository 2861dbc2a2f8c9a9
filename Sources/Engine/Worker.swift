// The background worker: the only place PromptReel talks to the video provider. Runs on its own thread
// (never a FastCGI thread) with its own database connection and provider client; any number may run, in
// any number of processes, because every step claims its row first.

public import Core
import Glibc
import Postgres
import Synchronization
import Telemetry
public import VideoAPI

/// The providers' own settings (URLs, keys, timeouts), read once at start-up. Only the engine holds
/// them; the request side learns from `announce(to:)` only that a provider exists and the chat model's name.
public struct ProviderSettings: Sendable {
    /// The Videos API endpoint; nil when no key is configured (generation is then unavailable).
    public var video: ProviderConfig?
    /// The chat completions endpoint for the roundtable; by default the video provider's URL and key.
    public var chat: ChatConfig?
    /// The SMTP relay (`PROMPTREEL_SMTP_URL`); nil: nothing is mailed.
    public var mail: MailRelay?

    public init(video: ProviderConfig? = nil, chat: ChatConfig? = nil) {
        self.video = video
        self.chat = chat
    }

    /// The process's environment, for the keys other providers name (`providers.api_key_env`); never logged.
    public var environment: [String: String] = [:]

    public static func fromEnvironment(_ env: [String: String]) -> ProviderSettings {
        var settings = ProviderSettings(
            video: ProviderConfig.fromEnvironment(env), chat: ChatConfig.fromEnvironment(env))
        settings.environment = env
        return settings
    }

    public func announce(to config: inout AppConfig) {
        config.videoProviderConfigured = video != nil
        config.chatModel = chat?.model
        config.mailEnabled = mail != nil
    }
}

/// One kind of background work on its own database connection: `runOnce` does one due step.
protocol BackgroundWork {
    var db: Connection { get }
    func runOnce() throws -> Bool
}

extension GenerationEngine: BackgroundWork {}

extension RoundtableEngine: BackgroundWork {
    func runOnce() throws -> Bool { try runOne() }
}

extension WebhookDeliverer: BackgroundWork {}

extension MailSender: BackgroundWork {}

/// A chore a worker does at most once per interval per process (deleting old rows): the first call is due, then
/// one call per interval (monotonic clock), whichever thread makes it.
final class PeriodicChore: Sendable {
    let intervalSeconds: Int
    private let last = Atomic<Int>(-1)

    init(intervalSeconds: Int) { self.intervalSeconds = intervalSeconds }

    /// True for the one caller that takes the chore now (`nowSeconds`: monotonic).
    func isDue(nowSeconds: Int = Int(monotonicNanoseconds() / 1_000_000_000)) -> Bool {
        let previous = last.load(ordering: .relaxed)
        guard previous < 0 || nowSeconds - previous >= intervalSeconds else { return false }
        return last.compareExchange(expected: previous, desired: nowSeconds, ordering: .relaxed).exchanged
    }
}

/// The loop both workers share: (re)connect and LISTEN, work while there is work, and when idle sleep
/// until a NOTIFY says a click was recorded (so work starts at once) or `idleSeconds` pass.
func workLoop(_ name: String, until stop: StopFlag, idleSeconds: Double, connect: () throws -> any BackgroundWork) {
    var work: (any BackgroundWork)?
    while !stop.isStopped {
        do {
            if work == nil || work?.db.isHealthy == false { work = try connect() }
            guard let work else { continue }
            if try work.runOnce() { continue }
            _ = try work.db.waitForNotification(timeoutSeconds: idleSeconds)
        } catch {
            Log.error("\(name): \(error)")
            if case DatabaseError.unavailable = error { work = nil }
            var left = 0.5  // a short nap, still answering the stop flag
            while left > 0 && !stop.isStopped {
                usleep(100_000)
                left -= 0.1
            }
        }
    }
}

/// A background worker thread's body: video jobs (submit, poll, download — the only place PromptReel
/// talks to the video provider) or roundtables (on threads of their own, so a slow chat model never
/// delays a video job).
public struct Worker: Sendable {
    public enum Kind: Sendable { case videos, roundtables, webhooks, maintenance, films, mail }

    let config: AppConfig
    let providers: ProviderSettings
    let kind: Kind
    let name: String

    public init(config: AppConfig, providers: ProviderSettings, kind: Kind, name: String) {
        self.config = config
        self.providers = providers
        self.kind = kind
        self.name = name
    }

    public func run(until stop: StopFlag) {
        let config = config
        switch kind {
        case .videos:
            guard let providerConfig = providers.video else {
                Log.error("\(name): no OPENAI_API_KEY configured; the worker has nothing to talk to")
                return
            }
            // Half a second when idle: polls and retries fall due without a NOTIFY.
            let environment = providers.environment
            workLoop(name, until: stop, idleSeconds: 0.5) {
                let db = try config.connect(.worker)
                try db.execute(NotifyChannel.generations.listen)
                // The default provider is what this process's OPENAI_* say; the others are catalog rows.
                try ProviderAdmin.syncDefault(
                    baseURL: providerConfig.baseURL, organization: providerConfig.organization,
                    project: providerConfig.project, db: db)
                let pool = try ProviderPool.load(db: db, defaultConfig: providerConfig, environment: environment) {
                    name, config in MeasuredVideoProvider(try VideoAPIClient(config: config), provider: name)
                }
                return GenerationEngine(db: db, providers: pool, config: config.engine)
            }
        case .roundtables:
            guard let chatConfig = providers.chat else {
                Log.error(
                    "\(name): no chat provider configured (PROMPTREEL_CHAT_API_KEY or OPENAI_API_KEY); roundtables wait"
                )
                return
            }
            // Once a second when idle: abandoned roundtables come back when their lease runs out.
            workLoop(name, until: stop, idleSeconds: 1) {
                let db = try config.connect(.worker)
                try db.execute(NotifyChannel.roundtables.listen)
                return RoundtableEngine(db: db) { () throws(VideoAPIError) -> any ChatProvider in
                    MeasuredChatProvider(try ChatAPIClient(config: chatConfig))
                }
            }
        case .webhooks:
            // Once a second when idle: retries fall due without a NOTIFY.
            workLoop(name, until: stop, idleSeconds: 1) {
                let db = try config.connect(.worker)
                try db.execute(NotifyChannel.webhooks.listen)
                return WebhookDeliverer(db: db, config: config.webhooks)
            }
        case .mail:
            guard let relay = providers.mail else { return }
            // Once a second when idle: retries fall due without a NOTIFY.
            workLoop(name, until: stop, idleSeconds: 1) {
                let db = try config.connect(.worker)
                try db.execute(NotifyChannel.mail.listen)
                return MailSender(db: db, relay: relay, config: config)
            }
        case .films:
            // Once a second when idle: a film whose maker died is taken up again without a NOTIFY.
            workLoop(name, until: stop, idleSeconds: 1) {
                let db = try config.connect(.worker)
                try db.execute(NotifyChannel.films.listen)
                return FilmMaker(db: db, config: config.engine)
            }
        case .maintenance:
            // The media sweep, run when due (one process at a time); the check is a clock read, so the loop
            // wakes every second like the others and a stop is answered at once.
            workLoop(name, until: stop, idleSeconds: 1) {
                MediaSweeper(
                    db: try config.connect(.worker), stores: config.engine.media,
                    intervalSeconds: config.engine.mediaSweepSeconds)
            }
        }
    }
}
