// The admin area's routes: each path parsed and printed in one place, and the handlers that answer it.

package import Core
import Web

package enum AdminRoute: Equatable, Sendable {
    /// Admins only (404 to members): GET the user list; POST a user's disable, enable or role change.
    case adminUsers
    case adminUser(ID<User>)
    /// GET: the instance cap and every user's monthly budget; POST: set one.
    case adminBudgets

    init?(_ p: PathParts) {
        switch p.segments {
        case ["admin", "users"]: self = .adminUsers
        case ["admin", "budgets"]: self = .adminBudgets
        default:
            guard let (a, b, value, rest) = p.withID else { return nil }
            switch (a, b, rest) {
            case ("admin", "users", []): self = .adminUser(ID(value))
            default: return nil
            }
        }
    }

    var path: String {
        switch self {
        case .adminUsers: "/admin/users"
        case let .adminUser(id): "/admin/users/\(id)"
        case .adminBudgets: "/admin/budgets"
        }
    }

    /// Which methods each route answers, and with what.
    var handlers: [HTTPMethod: App.Handler] {
        switch self {
        case .adminUsers: [.get: AdminPages.users]
        case let .adminUser(id): [.post: { try AdminPages.change(&$0, id: id) }]
        case .adminBudgets: [.get: AdminPages.budgets, .post: AdminPages.setBudget]
        }
    }
}
