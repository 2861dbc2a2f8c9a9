// The pages' side of a budget: the account page's line.

import Core
import Web

extension Budgets {
    /// For the account page: this month's spend, and what is left when a limit applies.
    func accountLine(userID: ID<User>) throws -> HTML {
        let spent = try spend(userID: userID)
        guard let left = try remaining(userID: userID) else {
            return "<p>Spent this month (UTC): <strong>\(spent.display)</strong>. No monthly budget applies.</p>"
        }
        return
            "<p>Spent this month (UTC): <strong>\(spent.display)</strong>. Budget left: <strong>\(left.display)</strong>.</p>"
    }
}
