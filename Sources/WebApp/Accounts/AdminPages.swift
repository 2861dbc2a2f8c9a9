// Administration of accounts: the user list with roles and disabled accounts, and the forms that
// change them. Every admin page is a 404 to members, as if it did not exist.

import Core
import Formats
import Postgres
import Telemetry
import Web

enum AdminPages {
    static func users(_ c: inout Context) throws -> Response {
        let admin = try c.requireAdmin()
        return try usersPage(&c, admin: admin, error: nil, status: 200)
    }

    /// The link a reset token opens, on the host this admin is using.
    static func resetLink(_ c: Context, token: String) -> String {
        let host = c.request.header("host") ?? "localhost"
        return (c.request.isHTTPS ? "https://" : "http://") + host + Route.accounts(.passwordReset).path + "?token="
            + token
    }

    /// POST `action=disable|enable`, `action=role` with `role=member|admin`, `action=reset-link` (the page shows a
    /// one-time link, once) or `action=delete`. An admin cannot disable, demote or delete themselves here, so an
    /// instance always keeps the admin who is using it (their own account page deletes it).
    static func change(_ c: inout Context, id: ID<User>) throws -> Response {
        let admin = try c.requireAdmin()
        let form = try c.form()
        let action = form["action"] ?? ""
        if id == admin.id,
            ["disable", "delete"].contains(action) || (action == "role" && form["role"] != Role.admin.rawValue)
        {
            return try usersPage(
                &c, admin: admin, error: "You cannot disable, demote or delete your own account here.", status: 422)
        }
        do {
            switch action {
            case "reset-link":
                guard let token = try AccountSecurityPages.accounts(c).createReset(userID: id, by: admin.id) else {
                    throw Accounts.Failure.noSuchUser
                }
                Log.info("password reset link made", ["user_id": "\(id)", "by": "\(admin.id)"])
                return try usersPage(
                    &c, admin: admin, error: nil, status: 201, resetLink: (id, resetLink(c, token: token)))
            case "delete":
                // Irreversible: the first click asks again, naming the account and what goes with it.
                guard form["confirm"] == "yes" else { return try confirmDeletion(&c, id: id) }
                if let refusal = try AccountSecurityPages.deleteAccount(c, userID: id) {
                    return try usersPage(&c, admin: admin, error: refusal, status: 409)
                }
                Log.info("account deleted by an admin", ["user_id": "\(id)", "by": "\(admin.id)"])
                c.setFlash("Account deleted.")
            case "disable", "enable":
                try Accounts.setDisabled(c.db, userID: id, disabled: action == "disable", cache: c.cache)
                c.setFlash(
                    action == "disable" ? "User disabled: their sessions and tokens no longer work." : "User enabled.")
            case "role":
                guard let role = form["role"].flatMap(Role.init(rawValue:)) else {
                    throw InvalidInput(field: "role", "must be member or admin")
                }
                try Accounts.setRole(c.db, userID: id, role: role, cache: c.cache)
                c.setFlash("Role changed to \(role.rawValue).")
            default:
                throw InvalidInput(field: "action", "must be disable, enable, role, reset-link or delete")
            }
        } catch Accounts.Failure.noSuchUser {
            throw HTTPError.notFound("No such user.")
        } catch Accounts.Failure.lastAdmin {
            return try usersPage(
                &c, admin: admin, error: "That would leave no enabled admin: make another account admin first.",
                status: 409)
        } catch let error as InvalidInput {
            return try usersPage(&c, admin: admin, error: error.description, status: 422)
        }
        return .redirect(to: Route.admin(.adminUsers).path)
    }

    static func confirmDeletion(_ c: inout Context, id: ID<User>) throws -> Response {
        guard let (email, projects, handedOver) = try AccountSecurityPages.accounts(c).deletionSummary(userID: id)
        else {
            throw HTTPError.notFound("No such user.")
        }
        let kept: HTML =
            handedOver == 0
            ? .empty
            : " \(handedOver) project\(handedOver == 1 ? "" : "s") it shares with other owners stay\(handedOver == 1 ? "s" : "") with them."
        let body: HTML = """
            <section class="narrow"><h1>Delete the account \(email)?</h1>
            <p>The \(projects) project\(projects == 1 ? "" : "s") it alone owns, with their videos, prompts, roundtables, films \
            and media, are deleted.\(kept) Its sessions end, its API tokens and webhooks are revoked. It cannot be undone. What it spent stays \
            on record, under "\(AccountStore.deletedUserName)".</p>
            <form method="post" action="\(Route.admin(.adminUser(id)).path)">\(Views.csrfField(c))\
            <input type="hidden" name="action" value="delete"><input type="hidden" name="confirm" value="yes">\
            <button type="submit" class="danger">Delete the account</button></form>
            <p><a href="\(Route.admin(.adminUsers).path)">Keep it</a></p></section>
            """
        return .html(Views.layout("Delete the account?", c, body: body))
    }

    static func usersPage(
        _ c: inout Context, admin: User, error: String?, status: Int, resetLink: (ID<User>, String)? = nil
    ) throws -> Response {
        let rows: [HTML] = try c.store.users().map { row in
            let u = row.user
            if row.deleted {
                return """
                    <tr><td>\(AccountStore.deletedUserName) (#\(u.id))</td><td></td><td>deleted</td>\
                    <td>\(Views.when(row.createdAt))</td><td></td></tr>
                    """
            }
            let other: Role = u.isAdmin ? .member : .admin
            let toggle = row.disabled ? "enable" : "disable"
            let link: HTML =
                resetLink?.0 == u.id
                ? """
                <div class="notice" role="status"><p>A one-time link for \(u.email), valid for an hour. Copy it now: it will not be shown again.</p>
                <p><code class="token">\(resetLink?.1 ?? "")</code></p></div>
                """ : .empty
            let reset: HTML = """
                <form method="post" action="\(Route.admin(.adminUser(u.id)).path)" class="inline">\(Views.csrfField(c))\
                <input type="hidden" name="action" value="reset-link"><button type="submit">Reset link</button></form>\(link)
                """
            let actions: HTML =
                u.id == admin.id
                ? "<span class=\"muted\">you</span> \(reset)"
                : """
                <form method="post" action="\(Route.admin(.adminUser(u.id)).path)" class="inline">\(Views.csrfField(c))\
                <input type="hidden" name="action" value="role"><input type="hidden" name="role" value="\(other.rawValue)">\
                <button type="submit">Make \(other.rawValue)</button></form>
                <form method="post" action="\(Route.admin(.adminUser(u.id)).path)" class="inline">\(Views.csrfField(c))\
                <input type="hidden" name="action" value="\(toggle)">\
                <button type="submit"\(row.disabled ? HTML.empty : " class=\"danger\"")>\(row.disabled ? "Enable" : "Disable")</button></form>
                \(reset)
                <form method="post" action="\(Route.admin(.adminUser(u.id)).path)" class="inline">\(Views.csrfField(c))\
                <input type="hidden" name="action" value="delete">\
                <button type="submit" class="danger" aria-label="Delete the account \(u.email)">Delete</button></form>
                """
            return """
                <tr><td>\(u.email)</td><td>\(u.role.rawValue)</td><td>\(row.disabled ? "disabled" : "active")</td>\
                <td>\(Views.when(row.createdAt))</td><td>\(actions)</td></tr>
                """
        }
        let body: HTML = """
            <h1>Users</h1>\(Views.errorBox(error))
            <p>Disabling a user ends their sessions and stops their API tokens at once. A reset link lets a user choose \
            a new password (once, within an hour). Deleting an account deletes its projects and keeps what it spent, \
            under "\(AccountStore.deletedUserName)". <a href="\(Route.admin(.adminBudgets).path)">Budgets</a></p>
            <table><thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th>\
            <th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
        return .html(Views.layout("Users", c, body: body), status: status)
    }

    // MARK: Budgets

    static func budgets(_ c: inout Context) throws -> Response {
        _ = try c.requireAdmin()
        return try budgetsPage(c, error: nil, status: 200)
    }

    /// POST `user_id` (or none, for the instance cap) and `monthly`: dollars with at most 2 decimals,
    /// or empty for no limit.
    static func setBudget(_ c: inout Context) throws -> Response {
        _ = try c.requireAdmin()
        let form = try c.form()
        let text = (form["monthly"] ?? "").trimmingWhitespace
        let limit: USD?
        do { limit = try BudgetAdmin.limit(text.isEmpty ? "none" : text) } catch {
            return try budgetsPage(
                c,
                error: "monthly: an amount in dollars with at most 2 decimals (e.g. 50 or 12.40), or empty for none.",
                status: 422)
        }
        let budgets = Budgets(db: c.db)
        if let userText = form["user_id"], !userText.isEmpty {
            guard let id = Int64(userText), try budgets.setUser(id: ID(id), limit: limit) else {
                throw HTTPError.notFound("No such user.")
            }
        } else {
            try budgets.setInstance(limit: limit)
        }
        c.setFlash("Budget saved: \(limit?.display ?? "no limit").")
        return .redirect(to: Route.admin(.adminBudgets).path)
    }

    static func budgetsPage(_ c: Context, error: String?, status: Int) throws -> Response {
        let budgets = Budgets(db: c.db)
        func form(userID: ID<User>?, label: String, standing: BudgetStanding) -> HTML {
            let idField: HTML = userID.map { "<input type=\"hidden\" name=\"user_id\" value=\"\($0)\">" } ?? .empty
            let field = "monthly-\(userID.map(String.init) ?? "instance")"
            return """
                <form method="post" action="\(Route.admin(.adminBudgets).path)" class="inline">\(Views.csrfField(c))\(idField)\
                <label for="\(field)" class="visually-hidden">Monthly budget for \(label) (USD)</label>\
                <input id="\(field)" name="monthly" inputmode="decimal" size="8" value="\(standing.limit?.decimalText ?? "")" placeholder="none">\
                <button type="submit">Save</button></form>
                """
        }
        func row(_ label: String, userID: ID<User>?, _ s: BudgetStanding) -> HTML {
            "<tr><td>\(label)</td><td>\(s.spent.display)</td><td>\(s.remaining?.display ?? "no limit")</td><td>\(form(userID: userID, label: label, standing: s))</td></tr>"
        }
        var rows: [HTML] = [row("The instance (all users)", userID: nil, try budgets.instance())]
        for user in try c.store.users() {
            rows.append(row(user.user.email, userID: user.user.id, try budgets.user(user.user.id)))
        }
        let body: HTML = """
            \(Breadcrumbs([("Users", .admin(.adminUsers))]).html)
            <h1>Budgets</h1>\(Views.errorBox(error))
            <p>Monthly limits in USD for this UTC calendar month, by the time of each click (generations and
            roundtables; in-flight work counts at its estimate). Empty means no limit. A click that does not fit
            the user's budget or the instance's cap is refused before anything is sent.</p>
            <table><thead><tr><th scope="col">Who</th><th scope="col">Spent this month</th><th scope="col">Left</th>\
            <th scope="col">Monthly budget</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
        return .html(Views.layout("Budgets", c, body: body), status: status)
    }
}
