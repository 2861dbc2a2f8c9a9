// The sharing JSON API: members and invitations of a project, and the caller's own invitations. A project the
// caller is not a member of is a 404; a member whose role may not do something gets a 403 `role_forbidden`.

import Core
import Formats
import Web

enum SharingAPI {
    static func members(_ c: Context) -> Members { Members(db: c.db, mail: c.config.mailEnabled) }

    /// The caller's role in the project; a 404 when they have none (someone else's project is invisible).
    static func role(_ c: Context, project: ID<Project>, user: User) throws -> ProjectRole {
        guard let role = try members(c).role(projectID: project, userID: user.id) else {
            throw HTTPError.notFound("No such project.")
        }
        return role
    }

    static func requireOwner(_ c: Context, project: ID<Project>, user: User) throws {
        guard try role(c, project: project, user: user).canManage else {
            throw HTTPError(403, "role_forbidden", "Only the project's owners manage its members.")
        }
    }

    static func json(_ m: Member) -> JSON {
        .object([
            ("userId", .id(m.userID)), ("email", .string(m.email)), ("role", .string(m.role.rawValue)),
            ("addedAt", .string(m.addedAt.iso)),
        ])
    }

    static func json(_ i: Invitation) -> JSON {
        .object([
            ("id", .id(i.id)), ("projectId", .id(i.projectID)), ("projectName", .string(i.projectName)),
            ("email", .string(i.email)), ("role", .string(i.role.rawValue)),
            ("invitedBy", i.invitedBy.map(JSON.string) ?? .null), ("createdAt", .string(i.createdAt.iso)),
            ("expiresAt", .string(i.expiresAt.iso)),
        ])
    }

    /// GET /api/projects/{id}/members
    static func members(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        let role = try role(c, project: project, user: user)
        let invitations = role.canManage ? try members(c).pendingInvitations(projectID: project) : []
        return .json(
            .object([
                ("role", .string(role.rawValue)),
                ("members", .array(try members(c).members(projectID: project).map(json))),
                ("invitations", .array(invitations.map(json))),
            ]))
    }

    static func projectRole(_ doc: JSONDocument) throws -> ProjectRole {
        guard let role = doc.root["role"]?.stringValue.flatMap(ProjectRole.init(rawValue:)) else {
            throw InvalidInput(field: "role", "must be viewer, editor or owner")
        }
        return role
    }

    /// POST /api/projects/{id}/members {"email", "role"} → 202 {"invitationId"}: the same whether or not an
    /// account has that address.
    static func invite(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        try requireOwner(c, project: project, user: user)
        let doc = try Field.jsonObject(Field.jsonBody(c.request))
        let email = try Field.email(doc.root["email"]?.stringValue ?? "")
        let id = try members(c).invite(projectID: project, email: email, role: try projectRole(doc), by: user.id).id
        return .json(.object([("invitationId", .id(id))]), status: 202)
    }

    /// PATCH /api/projects/{id}/members/{userId} {"role"}
    static func setRole(_ c: inout Context, project: ID<Project>, member: ID<User>) throws -> Response {
        let user = try c.requireUser()
        try requireOwner(c, project: project, user: user)
        let role = try projectRole(Field.jsonObject(Field.jsonBody(c.request)))
        try outcome(members(c).setRole(projectID: project, userID: member, role))
        c.cache?.invalidate(.everything)
        return try members(&c, project: project)
    }

    /// DELETE /api/projects/{id}/members/{userId}: an owner removes anyone; a member may leave.
    static func remove(_ c: inout Context, project: ID<Project>, member: ID<User>) throws -> Response {
        let user = try c.requireUser()
        if member != user.id {
            try requireOwner(c, project: project, user: user)
        } else {
            _ = try role(c, project: project, user: user)
        }
        try outcome(members(c).remove(projectID: project, userID: member))
        c.cache?.invalidate(.everything)
        return Response(status: 204)
    }

    static func outcome(_ change: Members.Change) throws {
        switch change {
        case .done: return
        case .notFound: throw HTTPError.notFound("No such member.")
        case .lastOwner:
            throw HTTPError(409, "last_owner", "A project keeps at least one owner: make someone else an owner first.")
        }
    }

    /// DELETE /api/projects/{id}/invitations/{invitationId}
    static func revoke(_ c: inout Context, project: ID<Project>, invitation: ID<Invitation>) throws -> Response {
        let user = try c.requireUser()
        try requireOwner(c, project: project, user: user)
        guard try members(c).revoke(id: invitation, projectID: project) else {
            throw HTTPError.notFound("No such invitation.")
        }
        return Response(status: 204)
    }

    /// GET /api/invitations
    static func invitations(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        return .json(.object([("invitations", .array(try members(c).invitations(email: user.email).map(json)))]))
    }

    /// POST /api/invitations/{id}/accept|decline: someone else's invitation (or none) is a 404.
    static func answer(_ c: inout Context, id: ID<Invitation>, accept: Bool) throws -> Response {
        let user = try c.requireUser()
        if accept {
            guard let project = try members(c).accept(id: id, user: user) else {
                throw HTTPError.notFound("No such invitation.")
            }
            c.cache?.invalidate(.everything)
            return .json(.object([("projectId", .id(project)), ("status", .string("accepted"))]))
        }
        guard try members(c).decline(id: id, user: user) else { throw HTTPError.notFound("No such invitation.") }
        return .json(.object([("status", .string("declined"))]))
    }
}
