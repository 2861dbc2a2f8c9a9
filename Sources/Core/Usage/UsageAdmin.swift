// `promptreel usage`: the usage report on the command line (one user's, or the instance's), or the
// plan PostgreSQL runs for it (`--explain`, used by scripts/bench).

public import Postgres

public enum UsageAdmin {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `email` nil: every user. Dates as on the page (YYYY-MM-DD, UTC; default this month).
    public static func run(email: String?, from: String?, to: String?, explain: Bool, db: Connection) throws -> [String]
    {
        let usage = Usage(db: db)
        let today = try usage.today()
        let range: UsageRange
        do { range = try UsageRange.parse(from: from, to: to, today: today) } catch {
            throw Failure(description: error.description)
        }
        var scope = UsageScope.everyone
        if let email {
            guard
                let id: ID<User> = try db.execute("SELECT id FROM users WHERE lower(email) = lower(\(email))").first?
                    .id("id")
            else {
                throw Failure(description: "no user with the email \(email)")
            }
            scope = .user(id)
        }
        if explain { return try UsageStore(db: db).explain(range: range, scope: scope) }
        let report = try usage.report(range: range, scope: scope)
        return UsageCSV.document(report, groupings: [.day, .model, .project, .user, .failure]).split(separator: "\r\n")
            .map(String.init)
    }
}
