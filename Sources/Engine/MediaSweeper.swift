// The media sweep as a worker task (`promptreel media sweep` runs the same pass by hand): every
// `EngineConfig.mediaSweepSeconds` one process of the instance removes the objects no row names any more —
// replaced and removed reference images, what a crash left — so nothing waits for an operator. One at a time
// across processes (MediaSweep's advisory lock, tried here, never waited for). Every second it also removes the
// files of rows deleted since (`media_deletions`, queued by the deleting transaction).

import Core
import Glibc
import Postgres
import Synchronization
import Telemetry

struct MediaSweeper: BackgroundWork {
    let db: Connection
    let stores: MediaStores
    let intervalSeconds: Int
    /// When this process last swept (monotonic seconds; 0: not yet).
    static let lastSwept = Atomic<Int>(0)
    /// When this process last probed the stores (`MediaStoreHealth`).
    static let lastProbed = Atomic<Int>(0)
    static let probeSeconds = 15

    /// Sweeps when due; never has more work at once (the loop then sleeps until the next check).
    func runOnce() throws -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let probed = Self.lastProbed.load(ordering: .relaxed)
        if probed == 0 || now.tv_sec - probed >= Self.probeSeconds,
            Self.lastProbed.compareExchange(expected: probed, desired: now.tv_sec, ordering: .relaxed).exchanged
        {
            try MediaStoreHealth.probe(db, stores: stores)
        }
        try sweepIfDue(nowSeconds: now.tv_sec)
        return try MediaDeletions.drain(db: db, stores: stores) > 0
    }

    /// The removals, or nil when it was not due here (another process swept, or is sweeping).
    @discardableResult
    func sweepIfDue(nowSeconds: Int) throws -> [MediaSweep.Removal]? {
        let last = Self.lastSwept.load(ordering: .relaxed)
        guard last == 0 || nowSeconds - last >= intervalSeconds,
            Self.lastSwept.compareExchange(expected: last, desired: nowSeconds, ordering: .relaxed).exchanged
        else { return nil }
        guard let removed = try MediaSweep.run(db: db, stores: stores, wait: false) else { return nil }
        if !removed.isEmpty {
            Log.info("media sweep: removed \(removed.count) files (\(removed.reduce(0) { $0 + $1.bytes }) bytes)")
        }
        return removed
    }
}
