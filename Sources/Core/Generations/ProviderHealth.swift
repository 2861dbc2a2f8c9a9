// The provider breaker, kept in PostgreSQL so every process and host shares one view: after
// `failureThreshold` consecutive provider failures (timeouts, refused connections, 5xx) new creates
// pause (30 s, doubling to 10 min per reopening); clicks stay queued meanwhile; any success closes it.

package import Postgres

public struct BreakerConfig: Sendable {
    public var failureThreshold = 5
    public var firstPauseSeconds = 30
    public var maxPauseSeconds = 600
    public init() {}
}

/// One provider's breaker as pages and /healthz show it.
package struct ProviderState: Sendable, Equatable {
    package let provider: String
    package let degraded: Bool
}

package struct ProviderHealth {
    package let db: Connection
    /// The provider whose breaker this is (Migrations/0031: one per provider).
    package let provider: String

    package init(db: Connection, provider: String = Provider.defaultName) {
        self.db = db
        self.provider = provider
    }

    /// True while any provider's new creates are paused (/healthz's worst state).
    package func isDegraded() throws -> Bool {
        try Self.states(db).contains(where: \.degraded)
    }

    /// Every enabled provider's state, the default first: degraded while its breaker pauses new creates.
    package static func states(_ db: Connection) throws -> [ProviderState] {
        try db.execute(
            """
            SELECT h.provider, coalesce(h.paused_until > now(), false) AS paused FROM provider_health h
            JOIN providers p ON p.name = h.provider WHERE p.enabled
            ORDER BY h.provider = 'default' DESC, h.provider
            """
        ).map { ProviderState(provider: $0.string("provider"), degraded: $0.bool("paused")) }
    }

    /// A call answered: close the breaker (a no-op write when it is already closed).
    package func recordSuccess() throws {
        try db.execute(
            """
            UPDATE provider_health SET consecutive_failures = 0, pause_seconds = 0, paused_until = NULL, updated_at = now()
            WHERE provider = \(provider) AND (consecutive_failures > 0 OR paused_until IS NOT NULL)
            """)
    }

    /// A call failed in a way that says the provider is unwell. Opens (or reopens, with a doubled
    /// pause) the breaker at the threshold; failures during a pause do not extend it.
    /// Returns the new pause in seconds when this failure opened it.
    @discardableResult
    package func recordFailure(_ what: String, config: BreakerConfig) throws -> Int? {
        // One statement on the row's own columns: concurrent failures serialize on the row lock and
        // each sees the previous one's result. now() is fixed per statement, so "opened" is exact.
        let opens: Query =
            "consecutive_failures + 1 >= \(config.failureThreshold) AND coalesce(paused_until <= now(), true)"
        let nextPause: Query =
            "least(\(config.maxPauseSeconds), CASE WHEN pause_seconds = 0 THEN \(config.firstPauseSeconds) ELSE pause_seconds * 2 END)"
        let row = try db.execute(
            """
            UPDATE provider_health SET consecutive_failures = consecutive_failures + 1, last_failure = \(what), updated_at = now(),
                   pause_seconds = CASE WHEN \(fragment: opens) THEN \(fragment: nextPause) ELSE pause_seconds END,
                   paused_until = CASE WHEN \(fragment: opens) THEN now() + make_interval(secs => \(fragment: nextPause)) ELSE paused_until END
            WHERE provider = \(provider)
            RETURNING pause_seconds, coalesce(paused_until = now() + make_interval(secs => pause_seconds), false) AS opens
            """
        ).first
        guard let row, row.bool("opens") else { return nil }
        return Int(row.int("pause_seconds"))
    }
}
