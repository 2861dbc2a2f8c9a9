// Mail (Migrations/0038): the outbox against the real PostgreSQL (what is queued, capped, claimed, written and
// recorded), the relay's settings, the retry rule, and the sender against a relay that is not there.

import Foundation
import HTTPClient
import Postgres
import Testing

@testable import Core
@testable import Engine

/// Serialized: claims take whichever mail is due, so two of these tests at once would take each other's.
@Suite(.serialized) struct MailOutboxStore {
    let db: Connection
    let user: User
    var outbox: MailOutbox { MailOutbox(db: db) }

    init() throws {
        db = try Connection(url: TestDatabase.url)
        user = try MembersStore.user(db, "mail")
        try drain()
    }

    /// Cancels every waiting mail (the end-to-end tests that run later on this database must not send these).
    func drain() throws {
        try db.execute("UPDATE mail_outbox SET status = 'cancelled' WHERE status = 'pending'")
    }

    @Test func aResetIsQueuedOnlyForAnEnabledAccountAndThreeTimesAnHour() throws {
        defer { try? drain() }
        #expect(try !outbox.queueReset(email: TestDatabase.uniqueEmail("nobody")))
        for _ in 0..<3 { #expect(try outbox.queueReset(email: user.email.uppercased())) }
        #expect(try !outbox.queueReset(email: user.email))
        let disabled = try MembersStore.user(db, "disabled")
        try db.execute("UPDATE users SET disabled_at = now() WHERE id = \(disabled.id)")
        #expect(try !outbox.queueReset(email: disabled.email))
    }

    @Test func aResetMailIsWrittenWhenSentWithANewLinkKeptOnlyAsItsHash() throws {
        defer { try? drain() }
        try outbox.queueReset(email: user.email)
        let due = try #require(try outbox.claim(leaseSeconds: 60))
        #expect(due.kind == .passwordReset && due.recipient == user.email && due.attempt == 1 && !due.expired)
        #expect(try outbox.claim(leaseSeconds: 60)?.id != due.id)  // leased: nobody else takes it
        guard case let .success(text) = try outbox.compose(due, site: "https://reels.example.test/") else {
            Issue.record("no text")
            return
        }
        let token = try #require(text.body.components(separatedBy: "/password-reset?token=").last?.prefix(43))
        #expect(text.body.contains("https://reels.example.test/password-reset?token=\(token)"))
        #expect(try AccountStore(db: db, idleSeconds: 0).resetEmail(token: String(token)) == user.email)
        try outbox.record(due, .sent(code: 250))
        #expect(
            try db.execute("SELECT status, last_code FROM mail_outbox WHERE id = \(due.id)")[0].string("status")
                == "sent")
    }

    @Test func nothingIsWrittenForADisabledAccountAnAnsweredInvitationOrAnExpiredMail() throws {
        defer { try? drain() }
        try outbox.queueReset(email: user.email)
        try db.execute("UPDATE users SET disabled_at = now() WHERE id = \(user.id)")
        let reset = try #require(try outbox.claim(leaseSeconds: 60))
        guard case let .failure(cancelled) = try outbox.compose(reset, site: "http://x") else {
            Issue.record("a disabled account's mail was written")
            return
        }
        #expect(cancelled.reason.contains("disabled"))

        let owner = try MembersStore.user(db, "owner")
        let project: ID<Project> = try db.execute(
            "INSERT INTO projects (user_id, name) VALUES (\(owner.id), 'Mailed') RETURNING id")[0].id("id")
        let members = Members(db: db, mail: true)
        // A fresh address: the per-address daily cap counts across runs on the same database.
        let guest = TestDatabase.uniqueEmail("guest")
        let invitation = try members.invite(
            projectID: project, email: guest, role: .viewer, by: owner.id
        ).id
        _ = try members.invite(projectID: project, email: guest, role: .editor, by: owner.id).id
        #expect(
            try db.execute("SELECT count(*) AS n FROM mail_outbox WHERE invitation_id = \(invitation)")[0].int("n") == 1
        )
        #expect(try members.revoke(id: invitation, projectID: project))
        let mail = try #require(try outbox.claim(leaseSeconds: 60))
        #expect(mail.invitationID == invitation)
        guard case .failure = try outbox.compose(mail, site: "http://x") else {
            Issue.record("a revoked invitation was mailed")
            return
        }

        try db.execute("UPDATE users SET disabled_at = NULL WHERE id = \(user.id)")
        try outbox.queueReset(email: user.email)
        try db.execute(
            "UPDATE mail_outbox SET expires_at = now() - interval '1 second' WHERE status = 'pending' AND user_id = \(user.id)"
        )
        let late = try #require(try outbox.claim(leaseSeconds: 60))
        #expect(late.expired)
        guard case .failure = try outbox.compose(late, site: "http://x") else {
            Issue.record("an expired mail was written")
            return
        }
    }

    @Test func invitationMailsAreCappedPerAddressAndPerInviter() throws {
        defer { try? drain() }
        let owner = try MembersStore.user(db, "inviter")
        let project: ID<Project> = try db.execute(
            "INSERT INTO projects (user_id, name) VALUES (\(owner.id), 'Flood') RETURNING id")[0].id("id")
        let members = Members(db: db, mail: true)
        let target = TestDatabase.uniqueEmail("target")
        // Invite, revoke, invite again: a new invitation each time, but five mails a day to one address at most.
        var mailed = 0
        for _ in 0..<8 {
            let invited = try members.invite(projectID: project, email: target, role: .viewer, by: owner.id)
            mailed += invited.mailed ? 1 : 0
            #expect(try members.revoke(id: invited.id, projectID: project))
        }
        #expect(mailed == MailOutbox.invitationMailsPerRecipientPerDay)
        // One inviter, many addresses: twenty an hour (five of them above).
        for n in 0..<20 {
            _ = try members.invite(
                projectID: project, email: TestDatabase.uniqueEmail("many\(n)"), role: .viewer, by: owner.id)
        }
        let sent = try db.execute(
            """
            SELECT count(*) AS n FROM mail_outbox m JOIN project_invitations i ON i.id = m.invitation_id
            WHERE i.invited_by = \(owner.id)
            """)[0].int("n")
        #expect(sent == Int64(MailOutbox.invitationMailsPerInviterPerHour))
    }

    @Test func aRetryPastTheExpiryFailsTheMail() throws {
        defer { try? drain() }
        try outbox.queueReset(email: user.email)
        let due = try #require(try outbox.claim(leaseSeconds: 60))
        #expect(try outbox.record(due, .retry(after: 30, error: "SMTP 451", code: 451)) == .pending)
        #expect(try db.execute("SELECT status FROM mail_outbox WHERE id = \(due.id)")[0].string("status") == "pending")
        #expect(try outbox.record(due, .retry(after: 7200, error: "SMTP 451", code: 451)) == .failed)
        let row = try db.execute("SELECT status, last_code, last_error FROM mail_outbox WHERE id = \(due.id)")[0]
        #expect(
            row.string("status") == "failed" && row.int("last_code") == 451 && row.string("last_error") == "SMTP 451")
    }

    @Test func theSenderRecordsARelayThatIsNotThereAsARetry() throws {
        defer { try? drain() }
        try outbox.queueReset(email: user.email)
        var env = ["PROMPTREEL_SMTP_URL": "smtp://user:secret@127.0.0.1:1", "PROMPTREEL_PUBLIC_URL": "http://x.test"]
        let relay = try #require(try MailRelay.fromEnvironment(env))
        env["DATABASE_URL"] = TestDatabase.url
        var config = AppConfig.fromEnvironment(env)
        config.mailRetryBaseSeconds = 5
        let sender = MailSender(db: db, relay: relay, config: config)
        #expect(try sender.runOnce())
        let row = try db.execute(
            """
            SELECT status, attempts, last_code, last_error, next_attempt_at > now() + interval '4 seconds' AS later
            FROM mail_outbox WHERE user_id = \(user.id) ORDER BY id DESC LIMIT 1
            """)[0]
        #expect(row.string("status") == "pending" && row.int("attempts") == 1 && row["last_code"] == nil)
        #expect(row.string("later") == "t" && !row.string("last_error").contains("secret"))
    }
}

@Suite struct MailSettings {
    static let site = ["PROMPTREEL_PUBLIC_URL": "https://reels.example.com/"]

    func relay(_ env: [String: String]) throws -> MailRelay? {
        try MailRelay.fromEnvironment(Self.site.merging(env) { $1 })
    }

    @Test func theRelayIsReadFromTheEnvironment() throws {
        #expect(try relay([:]) == nil)
        #expect(try relay(["PROMPTREEL_SMTP_URL": ""]) == nil)
        let remote = try #require(try relay(["PROMPTREEL_SMTP_URL": "smtp://me:p%40ss%2F@relay.example.com:587"]))
        #expect(remote.tls == .required && remote.redactedURL == "smtp://relay.example.com:587")
        #expect(
            remote.from == "PromptReel <promptreel@reels.example.com>"
                && remote.fromAddress == "promptreel@reels.example.com")
        // A loopback address: STARTTLS when offered (unchecked); a name that only starts like one is not loopback.
        #expect(try relay(["PROMPTREEL_SMTP_URL": "smtp://127.0.0.1:25"])?.tls == .opportunistic)
        #expect(try relay(["PROMPTREEL_SMTP_URL": "smtp://127.mail.example.com:25"])?.tls == .required)
        let v6 = try #require(
            try relay([
                "PROMPTREEL_SMTP_URL": "smtps://[::1]:465", "PROMPTREEL_SMTP_TLS": "none",
                "PROMPTREEL_MAIL_FROM": "Reels <reels@example.com>",
            ]))
        #expect(v6.tls == .none && v6.fromAddress == "reels@example.com" && v6.redactedURL == "smtps://[::1]:465")
        for bad in [
            ["PROMPTREEL_SMTP_URL": "http://relay.example.com"],
            ["PROMPTREEL_SMTP_URL": "smtp://"],
            ["PROMPTREEL_SMTP_URL": "smtp://relay.example.com:99999"],
            ["PROMPTREEL_SMTP_URL": "smtp://relay.example.com:x"],
            // An unencoded "/" in the password would make part of it look like the host (and show in logs).
            ["PROMPTREEL_SMTP_URL": "smtp://user:12/x@relay.example.com"],
            ["PROMPTREEL_SMTP_URL": "smtp://relay.example.com\r\nRSET"],
            ["PROMPTREEL_SMTP_URL": "smtp://relay.example.com", "PROMPTREEL_SMTP_TLS": "maybe"],
            ["PROMPTREEL_SMTP_URL": "smtp://relay.example.com", "PROMPTREEL_MAIL_FROM": "no address"],
            // A line break (no space needed) would end SMTP's MAIL FROM command and start another.
            ["PROMPTREEL_SMTP_URL": "smtp://relay.example.com", "PROMPTREEL_MAIL_FROM": "a@b\r\nRSET"],
            ["PROMPTREEL_SMTP_URL": "smtp://relay.example.com", "PROMPTREEL_MAIL_FROM": "a@b\tc"],
            // The mails' links need the site's address.
            ["PROMPTREEL_SMTP_URL": "smtp://relay.example.com", "PROMPTREEL_PUBLIC_URL": ""],
            ["PROMPTREEL_SMTP_URL": "smtp://relay.example.com", "PROMPTREEL_PUBLIC_URL": "reels.example.com"],
        ] {
            #expect(throws: MailRelay.Invalid.self) { try relay(bad) }
        }
        #expect(throws: MailRelay.Invalid.self) {
            try MailRelay.fromEnvironment(["PROMPTREEL_SMTP_URL": "smtp://relay.example.com"])
        }
    }

    @Test func fiveHundredsAreFinalAndTheRestIsRetriedLater() {
        let refused = SMTPFailure(curl: CurlError(code: 55, message: "RCPT failed: 550"), replyCode: 550)
        guard case .failed(_, 550) = MailRetry.outcome(of: refused, attempt: 1, base: 30) else {
            Issue.record("a 550 was retried")
            return
        }
        let busy = SMTPFailure(curl: CurlError(code: 55, message: "RCPT failed: 451"), replyCode: 451)
        #expect(
            MailRetry.outcome(of: busy, attempt: 2, base: 30) == .retry(after: 120, error: busy.description, code: 451))
        // The relay refusing PromptReel's credentials is about the settings, not the mail: it waits for a fix.
        let denied = SMTPFailure(curl: CurlError(code: 67, message: "Login denied"), replyCode: 535)
        #expect(
            MailRetry.outcome(of: denied, attempt: 1, base: 30)
                == .retry(after: 30, error: denied.description, code: 535))
        let required = SMTPFailure(curl: CurlError(code: 55, message: "MAIL failed: 530"), replyCode: 530)
        #expect(
            MailRetry.outcome(of: required, attempt: 1, base: 30)
                == .retry(after: 30, error: required.description, code: 530))
        let gone = SMTPFailure(curl: CurlError(code: 7, message: "refused"), replyCode: nil)
        #expect(
            MailRetry.outcome(of: gone, attempt: 99, base: 30)
                == .retry(after: 1800, error: gone.description, code: nil))
    }

    @Test func aPeriodicChoreIsTakenOncePerInterval() {
        let chore = PeriodicChore(intervalSeconds: 3600)
        #expect(chore.isDue(nowSeconds: 100))
        #expect(!chore.isDue(nowSeconds: 160))
        #expect(chore.isDue(nowSeconds: 3700))
    }
}
