// GET /api/usage?from=&to=&group_by=day|model|project|user&scope=mine|all&project=ID: the usage report as JSON
// (`project`: that project's work by every member, for its owners; `group_by=user` then has a row per member).
// Money is exact decimal text in JSON numbers (USD.jsonText), like every cost in the API.

import Core
import Formats
import Telemetry
import Web

enum UsageAPI {
    static func show(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        let usage = Usage(db: c.db)
        var request = try usage.request(c.request.query, user: user)
        let grouping = try UsageGrouping.parse(c.request.query["group_by"], for: user, scope: request.scope)
        // An admin's grouping by user covers every user (a project's covers its members).
        if grouping == .user, !request.scope.coversOthers { request.scope = .everyone }
        let report = try usage.report(range: request.range, scope: request.scope)
        let groups: [JSON] = report.groups(grouping).map { group in
            .object([("key", .string(group.key)), ("label", .string(group.label))] + fields(group.figures))
        }
        return .json(
            .object([
                ("from", .string(report.range.from.text)), ("to", .string(report.range.to.text)),
                ("groupBy", .string(grouping.rawValue)), ("scope", .string(report.scope.parameter)),
                ("groups", .array(groups)), ("total", .object(fields(report.total))),
                (
                    "films",
                    .object([
                        ("count", .int(report.films.count)), ("seconds", .number(Usage.tenths(report.films.seconds))),
                        (
                            "averageMakingSeconds",
                            report.films.averageMakingSeconds.map { .number(Usage.tenths($0)) } ?? .null
                        ),
                    ])
                ),
            ]))
    }

    static func fields(_ f: UsageFigures) -> [(String, JSON)] {
        func seconds(_ value: Double?) -> JSON { value.map { .number(Usage.tenths($0)) } ?? .null }
        return [
            ("count", .int(f.count)), ("completed", .int(f.completed)), ("failed", .int(f.failed)),
            ("spend", .number(f.spend.jsonText)), ("possiblyBilled", .number(f.possiblyBilled.jsonText)),
            ("p50Seconds", seconds(f.p50Seconds)), ("p95Seconds", seconds(f.p95Seconds)),
        ]
    }
}
