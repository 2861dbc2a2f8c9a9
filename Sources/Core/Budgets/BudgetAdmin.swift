// Operator changes to budgets from the command line (`promptreel budget`); admins also have
// `/admin/budgets` (AdminPages).

public import Postgres

public enum BudgetAdmin {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// "none" (no limit) or dollars in whole cents below ten billion, e.g. "50" or "12.40".
    package static func limit(_ text: String) throws -> USD? {
        if text.lowercased() == "none" { return nil }
        guard let amount = USD(parsing: text), amount.isWholeCents, amount < USD(micros: 10_000_000_000 * 1_000_000)
        else {
            throw Failure(
                description:
                    "--monthly is an amount in dollars with at most 2 decimals (e.g. 50 or 12.40), below 10000000000, or none"
            )
        }
        return amount
    }

    /// Sets a user's monthly budget (`email`) or the instance's cap (`email` nil).
    public static func set(email: String?, monthly: String, db: Connection) throws -> String {
        let amount = try limit(monthly)
        let budgets = Budgets(db: db)
        let shown = amount?.display ?? "none"
        guard let email else {
            try budgets.setInstance(limit: amount)
            return "instance monthly cap: \(shown)"
        }
        guard try budgets.setUser(email: email, limit: amount) else {
            throw Failure(description: "no user with the email \(email)")
        }
        return "\(email) monthly budget: \(shown)"
    }

    /// The instance's cap and every user budget, with this UTC month's spend.
    public static func show(db: Connection) throws -> [String] {
        let budgets = Budgets(db: db)
        let month = try db.execute("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM') AS m")[0].string("m")
        func line(_ name: String, _ s: BudgetStanding) -> String {
            "\(name): limit \(s.limit?.display ?? "none"), spent \(s.spent.display)"
                + (s.remaining.map { ", remaining \($0.display)" } ?? "")
        }
        return ["month \(month) (UTC)", line("instance", try budgets.instance())]
            + (try budgets.users().map { line($0.email, $0.standing) })
    }
}
