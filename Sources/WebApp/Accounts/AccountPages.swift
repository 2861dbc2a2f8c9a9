// Sign up, log in, log out, and the account page with personal API tokens.

import Core
import Formats
import Postgres
import Telemetry
import Web

enum AccountPages {
    static func loginForm(_ c: inout Context) throws -> Response {
        if c.user != nil { return .redirect(to: Route.library(.dashboard).path) }
        return page(&c, login: true, email: "", error: nil, status: 200)
    }

    static func signupForm(_ c: inout Context) throws -> Response {
        if c.user != nil { return .redirect(to: Route.library(.dashboard).path) }
        guard c.config.signupEnabled else {
            throw HTTPError(
                403, "signup_disabled", "Sign-up is turned off on this server. Ask its operator for an account.")
        }
        return page(&c, login: false, email: "", error: nil, status: 200)
    }

    /// Throttled by (account, address) and by address, never by account alone: someone else's wrong
    /// passwords cannot lock the right one out. Past the limit each further failure doubles the wait
    /// (30 s up to 15 min); a throttled try answers 429 with `Retry-After` at once, never sleeping.
    static func login(_ c: inout Context) throws -> Response {
        let form = try c.form()
        let email = (form["email"] ?? "").trimmingWhitespace
        let password = form["password"] ?? ""
        let address = c.request.remoteAddress
        let wait = try admitPasswordAttempt(c, email: email)
        if wait > 0 {
            Log.info("login throttled for address \(address)", ["request_id": "\(c.request.requestID)"])
            var response = page(
                &c, login: true, email: email,
                error: "Too many failed attempts. Wait \(Formatting.duration(seconds: Int64(wait))) and try again.",
                status: 429)
            response.addHeader("Retry-After", String(wait))
            return response
        }
        let found = try c.store.userWithPassword(email: email)
        // Verify against a decoy hash for unknown emails so timing does not reveal which exist.
        let valid = Crypto.verifyPassword(password, hash: found?.1 ?? Crypto.decoyHash) && found != nil
        guard valid, let (user, _, disabled) = found else {
            // Already counted by admitLoginAttempt.
            return page(&c, login: true, email: email, error: "That email and password do not match.", status: 401)
        }
        try c.store.clearLoginFailures(email: email, address: address)
        // Only someone who knows the password learns that the account is disabled.
        if disabled {
            return page(
                &c, login: true, email: email, error: "This account is disabled. Ask an administrator.", status: 403)
        }
        try c.signIn(user)
        return .redirect(to: safeNext(c.request.query["next"]))
    }

    /// Counts a password attempt for (email, address) before the password is checked; the seconds the caller
    /// must still wait (0: go on). Log-ins and every form that asks for the current password share it.
    static func admitPasswordAttempt(_ c: Context, email: String) throws -> Int {
        let (perAccount, perAddress) = (c.config.loginFailuresPerAccount, c.config.loginFailuresPerAddress)
        return try c.store.admitLoginAttempt(
            email: email, address: c.request.remoteAddress, minutes: c.config.loginWindowMinutes
        ) { f in
            max(
                retryAfter(failures: f.pair, limit: perAccount, since: f.pairSecondsSinceLast),
                retryAfter(failures: f.address, limit: perAddress, since: f.addressSecondsSinceLast))
        }
    }

    /// What the user's uploads take of their storage quota (distinct files: a copied video's image is one).
    static func storageLine(_ c: Context, user: User) throws -> HTML {
        let use = try ReferencePages.images(c).storageUse(userID: user.id)
        return
            "<p>Your uploads take <strong>\(Formatting.bytes(use.usedBytes))</strong> of your \(Formatting.bytes(use.quotaBytes)) storage quota.</p>"
    }

    /// Seconds still to wait: none below the limit, then 30 s after the latest failure, doubling with
    /// each failure past the limit, at most 15 minutes.
    static func retryAfter(failures: Int64, limit: Int, since: Double) -> Int {
        guard failures >= Int64(limit) else { return 0 }
        let doublings = min(failures - Int64(limit), 5)
        let delay = min(30 << doublings, 15 * 60)
        return max(0, Int((Double(delay) - since).rounded(.up)))
    }

    static let signedUpNotice = "If this address was new, your account is ready: log in."

    static func signup(_ c: inout Context) throws -> Response {
        guard c.config.signupEnabled else {
            throw HTTPError(
                403, "signup_disabled", "Sign-up is turned off on this server. Ask its operator for an account.")
        }
        let form = try c.form()
        let rawEmail = form["email"] ?? ""
        let address = c.request.remoteAddress
        do {
            // Every attempt counts toward the address's limit (counted under a lock, so parallel ones cannot pass
            // it), before anything costly; then the cheap checks; then the password hash, which runs whether or
            // not the address has an account, so neither the answer nor its time tells which.
            try c.store.countAttempt(.signup, address: address, limit: c.config.signupsPerAddressPerHour)
            let email = try Field.email(rawEmail)
            let password = try Field.newPassword(form["password"])
            guard let hash = Crypto.hashPassword(password) else {
                throw HTTPError(500, "internal_error", "Could not secure the password.")
            }
            if try c.store.createUserIfNew(email: email, passwordHash: hash) == nil {
                Log.info("sign-up for an existing account", ["request_id": "\(c.request.requestID)"])
            }
            // Sign-up never signs in: the same answer for a new account and an existing one.
            c.setFlash(AccountPages.signedUpNotice)
            return .redirect(to: Route.accounts(.login).path)
        } catch let error as InvalidInput {
            return page(&c, login: false, email: rawEmail, error: error.description, status: 422)
        } catch let throttled as AddressThrottled {
            let wait = max(1, Int(throttled.secondsUntilFree.rounded(.up)))
            Log.info("sign-up throttled for address \(address)", ["request_id": "\(c.request.requestID)"])
            var response = page(
                &c, login: false, email: rawEmail,
                error:
                    "Too many accounts were created from your address. Try again in \(Formatting.duration(seconds: Int64(wait))).",
                status: 429)
            response.addHeader("Retry-After", String(wait))
            return response
        }
    }

    static func logout(_ c: inout Context) throws -> Response {
        try c.signOut()
        c.setFlash("You are logged out.")
        return .redirect(to: Route.accounts(.login).path)
    }

    static func account(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        return try accountPage(&c, user: user, newToken: nil, error: nil, status: 200)
    }

    static func createToken(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        do {
            let form = try c.form()
            let name = try Field.text(form["name"], name: "name", max: 100, required: true)
            guard let scope = TokenScope(rawValue: form["scope"] ?? TokenScope.full.rawValue) else {
                throw InvalidInput(field: "scope", "must be read or full")
            }
            let token = "pr_" + Crypto.randomToken()
            try c.store.createAPIToken(userID: user.id, name: name, tokenHash: Crypto.sha256(token), scope: scope)
            // Shown once, on this response only; never stored in clear or put in a redirect.
            return try accountPage(&c, user: user, newToken: token, error: nil, status: 201)
        } catch let error as InvalidInput {
            return try accountPage(&c, user: user, newToken: nil, error: error.description, status: 422)
        }
    }

    /// POST /account/preferences (refresh_pages=on|off). Anything else is a 422 on the account page.
    static func savePreferences(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        let on: Bool
        switch try c.form()["refresh_pages"] {
        case "on"?: on = true
        case "off"?: on = false
        default:
            return try accountPage(
                &c, user: user, newToken: nil, error: "Choose whether pages refresh automatically: on or off.",
                status: 422)
        }
        guard try c.store.setRefreshPages(userID: user.id, on) else { throw HTTPError.notFound("No such user.") }
        // The users trigger tells every process; this one drops its cached sessions at once, so the next page
        // (the redirect below) already follows the new choice.
        c.cache?.invalidate(.auth)
        c.setFlash(
            on
                ? "Pages that follow a running job refresh themselves again."
                : "Pages no longer refresh themselves: use Check again on them.")
        return .redirect(to: Route.accounts(.account).path)
    }

    static func deleteToken(_ c: inout Context, id: ID<APIToken>) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.deleteAPIToken(id: id, userID: user.id) else { throw HTTPError.notFound("No such token.") }
        c.setFlash("Token revoked.")
        return .redirect(to: Route.accounts(.account).path)
    }

    /// Only local paths, so `next` cannot send a user to another site.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), Route(path: next) != nil
        else {
            return Route.library(.dashboard).path
        }
        return next
    }

    static func page(_ c: inout Context, login: Bool, email: String, error: String?, status: Int) -> Response {
        let title = login ? "Log in" : "Sign up"
        let action =
            login
            ? Route.accounts(.login).path
                + (c.request.query["next"].map { "?next=" + URLEncoding.encode(safeNext($0)) } ?? "")
            : Route.accounts(.signup).path
        let other: HTML =
            login
            ? (c.config.signupEnabled
                ? "<p>New here? <a href=\"\(Route.accounts(.signup).path)\">Create an account</a>.</p>" : .empty)
            : "<p>Have an account? <a href=\"\(Route.accounts(.login).path)\">Log in</a>.</p>"
        let forgot: HTML =
            login ? "<p><a href=\"\(Route.accounts(.forgotPassword).path)\">Forgot your password?</a></p>" : .empty
        let body: HTML = """
            <section class="narrow"><h1>\(title)</h1>\(Views.errorBox(error))
            <form method="post" action="\(action)">\(Views.csrfField(c))
            \(Views.textField("Email", name: "email", value: email, type: "email", required: true, maxLength: 254, autocomplete: "email"))
            \(Views.textField("Password", name: "password", type: "password", required: true, autocomplete: login ? "current-password" : "new-password"))\(login ? HTML.empty : "<p class=\"muted\">At least \(PasswordStrength.minimumLength) characters, not a dictionary word or a simple pattern.</p>")
            <button type="submit">\(title)</button>
            </form>\(forgot)\(other)</section>
            """
        return .html(Views.layout(title, c, body: body), status: status)
    }

    static func accountPage(_ c: inout Context, user: User, newToken: String?, error: String?, status: Int) throws
        -> Response
    {
        let page = try c.store.apiTokens(
            userID: user.id, page: PageRequest.forPage(c.request.query, list: .tokens, scope: 0, userID: user.id))
        let tokens = page.items
        let shown: HTML =
            newToken.map {
                """
                <div class="notice" role="status"><p>Your new API token. Copy it now: it will not be shown again.</p>
                <p><code class="token">\($0)</code></p></div>
                """
            } ?? .empty
        let rows: [HTML] = tokens.map { t in
            """
            <tr><td>\(t.name)</td><td>\(t.scope == .read ? "read only" : "full")</td><td>\(Views.when(t.createdAt))</td><td>\(t.lastUsedAt.map(Views.when) ?? "never")</td>
            <td><form method="post" action="\(Route.accounts(.deleteToken(t.id)).path)">\(Views.csrfField(c))<button type="submit" class="danger">Revoke</button></form></td></tr>
            """
        }
        let table: HTML =
            tokens.isEmpty
            ? "<p class=\"muted\">No tokens yet.</p>"
            : """
            <table><thead><tr><th scope="col">Name</th><th scope="col">Scope</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """ + page.links(path: Route.accounts(.account).path, \.id, list: .tokens, scope: 0, userID: user.id)
        let body: HTML = """
            <h1>Account</h1><p>Signed in as <strong>\(user.email)</strong>.</p>\(user.isAdmin ? "<p>You are an admin: <a href=\"\(Route.admin(.adminUsers).path)\">manage users</a>.</p>" : HTML.empty)\(try Budgets(db: c.db).accountLine(userID: user.id))\(try storageLine(c, user: user))
            <p><a href="\(Route.webhooks(.webhooks).path)">Webhooks</a>: get a signed request when a generation completes or fails.</p>
            \(preferencesForm(c, user: user))
            <h2>API tokens</h2>
            <p>Send a token as <code>Authorization: Bearer …</code> to use the JSON API \
            (<a href="\(Route.openAPIDocumentPath)">its OpenAPI document</a>).</p>\(shown)\(Views.errorBox(error))
            \(table)
            <form method="post" action="\(Route.accounts(.tokens).path)" class="row">\(Views.csrfField(c))
            \(Views.textField("Token name", name: "name", required: true, maxLength: 100))
            <label>Scope <select name="scope"><option value="full" selected>full: read and change</option>\
            <option value="read">read only: refused on every change</option></select></label>
            <button type="submit">Create token</button></form>
            \(try AccountSecurityPages.sections(c, user: user))
            """
        return .html(Views.layout("Account", c, body: body), status: status)
    }

    /// The account's preferences: for now, whether pages that follow a running job refresh themselves.
    static func preferencesForm(_ c: Context, user: User) -> HTML {
        func choice(_ value: String, _ label: String, checked: Bool) -> HTML {
            let mark: HTML = checked ? " checked" : .empty
            return
                "<label class=\"choice\"><input type=\"radio\" name=\"refresh_pages\" value=\"\(value)\"\(mark)> \(label)</label>"
        }
        return """
            <h2 id="preferences">Preferences</h2>
            <form method="post" action="\(Route.accounts(.accountPreferences).path)">\(Views.csrfField(c))
            <fieldset aria-describedby="refresh-hint"><legend>Refresh pages automatically</legend>
            <small id="refresh-hint">Pages that follow a running generation, roundtable or webhook delivery reload themselves every few seconds. \
            When off, they show a Check again button instead.</small>
            \(choice("on", "On", checked: user.refreshPages))
            \(choice("off", "Off", checked: !user.refreshPages))
            </fieldset>
            <button type="submit">Save preferences</button></form>
            """
    }
}
