// Usage analytics: spend and outcomes over a range of UTC days, grouped by day, model, project or user.
// One service behind the page, the CSV and the API. What counts, and on which day, is `usage_items`
// (Migrations/0014): the same rows and sums as the budgets, by the UTC day of the click.

import Formats
package import Postgres

/// A calendar day in UTC, as `YYYY-MM-DD`.
package struct UsageDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Days since 1970-01-01.
    package let number: Int

    package init(number: Int) { self.number = number }

    package init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1,
            day <= Self.daysIn(year: year, month: month)
        else { return nil }
        // Days from the civil date (H. Hinnant's algorithm, proleptic Gregorian).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        number = era * 146_097 + doe - 719_468
    }

    /// Exactly `YYYY-MM-DD` with ASCII digits and a real date; nothing else.
    package init?(parsing text: String) {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return value
        }
        guard let y = digits(0..<4), let m = digits(5..<7), let d = digits(8..<10) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    package var civil: (year: Int, month: Int, day: Int) {
        let date = CivilDate(daysSince1970: Int64(number))
        return (Int(date.year), Int(date.month), Int(date.day))
    }

    package var text: String {
        let (y, m, d) = civil
        func pad(_ v: Int, _ width: Int) -> String {
            String(repeating: "0", count: max(0, width - String(v).count)) + String(v)
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }

    package var description: String { text }

    package func adding(days: Int) -> UsageDay { UsageDay(number: number + days) }

    package var firstOfMonth: UsageDay {
        let (y, m, _) = civil
        return UsageDay(year: y, month: m, day: 1) ?? self
    }

    package var lastOfMonth: UsageDay {
        let (y, m, _) = civil
        return UsageDay(year: y, month: m, day: Self.daysIn(year: y, month: m)) ?? self
    }

    package static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    package static func < (a: UsageDay, b: UsageDay) -> Bool { a.number < b.number }
}

/// Whole UTC days, both ends included.
package struct UsageRange: Sendable, Equatable {
    package let from: UsageDay
    package let to: UsageDay

    /// A leap year fits; anything longer is refused (the page would be a wall of bars).
    package static let maxDays = 366

    package var dayCount: Int { to.number - from.number + 1 }
    package var days: [UsageDay] { (from.number...to.number).map(UsageDay.init(number:)) }

    package static func month(of day: UsageDay) -> UsageRange {
        UsageRange(from: day.firstOfMonth, to: day.lastOfMonth)
    }

    /// `from` and `to` as sent (empty counts as missing). Both missing: `today`'s month; one missing: the
    /// month of the other (its first or last day). 422 naming the field for a malformed date, an end
    /// before the start, or more than `maxDays` days.
    package static func parse(from: String?, to: String?, today: UsageDay) throws(InvalidInput) -> UsageRange {
        func day(_ text: String?, _ field: String) throws(InvalidInput) -> UsageDay? {
            guard let text, !text.isEmpty else { return nil }
            guard let day = UsageDay(parsing: text) else {
                throw InvalidInput(field: field, "must be a date written YYYY-MM-DD (UTC), such as 2026-11-01")
            }
            return day
        }
        let start = try day(from, "from"), end = try day(to, "to")
        let range = UsageRange(from: start ?? (end ?? today).firstOfMonth, to: end ?? (start ?? today).lastOfMonth)
        guard range.to >= range.from else { throw InvalidInput(field: "to", "must not be before from") }
        guard range.dayCount <= maxDays else { throw InvalidInput(field: "to", "the range is at most \(maxDays) days") }
        return range
    }
}

/// Whose work a report covers.
package enum UsageScope: Sendable, Equatable {
    case user(ID<User>)
    /// Every user of the instance: admins only.
    case everyone
    /// Every member's work on one project: its owners only (`project=ID`).
    case project(ID<Project>)

    /// The report has a row per user (every user's work, or every member's on a project).
    package var coversOthers: Bool {
        switch self {
        case .user: false
        case .everyone, .project: true
        }
    }

    /// `scope=mine` (the default) or `scope=all`; `all` does not exist for members (404, like admin pages).
    package static func parse(_ text: String?, for user: User) throws -> UsageScope {
        switch text ?? "" {
        case "", "mine": return .user(user.id)
        case "all":
            guard user.isAdmin else { throw NotFound("No such scope.") }
            return .everyone
        default: throw InvalidInput(field: "scope", "must be mine or all")
        }
    }

    package var parameter: String {
        switch self {
        case .user: "mine"
        case .everyone: "all"
        case .project: "project"
        }
    }
}

package enum UsageGrouping: String, Sendable, CaseIterable {
    case day, model, project, user
    /// Failed work by error code (page and CSV only).
    case failure

    /// `group_by` of the API: day (the default), model, project, or user (a project's owners with `project=ID`, or
    /// admins across every user: 404 to anyone else, like admin pages).
    package static func parse(_ text: String?, for user: User, scope: UsageScope) throws -> UsageGrouping {
        switch text ?? "" {
        case "", "day": return .day
        case "model": return .model
        case "project": return .project
        case "user":
            guard user.isAdmin || scope.coversOthers else { throw NotFound("No such grouping.") }
            return .user
        default: throw InvalidInput(field: "group_by", "must be day, model, project or user")
        }
    }
}

/// The sums of one group (or of the whole range).
package struct UsageFigures: Sendable, Equatable {
    package var count: Int64 = 0
    package var completed: Int64 = 0
    package var failed: Int64 = 0
    /// What counts against budgets: settled, reserved for work in flight, and possibly billed.
    package var spend: USD = .zero
    /// The part of `spend` from failures the provider may have billed.
    package var possiblyBilled: USD = .zero
    /// Roundtable chat calls whose provider reported no usage: their cost is unknown, not in `spend`.
    package var unknownCostCalls: Int64 = 0
    /// Click to finish of the completed ones (nil when none completed).
    package var p50Seconds: Double?
    package var p95Seconds: Double?
    /// The GPU time self-hosted providers reported (decimal text; nil when none did).
    package var gpuSeconds: String?

    /// Completed among the finished, nil when nothing finished.
    package var successRate: Double? {
        let finished = completed + failed
        return finished == 0 ? nil : Double(completed) / Double(finished)
    }
}

package struct UsageGroup: Sendable, Equatable {
    /// The day (`YYYY-MM-DD`), the model (roundtables as `roundtable:<chat model>`), the project or user
    /// id, or the error code. Work of a deleted video has the project key `deleted`.
    package let key: String
    /// For people: the project's name or the user's email; the key otherwise.
    package let label: String
    package let figures: UsageFigures
}

/// Films finished in a report's range: they cost nothing, but they take a worker's time.
package struct FilmUsage: Sendable, Equatable {
    package var count = 0
    package var seconds = 0.0
    /// Summed over the films, from each maker's start to the kept film.
    package var makingSeconds = 0.0

    package var averageMakingSeconds: Double? { count > 0 ? makingSeconds / Double(count) : nil }
}

package struct UsageReport: Sendable {
    package let range: UsageRange
    package let scope: UsageScope
    package let total: UsageFigures
    private(set) var groups: [UsageGrouping: [UsageGroup]]
    package let films: FilmUsage

    package init(
        range: UsageRange, scope: UsageScope, total: UsageFigures, groups: [UsageGrouping: [UsageGroup]],
        films: FilmUsage = FilmUsage()
    ) {
        self.range = range
        self.scope = scope
        self.total = total
        self.groups = groups
        self.films = films
    }

    /// Days in key order; models, projects and users by spend (largest first); failures by count.
    package func groups(_ grouping: UsageGrouping) -> [UsageGroup] {
        let list = groups[grouping] ?? []
        switch grouping {
        case .day: return list.sorted { $0.key < $1.key }
        case .failure: return list.sorted { ($0.figures.count, $1.key) > ($1.figures.count, $0.key) }
        default: return list.sorted { ($0.figures.spend, $1.label) > ($1.figures.spend, $0.label) }
        }
    }

    /// Every day of the range, the empty ones with zero figures (for the chart and its table).
    package var everyDay: [(day: UsageDay, figures: UsageFigures)] {
        var byKey: [String: UsageFigures] = [:]
        for group in groups[.day] ?? [] { byKey[group.key] = group.figures }
        return range.days.map { ($0, byKey[$0.text] ?? UsageFigures()) }
    }
}

package struct Usage {
    package let db: Connection

    package init(db: Connection) {
        self.db = db
    }

    /// Today in UTC by the database's clock (the one that stamps clicks and budget months).
    package func today() throws -> UsageDay {
        let text = try db.execute("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS d")[0].string("d")
        guard let day = UsageDay(parsing: text) else {
            throw DatabaseError.other(sqlState: "22008", message: "unreadable date \(text)")
        }
        return day
    }

    /// The range and scope of a request's `from`, `to` and `scope` (422 / 404 as `UsageRange` and `UsageScope` say),
    /// or `project`: one project's work by every member, for its owners (a project the user is not a member of is a
    /// 404, one they do not own a 403).
    package func request(_ query: [String: String], user: User) throws -> (range: UsageRange, scope: UsageScope) {
        var scope = try UsageScope.parse(query["scope"], for: user)
        if let text = query["project"] {
            guard text.utf8.count <= 18, let id = Int64(text), id > 0 else {
                throw InvalidInput(field: "project", "must be a project id")
            }
            try Members(db: db).require(AccessNeed(.project(ID(id)), .owner), userID: user.id)
            scope = .project(ID(id))
        }
        return (try UsageRange.parse(from: query["from"], to: query["to"], today: today()), scope)
    }

    /// Every grouping at once (one pass over the rows); the user grouping is only shown for `.everyone`.
    package func report(range: UsageRange, scope: UsageScope) throws -> UsageReport {
        try UsageStore(db: db).report(range: range, scope: scope)
    }
}

// MARK: CSV

package enum UsageCSV {
    package static let header = [
        "grouping", "key", "label", "count", "completed", "failed", "spend", "possibly_billed", "p50_seconds",
        "p95_seconds",
    ]

    /// One row per group, the total first; CRLF line ends (RFC 4180).
    package static func document(_ report: UsageReport, groupings: [UsageGrouping]) -> String {
        var lines = [header.map { field($0) }.joined(separator: ",")]
        lines.append(row("total", key: "", label: "", report.total))
        for grouping in groupings {
            for group in report.groups(grouping) {
                lines.append(row(grouping.rawValue, key: group.key, label: group.label, group.figures))
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    package static func row(_ grouping: String, key: String, label: String, _ f: UsageFigures) -> String {
        ([grouping, key, label].map { field($0) } + [
            String(f.count), String(f.completed), String(f.failed), f.spend.jsonText,
            f.possiblyBilled.jsonText, seconds(f.p50Seconds), seconds(f.p95Seconds),
        ])
        .joined(separator: ",")
    }

    /// A text cell. One that a spreadsheet would read as a formula (=, +, -, @, a tab or a carriage return
    /// first, after any whitespace — spreadsheets skip leading spaces and NBSPs too) gets a leading apostrophe;
    /// then quoted when it holds a comma, quote or line end.
    package static func field(_ text: String) -> String {
        var value = text
        let first = value.unicodeScalars.first { !$0.properties.isWhitespace || $0 == "\t" || $0 == "\r" }
        if let first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            value = "'" + value
        }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else {
            return value
        }
        var quoted = "\""
        for c in value { quoted += c == "\"" ? "\"\"" : String(c) }
        return quoted + "\""
    }

    package static func seconds(_ value: Double?) -> String { value.map { Usage.tenths($0) } ?? "" }
}

extension Usage {
    /// "12.3": seconds to a tenth, rounded half up (never negative here).
    package static func tenths(_ value: Double) -> String {
        guard value.isFinite else { return "0.0" }
        let t = Int64((max(value, 0) * 10).rounded())
        return "\(t / 10).\(t % 10)"
    }
}
