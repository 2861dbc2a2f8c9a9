// /usage and /usage.csv: the usage report for a range of UTC days. The chart is SVG drawn here on the
// server: no script, no inline style (the CSP forbids both), only presentation attributes and classes
// from Public/style.css; each day's bar has a <title> for hover, and a table below has the same numbers.

import Core
import Telemetry
import Web

enum UsagePages {
    static func page(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        let usage = Usage(db: c.db)
        let query = c.request.query
        let request: (range: UsageRange, scope: UsageScope)
        do {
            request = try usage.request(query, user: user)
        } catch let error as InvalidInput {
            let body: HTML =
                "<h1>Usage</h1>"
                + form(user, from: query["from"] ?? "", to: query["to"] ?? "", scope: query["scope"] ?? "mine")
                + Views.errorBox(error.description)
            return .html(Views.layout("Usage", c, body: body), status: 422)
        }
        let report = try usage.report(range: request.range, scope: request.scope)
        let body: HTML =
            "<h1>Usage</h1>"
            + form(
                user, from: request.range.from.text, to: request.range.to.text, scope: request.scope.parameter,
                project: query["project"])
            + summary(report) + UsageChart.svg(report) + dayTable(report) + breakdowns(report)
            + "<p><a href=\"\(Route.usage(.usageCSV).path + queryString(report))\" download>Download these figures as CSV</a></p>"
        return .html(Views.layout("Usage", c, body: body))
    }

    static func csv(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        let usage = Usage(db: c.db)
        let request = try usage.request(c.request.query, user: user)
        let report = try usage.report(range: request.range, scope: request.scope)
        let groupings: [UsageGrouping] =
            request.scope.coversOthers
            ? [.day, .model, .project, .user, .failure] : [.day, .model, .project, .failure]
        let name = "promptreel-usage-\(request.range.from.text)-\(request.range.to.text).csv"
        return Response(
            status: 200,
            headers: [
                ("Content-Type", "text/csv; charset=utf-8"),
                ("Content-Disposition", "attachment; filename=\"\(name)\""),
            ],
            body: Array(UsageCSV.document(report, groupings: groupings).utf8))
    }

    static func queryString(_ report: UsageReport) -> String {
        let whose =
            switch report.scope {
            case .user: ""
            case .everyone: "&scope=all"
            case let .project(id): "&project=\(id)"
            }
        return "?from=\(report.range.from.text)&to=\(report.range.to.text)" + whose
    }

    /// A GET form: the range, and for admins whose work it covers.
    static func form(_ user: User, from: String, to: String, scope: String, project: String? = nil) -> HTML {
        let projectField: HTML = project.map { "<input type=\"hidden\" name=\"project\" value=\"\($0)\">" } ?? .empty
        let scopeField: HTML =
            user.isAdmin
            ? """
            <div><label for="scope">Whose work</label><select id="scope" name="scope">\
            <option value="mine"\(scope == "all" ? HTML.empty : " selected")>Mine</option>\
            <option value="all"\(scope == "all" ? " selected" : HTML.empty)>All users</option></select></div>
            """ : .empty
        return """
            <form method="get" action="\(Route.usage(.usage).path)" class="usage-range">
            <div><label for="from">From (UTC)</label><input id="from" name="from" type="date" value="\(from)" required></div>
            <div><label for="to">To (UTC, included)</label><input id="to" name="to" type="date" value="\(to)" required></div>
            \(projectField)\(scopeField)<div><button type="submit">Show</button></div>
            </form>
            """
    }

    static func summary(_ report: UsageReport) -> HTML {
        let t = report.total
        let whose: HTML =
            switch report.scope {
            case .user: "Your work"
            case .everyone: "Every user's work"
            case .project: "Every member's work on this project"
            }
        let rate: HTML = t.successRate.map { " (success rate \(percent($0)))" } ?? .empty
        return """
            <p class="lead">\(whose) from \(report.range.from.text) to \(report.range.to.text) (UTC): <strong>\(t.spend.display)</strong> \
            on \(t.count) generations and roundtables; \(t.completed) completed, \(t.failed) failed\(rate).</p>
            <p>Possibly billed: <strong>\(t.possiblyBilled.display)</strong> <span class="muted">— failures whose outcome the provider did not \
            confirm. They are part of the spend above and stay counted against budgets.</span></p>\(unknownCalls(t.unknownCostCalls))
            \(t.gpuSeconds.map { "<p>GPU time reported by self-hosted providers: <strong>\($0) GPU-seconds</strong>.</p>" as HTML } ?? .empty)
            \(filmsLine(report.films))
            <p class="muted">Spend is counted as budgets count it: on the UTC day of the click, at the actual cost once finished, at the \
            estimate while queued or in flight, and $0 for failures the provider did not bill.</p>
            """
    }

    static func filmsLine(_ f: FilmUsage) -> HTML {
        guard f.count > 0 else { return .empty }
        return """
            <p>Films made: <strong>\(f.count)</strong>, \(Formatting.seconds(f.seconds)) of film\(f.averageMakingSeconds.map { ", \(Formatting.seconds($0)) each to make on average" } ?? "") <span class="muted">(stitching costs no provider money)</span>.</p>
            """
    }

    static func dayTable(_ report: UsageReport) -> HTML {
        let rows: [HTML] = report.everyDay.map { day, f in
            "<tr><td>\(day.text)</td><td>\(f.count)</td><td>\(f.spend.display)</td><td>\(f.possiblyBilled.display)</td></tr>"
        }
        return """
            <table class="usage-days"><caption>Spend per day (UTC)</caption>
            <thead><tr><th scope="col">Day</th><th scope="col">Items</th><th scope="col">Spend</th><th scope="col">Possibly billed</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
    }

    static func breakdowns(_ report: UsageReport) -> HTML {
        func empty(_ columns: Int) -> HTML {
            "<tr><td colspan=\"\(columns)\" class=\"muted\">Nothing in this range.</td></tr>"
        }
        let models: [HTML] = report.groups(.model).map { g in
            let f = g.figures
            return """
                <tr><td>\(g.label)</td><td>\(f.count)</td><td>\(f.completed)</td><td>\(f.failed)</td>\
                <td>\(f.successRate.map(percent) ?? "–")</td><td>\(seconds(f.p50Seconds))</td><td>\(seconds(f.p95Seconds))</td>\
                <td>\(f.spend.display)</td><td>\(f.possiblyBilled.display)</td></tr>
                """
        }
        let projects: [HTML] = report.groups(.project).map { g in
            "<tr><td>\(g.label)</td><td>\(g.figures.count)</td><td>\(g.figures.spend.display)</td><td>\(g.figures.possiblyBilled.display)</td></tr>"
        }
        let failures: [HTML] = report.groups(.failure).map { g in
            "<tr><td><code>\(g.key)</code></td><td>\(g.figures.count)</td><td>\(g.figures.possiblyBilled.display)</td></tr>"
        }
        var html: HTML = """
            <h2>By model</h2>
            <table class="usage-models"><caption class="visually-hidden">Spend and outcomes by model</caption>
            <thead><tr><th scope="col">Model</th><th scope="col">Items</th><th scope="col">Completed</th><th scope="col">Failed</th>\
            <th scope="col">Success</th><th scope="col">Median to finish</th><th scope="col">p95 to finish</th>\
            <th scope="col">Spend</th><th scope="col">Possibly billed</th></tr></thead>
            <tbody>\(models.isEmpty ? [empty(9)] : models)</tbody></table>
            <p class="muted">Time to finish runs from the click to the finished video (or proposal), queueing included; completed work only.
            Roundtables show as <code>roundtable:</code> and their chat model.</p>
            <h2>By project</h2>
            <table class="usage-projects"><caption class="visually-hidden">Spend by project</caption>
            <thead><tr><th scope="col">Project</th><th scope="col">Items</th><th scope="col">Spend</th><th scope="col">Possibly billed</th></tr></thead>
            <tbody>\(projects.isEmpty ? [empty(4)] : projects)</tbody></table>
            """
        if report.scope.coversOthers {
            let users: [HTML] = report.groups(.user).map { g in
                let f = g.figures
                return
                    "<tr><td>\(g.label)</td><td>\(f.count)</td><td>\(f.completed)</td><td>\(f.failed)</td><td>\(f.spend.display)</td><td>\(f.possiblyBilled.display)</td></tr>"
            }
            html =
                html + """
                    <h2>By user</h2>
                    <table class="usage-users"><caption class="visually-hidden">Spend by user</caption>
                    <thead><tr><th scope="col">User</th><th scope="col">Items</th><th scope="col">Completed</th><th scope="col">Failed</th>\
                    <th scope="col">Spend</th><th scope="col">Possibly billed</th></tr></thead>
                    <tbody>\(users.isEmpty ? [empty(6)] : users)</tbody></table>
                    """
        }
        return html + """
            <h2>Failures by code</h2>
            <table class="usage-failures"><caption class="visually-hidden">Failures by error code</caption>
            <thead><tr><th scope="col">Error code</th><th scope="col">Failures</th><th scope="col">Possibly billed</th></tr></thead>
            <tbody>\(failures.isEmpty ? [empty(3)] : failures)</tbody></table>
            """
    }

    /// Said, never passed off as $0: chat calls whose provider reported no usage.
    static func unknownCalls(_ n: Int64) -> HTML {
        n == 0
            ? .empty
            : """
            \n<p id="unknown-cost">Cost unknown: <strong>\(n) chat call\(n == 1 ? "" : "s")</strong> \
            <span class="muted">— the provider reported no usage for them, so they are not in the spend above.</span></p>
            """
    }

    static func percent(_ rate: Double) -> HTML { "\(Usage.tenths(rate * 100))%" }

    static func seconds(_ value: Double?) -> HTML {
        guard let value else { return "–" }
        return "\(Formatting.duration(seconds: Int64(value.rounded())))"
    }
}

/// Spend per day as SVG bars: the settled (or reserved) part, and the possibly billed part stacked on it.
enum UsageChart {
    static let width = 720.0, height = 220.0
    static let marginLeft = 64.0, marginRight = 8.0, marginTop = 10.0, marginBottom = 28.0

    /// The smallest 1, 2 or 5 × 10ⁿ dollars (n ≥ -2) at or above `max`: the top of the axis.
    static func axisTop(_ max: USD) -> USD {
        var step: Int64 = 10_000  // one cent
        while true {
            for factor: Int64 in [1, 2, 5] {
                let (candidate, overflow) = step.multipliedReportingOverflow(by: factor)
                if overflow { return USD(micros: .max) }
                if candidate >= max.micros { return USD(micros: candidate) }
            }
            let (next, overflow) = step.multipliedReportingOverflow(by: 10)
            if overflow { return USD(micros: .max) }
            step = next
        }
    }

    /// A coordinate with one decimal.
    static func n(_ value: Double) -> String { Usage.tenths(value) }

    static func svg(_ report: UsageReport) -> HTML {
        let days = report.everyDay
        let axis = axisTop(days.map(\.figures.spend).max() ?? .zero)
        let left = marginLeft, right = marginRight
        let plotWidth = width - left - right, plotHeight = height - marginTop - marginBottom
        let slot = plotWidth / Double(max(days.count, 1))
        let barWidth = max(slot * 0.8, 0.5)
        let baseline = height - marginBottom
        func y(_ amount: USD) -> Double { baseline - Double(amount.micros) / Double(axis.micros) * plotHeight }
        var parts: [HTML] = []
        for (i, entry) in days.enumerated() {
            let f = entry.figures
            let x = left + Double(i) * slot + (slot - barWidth) / 2
            let settled = f.spend.subtracting(f.possiblyBilled) ?? f.spend
            let possibly: HTML =
                f.possiblyBilled > .zero
                ? "<rect class=\"bar-possibly\" x=\"\(n(x))\" y=\"\(n(y(f.spend)))\" width=\"\(n(barWidth))\" height=\"\(n(y(settled) - y(f.spend)))\"/>"
                : .empty
            let note: HTML = f.possiblyBilled > .zero ? ", \(f.possiblyBilled.display) possibly billed" : .empty
            parts.append(
                """
                <g class="day"><title>\(entry.day.text): \(f.spend.display)\(note), \(f.count) items</title>\
                <rect class="hit" x="\(n(left + Double(i) * slot))" y="\(n(marginTop))" width="\(n(slot))" height="\(n(plotHeight))"/>\
                <rect class="bar" x="\(n(x))" y="\(n(y(settled)))" width="\(n(barWidth))" height="\(n(baseline - y(settled)))"/>\(possibly)</g>
                """)
        }
        // About six day labels, from the first day on (ISO dates: they need room).
        let every = max(1, (days.count + 5) / 6)
        var labels: [HTML] = []
        for (i, entry) in days.enumerated() where i % every == 0 {
            labels.append(
                "<text class=\"tick\" x=\"\(n(left + (Double(i) + 0.5) * slot))\" y=\"\(n(baseline + 18))\" text-anchor=\"middle\">\(entry.day.text)</text>"
            )
        }
        let half = USD(micros: axis.micros / 2)
        return """
            <figure class="usage-chart-figure">
            <svg class="usage-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-labelledby="usage-chart-title">\
            <title id="usage-chart-title">Spend per day (UTC) from \(report.range.from.text) to \(report.range.to.text); the table below has the same numbers.</title>\
            <line class="grid" x1="\(n(left))" y1="\(n(y(axis)))" x2="\(n(width - right))" y2="\(n(y(axis)))"/>\
            <line class="grid" x1="\(n(left))" y1="\(n(y(half)))" x2="\(n(width - right))" y2="\(n(y(half)))"/>\
            <text class="tick" x="\(n(left - 6))" y="\(n(y(axis) + 4))" text-anchor="end">\(axis.display)</text>\
            <text class="tick" x="\(n(left - 6))" y="\(n(y(half) + 4))" text-anchor="end">\(half.display)</text>\
            <text class="tick" x="\(n(left - 6))" y="\(n(baseline + 4))" text-anchor="end">$0</text>\
            \(parts)\
            <line class="axis" x1="\(n(left))" y1="\(n(baseline))" x2="\(n(width - right))" y2="\(n(baseline))"/>\
            \(labels)</svg>
            <figcaption class="muted">Spend per day; the orange part of a bar is possibly billed (hover a day for its figures).</figcaption>
            </figure>
            """
    }
}
