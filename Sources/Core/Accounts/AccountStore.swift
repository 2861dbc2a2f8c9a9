// What a user does to their own account, and an admin for them: sessions listed and ended, the password
// changed or reset through a one-time link, the account deleted (Migrations/0036).

package import Postgres

/// One browser session as its user sees it on the account page.
package struct SessionRow: Sendable {
    package let id: ID<SessionRow>
    package let createdAt: Timestamp
    package let lastSeenAt: Timestamp
    package let address: String
    /// The session this request came with.
    package let current: Bool
}

package struct AccountStore {
    package let db: Connection
    /// Sessions unseen for this long end (`PROMPTREEL_SESSION_IDLE_DAYS`).
    package let idleSeconds: Int

    package init(db: Connection, idleSeconds: Int) {
        self.db = db
        self.idleSeconds = idleSeconds
    }

    /// A reset link lasts an hour.
    package static let resetSeconds = 3600

    // MARK: Sessions

    /// The user's live sessions, the most recently seen first.
    package func sessions(userID: ID<User>, currentHash: [UInt8]?) throws -> [SessionRow] {
        try db.execute(
            """
            SELECT id, iso(created_at) AS created_at, iso(last_seen_at) AS last_seen_at, address,
                   token_hash = \(currentHash.map(Bytes.init)) AS current
            FROM sessions WHERE user_id = \(userID) AND expires_at > now()
              AND last_seen_at > now() - make_interval(secs => \(idleSeconds))
            ORDER BY last_seen_at DESC, id DESC LIMIT 100
            """
        ).map {
            SessionRow(
                id: $0.id("id"), createdAt: $0.timestamp("created_at"), lastSeenAt: $0.timestamp("last_seen_at"),
                address: $0.string("address"), current: $0.bool("current"))
        }
    }

    /// Ends one of the user's sessions: nil when they have no such session, else whether it was the one with
    /// `currentHash` (this browser's).
    package func endSession(id: ID<SessionRow>, userID: ID<User>, currentHash: [UInt8]?) throws -> Bool? {
        try db.execute(
            """
            DELETE FROM sessions WHERE id = \(id) AND user_id = \(userID)
            RETURNING token_hash = \(currentHash.map(Bytes.init)) IS TRUE AS current
            """
        ).first?.bool("current")
    }

    // MARK: Passwords

    /// The new password's hash replaces the old; every session but `keeping` ends, and with `endTokens` every
    /// API token goes too. One transaction: a failure changes nothing.
    package func setPassword(userID: ID<User>, hash: String, keeping current: [UInt8]?, endTokens: Bool) throws {
        try db.transaction {
            try db.execute("UPDATE users SET password_hash = \(hash) WHERE id = \(userID)")
            try db.execute(
                """
                DELETE FROM sessions WHERE user_id = \(userID) AND token_hash IS DISTINCT FROM \(current.map(Bytes.init))
                """)
            if endTokens { try db.execute("DELETE FROM api_tokens WHERE user_id = \(userID)") }
            try db.execute("DELETE FROM password_resets WHERE user_id = \(userID) AND used_at IS NULL")
        }
    }

    /// A new one-time link for the user (their older unused links stop working); nil when there is no such
    /// account (or it is deleted). Returns the token: only its hash is kept.
    package func createReset(userID: ID<User>, by admin: ID<User>?) throws -> String? {
        let token = Crypto.randomToken()
        return try db.transaction {
            guard
                try !db.execute("SELECT 1 FROM users WHERE id = \(userID) AND deleted_at IS NULL FOR UPDATE").isEmpty
            else { return nil }
            try db.execute("DELETE FROM password_resets WHERE user_id = \(userID) AND used_at IS NULL")
            try db.execute(
                """
                INSERT INTO password_resets (user_id, token_hash, created_by, expires_at)
                VALUES (\(userID), \(Bytes(Crypto.sha256(token))), \(admin), now() + make_interval(secs => \(Self.resetSeconds)))
                """)
            return token
        }
    }

    /// The email a live, unused link is for (nil: unknown, used, expired, or its account disabled or deleted).
    package func resetEmail(token: String) throws -> String? {
        try db.execute(
            """
            SELECT u.email FROM password_resets r JOIN users u ON u.id = r.user_id
            WHERE r.token_hash = \(Bytes(Crypto.sha256(token))) AND r.used_at IS NULL AND r.expires_at > now()
              AND u.disabled_at IS NULL AND u.deleted_at IS NULL
            """
        ).first?.string("email")
    }

    /// Uses the link: the password is set and every session of the account ends. Nil when the link is not
    /// live any more — the `used_at IS NULL` condition makes a second use (even a concurrent one) find nothing.
    package func useReset(token: String, hash: String) throws -> ID<User>? {
        try db.transaction {
            guard
                let row = try db.execute(
                    """
                    UPDATE password_resets r SET used_at = now() FROM users u
                    WHERE r.token_hash = \(Bytes(Crypto.sha256(token))) AND r.used_at IS NULL AND r.expires_at > now()
                      AND u.id = r.user_id AND u.disabled_at IS NULL AND u.deleted_at IS NULL
                    RETURNING r.user_id
                    """
                ).first
            else { return nil }
            let userID: ID<User> = row.id("user_id")
            try setPassword(userID: userID, hash: hash, keeping: nil, endTokens: false)
            return userID
        }
    }

    // MARK: Deleting an account

    package enum Deletion: Equatable {
        case deleted(projects: Int)
        case noSuchUser
        /// A project still has something running (the project's own refusal).
        case refused(Library.Refusal)
        case lastAdmin
    }

    /// The live account's email, how many projects its deletion deletes (those it alone owns) and how many stay with
    /// their other owners; nil when there is no such account.
    package func deletionSummary(userID: ID<User>) throws -> (email: String, projects: Int64, handedOver: Int64)? {
        try db.execute(
            """
            SELECT u.email,
                   count(m.project_id) FILTER (WHERE NOT \(fragment: Self.otherOwner)) AS projects,
                   count(m.project_id) FILTER (WHERE \(fragment: Self.otherOwner)) AS handed_over
            FROM users u LEFT JOIN project_members m ON m.user_id = u.id AND m.role = 'owner'
            WHERE u.id = \(userID) AND u.deleted_at IS NULL GROUP BY u.email
            """
        ).first.map { ($0.string("email"), $0.int("projects"), $0.int("handed_over")) }
    }

    /// A condition on a membership `m`: its project has an owner besides `m`'s user.
    private static let otherOwner: Query = """
        EXISTS (SELECT 1 FROM project_members o WHERE o.project_id = m.project_id AND o.role = 'owner' AND o.user_id <> m.user_id)
        """

    /// Deletes the projects the user alone owns as a project deletion does (refused while anything runs in one);
    /// a project with another owner stays with them (the user's membership goes, as every other one of theirs).
    /// Ends their sessions, tokens, links and webhooks, and keeps the row — disabled, its email replaced — so the
    /// money their generations record stays theirs ("deleted user"). One transaction.
    package func deleteAccount(userID: ID<User>) throws -> Deletion {
        try db.transaction {
            try db.execute("SELECT pg_advisory_xact_lock(12004)")  // the admin-count lock (Store.keepingAnAdmin)
            guard
                let user = try db.execute(
                    "SELECT role FROM users WHERE id = \(userID) AND deleted_at IS NULL FOR UPDATE"
                ).first
            else { return .noSuchUser }
            if user.string("role") == Role.admin.rawValue,
                try db.execute(
                    "SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> \(userID)"
                )[0].int("n") == 0
            {
                return .lastAdmin
            }
            let library = Store(db: db)
            // The projects they own, locked (as member changes lock them), then, with no owner able to leave
            // meanwhile, the ones nobody else owns.
            try db.execute(
                """
                SELECT p.id FROM projects p JOIN project_members m ON m.project_id = p.id
                WHERE m.user_id = \(userID) AND m.role = 'owner' ORDER BY p.id FOR UPDATE OF p
                """)
            let projects: [ID<Project>] = try db.execute(
                """
                SELECT m.project_id FROM project_members m
                WHERE m.user_id = \(userID) AND m.role = 'owner' AND NOT \(fragment: Self.otherOwner) ORDER BY m.project_id
                """
            ).map { $0.id("project_id") }
            for project in projects {
                switch try library.deleteProject(id: project, userID: userID) {
                case .deleted, .notFound: continue
                case let .refused(refusal): return .refused(refusal)
                }
            }
            // The projects that stay get another holder (Migrations/0037's trigger).
            try db.execute("DELETE FROM project_members WHERE user_id = \(userID)")
            try GenerationStore(db: db).cancelAllWaiting(userID: userID)
            try db.execute("DELETE FROM sessions WHERE user_id = \(userID)")
            try db.execute("DELETE FROM api_tokens WHERE user_id = \(userID)")
            try db.execute("DELETE FROM password_resets WHERE user_id = \(userID)")
            try db.execute("DELETE FROM webhook_endpoints WHERE user_id = \(userID)")
            try db.execute(
                """
                UPDATE users SET email = 'deleted-user-' || id || '@deleted.invalid', password_hash = '!deleted',
                       role = 'member', disabled_at = COALESCE(disabled_at, now()), deleted_at = now()
                WHERE id = \(userID)
                """)
            return .deleted(projects: projects.count)
        }
    }

    /// How pages and reports name an account that was deleted.
    package static let deletedUserName = "deleted user"
}
