// Monthly budgets: a limit per user (or none) and one instance-wide cap. Spend is read from the
// generation and roundtable rows themselves (Migrations/0013; since 0014 through the `usage_items` view
// that the usage pages, the dashboard and /metrics share): a click's rows are its reservation.
// Months are UTC calendar months, by the time of the click.

package import Postgres

/// A click would pass a budget; nothing was recorded. `remaining` is what is left this month (≥ 0).
package struct BudgetExceeded: Error, Sendable, Equatable {
    package enum Scope: Sendable, Equatable { case user, instance }
    package let scope: Scope
    package let remaining: USD

    package var message: String {
        switch scope {
        case .user: "This would pass your monthly budget: \(remaining.flooredToCents.display) is left this month (UTC)."
        case .instance:
            "This would pass this server's monthly spending cap: \(remaining.flooredToCents.display) is left this month (UTC)."
        }
    }
}

/// One budget this month: its limit (nil = none) and what counts against it.
package struct BudgetStanding: Sendable, Equatable {
    package let limit: USD?
    package let spent: USD
    /// Nil when there is no limit; never below zero.
    package var remaining: USD? { limit.map { Budgets.remaining(limit: $0, spent: spent) } }
}

package struct Budgets {
    package let db: Connection

    package init(db: Connection) {
        self.db = db
    }

    // MARK: Pure rules

    package static func remaining(limit: USD, spent: USD) -> USD {
        guard let left = limit.subtracting(spent), left > .zero else { return .zero }
        return left
    }

    /// Whether `amount` more fits under `limit` after `spent`.
    package static func fits(_ amount: USD, limit: USD, spent: USD) -> Bool {
        guard let after = spent.adding(amount) else { return false }
        return after <= limit
    }

    /// The smaller of two remainders (nil = unlimited).
    package static func tighter(_ a: USD?, _ b: USD?) -> USD? {
        switch (a, b) {
        case let (a?, b?): min(a, b)
        case let (a?, nil): a
        case let (nil, b): b
        }
    }

    // MARK: Check and reserve

    /// Must run inside the transaction that records the click. Locks the user's budget row, then the
    /// instance row (always in that order, so two clicks never deadlock), and refuses when `amount`
    /// does not fit this month. The locks are held until the caller commits its rows, so the next click
    /// (a new statement, a new snapshot) counts this one.
    package func reserve(userID: ID<User>, amount: USD) throws {
        try db.execute("INSERT INTO user_budgets (user_id) VALUES (\(userID)) ON CONFLICT (user_id) DO NOTHING")
        let userLimit = try db.execute(
            "SELECT monthly_limit::text AS l FROM user_budgets WHERE user_id = \(userID) FOR UPDATE"
        )
        .first?["l"].flatMap { USD(parsing: $0) }
        let instanceLimit = try db.execute("SELECT monthly_limit::text AS l FROM instance_budget FOR UPDATE")
            .first?["l"].flatMap { USD(parsing: $0) }
        if let userLimit {
            let spent = try spend(userID: userID)
            if !Self.fits(amount, limit: userLimit, spent: spent) {
                throw BudgetExceeded(
                    scope: .user,
                    remaining: Self.tighter(
                        Self.remaining(limit: userLimit, spent: spent),
                        try instanceLimit.map { Self.remaining(limit: $0, spent: try spend(userID: nil)) }) ?? .zero)
            }
        }
        if let instanceLimit {
            let spent = try spend(userID: nil)
            if !Self.fits(amount, limit: instanceLimit, spent: spent) {
                throw BudgetExceeded(scope: .instance, remaining: Self.remaining(limit: instanceLimit, spent: spent))
            }
        }
    }

    // MARK: Reading

    /// This UTC month's bounds (`budget_month`, Migrations/0013) as values a later statement takes as
    /// parameters: planned with them, a month's rows are estimated from the index (a bound read by a
    /// subquery is a guess), so the planner picks the right scan for a quiet month and a busy one alike.
    package static func currentMonth(_ db: Connection) throws -> (start: Timestamp, end: Timestamp) {
        let row = try db.execute(
            "SELECT iso(month_start) AS month_start, iso(month_end) AS month_end FROM budget_month(now())")[0]
        return (row.timestamp("month_start"), row.timestamp("month_end"))
    }

    /// This UTC month's spend: one user's, or the whole instance's (`userID` nil).
    package func spend(userID: ID<User>?) throws -> USD {
        let row = try db.execute(
            """
            SELECT budget_spend(\(userID), m.month_start, m.month_end)::text AS spent FROM budget_month(now()) m
            """)[0]
        // A sum PromptReel cannot read must refuse clicks, never count as nothing spent.
        guard let spent = USD(parsing: row.string("spent")) else {
            throw DatabaseError.other(
                sqlState: "22003", message: "this month's spend is out of range: \(row.string("spent"))")
        }
        return spent
    }

    package func user(_ userID: ID<User>) throws -> BudgetStanding {
        let limit = try db.execute("SELECT monthly_limit::text AS l FROM user_budgets WHERE user_id = \(userID)")
            .first?["l"].flatMap { USD(parsing: $0) }
        return BudgetStanding(limit: limit, spent: try spend(userID: userID))
    }

    package func instance() throws -> BudgetStanding {
        let limit = try db.execute("SELECT monthly_limit::text AS l FROM instance_budget").first?["l"].flatMap {
            USD(parsing: $0)
        }
        return BudgetStanding(limit: limit, spent: try spend(userID: nil))
    }

    /// What this user can still spend this month, the tighter of their budget and the instance cap (nil: no limit).
    package func remaining(userID: ID<User>) throws -> USD? {
        Self.tighter(try user(userID).remaining, try instance().remaining)
    }

    // MARK: Setting (the operator's command line)

    /// Nil limit = no budget. False when there is no such user.
    package func setUser(email: String, limit: USD?) throws -> Bool {
        try !db.execute(
            """
            INSERT INTO user_budgets (user_id, monthly_limit) SELECT id, \(limit)::numeric FROM users WHERE lower(email) = lower(\(email))
            ON CONFLICT (user_id) DO UPDATE SET monthly_limit = EXCLUDED.monthly_limit, updated_at = now()
            RETURNING user_id
            """
        ).isEmpty
    }

    /// By user id (the admin page); false when there is no such user.
    package func setUser(id: ID<User>, limit: USD?) throws -> Bool {
        try !db.execute(
            """
            INSERT INTO user_budgets (user_id, monthly_limit) SELECT id, \(limit)::numeric FROM users WHERE id = \(id)
            ON CONFLICT (user_id) DO UPDATE SET monthly_limit = EXCLUDED.monthly_limit, updated_at = now()
            RETURNING user_id
            """
        ).isEmpty
    }

    package func setInstance(limit: USD?) throws {
        try db.execute("UPDATE instance_budget SET monthly_limit = \(limit)::numeric, updated_at = now()")
    }

    /// Every user with a budget, and their spend this month.
    package func users() throws -> [(email: String, standing: BudgetStanding)] {
        try db.execute(
            """
            SELECT u.email, b.monthly_limit::text AS l, budget_spend(u.id, m.month_start, m.month_end)::text AS spent
            FROM user_budgets b JOIN users u ON u.id = b.user_id CROSS JOIN budget_month(now()) m
            WHERE b.monthly_limit IS NOT NULL ORDER BY u.email
            """
        ).map { r in
            (
                r.string("email"),
                BudgetStanding(
                    limit: r["l"].flatMap { USD(parsing: $0) }, spent: USD(parsing: r.string("spent")) ?? .zero)
            )
        }
    }
}

extension USD {
    /// Whole cents rounded down: what is left, never overstated.
    package var flooredToCents: USD { USD(micros: micros / 10_000 * 10_000) }

    /// Whole cents rounded down, always 2 decimals ("12.40").
    package var flooredCentsText: String {
        let cents = micros / 10_000  // toward zero; remainders are never negative here
        let whole = cents / 100, part = cents % 100
        return "\(whole)." + (part < 10 ? "0" : "") + "\(part)"
    }
}

/// What a roundtable may cost at most, reserved when it is queued: every call's answer at its length
/// limit (RoundtableEngine: 600 tokens, the Moderator 1200) and a generous count of its input (a token
/// per 2 bytes of what the roles are given, plus the answers of earlier rounds).
package enum RoundtableReserve {
    package static let answerTokens = 600, moderatorTokens = 1200, overheadTokens = 500

    package static func worstCaseTokens(roles: Int, contextBytes: Int) -> (input: Int, output: Int) {
        let base = min(contextBytes, 1_000_000) / 2 + overheadTokens, r = max(roles, 0)
        let round1 = r * base
        let round2 = r * (base + r * answerTokens)
        let moderator = base + 2 * r * answerTokens
        return (round1 + round2 + moderator, 2 * r * answerTokens + moderatorTokens)
    }
}
