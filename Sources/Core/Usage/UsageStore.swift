// The usage report's SQL: one pass over `usage_items` (Migrations/0014) in the range, grouped every way at
// once with GROUPING SETS. A user's own scope is part of the query (`i.user_id = …`).

package import Postgres

package struct UsageStore {
    package let db: Connection

    /// The one statement behind every report (also what `promptreel usage --explain` explains).
    package static func query(range: UsageRange, scope: UsageScope) -> Query {
        let owner: Query =
            switch scope {
            case let .user(id): "AND u.user_id = \(id)"
            case .everyone: ""
            case let .project(id): "AND u.project_id = \(id)"
            }
        return """
            SELECT CASE WHEN GROUPING(i.day) = 0 THEN 'day' WHEN GROUPING(i.model) = 0 THEN 'model'
                        WHEN GROUPING(i.project_id) = 0 THEN 'project' WHEN GROUPING(i.user_id) = 0 THEN 'user'
                        WHEN GROUPING(i.failure_code) = 0 THEN 'failure' ELSE 'total' END AS grouping,
                   to_char(i.day, 'YYYY-MM-DD') AS day, i.model, i.project_id, i.project_name, i.user_id, i.email, i.failure_code,
                   count(*) AS count,
                   count(*) FILTER (WHERE i.status = \(GenerationStatus.completed)) AS completed,
                   count(*) FILTER (WHERE i.status = \(GenerationStatus.failed)) AS failed,
                   coalesce(sum(i.spend), 0)::text AS spend,
                   coalesce(sum(i.possibly_billed), 0)::text AS possibly_billed,
                   coalesce(sum(i.unknown_cost_calls), 0)::bigint AS unknown_cost_calls,
                   sum(i.gpu_seconds)::text AS gpu_seconds,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY i.finish_seconds) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY i.finish_seconds) AS p95
            FROM (SELECT u.*, (u.created_at AT TIME ZONE 'UTC')::date AS day, p.name AS project_name,
                         CASE WHEN us.deleted_at IS NULL THEN us.email ELSE 'deleted user #' || us.id END AS email
                  FROM usage_items u
                  LEFT JOIN projects p ON p.id = u.project_id
                  JOIN users us ON us.id = u.user_id
                  WHERE u.created_at >= (\(range.from.text)::date::timestamp AT TIME ZONE 'UTC')
                    AND u.created_at < ((\(range.to.text)::date + 1)::timestamp AT TIME ZONE 'UTC')
                    \(fragment: owner)) i
            GROUP BY GROUPING SETS ((), (i.day), (i.model), (i.project_id, i.project_name), (i.user_id, i.email), (i.failure_code))
            """
    }

    package func explain(range: UsageRange, scope: UsageScope) throws -> [String] {
        try db.execute("EXPLAIN (ANALYZE, BUFFERS) \(fragment: Self.query(range: range, scope: scope))").map {
            $0.string("QUERY PLAN")
        }
    }

    package func report(range: UsageRange, scope: UsageScope) throws -> UsageReport {
        let rows = try db.execute(Self.query(range: range, scope: scope))
        var total = UsageFigures()
        var groups: [UsageGrouping: [UsageGroup]] = [:]
        for row in rows {
            let figures = try Self.figures(row)
            let group: (UsageGrouping, String, String)?
            switch row.string("grouping") {
            case "total":
                total = figures
                group = nil
            case "day": group = (.day, row.string("day"), row.string("day"))
            case "model": group = (.model, row.string("model"), row.string("model"))
            case "project":
                group =
                    row["project_id"].map { (.project, $0, row.string("project_name")) } ?? (
                        .project, "deleted", "Deleted videos"
                    )
            case "user": group = (.user, row.string("user_id"), row.string("email"))
            // the NULL group is the work that did not fail
            default: group = row["failure_code"].map { (.failure, $0, $0) }
            }
            if let (grouping, key, label) = group {
                groups[grouping, default: []].append(UsageGroup(key: key, label: label, figures: figures))
            }
        }
        return UsageReport(
            range: range, scope: scope, total: total, groups: groups, films: try films(range: range, scope: scope))
    }

    /// The films finished in the range (by the UTC day they completed): how many, their seconds, and the time
    /// their makers took (start to kept film).
    func films(range: UsageRange, scope: UsageScope) throws -> FilmUsage {
        let owner: Query =
            switch scope {
            case let .user(id): "AND f.user_id = \(id)"
            case .everyone: ""
            case let .project(id): "AND f.project_id = \(id)"
            }
        let row = try db.execute(
            """
            SELECT count(*) AS n, coalesce(sum(f.duration_seconds), 0)::float8::text AS seconds,
                   coalesce(sum(extract(epoch FROM f.completed_at - f.started_at)), 0)::float8::text AS making
            FROM films f
            WHERE f.status = 'completed'
              AND f.completed_at >= (\(range.from.text)::date::timestamp AT TIME ZONE 'UTC')
              AND f.completed_at < ((\(range.to.text)::date + 1)::timestamp AT TIME ZONE 'UTC') \(fragment: owner)
            """)[0]
        return FilmUsage(
            count: Int(row.int("n")), seconds: Double(row.string("seconds")) ?? 0,
            makingSeconds: Double(row.string("making")) ?? 0)
    }

    package static func figures(_ row: Row) throws -> UsageFigures {
        // A sum PromptReel cannot read is an error, never shown as nothing spent.
        guard let spend = USD(parsing: row.string("spend")),
            let possiblyBilled = USD(parsing: row.string("possibly_billed"))
        else {
            throw DatabaseError.other(
                sqlState: "22003",
                message: "usage sums out of range: \(row.string("spend")), \(row.string("possibly_billed"))")
        }
        return UsageFigures(
            count: row.int("count"), completed: row.int("completed"), failed: row.int("failed"), spend: spend,
            possiblyBilled: possiblyBilled, unknownCostCalls: row.int("unknown_cost_calls"),
            p50Seconds: row["p50"].flatMap(Double.init), p95Seconds: row["p95"].flatMap(Double.init),
            gpuSeconds: row["gpu_seconds"])
    }
}
