// Who is signed in, and with which role.

public enum Role: String, Sendable, CaseIterable {
    case member, admin
}

/// What an API token may do: `read` answers only GET (and HEAD); `full` everything its user may. A browser
/// session is always `full`.
public enum TokenScope: String, Sendable, CaseIterable {
    case read, full
}

/// A signed-in account, as a request and a service see it.
package struct User: Sendable {
    package let id: ID<User>
    package let email: String
    package var role: Role = .member
    /// The account preference "Refresh pages automatically" (read with the session; pages only).
    package var refreshPages = true
    /// What the credential this request came with may do (a read-only API token: only read).
    package var scope = TokenScope.full
    package var isAdmin: Bool { role == .admin }

    package init(id: ID<User>, email: String, role: Role = .member, refreshPages: Bool = true) {
        self.id = id
        self.email = email
        self.role = role
        self.refreshPages = refreshPages
    }
}
