// Whether the media stores answer, as the workers found them (`media_store_health`): a probe on every worker now and
// then, and every failure to store a video. /healthz reports it without calling a store on the request thread.

package import Postgres
import Telemetry

package struct StoreState: Sendable, Equatable {
    package let store: String
    package let degraded: Bool
}

/// What /healthz says: each enabled provider's state and each media store's.
package struct InstanceHealth: Sendable, Equatable {
    package let providers: [ProviderState]
    package let storage: [StoreState]
}

package enum MediaStoreHealth {
    /// A report older than this says nothing (no worker checks that store any more).
    static let freshSeconds = 120

    package static func record(_ db: Connection, store: MediaStoreName, failure: MediaStoreError?) throws {
        try db.execute(
            """
            INSERT INTO media_store_health (media_store, ok, error_code) VALUES (\(store.rawValue), \(failure == nil), \(failure?.code))
            ON CONFLICT (media_store) DO UPDATE SET ok = excluded.ok, error_code = excluded.error_code, checked_at = now()
            """)
    }

    package static func states(_ db: Connection) throws -> [StoreState] {
        try db.execute(
            """
            SELECT media_store, ok FROM media_store_health
            WHERE checked_at > now() - make_interval(secs => \(freshSeconds)) ORDER BY media_store
            """
        ).map { StoreState(store: $0.string("media_store"), degraded: !$0.bool("ok")) }
    }

    /// Asks each store for a listing of one empty prefix (it must answer, and take the credentials) and records
    /// the outcome; a failure is logged with the store's error code.
    package static func probe(_ db: Connection, stores: MediaStores) throws {
        for store in stores.all {
            var failure: MediaStoreError?
            do throws(MediaStoreError) { _ = try store.list(prefix: "promptreel-health/") } catch { failure = error }
            if let failure {
                Log.error("media store \(store.name) is not answering (\(failure.code ?? "error")): \(failure)")
            }
            try record(db, store: store.name, failure: failure)
        }
    }

    package static func all(_ db: Connection) throws -> InstanceHealth {
        InstanceHealth(providers: try ProviderHealth.states(db), storage: try states(db))
    }
}
