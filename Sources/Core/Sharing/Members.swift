// Shared projects: who belongs to a project with which role, and the invitations that add them
// (Migrations/0037). What each role may do is `ProjectRole`; the stores of each capability ask `Members.role`.

package import Postgres

/// A member's role in one project. Viewers read, play and download; editors also change and generate (spending
/// their own budget); owners also manage members, rename and delete.
package enum ProjectRole: String, Sendable, CaseIterable, Comparable {
    case viewer, editor, owner

    package var canEdit: Bool { self >= .editor }
    package var canManage: Bool { self == .owner }

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .editor: 1
        case .owner: 2
        }
    }

    package static func < (a: ProjectRole, b: ProjectRole) -> Bool { a.rank < b.rank }
}

package struct Member: Sendable {
    package let userID: ID<User>
    /// "deleted user" once the account is deleted.
    package let email: String
    package let role: ProjectRole
    package let addedAt: Timestamp
}

package struct Invitation: Sendable {
    package let id: ID<Invitation>
    package let projectID: ID<Project>
    package let projectName: String
    package let email: String
    package let role: ProjectRole
    package let invitedBy: String?
    package let createdAt: Timestamp
    package let expiresAt: Timestamp
}

package struct Members {
    package let db: Connection
    /// A mail relay is configured: invitations are mailed too.
    package let mail: Bool

    package init(db: Connection, mail: Bool = false) {
        self.db = db
        self.mail = mail
    }

    /// Invitations last this long.
    package static let invitationDays = 14

    package enum Change: Equatable {
        case done
        case notFound
        /// The change would leave the project without an owner.
        case lastOwner
    }

    /// The user's role in the project; nil when they are not a member (the project is invisible to them: 404).
    package func role(projectID: ID<Project>, userID: ID<User>) throws -> ProjectRole? {
        try db.execute(
            "SELECT role FROM project_members WHERE project_id = \(projectID) AND user_id = \(userID)"
        ).first.flatMap { ProjectRole(rawValue: $0.string("role")) }
    }

    package func members(projectID: ID<Project>) throws -> [Member] {
        try db.execute(
            """
            SELECT m.user_id, CASE WHEN u.deleted_at IS NULL THEN u.email ELSE 'deleted user' END AS email, m.role,
                   iso(m.added_at) AS added_at
            FROM project_members m JOIN users u ON u.id = m.user_id
            WHERE m.project_id = \(projectID)
            ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'editor' THEN 1 ELSE 2 END, lower(u.email)
            """
        ).map {
            Member(
                userID: $0.id("user_id"), email: $0.string("email"),
                role: ProjectRole(rawValue: $0.string("role")) ?? .viewer, addedAt: $0.timestamp("added_at"))
        }
    }

    private static let invitationColumns: Query = """
        i.id, i.project_id, p.name AS project_name, i.email, i.role, inviter.email AS invited_by,
        iso(i.created_at) AS created_at, iso(i.expires_at) AS expires_at
        """

    private static func invitation(_ row: Row) -> Invitation {
        Invitation(
            id: row.id("id"), projectID: row.id("project_id"), projectName: row.string("project_name"),
            email: row.string("email"), role: ProjectRole(rawValue: row.string("role")) ?? .viewer,
            invitedBy: row["invited_by"], createdAt: row.timestamp("created_at"),
            expiresAt: row.timestamp("expires_at"))
    }

    /// The project's pending invitations (not answered, not expired), newest first.
    package func pendingInvitations(projectID: ID<Project>) throws -> [Invitation] {
        try db.execute(
            """
            SELECT \(fragment: Self.invitationColumns)
            FROM project_invitations i JOIN projects p ON p.id = i.project_id
            LEFT JOIN users inviter ON inviter.id = i.invited_by
            WHERE i.project_id = \(projectID) AND i.answered_at IS NULL AND i.expires_at > now()
            ORDER BY i.id DESC LIMIT 200
            """
        ).map(Self.invitation)
    }

    /// The invitations waiting for this address (the signed-in user's), newest first.
    package func invitations(email: String) throws -> [Invitation] {
        try db.execute(
            """
            SELECT \(fragment: Self.invitationColumns)
            FROM project_invitations i JOIN projects p ON p.id = i.project_id
            LEFT JOIN users inviter ON inviter.id = i.invited_by
            WHERE lower(i.email) = lower(\(email)) AND i.answered_at IS NULL AND i.expires_at > now()
            ORDER BY i.id DESC LIMIT 200
            """
        ).map(Self.invitation)
    }

    /// Invites an address (an owner's act: the caller checks the role). The same answer whether or not an
    /// account has the address, and whether or not it is already a member: inviting again renews the pending
    /// invitation with the new role.
    /// An invitation made or renewed, and whether a mail about it was queued (see `MailOutbox.queueInvitation`).
    package struct Invited: Sendable {
        package let id: ID<Invitation>
        package let mailed: Bool
    }

    package func invite(projectID: ID<Project>, email: String, role: ProjectRole, by: ID<User>) throws -> Invited {
        try db.transaction {
            let id: ID<Invitation> = try db.execute(
                """
                INSERT INTO project_invitations (project_id, email, role, invited_by, expires_at)
                VALUES (\(projectID), \(email), \(role.rawValue), \(by), now() + make_interval(days => \(Self.invitationDays)))
                ON CONFLICT (project_id, lower(email)) WHERE answered_at IS NULL
                DO UPDATE SET role = EXCLUDED.role, invited_by = EXCLUDED.invited_by, created_at = now(),
                              expires_at = EXCLUDED.expires_at
                RETURNING id
                """)[0].id("id")
            let mailed = try mail && MailOutbox(db: db).queueInvitation(id, by: by)
            return Invited(id: id, mailed: mailed)
        }
    }

    /// Accepts an invitation addressed to `user`'s email: they become a member with its role (a member already
    /// keeps the higher of the two roles). Nil when there is no such live invitation for them (404).
    package func accept(id: ID<Invitation>, user: User) throws -> ID<Project>? {
        try db.transaction {
            guard
                let row = try db.execute(
                    """
                    UPDATE project_invitations SET answered_at = now(), answer = 'accepted'
                    WHERE id = \(id) AND lower(email) = lower(\(user.email)) AND answered_at IS NULL AND expires_at > now()
                    RETURNING project_id, role, invited_by
                    """
                ).first
            else { return nil }
            let projectID: ID<Project> = row.id("project_id")
            try db.execute(
                """
                INSERT INTO project_members (project_id, user_id, role, added_by)
                VALUES (\(projectID), \(user.id), \(row.string("role")), \(row["invited_by"].flatMap(Int64.init)))
                ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role
                WHERE (CASE EXCLUDED.role WHEN 'owner' THEN 2 WHEN 'editor' THEN 1 ELSE 0 END)
                    > (CASE project_members.role WHEN 'owner' THEN 2 WHEN 'editor' THEN 1 ELSE 0 END)
                """)
            return projectID
        }
    }

    /// Declines an invitation addressed to `user`'s email; false when there is no such live invitation.
    package func decline(id: ID<Invitation>, user: User) throws -> Bool {
        try !db.execute(
            """
            UPDATE project_invitations SET answered_at = now(), answer = 'declined'
            WHERE id = \(id) AND lower(email) = lower(\(user.email)) AND answered_at IS NULL AND expires_at > now()
            RETURNING id
            """
        ).isEmpty
    }

    /// Revokes one of the project's pending invitations (an owner's act); false when there is none.
    package func revoke(id: ID<Invitation>, projectID: ID<Project>) throws -> Bool {
        try !db.execute(
            """
            UPDATE project_invitations SET answered_at = now(), answer = 'revoked'
            WHERE id = \(id) AND project_id = \(projectID) AND answered_at IS NULL
            RETURNING id
            """
        ).isEmpty
    }

    /// Changes a member's role (an owner's act). Changes to one project's members are serialised on its row, and
    /// the change is undone when no owner would be left, so two owners demoting or removing each other at the
    /// same instant cannot both succeed.
    package func setRole(projectID: ID<Project>, userID: ID<User>, _ role: ProjectRole) throws -> Change {
        try keepingAnOwner(projectID) {
            try db.execute(
                """
                UPDATE project_members SET role = \(role.rawValue)
                WHERE project_id = \(projectID) AND user_id = \(userID) RETURNING user_id
                """
            ).isEmpty ? .notFound : .done
        }
    }

    /// Removes a member (an owner's act, or a member leaving); the same guard as `setRole`.
    package func remove(projectID: ID<Project>, userID: ID<User>) throws -> Change {
        try keepingAnOwner(projectID) {
            try db.execute(
                "DELETE FROM project_members WHERE project_id = \(projectID) AND user_id = \(userID) RETURNING user_id"
            ).isEmpty ? .notFound : .done
        }
    }

    private struct NoOwnerLeft: Error {}

    private func keepingAnOwner(_ projectID: ID<Project>, _ change: () throws -> Change) throws -> Change {
        do {
            return try db.transaction {
                guard try !db.execute("SELECT id FROM projects WHERE id = \(projectID) FOR UPDATE").isEmpty else {
                    return .notFound
                }
                let result = try change()
                guard result == .done else { return result }
                let owners = try db.execute(
                    "SELECT count(*) AS n FROM project_members WHERE project_id = \(projectID) AND role = 'owner'"
                )[0].int("n")
                if owners == 0 { throw NoOwnerLeft() }  // undoes the change
                return .done
            }
        } catch is NoOwnerLeft {
            return .lastOwner
        }
    }
}
