// The sharing area's routes: a project's members and invitations (API and pages), and the invitations waiting
// for the signed-in user.

package import Core
import Web

package enum SharingRoute: Equatable, Sendable {
    /// GET: the members (owners also see pending invitations); POST {"email", "role"}: invite (owners).
    case apiProjectMembers(project: ID<Project>)
    /// PATCH {"role"}: change a member's role; DELETE: remove them (owners; a member may remove themselves).
    case apiProjectMember(project: ID<Project>, user: ID<User>)
    /// DELETE: revoke a pending invitation (owners).
    case apiProjectInvitation(project: ID<Project>, invitation: ID<Invitation>)
    /// GET: the invitations waiting for the caller.
    case apiInvitations
    /// POST: accept or decline one.
    case apiAcceptInvitation(ID<Invitation>)
    case apiDeclineInvitation(ID<Invitation>)
    /// GET: the members page (every member); POST: invite (owners).
    case members(project: ID<Project>)
    /// POST: change a member's role (owners).
    case memberRole(project: ID<Project>, user: ID<User>)
    /// POST: remove a member (owners), or leave (the member themselves).
    case removeMember(project: ID<Project>, user: ID<User>)
    /// POST: revoke a pending invitation (owners).
    case revokeInvitation(project: ID<Project>, invitation: ID<Invitation>)
    /// POST: accept or decline an invitation from the dashboard.
    case acceptInvitation(ID<Invitation>)
    case declineInvitation(ID<Invitation>)

    init?(_ p: PathParts) {
        if p.segments == ["api", "invitations"] {
            self = .apiInvitations
            return
        }
        guard let (a, b, value, rest) = p.withID else { return nil }
        let second = rest.count >= 2 ? PathParts.id(rest[1]) : nil
        switch (a, b, rest.first, rest.count) {
        case ("api", "projects", "members", 1): self = .apiProjectMembers(project: ID(value))
        case ("api", "projects", "members", 2):
            guard let second else { return nil }
            self = .apiProjectMember(project: ID(value), user: ID(second))
        case ("api", "projects", "invitations", 2):
            guard let second else { return nil }
            self = .apiProjectInvitation(project: ID(value), invitation: ID(second))
        case ("api", "invitations", "accept", 1): self = .apiAcceptInvitation(ID(value))
        case ("api", "invitations", "decline", 1): self = .apiDeclineInvitation(ID(value))
        case ("dashboard", "projects", "members", 1): self = .members(project: ID(value))
        case ("dashboard", "projects", "members", 2):
            guard let second else { return nil }
            self = .memberRole(project: ID(value), user: ID(second))
        case ("dashboard", "projects", "members", 3):
            guard let second, rest[2] == "remove" else { return nil }
            self = .removeMember(project: ID(value), user: ID(second))
        case ("dashboard", "projects", "invitations", 3):
            guard let second, rest[2] == "revoke" else { return nil }
            self = .revokeInvitation(project: ID(value), invitation: ID(second))
        case ("dashboard", "invitations", "accept", 1): self = .acceptInvitation(ID(value))
        case ("dashboard", "invitations", "decline", 1): self = .declineInvitation(ID(value))
        default: return nil
        }
    }

    var path: String {
        switch self {
        case let .apiProjectMembers(project): "/api/projects/\(project)/members"
        case let .apiProjectMember(project, user): "/api/projects/\(project)/members/\(user)"
        case let .apiProjectInvitation(project, invitation): "/api/projects/\(project)/invitations/\(invitation)"
        case .apiInvitations: "/api/invitations"
        case let .apiAcceptInvitation(id): "/api/invitations/\(id)/accept"
        case let .apiDeclineInvitation(id): "/api/invitations/\(id)/decline"
        case let .members(project): "/dashboard/projects/\(project)/members"
        case let .memberRole(project, user): "/dashboard/projects/\(project)/members/\(user)"
        case let .removeMember(project, user): "/dashboard/projects/\(project)/members/\(user)/remove"
        case let .revokeInvitation(project, invitation):
            "/dashboard/projects/\(project)/invitations/\(invitation)/revoke"
        case let .acceptInvitation(id): "/dashboard/invitations/\(id)/accept"
        case let .declineInvitation(id): "/dashboard/invitations/\(id)/decline"
        }
    }

    /// The project the route names and the least role `method` needs: managing members is the owners'; anyone
    /// may see who else is in and leave (the handler tells leaving from removing someone else).
    func access(_ method: HTTPMethod) -> AccessNeed? {
        switch self {
        case .apiInvitations, .apiAcceptInvitation, .apiDeclineInvitation, .acceptInvitation, .declineInvitation: nil
        case let .apiProjectMembers(id), let .members(id): .reading(.project(id), method, write: .owner)
        case let .apiProjectMember(id, _): AccessNeed(.project(id), method == .delete ? .viewer : .owner)
        case let .removeMember(id, _): AccessNeed(.project(id), .viewer)
        case let .apiProjectInvitation(id, _), let .memberRole(id, _), let .revokeInvitation(id, _):
            AccessNeed(.project(id), .owner)
        }
    }

    var handlers: [HTTPMethod: App.Handler] {
        switch self {
        case let .apiProjectMembers(project):
            [
                .get: { try SharingAPI.members(&$0, project: project) },
                .post: { try SharingAPI.invite(&$0, project: project) },
            ]
        case let .apiProjectMember(project, user):
            [
                .patch: { try SharingAPI.setRole(&$0, project: project, member: user) },
                .delete: { try SharingAPI.remove(&$0, project: project, member: user) },
            ]
        case let .apiProjectInvitation(project, invitation):
            [.delete: { try SharingAPI.revoke(&$0, project: project, invitation: invitation) }]
        case .apiInvitations: [.get: SharingAPI.invitations]
        case let .apiAcceptInvitation(id): [.post: { try SharingAPI.answer(&$0, id: id, accept: true) }]
        case let .apiDeclineInvitation(id): [.post: { try SharingAPI.answer(&$0, id: id, accept: false) }]
        case let .members(project):
            [
                .get: { try SharingPages.members(&$0, project: project) },
                .post: { try SharingPages.invite(&$0, project: project) },
            ]
        case let .memberRole(project, user): [.post: { try SharingPages.setRole(&$0, project: project, member: user) }]
        case let .removeMember(project, user): [.post: { try SharingPages.remove(&$0, project: project, member: user) }]
        case let .revokeInvitation(project, invitation):
            [.post: { try SharingPages.revoke(&$0, project: project, invitation: invitation) }]
        case let .acceptInvitation(id): [.post: { try SharingPages.answer(&$0, id: id, accept: true) }]
        case let .declineInvitation(id): [.post: { try SharingPages.answer(&$0, id: id, accept: false) }]
        }
    }
}
