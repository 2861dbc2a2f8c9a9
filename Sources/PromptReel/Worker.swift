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

public final class Worker {
    let config: AppConfig
    let name: String

    public init(config: AppConfig, name: String) {
        self.config = config
        self.name = name
    }

    /// Loops until `stop` is set: works while there is work; when idle, sleeps until a NOTIFY says a
    /// click was recorded (so the create leaves at once) or half a second passes (polls fall due).
    public func run(until stop: StopFlag) {
        guard let providerConfig = config.provider else {
            Log.error("\(name): no OPENAI_API_KEY configured; the worker has nothing to talk to")
            return
        }
        var engine: GenerationEngine?
        while !stop.isStopped {
            do {
                if engine == nil || engine?.db.isHealthy == false {
                    let db = try Connection(url: config.databaseURL)
                    try db.execute("LISTEN promptreel_work")  // the channel GenerationStore.wakeWorkers notifies
                    engine = GenerationEngine(db: db, provider: try VideoAPIClient(config: providerConfig), config: config.engine)
                }
                guard let engine else { continue }
                if try engine.runOnce() { continue }
                _ = try engine.db.waitForNotification(timeoutSeconds: 0.5)
            } catch {
                Log.error("\(name): \(error)")
                if case DatabaseError.unavailable = error { engine = nil }
                nap(seconds: 0.5, unless: stop)
            }
        }
    }

    private func nap(seconds: Double, unless stop: StopFlag) {
        var left = seconds
        while left > 0 && !stop.isStopped {
            VideoAPIClient.sleep(min(0.1, left))
            left -= 0.1
        }
    }
}

/// Runs roundtables on threads of its own, so a slow chat model never delays a video job. Wakes on
/// NOTIFY promptreel_roundtables (a click), or every second to pick up abandoned ones.
public final class RoundtableWorker {
    let config: AppConfig
    let name: String

    public init(config: AppConfig, name: String) {
        self.config = config
        self.name = name
    }

    public func run(until stop: StopFlag) {
        guard let chatConfig = config.chat else {
            Log.error("\(name): no chat provider configured (PROMPTREEL_CHAT_API_KEY or OPENAI_API_KEY); roundtables wait")
            return
        }
        var engine: RoundtableEngine?
        while !stop.isStopped {
            do {
                if engine == nil || engine?.db.isHealthy == false {
                    let db = try Connection(url: config.databaseURL)
                    try db.execute("LISTEN promptreel_roundtables")  // RoundtableStore.workChannel
                    engine = RoundtableEngine(db: db) { () throws(VideoAPIError) -> any ChatProvider in try ChatAPIClient(config: chatConfig) }
                }
                guard let engine else { continue }
                if try engine.runOne() { continue }
                _ = try engine.db.waitForNotification(timeoutSeconds: 1)
            } catch {
                Log.error("\(name): \(error)")
                if case DatabaseError.unavailable = error { engine = nil }
                VideoAPIClient.sleep(0.5)
            }
        }
    }
}
