// Removing the files of deleted rows: queued in the deleting transaction (Migrations/0035's triggers), removed
// here by a worker after the commit, so a request thread never waits on a store across a network and a crash
// in between loses nothing.

package import Postgres
import Telemetry

package enum MediaDeletions {
    /// Removes what is due, a batch at a time (rows locked, so two workers never take the same one); a store
    /// fault is tried again with a backoff. Returns how many folders were removed.
    @discardableResult
    package static func drain(db: Connection, stores: MediaStores, limit: Int = 50) throws -> Int {
        // Only the stores this process can reach: another host's worker removes the rest (never postponed here).
        let names = MediaStoreName.lines(stores.all.map(\.name))
        let due = try db.execute(
            """
            SELECT id, media_store, prefix, attempts FROM media_deletions
            WHERE next_attempt_at <= now() AND media_store = ANY(string_to_array(\(names), E'\\n'))
            ORDER BY next_attempt_at LIMIT \(limit)
            """)
        guard !due.isEmpty else { return 0 }
        var removed = 0
        for row in due {
            let id = row.int("id")
            try db.transaction {
                // Taken by another worker meanwhile: skipped.
                guard try !db.execute("SELECT 1 FROM media_deletions WHERE id = \(id) FOR UPDATE SKIP LOCKED").isEmpty
                else { return }
                let name = MediaStoreName(row.string("media_store"))
                let prefix = row.string("prefix")
                guard let store = stores.store(name) else { return }  // (selected above: not expected)
                var failure: MediaStoreError?
                do throws(MediaStoreError) { try store.removeAll(prefix: prefix) } catch { failure = error }
                guard let failure else {
                    try db.execute("DELETE FROM media_deletions WHERE id = \(id)")
                    removed += 1
                    return
                }
                let attempts = row.int("attempts") + 1
                Log.error("media: cannot remove \(prefix) from \(name) (\(failure.code ?? "error")): \(failure)")
                try db.execute(
                    """
                    UPDATE media_deletions SET attempts = \(attempts),
                           next_attempt_at = now() + make_interval(secs => \(min(3600, 5 << min(attempts, 10))))
                    WHERE id = \(id)
                    """)
            }
        }
        return removed
    }
}
