// `promptreel usage`: spend and outcomes over a range of UTC days, as CSV (the same as /usage.csv), or
// the query plan behind it.

import ArgumentParser
import Core

struct UsageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Usage over a range of UTC days (default this month) as CSV: one user's (--email) or every user's.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Only this user's work (default: every user's).") var email: String?
    @Option(help: "First day, YYYY-MM-DD (UTC).") var from: String?
    @Option(help: "Last day, included, YYYY-MM-DD (UTC).") var to: String?
    @Flag(help: "Print PostgreSQL's plan for the report (EXPLAIN ANALYZE) instead of the report.") var explain = false

    func run() throws {
        do {
            for line in try UsageAdmin.run(email: email, from: from, to: to, explain: explain, db: database.connect()) {
                print(line)
            }
        } catch let failure as UsageAdmin.Failure {
            throw ValidationError(failure.description)
        }
    }
}
