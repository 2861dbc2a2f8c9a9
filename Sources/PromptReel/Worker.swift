// The background worker: advances every unfinished generation with no browser open. Runs on its own
// thread with its own database connection and provider client; any number may run, in any number of
// processes, because every step claims its row first.

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

    /// Loops until `stop` is set: works while there is work, naps (up to a second) when idle.
    public func run(until stop: StopFlag) {
        guard let providerConfig = config.provider else {
            Log.error("\(name): no OPENAI_API_KEY configured; the worker has nothing to talk to")
            return
        }
        var engine: GenerationEngine?
        while !stop.isStopped {
            do {
                if engine == nil || engine?.db.isHealthy == false {
                    engine = GenerationEngine(db: try Connection(url: config.databaseURL),
                                              api: try VideoAPIClient(config: providerConfig), config: config.engine)
                }
                if let engine, try engine.runOnce() { continue }
            } catch {
                Log.error("\(name): \(error)")
                if case DatabaseError.unavailable = error { engine = nil }
            }
            nap(seconds: 0.5, unless: stop)
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
