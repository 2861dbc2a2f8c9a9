// The account's keys: the password (changed, or set again through a one-time link), the sessions signed in
// with it, and deleting the account.

import Core
import Formats
import Telemetry
import Web

enum AccountSecurityPages {
    static func accounts(_ c: Context) -> AccountStore {
        AccountStore(db: c.db, idleSeconds: c.config.sessionIdleSeconds)
    }

    /// The account page's password, sessions and deletion sections.
    static func sections(_ c: Context, user: User) throws -> HTML {
        let rows: [HTML] = try accounts(c).sessions(userID: user.id, currentHash: c.sessionHash).map { s in
            let end: HTML =
                """
                <form method="post" action="\(Route.accounts(.endSession(s.id)).path)">\(Views.csrfField(c))<button type="submit" class="danger">\(s.current ? "Log out" : "End")</button></form>
                """
            return """
                <tr><td>\(Views.when(s.createdAt))</td><td>\(Views.when(s.lastSeenAt))</td><td>\(s.address.isEmpty ? "unknown" : s.address)</td>
                <td>\(s.current ? "this browser" : "")</td><td>\(end)</td></tr>
                """
        }
        let idleDays = c.config.sessionIdleSeconds / 86_400
        return """
            <h2 id="password">Password</h2>
            <form method="post" action="\(Route.accounts(.password).path)">\(Views.csrfField(c))
            \(Views.textField("Current password", name: "current_password", type: "password", required: true, autocomplete: "current-password"))
            \(Views.textField("New password", name: "new_password", type: "password", required: true, autocomplete: "new-password"))
            <p class="muted">At least \(PasswordStrength.minimumLength) characters, not a dictionary word or a simple pattern. \
            Every other browser signed in to this account is logged out.</p>
            <label class="choice"><input type="checkbox" name="end_tokens" value="on"> Also revoke all my API tokens</label>
            <button type="submit">Change password</button></form>
            <h2 id="sessions">Signed-in browsers</h2>
            <p class="muted">A browser is logged out after \(idleDays) day\(idleDays == 1 ? "" : "s") without a visit, \
            and 30 days after it logged in.</p>
            <table><thead><tr><th scope="col">Logged in</th><th scope="col">Last seen</th><th scope="col">Address</th>\
            <th scope="col"><span class="visually-hidden">Which</span></th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>\(rows)</tbody></table>
            <h2 id="delete">Delete the account</h2>
            <p><a href="\(Route.accounts(.deleteAccount).path)">Delete my account</a>: its projects and videos go; what was spent stays on record.</p>
            """
    }

    /// Checks the user's current password, counted like a log-in (a wrong one is throttled the same way).
    /// Nil when it matches; else the error to show and its status.
    static func checkPassword(_ c: Context, user: User, _ password: String) throws -> (String, Int)? {
        let wait = try AccountPages.admitPasswordAttempt(c, email: user.email)
        if wait > 0 {
            return ("Too many wrong passwords. Wait \(Formatting.duration(seconds: Int64(wait))) and try again.", 429)
        }
        guard let (_, hash, _) = try c.store.userWithPassword(email: user.email),
            Crypto.verifyPassword(password, hash: hash)
        else { return ("That is not your current password.", 403) }
        try c.store.clearLoginFailures(email: user.email, address: c.request.remoteAddress)
        return nil
    }

    /// POST /account/password: `current_password`, `new_password`, `end_tokens=on` to revoke every API token.
    static func changePassword(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        let form = try c.form()
        if let (message, status) = try checkPassword(c, user: user, form["current_password"] ?? "") {
            return try AccountPages.accountPage(&c, user: user, newToken: nil, error: message, status: status)
        }
        do {
            let password = try Field.newPassword(form["new_password"])
            guard let hash = Crypto.hashPassword(password) else {
                throw HTTPError(500, "internal_error", "Could not secure the password.")
            }
            let endTokens = form["end_tokens"] == "on"
            try accounts(c).setPassword(userID: user.id, hash: hash, keeping: c.sessionHash, endTokens: endTokens)
            c.cache?.invalidate(.auth)
            Log.info("password changed", ["user_id": "\(user.id)", "request_id": "\(c.request.requestID)"])
            c.setFlash(
                "Password changed. Every other browser is logged out"
                    + (endTokens ? ", and your API tokens are revoked." : "."))
            return .redirect(to: Route.accounts(.account).path)
        } catch let error as InvalidInput {
            return try AccountPages.accountPage(&c, user: user, newToken: nil, error: error.description, status: 422)
        }
    }

    /// POST /account/sessions/{id}/end: someone else's session (or none) is a 404; ending this browser's own
    /// session logs out.
    static func endSession(_ c: inout Context, id: ID<SessionRow>) throws -> Response {
        let user = try c.requireUser()
        guard let current = try accounts(c).endSession(id: id, userID: user.id, currentHash: c.sessionHash) else {
            throw HTTPError.notFound("No such session.")
        }
        c.cache?.invalidate(.auth)
        if current {
            try c.signOut()
            c.setFlash("You are logged out.")
            return .redirect(to: Route.accounts(.login).path)
        }
        c.setFlash("That browser is logged out.")
        return .redirect(to: Route.accounts(.account).path + "#sessions")
    }

    // MARK: Deleting the account

    static func deleteForm(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        return try deletePage(&c, user: user, error: nil, status: 200)
    }

    static func deletePage(_ c: inout Context, user: User, error: String?, status: Int) throws -> Response {
        let body: HTML = """
            <section class="narrow"><h1>Delete your account</h1>\(Views.errorBox(error))
            <p>Deleting <strong>\(user.email)</strong> deletes your projects with their videos, prompts, roundtables, \
            films and media, ends every session, and revokes your API tokens and webhooks. It cannot be undone. \
            What you spent stays on record for the instance's usage, under "\(AccountStore.deletedUserName)".</p>
            <form method="post" action="\(Route.accounts(.deleteAccount).path)">\(Views.csrfField(c))
            \(Views.textField("Your password", name: "password", type: "password", required: true, autocomplete: "current-password"))
            <button type="submit" class="danger">Delete my account</button></form>
            <p><a href="\(Route.accounts(.account).path)">Keep my account</a></p></section>
            """
        return .html(Views.layout("Delete your account", c, body: body), status: status)
    }

    static func delete(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        if let (message, status) = try checkPassword(c, user: user, try c.form()["password"] ?? "") {
            return try deletePage(&c, user: user, error: message, status: status)
        }
        if let refusal = try deleteAccount(c, userID: user.id) {
            return try deletePage(&c, user: user, error: refusal, status: 409)
        }
        Log.info("account deleted by its user", ["user_id": "\(user.id)", "request_id": "\(c.request.requestID)"])
        try c.signOut()
        c.setFlash("Your account is deleted.")
        return .redirect(to: Route.accounts(.login).path)
    }

    /// Deletes the account (the user's own click or an admin's); nil when done, else why not. No such account
    /// is a 404.
    static func deleteAccount(_ c: Context, userID: ID<User>) throws -> String? {
        switch try accounts(c).deleteAccount(userID: userID) {
        case .deleted:
            c.cache?.invalidate(.everything)
            return nil
        case .noSuchUser: throw HTTPError.notFound("No such user.")
        case .lastAdmin: return "This is the only enabled admin account: make another account admin first."
        case let .refused(refusal):
            return
                "A project still has work running (\(refusal.httpError.publicMessage)): wait for it or cancel it first."
        }
    }

    // MARK: Reset links

    /// GET /password-reset?token=…: the form, or why the link does not work.
    static func resetForm(_ c: inout Context) throws -> Response {
        let token = c.request.query["token"] ?? ""
        guard let email = try accounts(c).resetEmail(token: token) else { return deadLink(c) }
        return resetPage(&c, token: token, email: email, error: nil, status: 200)
    }

    static func reset(_ c: inout Context) throws -> Response {
        let form = try c.form()
        let token = form["token"] ?? ""
        guard let email = try accounts(c).resetEmail(token: token) else { return deadLink(c) }
        do {
            let password = try Field.newPassword(form["password"])
            guard let hash = Crypto.hashPassword(password) else {
                throw HTTPError(500, "internal_error", "Could not secure the password.")
            }
            guard let userID = try accounts(c).useReset(token: token, hash: hash) else { return deadLink(c) }
            c.cache?.invalidate(.auth)
            Log.info(
                "password set through a reset link", ["user_id": "\(userID)", "request_id": "\(c.request.requestID)"])
            if c.user != nil { try c.signOut() }
            c.setFlash("Your password is set: log in with it.")
            return .redirect(to: Route.accounts(.login).path)
        } catch let error as InvalidInput {
            return resetPage(&c, token: token, email: email, error: error.description, status: 422)
        }
    }

    static func resetPage(_ c: inout Context, token: String, email: String, error: String?, status: Int) -> Response {
        let body: HTML = """
            <section class="narrow"><h1>Choose a new password</h1>\(Views.errorBox(error))
            <p>For <strong>\(email)</strong>. Every browser signed in to this account will be logged out.</p>
            <form method="post" action="\(Route.accounts(.passwordReset).path)">\(Views.csrfField(c))
            <input type="hidden" name="token" value="\(token)">
            \(Views.textField("New password", name: "password", type: "password", required: true, autocomplete: "new-password"))
            <p class="muted">At least \(PasswordStrength.minimumLength) characters, not a dictionary word or a simple pattern.</p>
            <button type="submit">Set the password</button></form></section>
            """
        return .html(Views.layout("Choose a new password", c, body: body), status: status)
    }

    /// Unknown, used and expired links get the same page: nothing tells them apart.
    static func deadLink(_ c: Context) -> Response {
        let body: HTML = """
            <section class="narrow"><h1>This link does not work</h1>
            <p>A password link works once, for an hour. Ask an administrator for a new one.</p>
            <p><a href="\(Route.accounts(.login).path)">Log in</a></p></section>
            """
        return .html(Views.layout("This link does not work", c, body: body), status: 404)
    }

    /// GET /forgot-password: with a mail relay, a form that mails a link; without one, the way is an administrator.
    static func forgotForm(_ c: inout Context) throws -> Response {
        forgotPage(&c, email: "", error: nil, status: 200)
    }

    static func forgotPage(_ c: inout Context, email: String, error: String?, status: Int) -> Response {
        let body: HTML
        if c.config.mailEnabled {
            body = """
                <section class="narrow"><h1>Forgot your password?</h1>\(Views.errorBox(error))
                <p>We mail a link to the address of your account: it lets you choose a new password, works once, and \
                expires after an hour.</p>
                <form method="post" action="\(Route.accounts(.forgotPassword).path)">\(Views.csrfField(c))
                \(Views.textField("Email", name: "email", value: email, type: "email", required: true, maxLength: 254, autocomplete: "email"))
                <button type="submit">Mail me a link</button></form>
                <p><a href="\(Route.accounts(.login).path)">Log in</a></p></section>
                """
        } else {
            body = """
                <section class="narrow"><h1>Forgot your password?</h1>
                <p>Ask an administrator of this PromptReel for a reset link: it lets you choose a new password, works \
                once, and expires after an hour.</p>
                <p><a href="\(Route.accounts(.login).path)">Log in</a></p></section>
                """
        }
        return .html(Views.layout("Forgot your password?", c, body: body), status: status)
    }

    /// POST /forgot-password `email`: queues a mail with a one-time link when an enabled account has that address.
    /// The answer is the same whether or not one has (and the one statement that queues it runs either way); an
    /// account gets three such mails an hour at most, a client address ten requests. Without a mail relay it is
    /// the page that says to ask an administrator.
    static func forgot(_ c: inout Context) throws -> Response {
        guard c.config.mailEnabled else { return forgotPage(&c, email: "", error: nil, status: 200) }
        let form = try c.form()
        let rawEmail = form["email"] ?? ""
        let address = c.request.remoteAddress
        do {
            try c.store.countAttempt(
                .passwordReset, address: address, limit: c.config.resetRequestsPerAddressPerHour)
            let email = try Field.email(rawEmail)
            let queued = try MailOutbox(db: c.db).queueReset(email: email)
            Log.info("password reset requested", ["queued": "\(queued)", "request_id": "\(c.request.requestID)"])
            c.setFlash(
                "If an account uses \(email), a link to choose a new password is on its way there. It works once, for an hour."
            )
            return .redirect(to: Route.accounts(.login).path)
        } catch let error as InvalidInput {
            return forgotPage(&c, email: rawEmail, error: error.description, status: 422)
        } catch let throttled as AddressThrottled {
            let wait = max(1, Int(throttled.secondsUntilFree.rounded(.up)))
            Log.info(
                "password reset requests throttled for address \(address)", ["request_id": "\(c.request.requestID)"])
            var response = forgotPage(
                &c, email: rawEmail,
                error:
                    "Too many password links were asked for from your address. Try again in \(Formatting.duration(seconds: Int64(wait))).",
                status: 429)
            response.addHeader("Retry-After", String(wait))
            return response
        }
    }
}
