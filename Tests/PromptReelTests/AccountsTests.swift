// Roles, disabled accounts, password strength, address checks and the sign-in and sign-up throttles,
// through the App's handlers and the real database.

import Foundation
import Postgres
import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct AccountHardening {
    @Test func weakPasswordsAreRefused() {
        for weak in ["password", "12345678", "        ", "password12", "abcdefghij", "qwertyuiop", "short1!"] {
            let client = Client()
            client.get("/signup")
            let response = client.post("/signup", [("email", TestDatabase.uniqueEmail("weak")), ("password", weak)])
            #expect(response.status == 422, "accepted \(weak)")
            #expect(response.bodyText.contains("password: "))
        }
        #expect(PasswordStrength.check("correct horse battery") == .strong)
        #expect(PasswordStrength.check("123456789") == .weak("must be at least 10 characters"))
    }

    /// Issue 22: what cracklib let through — common passwords with case, substitutions, years and symbols.
    @Test(arguments: [
        "Password2024!", "P@ssw0rd123", "Summer2024!!", "!!Dragon1987", "Qwerty123456", "L3tm3in2023#", "M0nkey!!2020",
        "1qaz2wsx3edc", "Trustno1!!!", "Sunshine2025", "$uperman1999", "iloveyou2024", "Football#123",
    ])
    func commonPasswordsAndTheirVariantsAreRefused(password: String) {
        guard case let .weak(why) = PasswordStrength.check(password) else {
            Issue.record("accepted \(password)")
            return
        }
        #expect(why.hasPrefix("is too common") || why.hasPrefix("is too weak"), "\(password): \(why)")
    }

    @Test(arguments: [
        "correct horse battery", "Xq7#p9Lm2$vR", "tangerine-kettle-orbit", "Lighthouse at dusk 42", "mq8Zr!t3VwP0",
    ])
    func uncommonPasswordsPass(password: String) {
        #expect(PasswordStrength.check(password) == .strong, "\(password)")
    }

    @Test func malformedAddressesAreRefused() {
        for bad in [
            "x@.", "x@y", "@example.test", "a@b@example.test", "a@example..test", "a@.example.test",
            "a\n@example.test", "a@example.test\nBcc: x@y.z", "a b@example.test", "a@example.test\u{7}",
            String(repeating: "a", count: 250) + "@e.st",
        ] {
            let client = Client()
            client.get("/signup")
            let response = client.post("/signup", [("email", bad), ("password", "correct horse battery")])
            #expect(response.status == 422, "accepted \(bad.debugDescription)")
        }
    }

    @Test func signUpIsThrottledPerAddress() {
        let config = AppConfig(databaseURL: TestDatabase.url, signupsPerAddressPerHour: 2)
        let address = "10.250.\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"
        for expected in [303, 303, 429] {
            let client = Client(config: config)
            client.address = address
            client.get("/signup")
            let response = client.post(
                "/signup", [("email", TestDatabase.uniqueEmail("throttle")), ("password", "correct horse battery")])
            #expect(response.status == expected)
            if expected == 429 {
                #expect(response.header("retry-after").flatMap(Int.init).map { (3500...3600).contains($0) } == true)
            }
        }
        // Another address is not affected.
        let other = Client(config: config)
        other.signUp()
    }

    /// Issue 22: sign-up tells nothing. An existing email gets exactly the answer a new one gets (303 to the
    /// log-in page with one notice, no session), its password is hashed all the same, and every attempt — a
    /// repeat, a weak password — counts toward the address's limit.
    @Test func signUpAnswersTheSameForNewAndExistingAccountsAndCountsEveryAttempt() throws {
        let config = AppConfig(databaseURL: TestDatabase.url, signupsPerAddressPerHour: 4)
        let address = "10.251.\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"
        let email = TestDatabase.uniqueEmail("twice")
        func attempt(_ email: String, _ password: String = "correct horse battery") -> Response {
            let client = Client(config: config)
            client.address = address
            client.get("/signup")
            let response = client.post("/signup", [("email", email), ("password", password)])
            #expect(client.cookies[Context.sessionCookie] == nil)  // never signed in
            return response
        }
        let new = attempt(email)
        let again = attempt(email.uppercased())
        for response in [new, again] {
            #expect(response.status == 303 && response.header("location") == "/login")
            #expect(response.headers.contains { $0.0 == "Set-Cookie" && $0.1.contains("pr_flash=If%20this%20address") })
        }
        #expect(new.bodyText == again.bodyText)
        let db = try Connection(url: TestDatabase.url)
        #expect(try db.execute("SELECT count(*) AS n FROM users WHERE lower(email) = lower(\(email))")[0].int("n") == 1)
        #expect(attempt(TestDatabase.uniqueEmail("weak"), "password").status == 422)
        #expect(attempt(TestDatabase.uniqueEmail("fourth")).status == 303)
        #expect(attempt(TestDatabase.uniqueEmail("fifth")).status == 429)  // the repeat and the weak one counted
        // The account that was made logs in with its password; the repeat did not change it.
        let owner = Client(config: config)
        owner.get("/login")
        #expect(owner.post("/login", [("email", email), ("password", "correct horse battery")]).status == 303)
    }

    @Test func retryAfterDoublesPastTheLimitUpToFifteenMinutes() throws {
        #expect(AccountPages.retryAfter(failures: 4, limit: 5, since: 0) == 0)
        #expect(AccountPages.retryAfter(failures: 5, limit: 5, since: 0) == 30)
        #expect(AccountPages.retryAfter(failures: 6, limit: 5, since: 10) == 50)
        #expect(AccountPages.retryAfter(failures: 7, limit: 5, since: 0) == 120)
        #expect(AccountPages.retryAfter(failures: 40, limit: 5, since: 0) == 900)
        #expect(AccountPages.retryAfter(failures: 5, limit: 5, since: 31) == 0)

        // Through the handler: once the first wait is over, one more wrong password doubles it.
        let email = Client().signUp()
        let client = Client(config: AppConfig(databaseURL: TestDatabase.url, loginFailuresPerAccount: 2))
        client.get("/login")
        for _ in 0..<2 {
            #expect(client.post("/login", [("email", email), ("password", "wrong password")]).status == 401)
        }
        let first = client.post("/login", [("email", email), ("password", "wrong password")])
        #expect(first.status == 429)
        #expect(first.header("retry-after").flatMap(Int.init).map { (25...30).contains($0) } == true)
        let db = try Connection(url: TestDatabase.url)
        try db.execute("UPDATE login_failures SET at = at - interval '31 seconds' WHERE address = \(client.address)")
        #expect(client.post("/login", [("email", email), ("password", "wrong password")]).status == 401)
        let second = client.post("/login", [("email", email), ("password", "correct horse battery")])
        #expect(second.status == 429)
        #expect(second.header("retry-after").flatMap(Int.init).map { (55...60).contains($0) } == true)
    }

    @Test func firstAccountIsAdminLaterOnesMembers() throws {
        Crypto.initialize()
        let admin = try Connection(url: TestDatabase.url)
        try admin.execute("DROP DATABASE IF EXISTS promptreel_roles_fresh WITH (FORCE)")
        try admin.execute("CREATE DATABASE promptreel_roles_fresh")
        let db = try Connection(url: TestDatabase.url, database: "promptreel_roles_fresh")
        _ = try Migrator(directory: Migrations.directory).migrate(db)
        let first = try Accounts.createUser(db, email: "first@example.test", password: "correct horse battery")
        let second = try Accounts.createUser(db, email: "second@example.test", password: "correct horse battery")
        let third = try Accounts.createUser(
            db, email: "third@example.test", password: "correct horse battery", admin: true)
        #expect([first.role, second.role, third.role] == [.admin, .member, .admin])
        try Accounts.setRole(db, email: "SECOND@example.test", role: .admin)
        #expect(try Store(db: db).users().map(\.user.role) == [.admin, .admin, .admin])
        #expect(throws: Accounts.Failure.self) { try Accounts.setRole(db, email: "nobody@example.test", role: .admin) }

        // Demoting and disabling go on while another enabled admin remains; the last one is kept.
        try Accounts.setRole(db, email: "second@example.test", role: .member)
        try Accounts.setDisabled(db, email: "third@example.test", disabled: true)
        #expect(throws: Accounts.Failure.lastAdmin) {
            try Accounts.setRole(db, email: "first@example.test", role: .member)
        }
        #expect(throws: Accounts.Failure.lastAdmin) {
            try Accounts.setDisabled(db, email: "first@example.test", disabled: true)
        }
        #expect(
            try Store(db: db).users().map { "\($0.user.role.rawValue)\($0.disabled ? "-off" : "")" } == [
                "admin", "member", "admin-off",
            ])
        try Accounts.setDisabled(db, email: "third@example.test", disabled: false)
        try Accounts.setRole(db, email: "first@example.test", role: .member)  // third is an enabled admin again
    }

    @Test func adminPagesAre404ToMembersAndDisablingStopsSessionsAndTokensAtOnce() throws {
        Crypto.initialize()
        let db = try Connection(url: TestDatabase.url)
        let adminEmail = TestDatabase.uniqueEmail("admin")
        _ = try Accounts.createUser(db, email: adminEmail, password: "correct horse battery", admin: true)
        // One cache shared by both clients, as the threads of one process share it.
        let cache = AnswerCache()
        cache.setEnabled(true)
        cache.heard()
        let config = AppConfig(databaseURL: TestDatabase.url)
        let member = Client(app: App(config: config, cache: cache))
        let memberEmail = member.signUp()
        #expect(member.get("/admin/users").status == 404)
        cache.heard()  // the cache answers only while its listener is heard from
        #expect(member.get("/account").status == 200)  // cached now
        let token = try Accounts.createToken(db, email: memberEmail, name: "t")
        let auth = ["authorization": "Bearer \(token)"]
        #expect(member.get("/api/projects", headers: auth).status == 200)
        #expect(cache.user(forToken: Crypto.sha256(token)) != nil)

        let admin = Client(app: App(config: config, cache: cache))
        admin.get("/login")
        #expect(admin.post("/login", [("email", adminEmail), ("password", "correct horse battery")]).status == 303)
        let list = admin.get("/admin/users")
        #expect(list.status == 200 && list.bodyText.contains(memberEmail))
        let memberID = try #require(try Store(db: db).userID(email: memberEmail))
        // A member cannot post to it either.
        #expect(member.post("/admin/users/\(memberID)", [("action", "disable")]).status == 404)
        cache.heard()
        #expect(admin.post("/admin/users/\(memberID)", [("action", "disable")]).status == 303)
        // The same process answers at once, without waiting for the NOTIFY.
        #expect(member.get("/account").status == 303)
        #expect(member.get("/api/projects", headers: auth).status == 401)
        member.get("/login")
        let login = member.post("/login", [("email", memberEmail), ("password", "correct horse battery")])
        #expect(login.status == 403 && login.bodyText.contains("disabled"))
        #expect(admin.post("/admin/users/\(memberID)", [("action", "enable")]).status == 303)
        // A bad action or role is shown on the users page, beside the list.
        let bad = admin.post("/admin/users/\(memberID)", [("action", "role"), ("role", "owner")])
        #expect(bad.status == 422 && bad.bodyText.contains("role: must be member or admin"))
        #expect(bad.bodyText.contains(memberEmail))
        #expect(member.get("/api/projects", headers: auth).status == 200)
        // Roles: promoted, the member sees the page; an admin cannot demote themselves.
        #expect(admin.post("/admin/users/\(memberID)", [("action", "role"), ("role", "admin")]).status == 303)
        member.get("/login")
        #expect(member.post("/login", [("email", memberEmail), ("password", "correct horse battery")]).status == 303)
        #expect(member.get("/admin/users").status == 200)
        let adminID = try #require(try Store(db: db).userID(email: adminEmail))
        #expect(admin.post("/admin/users/\(adminID)", [("action", "disable")]).status == 422)
        #expect(admin.post("/admin/users/999999999", [("action", "disable")]).status == 404)
        #expect(admin.post("/admin/users/\(memberID)", [("action", "role"), ("role", "owner")]).status == 422)
    }
}
