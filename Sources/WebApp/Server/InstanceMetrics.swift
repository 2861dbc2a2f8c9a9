// The instance-wide numbers, read from PostgreSQL when scraped (GET /metrics through nginx): every
// process sees the same rows, so any one of them can answer. Spend uses the budgets' own definition
// (`budget_spend` over `budget_month(now())`, Migrations/0013 and 0014), so it matches what the budgets count.

import Core
import Postgres
import Prometheus
import Telemetry
import Web

enum InstanceMetrics {
    /// Loopback only: nginx allows only 127.0.0.1 and ::1 on `location = /metrics`; the app refuses
    /// any other REMOTE_ADDR as well, in case a config forgets.
    static func isLoopback(_ address: String) -> Bool {
        address == "::1" || address.hasPrefix("127.") || address.hasPrefix("::ffff:127.")
    }

    /// 404 (like any unknown path) unless the request comes from loopback.
    static func serve(_ request: Request, db: () throws(HTTPError) -> Connection) throws -> Response {
        guard isLoopback(request.remoteAddress) else { throw HTTPError.notFound() }
        guard request.method == "GET" else {
            var error = HTTPError.methodNotAllowed
            error.headers = [("Allow", "GET")]
            throw error
        }
        return Response(
            status: 200, headers: [("Content-Type", MetricsListener.contentType), ("Cache-Control", "no-store")],
            body: try exposition(db()))
    }

    /// A scrape runs on a FastCGI thread: bounded, so a slow count over a big table cannot hold it long.
    static func exposition(_ db: Connection) throws -> [UInt8] {
        try db.transaction {
            try db.execute("SET LOCAL statement_timeout = '5s'")
            return try readings(db)
        }
    }

    static func readings(_ db: Connection) throws -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        let byStatus = gauge("promptreel_generations", "Generations recorded, by status and model.")
        for row in try db.execute(
            "SELECT status, model, count(*) AS n FROM generations GROUP BY status, model ORDER BY status, model")
        {
            registry.makeGauge(
                descriptor: byStatus, labels: [("status", row.string("status")), ("model", row.string("model"))]
            )
            .set(to: Double(row.int("n")))
        }
        let totals = try db.execute(
            """
            SELECT (SELECT count(*) FROM generations WHERE phase IN ('submitting', 'submitted', 'downloading')) AS in_flight,
                   (SELECT count(*) FROM generations WHERE phase = 'waiting') AS waiting,
                   (SELECT count(*) FROM roundtables WHERE status IN ('queued', 'running')) AS roundtables,
                   (SELECT count(*) FROM mail_outbox WHERE status = 'pending') AS mail_pending,
                   (SELECT budget_spend(NULL, m.month_start, m.month_end) FROM budget_month(now()) m)::text AS spend,
                   (SELECT monthly_limit FROM instance_budget)::text AS cap
            """)[0]
        registry.makeGauge(
            descriptor: gauge(
                "promptreel_generations_in_flight", "Generations at the provider: being sent, polled or downloaded.")
        )
        .set(to: Double(totals.int("in_flight")))
        registry.makeGauge(
            descriptor: gauge("promptreel_generation_queue_depth", "Generations waiting to be sent to the provider.")
        )
        .set(to: Double(totals.int("waiting")))
        registry.makeGauge(descriptor: gauge("promptreel_roundtables_active", "Roundtables queued or running."))
            .set(to: Double(totals.int("roundtables")))
        registry.makeGauge(
            descriptor: gauge(
                "promptreel_mail_pending",
                "Mails waiting for the SMTP relay (queued, or to be tried again); growing: no worker sends mail.")
        )
        .set(to: Double(totals.int("mail_pending")))
        // A reading for dashboards only: money itself stays in exact USD everywhere else.
        registry.makeGauge(
            descriptor: gauge(
                "promptreel_spend_this_month_usd",
                "Spend counted against the budgets this UTC month (reserved, settled and possibly billed).")
        )
        .set(to: USD(parsing: totals.string("spend")).map { Double($0.micros) / 1_000_000 } ?? .nan)
        if let cap = totals["cap"].flatMap({ USD(parsing: $0) }) {
            registry.makeGauge(
                descriptor: gauge("promptreel_spend_monthly_cap_usd", "The instance-wide monthly spending cap.")
            )
            .set(to: Double(cap.micros) / 1_000_000)
        }
        let films = gauge("promptreel_films", "Films recorded, by status.")
        for row in try db.execute("SELECT status, count(*) AS n FROM films GROUP BY status ORDER BY status") {
            registry.makeGauge(descriptor: films, labels: [("status", row.string("status"))])
                .set(to: Double(row.int("n")))
        }
        let made = try db.execute(
            """
            SELECT coalesce(sum(duration_seconds), 0)::float8::text AS seconds,
                   coalesce(sum(extract(epoch FROM completed_at - started_at)), 0)::float8::text AS making
            FROM films WHERE status = 'completed'
            """)[0]
        registry.makeGauge(descriptor: gauge("promptreel_film_seconds", "Seconds of completed films."))
            .set(to: Double(made.string("seconds")) ?? 0)
        registry.makeGauge(
            descriptor: gauge(
                "promptreel_film_making_seconds", "Time spent making the completed films (start to finish).")
        )
        .set(to: Double(made.string("making")) ?? 0)
        return registry.emitToBuffer()
    }

    static func gauge(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
