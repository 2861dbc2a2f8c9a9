// Usage's pure parts: UTC days and ranges (parsing, calendar, defaults, limits), the scope and grouping
// a member may ask for, CSV cells (quoting, formula injection), the chart's axis, and tenths.

import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct UsageDays {
    @Test(arguments: [
        ("1970-01-01", 0), ("2024-02-29", 19_782), ("2000-03-01", 11_017), ("1969-12-31", -1),
        ("9999-12-31", 2_932_896),
    ])
    func daysCountFromTheEpoch(text: String, number: Int) {
        let day = UsageDay(parsing: text)
        #expect(day?.number == number)
        #expect(day?.text == text)  // and print back
    }

    @Test(arguments: [
        "2024-02-30", "2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-01-00", "2024-1-01", "2024-01-1",
        "24-01-01", "2024/01/01", " 2024-01-01", "2024-01-01 ", "2024-01-01T00:00", "", "0000-01-01", "２０２４-01-01",
        "+024-01-01", "2024-0a-01",
    ])
    func onlyRealDatesWrittenYYYYMMDDParse(_ text: String) {
        #expect(UsageDay(parsing: text) == nil)
    }

    @Test func leapYearsFollowTheGregorianRule() {
        #expect(UsageDay(parsing: "2000-02-29") != nil && UsageDay(parsing: "2024-02-29") != nil)
        #expect(UsageDay(parsing: "2100-02-29") == nil)
        #expect(UsageDay(parsing: "2024-02-10")!.lastOfMonth.text == "2024-02-29")
        #expect(UsageDay(parsing: "2023-02-10")!.lastOfMonth.text == "2023-02-28")
        #expect(UsageDay(parsing: "2024-12-31")!.adding(days: 1).text == "2025-01-01")
    }
}

@Suite struct UsageRanges {
    let today = UsageDay(parsing: "2026-11-26")!

    private func parse(_ from: String?, _ to: String?) throws(InvalidInput) -> UsageRange {
        try UsageRange.parse(from: from, to: to, today: today)
    }

    @Test func defaultsToThisMonth() throws {
        let range = try parse(nil, nil)
        #expect((range.from.text, range.to.text, range.dayCount) == ("2026-11-01", "2026-11-30", 30))
        #expect(try parse("", "") == range)  // an empty form field counts as missing
    }

    @Test func oneEndGivenCompletesItsMonth() throws {
        #expect(try parse("2024-02-10", nil).to.text == "2024-02-29")
        #expect(try parse(nil, "2024-02-10").from.text == "2024-02-01")
    }

    @Test func aLeapYearFitsAndADayMoreDoesNot() throws {
        #expect(try parse("2024-01-01", "2024-12-31").dayCount == 366)
        #expect(try parse("2024-05-05", "2024-05-05").days.map(\.text) == ["2024-05-05"])
        #expect(throws: InvalidInput.self) { try parse("2024-01-01", "2025-01-01") }
    }

    @Test func refusalsAre422NamingTheField() {
        for (from, to, field) in [
            ("2024-02-30", nil, "from"), (nil, "soon", "to"), ("2024-03-01", "2024-02-29", "to"),
            ("2020-01-01", "2026-01-01", "to"),
        ] {
            do {
                _ = try parse(from, to)
                Issue.record("accepted \(String(describing: from))..\(String(describing: to))")
            } catch {
                #expect(
                    error.field == field && error.code == "validation_failed"
                        && error.description.hasPrefix(field + ":"))
            }
        }
    }
}

@Suite struct UsageRequestRules {
    let member = User(id: 7, email: "m@example.test", role: .member)
    let admin = User(id: 1, email: "a@example.test", role: .admin)

    @Test func membersHaveNoAllScopeAndNoUserGrouping() throws {
        #expect(try UsageScope.parse(nil, for: member) == .user(7))
        #expect(try UsageScope.parse("all", for: admin) == .everyone)
        #expect(try UsageGrouping.parse("user", for: admin, scope: .user(1)) == .user)
        // A project's owner (the scope was checked when it was parsed) groups its spend by member.
        #expect(try UsageGrouping.parse("user", for: member, scope: .project(3)) == .user)
        do {
            _ = try UsageScope.parse("all", for: member)
            Issue.record("a member got every user's work")
        } catch { #expect(error is NotFound) }
        do {
            _ = try UsageGrouping.parse("user", for: member, scope: .user(7))
            Issue.record("a member grouped by user")
        } catch { #expect(error is NotFound) }
        do {
            _ = try UsageGrouping.parse("week", for: admin, scope: .user(1))
            Issue.record("unknown grouping")
        } catch { #expect(error is InvalidInput) }
        do {
            _ = try UsageScope.parse("ALL", for: admin)
            Issue.record("unknown scope")
        } catch { #expect(error is InvalidInput) }
    }

    @Test func successRateCountsFinishedWorkOnly() {
        #expect(UsageFigures(count: 5, completed: 3, failed: 1).successRate == 0.75)
        #expect(UsageFigures(count: 2).successRate == nil)  // all still in flight
    }
}

@Suite struct UsageCSVCells {
    @Test(arguments: [
        ("sora-2", "sora-2"), ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("two\nlines", "\"two\nlines\""),
        ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""), ("", ""), ("a=b", "a=b"),
        // Spreadsheets skip leading whitespace before a formula: spaces, NBSP, an ideographic space (issue 22).
        (" =1+2", "' =1+2"), ("\u{A0}=cmd|' /C calc'!A0", "'\u{A0}=cmd|' /C calc'!A0"),
        ("\u{3000}@SUM(A1)", "'\u{3000}@SUM(A1)"),
        ("  -2", "'  -2"), ("  plain", "  plain"),
    ])
    func cellsAreQuotedAndFormulasDefused(text: String, cell: String) {
        #expect(UsageCSV.field(text) == cell)
    }

    @Test func aRowHasTenColumnsAndMoneyIsExact() {
        let figures = UsageFigures(
            count: 3, completed: 2, failed: 1, spend: USD(parsing: "1.234567")!, possiblyBilled: USD(parsing: "0.4")!,
            p50Seconds: 61.25, p95Seconds: nil)
        #expect(
            UsageCSV.row("model", key: "sora-2", label: "sora-2", figures)
                == "model,sora-2,sora-2,3,2,1,1.234567,0.40,61.3,")
    }
}

@Suite struct UsageChartAxis {
    @Test(arguments: [
        ("0", "0.01"), ("0.004", "0.01"), ("0.01", "0.01"), ("0.011", "0.02"), ("0.03", "0.05"), ("0.8", "1"),
        ("1.50", "2"), ("3.2", "5"), ("5", "5"), ("5.01", "10"), ("123", "200"), ("999999", "1000000"),
    ])
    func theAxisTopIsOneTwoOrFiveTimesAPowerOfTen(max: String, top: String) {
        #expect(UsageChart.axisTop(USD(parsing: max)!) == USD(parsing: top)!)
    }

    @Test func theAxisNeverOverflows() {
        #expect(UsageChart.axisTop(USD(micros: .max)) == USD(micros: .max))
    }

    @Test(arguments: [
        (0.0, "0.0"), (0.04, "0.0"), (0.05, "0.1"), (12.345, "12.3"), (59.96, "60.0"), (-3, "0.0"), (Double.nan, "0.0"),
    ])
    func tenths(value: Double, text: String) {
        #expect(Usage.tenths(value) == text)
    }
}
