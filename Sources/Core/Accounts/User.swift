// Who is signed in, and with which role.

public enum Role: String, Sendable, CaseIterable {
    case member, admin
}

/// A signed-in account, as a request and a service see it.
package struct User: Sendable {
    package let id: ID<User>
    package let email: String
    package var role: Role = .member
    /// The account preference "Refresh pages automatically" (read with the session; pages only).
    package var refreshPages = true
    package var isAdmin: Bool { role == .admin }

    package init(id: ID<User>, email: String, role: Role = .member, refreshPages: Bool = true) {
        self.id = id
        self.email = email
        self.role = role
        self.refreshPages = refreshPages
    }
}
