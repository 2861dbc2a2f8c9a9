// Administration of accounts: the user list with roles and disabled accounts, and the forms that
// change them. Every admin page is a 404 to members, as if it did not exist.

import Postgres
import Web

enum AdminPages {
    static func users(_ c: inout Context) throws -> Response {
        let admin = try c.requireAdmin()
        return try usersPage(&c, admin: admin, error: nil, status: 200)
    }

    /// POST `action=disable|enable`, or `action=role` with `role=member|admin`. An admin cannot
    /// disable or demote themselves, so an instance always keeps the admin who is using it.
    static func change(_ c: inout Context, id: Int64) throws -> Response {
        let admin = try c.requireAdmin()
        let form = try c.form()
        let action = form["action"] ?? ""
        if id == admin.id, action != "enable", !(action == "role" && form["role"] == Role.admin.rawValue) {
            return try usersPage(&c, admin: admin, error: "You cannot disable or demote your own account.", status: 422)
        }
        do {
            switch action {
            case "disable", "enable":
                try Accounts.setDisabled(c.db, userID: id, disabled: action == "disable", cache: c.cache)
                c.setFlash(action == "disable" ? "User disabled: their sessions and tokens no longer work." : "User enabled.")
            case "role":
                guard let role = form["role"].flatMap(Role.init(rawValue:)) else {
                    throw HTTPError.validation(field: "role", "must be member or admin")
                }
                try Accounts.setRole(c.db, userID: id, role: role, cache: c.cache)
                c.setFlash("Role changed to \(role.rawValue).")
            default:
                throw HTTPError.validation(field: "action", "must be disable, enable or role")
            }
        } catch Accounts.Failure.noSuchUser {
            throw HTTPError.notFound("No such user.")
        } catch let error as HTTPError where error.status == 422 {
            return try usersPage(&c, admin: admin, error: error.publicMessage, status: 422)
        }
        return .redirect(to: Route.adminUsers.path)
    }

    static func usersPage(_ c: inout Context, admin: User, error: String?, status: Int) throws -> Response {
        let rows: [HTML] = try c.store.users().map { row in
            let u = row.user
            let other: Role = u.isAdmin ? .member : .admin
            let toggle = row.disabled ? "enable" : "disable"
            let actions: HTML = u.id == admin.id ? "<span class=\"muted\">you</span>" : """
                <form method="post" action="\(Route.adminUser(u.id).path)" class="inline">\(Views.csrfField(c))\
                <input type="hidden" name="action" value="role"><input type="hidden" name="role" value="\(other.rawValue)">\
                <button type="submit">Make \(other.rawValue)</button></form>
                <form method="post" action="\(Route.adminUser(u.id).path)" class="inline">\(Views.csrfField(c))\
                <input type="hidden" name="action" value="\(toggle)">\
                <button type="submit"\(row.disabled ? HTML.empty : " class=\"danger\"")>\(row.disabled ? "Enable" : "Disable")</button></form>
                """
            return """
                <tr><td>\(u.email)</td><td>\(u.role.rawValue)</td><td>\(row.disabled ? "disabled" : "active")</td>\
                <td>\(Views.when(row.createdAt))</td><td>\(actions)</td></tr>
                """
        }
        let body: HTML = """
            <h1>Users</h1>\(Views.errorBox(error))
            <p>Disabling a user ends their sessions and stops their API tokens at once.</p>
            <table><thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th>\
            <th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
        return .html(Views.layout("Users", c, body: body), status: status)
    }
}
