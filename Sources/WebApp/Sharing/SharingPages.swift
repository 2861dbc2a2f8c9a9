// The members page of a project (who is in it with which role; owners invite, change roles, remove and revoke)
// and the answers to invitations from the dashboard. The route table checks the role (`SharingRoute.access`);
// these pages only show what the caller's role may use.

import Core
import Telemetry
import Web

enum SharingPages {
    /// GET /dashboard/projects/{id}/members
    static func members(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        return try page(c, user: user, projectID: project, email: "", role: .viewer, error: nil, status: 200)
    }

    static func page(
        _ c: Context, user: User, projectID: ID<Project>, email: String, role invitedRole: ProjectRole, error: String?,
        status: Int
    ) throws -> Response {
        guard let project = try c.store.project(id: projectID, userID: user.id) else {
            throw HTTPError.notFound("No such project.")
        }
        let members = try SharingAPI.members(c).members(projectID: projectID)
        let owner = project.role.canManage
        let rows: [HTML] = members.map { m in
            let you: HTML = m.userID == user.id ? " <span class=\"muted\">(you)</span>" : .empty
            var actions: [HTML] = []
            if owner {
                actions.append(
                    """
                    <form method="post" action="\(Route.sharing(.memberRole(project: projectID, user: m.userID)).path)" class="inline">\(Views.csrfField(c))\
                    <select id="role-\(m.userID)" name="role" aria-label="Role of \(m.email)">\(roleOptions(selected: m.role))</select> <button type="submit">Change role</button></form>
                    """)
            }
            if owner || m.userID == user.id {
                actions.append(
                    """
                    <form method="post" action="\(Route.sharing(.removeMember(project: projectID, user: m.userID)).path)" class="inline">\(Views.csrfField(c))\
                    <button type="submit" class="danger">\(m.userID == user.id ? "Leave the project" : "Remove")</button></form>
                    """)
            }
            return """
                <tr><td>\(m.email)\(you)</td><td>\(m.role.rawValue)</td><td>\(Views.when(m.addedAt))</td><td>\(actions.joined(separator: " "))</td></tr>
                """
        }
        var owners: HTML = .empty
        if owner {
            let invitations: [HTML] = try SharingAPI.members(c).pendingInvitations(projectID: projectID).map { i in
                """
                <tr><td>\(i.email)</td><td>\(i.role.rawValue)</td><td>\(Views.when(i.expiresAt))</td>\
                <td><form method="post" action="\(Route.sharing(.revokeInvitation(project: projectID, invitation: i.id)).path)" class="inline">\(Views.csrfField(c))\
                <button type="submit" class="danger">Revoke</button></form></td></tr>
                """
            }
            let pending: HTML =
                invitations.isEmpty
                ? "<p class=\"muted\">No invitations waiting for an answer.</p>"
                : """
                <table><thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Expires</th>\
                <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>\(invitations)</tbody></table>
                """
            owners = """
                <h2>Invite someone</h2>\(Views.errorBox(error))
                <p class="muted">\(c.config.mailEnabled ? "It is mailed to them, and they" : "They") see the invitation on their \
                dashboard once they log in with this email (or sign up with it) and have \(Members.invitationDays) days to accept. Viewers see and download; editors also change videos and \
                generate (spending their own budget); owners also manage members, rename and delete.</p>
                <form method="post" action="\(Route.sharing(.members(project: projectID)).path)">\(Views.csrfField(c))
                \(Views.textField("Email", name: "email", value: email, type: "email", required: true, maxLength: 254))
                <label for="invite-role">Role</label><select id="invite-role" name="role">\(roleOptions(selected: invitedRole))</select>
                <button type="submit">Invite</button></form>
                <h2>Pending invitations</h2>\(pending)
                """
        }
        let body: HTML = """
            \(Breadcrumbs.project(id: projectID, name: project.name).html)
            <h1>Members</h1>
            <p>Your role: <strong>\(project.role.rawValue)</strong>.</p>
            <table><thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Added</th>\
            <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>\(rows)</tbody></table>
            \(owners)
            """
        return .html(Views.layout("Members of \(project.name)", c, body: body), status: status)
    }

    static func roleOptions(selected: ProjectRole) -> HTML {
        let options: [HTML] = ProjectRole.allCases.map {
            "<option value=\"\($0.rawValue)\"\($0 == selected ? " selected" : HTML.empty)>\($0.rawValue)</option>"
        }
        return options.joined()
    }

    static func role(_ form: Form) throws -> ProjectRole {
        guard let role = form["role"].flatMap(ProjectRole.init(rawValue:)) else {
            throw InvalidInput(field: "role", "must be viewer, editor or owner")
        }
        return role
    }

    /// POST /dashboard/projects/{id}/members: `email`, `role`. The same page whether or not the address has an
    /// account.
    static func invite(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        let form = try c.form()
        do {
            let email = try Field.email(form["email"] ?? "")
            let role = try role(form)
            let invited = try SharingAPI.members(c).invite(projectID: project, email: email, role: role, by: user.id)
            Log.info("invitation", ["project_id": "\(project)", "user_id": "\(user.id)"])
            c.setFlash(
                invited.mailed
                    ? "Invitation mailed to \(email) as \(role.rawValue)."
                    : "\(email) is invited as \(role.rawValue): they see it on their dashboard once they log in with that address."
            )
            return .redirect(to: Route.sharing(.members(project: project)).path)
        } catch let error as InvalidInput {
            return try page(
                c, user: user, projectID: project, email: form["email"] ?? "",
                role: form["role"].flatMap(ProjectRole.init(rawValue:)) ?? .viewer, error: error.description,
                status: 422)
        }
    }

    /// POST /dashboard/projects/{id}/members/{userId}: `role`.
    static func setRole(_ c: inout Context, project: ID<Project>, member: ID<User>) throws -> Response {
        _ = try c.requireUser()
        let role = try role(try c.form())
        try SharingAPI.outcome(SharingAPI.members(c).setRole(projectID: project, userID: member, role))
        c.cache?.invalidate(.everything)
        c.setFlash("Role changed to \(role.rawValue).")
        return .redirect(to: Route.sharing(.members(project: project)).path)
    }

    /// POST /dashboard/projects/{id}/members/{userId}/remove: an owner removes anyone; a member leaves.
    static func remove(_ c: inout Context, project: ID<Project>, member: ID<User>) throws -> Response {
        let user = try c.requireUser()
        if member != user.id { try SharingAPI.requireOwner(c, project: project, user: user) }
        try SharingAPI.outcome(SharingAPI.members(c).remove(projectID: project, userID: member))
        c.cache?.invalidate(.everything)
        if member == user.id {
            c.setFlash("You left the project.")
            return .redirect(to: Route.library(.dashboard).path)
        }
        c.setFlash("Member removed.")
        return .redirect(to: Route.sharing(.members(project: project)).path)
    }

    /// POST /dashboard/projects/{id}/invitations/{invitationId}/revoke
    static func revoke(_ c: inout Context, project: ID<Project>, invitation: ID<Invitation>) throws -> Response {
        _ = try c.requireUser()
        guard try SharingAPI.members(c).revoke(id: invitation, projectID: project) else {
            throw HTTPError.notFound("No such invitation.")
        }
        c.setFlash("Invitation revoked.")
        return .redirect(to: Route.sharing(.members(project: project)).path)
    }

    /// POST /dashboard/invitations/{id}/accept|decline
    static func answer(_ c: inout Context, id: ID<Invitation>, accept: Bool) throws -> Response {
        let user = try c.requireUser()
        if accept {
            guard let project = try SharingAPI.members(c).accept(id: id, user: user) else {
                throw HTTPError.notFound("No such invitation.")
            }
            c.cache?.invalidate(.everything)
            c.setFlash("Invitation accepted.")
            return .redirect(to: Route.library(.project(project)).path)
        }
        guard try SharingAPI.members(c).decline(id: id, user: user) else {
            throw HTTPError.notFound("No such invitation.")
        }
        c.setFlash("Invitation declined.")
        return .redirect(to: Route.library(.dashboard).path)
    }

    /// The dashboard's list of invitations waiting for the user, with Accept and Decline.
    static func invitationsSection(_ c: Context, user: User) throws -> HTML {
        let invitations = try SharingAPI.members(c).invitations(email: user.email)
        guard !invitations.isEmpty else { return .empty }
        let items: [HTML] = invitations.map { i in
            let by: HTML = i.invitedBy.map { " by \($0)" } ?? .empty
            return """
                <li><strong>\(i.projectName)</strong> as \(i.role.rawValue)\(by) <span class="muted">(until \(Views.when(i.expiresAt)))</span>
                <form method="post" action="\(Route.sharing(.acceptInvitation(i.id)).path)" class="inline">\(Views.csrfField(c))<button type="submit">Accept</button></form>
                <form method="post" action="\(Route.sharing(.declineInvitation(i.id)).path)" class="inline">\(Views.csrfField(c))<button type="submit" class="link">Decline</button></form></li>
                """
        }
        return "<h2>Invitations</h2><ul>\(items)</ul>"
    }
}
