// How a background thread (a worker, the cache listener) is asked to stop.

import Synchronization

/// Set once to ask workers to stop after their current step.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func stop() { flag.store(true, ordering: .releasing) }
    public var isStopped: Bool { flag.load(ordering: .acquiring) }
}
