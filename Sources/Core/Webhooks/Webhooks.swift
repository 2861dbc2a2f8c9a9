// Outbound webhooks: a user's endpoints (URL, events, secret) and the log of their deliveries — the one
// service behind the pages and the JSON API. Deliveries are enqueued by a trigger (Migrations/0015) and
// sent by workers (`WebhookDeliverer`); a request thread only records and reads.

import Formats
package import Postgres
import Telemetry

package enum WebhookEvent: String, CaseIterable, Sendable, SQLValue {
    case generationCompleted = "generation.completed"
    case generationFailed = "generation.failed"
    case filmCompleted = "film.completed"
    case filmFailed = "film.failed"
    package var sqlText: String { rawValue }
}

package enum WebhookDeliveryStatus: String, Sendable, SQLValue {
    /// Waiting for its next attempt (or being attempted).
    case pending
    /// A 2xx answer.
    case delivered
    /// Given up: 24 h of retries passed, or the address was refused.
    case failed
    package var sqlText: String { rawValue }
}

package enum WebhookAttemptOutcome: String, Sendable, SQLValue {
    case delivered, rejected, unreachable, refused
    package var sqlText: String { rawValue }
}

/// Standard Webhooks signing: `v1,` + base64(HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")).
package enum WebhookSignature {
    package static let secretPrefix = "whsec_"

    /// A new secret: `whsec_` + base64 of 32 random bytes.
    package static func newSecret() -> String { secretPrefix + Crypto.base64(Crypto.randomBytes(32)) }

    /// The key bytes of a `whsec_…` secret (nil when it is not one).
    package static func key(_ secret: String) -> [UInt8]? {
        guard secret.hasPrefix(secretPrefix),
            let key = Crypto.base64Decode(String(secret.dropFirst(secretPrefix.count))), !key.isEmpty
        else {
            return nil
        }
        return key
    }

    package static func sign(secret: String, id: String, timestamp: Int64, body: [UInt8]) -> String? {
        guard let key = key(secret) else { return nil }
        return "v1," + Crypto.base64(Crypto.hmacSHA256(key: key, message: Array("\(id).\(timestamp).".utf8) + body))
    }
}

package struct WebhookEndpoint: Sendable {
    package let id: ID<WebhookEndpoint>
    package let url: String
    package let events: [WebhookEvent]
    package let createdAt: Timestamp
    /// Deliveries waiting, delivered and given up.
    package let pending: Int64, delivered: Int64, failed: Int64

    package init(_ r: Row) {
        id = r.id("id")
        url = r.string("url")
        createdAt = r.timestamp("created_at")
        events = r.string("events").split(separator: ",").compactMap { WebhookEvent(rawValue: String($0)) }
        pending = r.int("pending")
        delivered = r.int("delivered")
        failed = r.int("failed")
    }

}

package struct WebhookAttempt: Sendable {
    package let at: Timestamp
    package let outcome: WebhookAttemptOutcome
    package let statusCode: Int64?
    package let error: String?
    package let durationMs: Int64

}

package struct WebhookDelivery: Sendable {
    package let id: ID<WebhookDelivery>
    package let endpointID: ID<WebhookEndpoint>
    package let event: WebhookEvent
    package let messageID: String
    package let generationID: ID<Generation>?
    package let status: WebhookDeliveryStatus
    package let attempts: Int64
    package let nextAttemptAt: Timestamp?
    package let lastAttemptAt: Timestamp?
    package let lastStatusCode: Int64?
    package let lastError: String?
    package let deliveredAt: Timestamp?
    package let createdAt: Timestamp
    package var attemptLog: [WebhookAttempt] = []

    package static let columns: Query = """
        d.id, d.endpoint_id, d.event_type, d.message_id, d.generation_id, d.status, d.attempts,
        CASE WHEN d.status = 'pending' THEN iso(d.next_attempt_at) END AS next_attempt_at, iso(d.last_attempt_at) AS last_attempt_at,
        d.last_status_code, d.last_error, iso(d.delivered_at) AS delivered_at, iso(d.created_at) AS created_at
        """

    package init(_ r: Row) {
        id = r.id("id")
        endpointID = r.id("endpoint_id")
        messageID = r.string("message_id")
        event = WebhookEvent(rawValue: r.string("event_type")) ?? .generationFailed
        generationID = r.optionalID("generation_id")
        status = WebhookDeliveryStatus(rawValue: r.string("status")) ?? .failed
        attempts = r.int("attempts")
        nextAttemptAt = r.optionalTimestamp("next_attempt_at")
        lastAttemptAt = r.optionalTimestamp("last_attempt_at")
        lastStatusCode = r.optionalInt("last_status_code")
        lastError = r["last_error"]
        deliveredAt = r.optionalTimestamp("delivered_at")
        createdAt = r.timestamp("created_at")
    }

}

/// Settings for webhooks, from the environment.
public struct WebhookConfig: Sendable {
    /// PROMPTREEL_WEBHOOKS_ALLOW_PRIVATE=1: loopback and private addresses are allowed (tests, closed networks).
    public var allowPrivate = false
    /// The first retry's delay; later ones are multiples (PROMPTREEL_WEBHOOK_RETRY_BASE_SECONDS, default 5).
    public var retryBaseSeconds = 5.0
    /// Retries stop this long after the first attempt (PROMPTREEL_WEBHOOK_RETRY_WINDOW_SECONDS, default 24 h).
    public var retryWindowSeconds = 86_400.0
    public var connectTimeoutMs = 5_000
    public var totalTimeoutMs = 10_000
    /// Endpoints one user may have.
    public var maxEndpointsPerUser = 10
    /// Webhook threads per worker process (PROMPTREEL_WEBHOOK_THREADS, 1...32, default 4): a slow receiver
    /// holds one of them, not every user's deliveries.
    public var threads = 4
    /// Delivered and failed deliveries (with their attempts) are deleted this long after they were created.
    public var retentionSeconds = 30.0 * 86_400

    public init() {}

    public static func fromEnvironment(_ env: [String: String]) -> WebhookConfig {
        var c = WebhookConfig()
        c.allowPrivate = ["1", "true", "yes", "on"].contains(
            env["PROMPTREEL_WEBHOOKS_ALLOW_PRIVATE"]?.lowercased() ?? "")
        func seconds(_ key: String) -> Double? {
            env[key].flatMap { Double($0) }.flatMap { $0.isFinite && $0 > 0 && $0 <= 7 * 86_400 ? $0 : nil }
        }
        if let s = seconds("PROMPTREEL_WEBHOOK_RETRY_BASE_SECONDS") { c.retryBaseSeconds = s }
        if let s = seconds("PROMPTREEL_WEBHOOK_RETRY_WINDOW_SECONDS") { c.retryWindowSeconds = s }
        if let n = env["PROMPTREEL_WEBHOOK_THREADS"].flatMap({ Int($0) }), (1...32).contains(n) { c.threads = n }
        return c
    }
}

package struct Webhooks {
    package let db: Connection
    package let config: WebhookConfig

    package init(db: Connection, config: WebhookConfig) {
        self.db = db
        self.config = config
    }
    package var store: WebhookStore { WebhookStore(db: db) }

    package enum Refusal: Error, Sendable {
        case noSuchEndpoint, noSuchDelivery
        /// "Send again" while an attempt is in progress: it would be sent twice.
        case attemptInProgress(endpointID: ID<WebhookEndpoint>)
        case invalidURL(WebhookURL.Invalid)
        case privateAddress(AddressRefusal)
        case unknownEvent(String)
        case noEvents
        case tooMany(Int)
    }

    /// Parsed event names; nil means the generation events (film events are asked for by name).
    package static func events(_ names: [String]?) throws(Refusal) -> [WebhookEvent] {
        guard let names else { return [.generationCompleted, .generationFailed] }
        var events: [WebhookEvent] = []
        for name in names {
            guard let event = WebhookEvent(rawValue: name) else { throw .unknownEvent(String(name.prefix(60))) }
            if !events.contains(event) { events.append(event) }
        }
        guard !events.isEmpty else { throw .noEvents }
        return events
    }

    /// Checks the URL (an obviously private address is refused here already; the authoritative check is
    /// at each delivery, after DNS) and records the endpoint. Returns it with its secret, shown this once.
    package func create(user: User, url raw: String, events: [WebhookEvent]) throws -> (WebhookEndpoint, secret: String)
    {
        let url: WebhookURL
        do { url = try WebhookURL(parsing: raw.trimmingWhitespace) } catch { throw Refusal.invalidURL(error) }
        if let why = url.obviousRefusal, !(config.allowPrivate && why.isLocalNetwork) {
            throw Refusal.privateAddress(why)
        }
        guard !events.isEmpty else { throw Refusal.noEvents }
        let secret = WebhookSignature.newSecret()
        guard
            let endpoint = try store.create(
                userID: user.id, url: url.normalized, events: events, secret: secret,
                limit: config.maxEndpointsPerUser)
        else {
            throw Refusal.tooMany(config.maxEndpointsPerUser)
        }
        return (endpoint, secret)
    }

    package func endpoint(id: ID<WebhookEndpoint>, user: User) throws -> WebhookEndpoint {
        guard let endpoint = try store.endpoint(id: id, userID: user.id) else { throw Refusal.noSuchEndpoint }
        return endpoint
    }

    package func delete(id: ID<WebhookEndpoint>, user: User) throws {
        guard try store.delete(id: id, userID: user.id) else { throw Refusal.noSuchEndpoint }
    }

    /// The endpoint and its latest deliveries (404 when it is not the user's).
    package func deliveryLog(endpointID: ID<WebhookEndpoint>, user: User, limit: Int = 50) throws -> (
        WebhookEndpoint, [WebhookDelivery]
    ) {
        let endpoint = try endpoint(id: endpointID, user: user)
        return (endpoint, try store.deliveries(endpointID: endpointID, userID: user.id, limit: limit))
    }

    /// "Send again": the same delivery (same `webhook-id` and body, as Standard Webhooks asks for one
    /// event) is due at once, with a new 24 h round of retries. Refused while an attempt is in progress.
    package func redeliver(id: ID<WebhookDelivery>, user: User) throws -> WebhookDelivery {
        switch try store.requeue(id: id, userID: user.id) {
        case let .requeued(delivery): return delivery
        case .notFound: throw Refusal.noSuchDelivery
        case let .inProgress(endpointID): throw Refusal.attemptInProgress(endpointID: endpointID)
        }
    }
}

package struct WebhookStore {
    package let db: Connection

    package init(db: Connection) {
        self.db = db
    }

    /// Endpoints `e` with their delivery counts (one pass over each endpoint's deliveries); add a WHERE.
    package static let selectEndpoints: Query = """
        SELECT e.id, e.url, array_to_string(e.events, ',') AS events, iso(e.created_at) AS created_at,
               n.pending, n.delivered, n.failed
        FROM webhook_endpoints e
        LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE d.status = 'pending') AS pending,
                                  count(*) FILTER (WHERE d.status = 'delivered') AS delivered,
                                  count(*) FILTER (WHERE d.status = 'failed') AS failed
                           FROM webhook_deliveries d WHERE d.endpoint_id = e.id) n ON true
        """

    /// Nil when the user already has `limit` endpoints (counted under a per-user lock).
    package func create(userID: ID<User>, url: String, events: [WebhookEvent], secret: String, limit: Int) throws
        -> WebhookEndpoint?
    {
        try db.transaction {
            try db.execute("SELECT pg_advisory_xact_lock(\(0x5057 << 48 | userID.rawValue))")
            let count = try db.execute("SELECT count(*) AS n FROM webhook_endpoints WHERE user_id = \(userID)")[0].int(
                "n")
            guard count < Int64(limit) else { return nil }
            let names = events.map(\.rawValue).joined(separator: ",")
            let id: ID<WebhookEndpoint> = try db.execute(
                """
                INSERT INTO webhook_endpoints (user_id, url, events, secret)
                VALUES (\(userID), \(url), string_to_array(\(names), ','), \(secret)) RETURNING id
                """)[0].id("id")
            return try endpoint(id: id, userID: userID)
        }
    }

    package func endpoints(userID: ID<User>) throws -> [WebhookEndpoint] {
        try db.execute("\(fragment: WebhookStore.selectEndpoints) WHERE e.user_id = \(userID) ORDER BY e.id")
            .map(WebhookEndpoint.init)
    }

    package func endpoint(id: ID<WebhookEndpoint>, userID: ID<User>) throws -> WebhookEndpoint? {
        try db.execute("\(fragment: WebhookStore.selectEndpoints) WHERE e.id = \(id) AND e.user_id = \(userID)")
            .first.map(WebhookEndpoint.init)
    }

    /// Its deliveries and their attempts go with it.
    package func delete(id: ID<WebhookEndpoint>, userID: ID<User>) throws -> Bool {
        try !db.execute("DELETE FROM webhook_endpoints WHERE id = \(id) AND user_id = \(userID) RETURNING id").isEmpty
    }

    /// Newest first, each with its attempts (oldest first).
    package func deliveries(endpointID: ID<WebhookEndpoint>, userID: ID<User>, limit: Int) throws -> [WebhookDelivery] {
        var deliveries = try db.execute(
            """
            SELECT \(fragment: WebhookDelivery.columns) FROM webhook_deliveries d
            WHERE d.endpoint_id = \(endpointID) AND d.user_id = \(userID) ORDER BY d.id DESC LIMIT \(limit)
            """
        ).map(WebhookDelivery.init)
        guard !deliveries.isEmpty else { return [] }
        let ids = deliveries.map { $0.id.description }.joined(separator: ",")
        let attempts = try db.execute(
            """
            SELECT delivery_id, iso(attempted_at) AS at, outcome, status_code, error, duration_ms FROM webhook_attempts
            WHERE delivery_id = ANY (string_to_array(\(ids), ',')::bigint[]) ORDER BY id
            """)
        for index in deliveries.indices {
            deliveries[index].attemptLog = attempts.filter { $0.id("delivery_id") == deliveries[index].id }.map { r in
                WebhookAttempt(
                    at: r.timestamp("at"),
                    outcome: WebhookAttemptOutcome(rawValue: r.string("outcome")) ?? .unreachable,
                    statusCode: r.optionalInt("status_code"), error: r["error"], durationMs: r.int("duration_ms"))
            }
        }
        return deliveries
    }

    package enum Requeue {
        case requeued(WebhookDelivery)
        case notFound
        /// A worker holds its lease: an attempt is in progress.
        case inProgress(endpointID: ID<WebhookEndpoint>)
    }

    /// Due now, in a new round of retries (its attempts counted from 0 again, its 24 h from the next
    /// attempt); the workers are woken when this commits. Not while a worker holds it: it would be sent
    /// twice, and that attempt's outcome would then overwrite the new round.
    package func requeue(id: ID<WebhookDelivery>, userID: ID<User>) throws -> Requeue {
        try db.transaction {
            let row = try db.execute(
                """
                SELECT endpoint_id, leased_until > now() AS leased FROM webhook_deliveries
                WHERE id = \(id) AND user_id = \(userID) FOR UPDATE
                """
            ).first
            guard let row else { return .notFound }
            if row.bool("leased") { return .inProgress(endpointID: row.id("endpoint_id")) }
            let updated = try db.execute(
                """
                UPDATE webhook_deliveries d SET status = \(WebhookDeliveryStatus.pending), next_attempt_at = now(), window_started_at = NULL,
                       round_attempts = 0, leased_until = NULL
                WHERE d.id = \(id) AND d.user_id = \(userID)
                RETURNING \(fragment: WebhookDelivery.columns)
                """)[0]
            try NotifyChannel.webhooks.notify(db)
            return .requeued(WebhookDelivery(updated))
        }
    }

    // MARK: For the delivery worker

    /// One due delivery with what sending it needs.
    package struct Due: Sendable {
        package let id: ID<WebhookDelivery>
        package let endpointID: ID<WebhookEndpoint>
        package let messageID: String
        package let payload: String
        package let url: String
        package let secret: String
        /// All attempts so far, this one included: what `record` checks it still holds the delivery by.
        package let attempt: Int64
        /// This round's attempts, this one included: it picks the backoff delay.
        package let roundAttempt: Int64
        /// Seconds since the first attempt of this round (0 on it), by the database's clock.
        package let secondsSinceWindowStart: Double
    }

    /// Claims one due delivery (FOR UPDATE SKIP LOCKED) and leases it: its next attempt moves `leaseSeconds`
    /// on, so a worker that dies mid-request leaves it to another after the lease (at least once).
    package func claim(leaseSeconds: Double) throws -> Due? {
        try db.transaction {
            try db.execute(
                """
                UPDATE webhook_deliveries d SET attempts = d.attempts + 1, round_attempts = d.round_attempts + 1, last_attempt_at = now(),
                       window_started_at = coalesce(d.window_started_at, now()),
                       next_attempt_at = now() + make_interval(secs => \(leaseSeconds)),
                       leased_until = now() + make_interval(secs => \(leaseSeconds))
                FROM webhook_endpoints e
                WHERE d.id = (SELECT id FROM webhook_deliveries WHERE status = \(WebhookDeliveryStatus.pending) AND next_attempt_at <= now()
                              ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                  AND e.id = d.endpoint_id
                RETURNING d.id, d.endpoint_id, d.message_id, d.payload, e.url, e.secret, d.attempts, d.round_attempts,
                          extract(epoch FROM now() - d.window_started_at)::float8 AS since
                """
            ).first.map { r in
                Due(
                    id: r.id("id"), endpointID: r.id("endpoint_id"), messageID: r.string("message_id"),
                    payload: r.string("payload"),
                    url: r.string("url"), secret: r.string("secret"), attempt: r.int("attempts"),
                    roundAttempt: r.int("round_attempts"),
                    secondsSinceWindowStart: r["since"].flatMap(Double.init) ?? 0)
            }
        }
    }

    /// The advisory lock one endpoint's recorders take in turn ("WE").
    package static func recordLockKey(_ endpoint: ID<WebhookEndpoint>) -> Int64 { 0x5745 << 48 | endpoint.rawValue }

    /// Records one attempt and, if this attempt still holds the delivery (no "send again" or newer claim
    /// since), its new state: delivered, failed, or pending again after `retryAfter`. After a failed attempt
    /// (`holdEndpoint`) the endpoint's other pending deliveries wait as long too: a dead receiver then costs
    /// one timeout per backoff step, not one per delivery. False when the attempt no longer held it.
    @discardableResult
    package func record(
        _ due: Due, outcome: WebhookAttemptOutcome, statusCode: Int?, error: String?, durationMs: Int,
        next: WebhookDeliveryStatus, retryAfter: Double, holdEndpoint: Bool
    ) throws -> Bool {
        try db.transaction {
            // One recorder per endpoint at a time: each locks its own delivery and then holds back the
            // endpoint's others, so two at once would each hold a row the other waits for (40P01, an attempt
            // lost from the log and sent again). Taken first, before any row lock.
            try db.execute("SELECT pg_advisory_xact_lock(\(WebhookStore.recordLockKey(due.endpointID)))")
            // The attempt happened either way: it is logged.
            try db.execute(
                """
                INSERT INTO webhook_attempts (delivery_id, outcome, status_code, error, duration_ms)
                SELECT id, \(outcome), \(statusCode), \(error), \(durationMs) FROM webhook_deliveries WHERE id = \(due.id)
                """)
            let held = try !db.execute(
                """
                UPDATE webhook_deliveries SET status = \(next), last_status_code = \(statusCode), last_error = \(error),
                       delivered_at = CASE WHEN \(next == .delivered) THEN now() ELSE delivered_at END,
                       next_attempt_at = now() + make_interval(secs => \(retryAfter)), leased_until = NULL
                WHERE id = \(due.id) AND attempts = \(due.attempt) AND leased_until IS NOT NULL
                RETURNING id
                """
            ).isEmpty
            if held && holdEndpoint && next == .pending {
                try db.execute(
                    """
                    UPDATE webhook_deliveries SET next_attempt_at = greatest(next_attempt_at, now() + make_interval(secs => \(retryAfter)))
                    WHERE endpoint_id = \(due.endpointID) AND status = \(WebhookDeliveryStatus.pending) AND id <> \(due.id)
                    """)
            }
            return held
        }
    }

    /// Deletes delivered and failed deliveries (their attempts go with them) created more than
    /// `olderThanSeconds` ago; returns how many.
    @discardableResult
    package func prune(olderThanSeconds: Double) throws -> Int {
        Int(
            try db.execute(
                """
                WITH gone AS (DELETE FROM webhook_deliveries WHERE status <> \(WebhookDeliveryStatus.pending)
                                AND created_at < now() - make_interval(secs => \(olderThanSeconds)) RETURNING 1)
                SELECT count(*) AS n FROM gone
                """)[0].int("n"))
    }
}
