// The background worker: the only place PromptReel talks to the video provider. Runs on its own thread
// (never a FastCGI thread) with its own database connection and provider client; any number may run, in
// any number of processes, because every step claims its row first.

import Glibc
import Postgres
import Synchronization
import VideoAPI

/// Set once to ask workers to stop after their current step.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func stop() { flag.store(true, ordering: .releasing) }
    public var isStopped: Bool { flag.load(ordering: .acquiring) }
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
                VideoAPIClient.sleep(0.1)
                left -= 0.1
            }
        }
    }
}

/// A background worker thread's body: video jobs (submit, poll, download — the only place PromptReel
/// talks to the video provider) or roundtables (on threads of their own, so a slow chat model never
/// delays a video job).
public struct Worker: Sendable {
    public enum Kind: Sendable { case videos, roundtables, webhooks }

    let config: AppConfig
    let kind: Kind
    let name: String

    public init(config: AppConfig, kind: Kind, name: String) {
        self.config = config
        self.kind = kind
        self.name = name
    }

    public func run(until stop: StopFlag) {
        let config = config
        switch kind {
        case .videos:
            guard let providerConfig = config.provider else {
                Log.error("\(name): no OPENAI_API_KEY configured; the worker has nothing to talk to")
                return
            }
            // Half a second when idle: polls and retries fall due without a NOTIFY.
            workLoop(name, until: stop, idleSeconds: 0.5) {
                let db = try Connection(url: config.databaseURL)
                try db.execute("LISTEN promptreel_work")  // the channel GenerationStore.wakeWorkers notifies
                return GenerationEngine(db: db, provider: MeasuredVideoProvider(try VideoAPIClient(config: providerConfig)), config: config.engine)
            }
        case .roundtables:
            guard let chatConfig = config.chat else {
                Log.error("\(name): no chat provider configured (PROMPTREEL_CHAT_API_KEY or OPENAI_API_KEY); roundtables wait")
                return
            }
            // Once a second when idle: abandoned roundtables come back when their lease runs out.
            workLoop(name, until: stop, idleSeconds: 1) {
                let db = try Connection(url: config.databaseURL)
                try db.execute("LISTEN promptreel_roundtables")  // RoundtableStore.workChannel
                return RoundtableEngine(db: db) { () throws(VideoAPIError) -> any ChatProvider in MeasuredChatProvider(try ChatAPIClient(config: chatConfig)) }
            }
        case .webhooks:
            // Once a second when idle: retries fall due without a NOTIFY.
            workLoop(name, until: stop, idleSeconds: 1) {
                let db = try Connection(url: config.databaseURL)
                try db.execute("LISTEN promptreel_webhooks")  // WebhookStore.channel: the 0015 trigger and "send again"
                return WebhookDeliverer(db: db, config: config.webhooks)
            }
        }
    }
}
