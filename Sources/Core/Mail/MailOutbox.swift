// The mail outbox (Migrations/0038): request threads queue what to mail — a reset link for an account, an
// invitation — and the mail sender (a worker thread, `Engine.MailSender`) claims one due row at a time, writes
// the mail then (a reset link is made at that moment, so no link is ever stored but as its hash) and records
// what the relay said. A mail is sent at least once: a sender that dies between the relay's "250" and its
// record sends it again when its lease ends.

package import Postgres

package enum MailKind: String, Sendable {
    case passwordReset = "password_reset"
    case invitation
}

package enum MailStatus: String, Sendable {
    case pending, sent, failed, cancelled
}

/// One claimed mail.
package struct MailDue: Sendable {
    package let id: Int64
    package let kind: MailKind
    package let recipient: String
    package let userID: ID<User>?
    package let invitationID: ID<Invitation>?
    package let attempt: Int64
    /// Past its `expires_at`: it is not sent any more.
    package let expired: Bool
}

/// What became of one attempt.
package enum MailOutcome: Equatable, Sendable {
    case sent(code: Int)
    /// The relay may take it later (4xx, no answer): pending again after `seconds`, unless that falls past
    /// the mail's expiry.
    case retry(after: Double, error: String, code: Int?)
    /// The relay refused it for good (5xx).
    case failed(error: String, code: Int?)
    /// Nothing to send any more (the link's hour or the invitation ran out, the account was disabled, the
    /// invitation was answered or revoked).
    case cancelled(reason: String)
}

package struct MailOutbox {
    package let db: Connection

    package init(db: Connection) { self.db = db }

    /// Reset mails one account gets per hour at most; requests past it answer the same and mail nothing.
    package static let resetMailsPerHour = 3
    /// A queued reset mail not sent within this long is dropped (whoever asked has given up on it).
    package static let resetQueueSeconds = 3600
    /// An invitation renewed within this long is not mailed again.
    package static let invitationRemailSeconds = 600
    /// Invitation mails one address gets per day, and one inviter sends per hour, at most: inviting, revoking and
    /// inviting again (or from many projects) cannot flood anyone's mailbox. The invitation itself is still made.
    package static let invitationMailsPerRecipientPerDay = 5
    package static let invitationMailsPerInviterPerHour = 20
    /// Finished rows are kept this long (what was mailed, for an operator), then deleted.
    package static let retentionDays = 30

    /// Queues a reset mail for the enabled account with this address, unless it had `resetMailsPerHour` in the
    /// last hour. The same steps whether or not there is such an account (a lock on the address, then one statement
    /// that inserts a row or none), so neither the answer nor its time says which; the lock makes parallel requests
    /// count one after the other. True when a mail was queued (for tests and logs, never for answers).
    @discardableResult
    package func queueReset(email: String) throws -> Bool {
        try db.transaction {
            try lockRecipient(email)
            return try !db.execute(
                """
                INSERT INTO mail_outbox (kind, recipient, user_id, expires_at)
                SELECT \(MailKind.passwordReset.rawValue), u.email, u.id, now() + make_interval(secs => \(Self.resetQueueSeconds))
                FROM users u
                WHERE lower(u.email) = lower(\(email)) AND u.disabled_at IS NULL AND u.deleted_at IS NULL
                  AND (SELECT count(*) FROM mail_outbox m
                       WHERE m.user_id = u.id AND m.kind = \(MailKind.passwordReset.rawValue)
                         AND m.created_at > now() - interval '1 hour') < \(Self.resetMailsPerHour)
                RETURNING id
                """
            ).isEmpty
        }
    }

    /// Queues the mail of a pending invitation by `inviter`, unless one was queued for it in the last ten minutes
    /// (an owner inviting the same address again renews it) or the address or the inviter reached their limit.
    @discardableResult
    package func queueInvitation(_ id: ID<Invitation>, by inviter: ID<User>) throws -> Bool {
        try db.transaction {
            guard
                let email = try db.execute("SELECT email FROM project_invitations WHERE id = \(id)").first?.string(
                    "email")
            else { return false }
            try lockRecipient(email)
            return try !db.execute(
                """
                INSERT INTO mail_outbox (kind, recipient, invitation_id, expires_at)
                SELECT \(MailKind.invitation.rawValue), i.email, i.id, i.expires_at
                FROM project_invitations i
                WHERE i.id = \(id) AND i.answered_at IS NULL AND i.expires_at > now()
                  AND NOT EXISTS (SELECT 1 FROM mail_outbox m WHERE m.invitation_id = i.id
                                  AND m.created_at > now() - make_interval(secs => \(Self.invitationRemailSeconds)))
                  AND (SELECT count(*) FROM mail_outbox m
                       WHERE m.kind = \(MailKind.invitation.rawValue) AND lower(m.recipient) = lower(i.email)
                         AND m.created_at > now() - interval '1 day') < \(Self.invitationMailsPerRecipientPerDay)
                  AND (SELECT count(*) FROM mail_outbox m JOIN project_invitations o ON o.id = m.invitation_id
                       WHERE o.invited_by = \(inviter)
                         AND m.created_at > now() - interval '1 hour') < \(Self.invitationMailsPerInviterPerHour)
                RETURNING id
                """
            ).isEmpty
        }
    }

    /// Mail to one address is queued one request at a time (the caps above are counted under this lock).
    private func lockRecipient(_ email: String) throws {
        try db.execute("SELECT pg_advisory_xact_lock(12005, hashtext(lower(\(email))))")
    }

    /// Claims the next due mail for `leaseSeconds` (another sender takes it again only after that).
    package func claim(leaseSeconds: Double) throws -> MailDue? {
        try db.execute(
            """
            UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => \(leaseSeconds))
            WHERE id = (SELECT id FROM mail_outbox WHERE status = \(MailStatus.pending.rawValue) AND next_attempt_at <= now()
                        ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING id, kind, recipient, user_id, invitation_id, attempts, expires_at <= now() AS expired
            """
        ).first.flatMap { row in
            MailKind(rawValue: row.string("kind")).map { kind in
                MailDue(
                    id: row.int("id"), kind: kind, recipient: row.string("recipient"),
                    userID: row.optionalInt("user_id").map(ID.init),
                    invitationID: row.optionalInt("invitation_id").map(ID.init),
                    attempt: row.int("attempts"), expired: row.string("expired") == "t")
            }
        }
    }

    /// Records an attempt's outcome and returns the mail's status after it: a retry that would fall past the
    /// mail's expiry fails it instead.
    @discardableResult
    package func record(_ due: MailDue, _ outcome: MailOutcome) throws -> MailStatus {
        let rows: [Row]
        switch outcome {
        case let .sent(code):
            rows = try db.execute(
                """
                UPDATE mail_outbox SET status = \(MailStatus.sent.rawValue), sent_at = now(), last_code = \(code), last_error = NULL
                WHERE id = \(due.id) RETURNING status
                """)
        case let .retry(after, error, code):
            rows = try db.execute(
                """
                UPDATE mail_outbox
                SET status = CASE WHEN now() + make_interval(secs => \(after)) < expires_at
                                  THEN \(MailStatus.pending.rawValue) ELSE \(MailStatus.failed.rawValue) END,
                    next_attempt_at = now() + make_interval(secs => \(after)), last_error = \(error), last_code = \(code)
                WHERE id = \(due.id) RETURNING status
                """)
        case let .failed(error, code):
            rows = try db.execute(
                """
                UPDATE mail_outbox SET status = \(MailStatus.failed.rawValue), last_error = \(error), last_code = \(code)
                WHERE id = \(due.id) RETURNING status
                """)
        case let .cancelled(reason):
            rows = try db.execute(
                """
                UPDATE mail_outbox SET status = \(MailStatus.cancelled.rawValue), last_error = \(reason)
                WHERE id = \(due.id) RETURNING status
                """)
        }
        return rows.first.flatMap { MailStatus(rawValue: $0.string("status")) } ?? .cancelled
    }

    /// Deletes finished rows older than the retention; returns how many.
    package func prune() throws -> Int {
        try db.execute(
            """
            DELETE FROM mail_outbox
            WHERE status <> \(MailStatus.pending.rawValue) AND created_at < now() - make_interval(days => \(Self.retentionDays))
            RETURNING id
            """
        ).count
    }

    // MARK: What a mail says

    /// The text of a claimed mail, written now; nil with the reason when there is nothing to send any more. A
    /// reset mail makes the account's new one-time link here (its older unused links stop working).
    package func compose(_ due: MailDue, site: String) throws -> Result<MailText, Cancelled> {
        if due.expired { return .failure(Cancelled(reason: "expired before it could be sent")) }
        switch due.kind {
        case .passwordReset:
            guard let userID = due.userID,
                let row = try db.execute(
                    "SELECT email FROM users WHERE id = \(userID) AND disabled_at IS NULL AND deleted_at IS NULL"
                ).first,
                let token = try AccountStore(db: db, idleSeconds: 0).createReset(userID: userID, by: nil)
            else { return .failure(Cancelled(reason: "the account is disabled or deleted")) }
            return .success(MailText.reset(email: row.string("email"), token: token, site: site))
        case .invitation:
            guard let id = due.invitationID,
                let row = try db.execute(
                    """
                    SELECT i.email, i.role, i.expires_at, p.name, u.email AS inviter
                    FROM project_invitations i JOIN projects p ON p.id = i.project_id
                    LEFT JOIN users u ON u.id = i.invited_by AND u.deleted_at IS NULL
                    WHERE i.id = \(id) AND i.answered_at IS NULL AND i.expires_at > now()
                    """
                ).first,
                let role = ProjectRole(rawValue: row.string("role"))
            else { return .failure(Cancelled(reason: "the invitation was answered, revoked or ran out")) }
            return .success(
                MailText.invitation(
                    email: row.string("email"), project: row.string("name"), role: role,
                    inviter: row["inviter"], expires: row.timestamp("expires_at"), site: site))
        }
    }

    package struct Cancelled: Error, Sendable {
        package let reason: String
    }
}
