// Who may see and change what in a shared project. Every query that reads or changes a project's records carries
// `Access.member(…)` (so a record of a project the user is not a member of is indistinguishable from a missing
// one), writes with the least role they need; the route table names, per route and method, the record it acts on
// and that role (`AccessNeed`), and `Members.role(of:userID:)` tells a 404 from a 403 before a write runs.

package import Postgres

/// The record a route acts on, by which its project is found.
package enum ProjectResource: Equatable, Sendable {
    case project(ID<Project>)
    case video(ID<Video>)
    case generation(ID<Generation>)
    case roundtable(ID<Roundtable>)
    case batch(ID<Batch>)
    case film(ID<Film>)
    case filmLink(ID<FilmLink>)
}

/// A route's record and the least role its method needs.
package struct AccessNeed: Equatable, Sendable {
    package let resource: ProjectResource
    package let role: ProjectRole

    package init(_ resource: ProjectResource, _ role: ProjectRole) {
        self.resource = resource
        self.role = role
    }
}

/// A member whose role is below what the act needs (403; a non-member gets a 404 instead).
package struct RoleForbidden: Error, Sendable {
    package let role: ProjectRole
    package let needed: ProjectRole

    package init(role: ProjectRole, needed: ProjectRole) {
        self.role = role
        self.needed = needed
    }

    package var message: String {
        switch needed {
        case .owner: "Only the project's owners can do this (your role: \(role.rawValue))."
        case .editor, .viewer:
            "Your role in this project (\(role.rawValue)) can only view it; editors and owners can do this."
        }
    }
}

package enum Access {
    /// A condition: `user` is a member of the project whose id is the SQL expression `project`, with at least `role`.
    package static func member(_ project: Query, _ user: ID<User>, atLeast role: ProjectRole = .viewer) -> Query {
        switch role {
        case .viewer:
            "EXISTS (SELECT 1 FROM project_members pm WHERE pm.project_id = \(fragment: project) AND pm.user_id = \(user))"
        case .editor:
            """
            EXISTS (SELECT 1 FROM project_members pm WHERE pm.project_id = \(fragment: project) AND pm.user_id = \(user)
                    AND pm.role <> 'viewer')
            """
        case .owner:
            """
            EXISTS (SELECT 1 FROM project_members pm WHERE pm.project_id = \(fragment: project) AND pm.user_id = \(user)
                    AND pm.role = 'owner')
            """
        }
    }

    /// A condition: `user` is a member (with at least `role`) of the project of the video whose id is the SQL
    /// expression `video`.
    package static func memberOfVideo(_ video: Query, _ user: ID<User>, atLeast role: ProjectRole = .viewer) -> Query {
        "EXISTS (SELECT 1 FROM videos av WHERE av.id = \(fragment: video) AND \(fragment: member("av.project_id", user, atLeast: role)))"
    }

    /// A column `started_by`: the email of the user whose id is the SQL expression `user` ("deleted user" once their
    /// account is deleted), for "who started it" in a shared project's history.
    package static func starter(_ user: Query) -> Query {
        """
        (SELECT CASE WHEN su.deleted_at IS NULL THEN su.email ELSE 'deleted user' END FROM users su WHERE su.id = \(fragment: user))
          AS started_by
        """
    }

    /// A column: the user's role in the project whose id is the SQL expression `project` (NULL: not a member).
    package static func role(_ project: Query, _ user: ID<User>) -> Query {
        "(SELECT pm.role FROM project_members pm WHERE pm.project_id = \(fragment: project) AND pm.user_id = \(user))"
    }
}

extension Members {
    /// The user's role in the project the record belongs to; nil when it is invisible to them (no such record, or
    /// not a member). A generation or storyboard click whose video or project is gone stays visible
    /// (as a viewer) to the user who started it, since its cost is theirs.
    package func role(of resource: ProjectResource, userID: ID<User>) throws -> ProjectRole? {
        let rows: [Row]
        switch resource {
        case let .project(id):
            return try role(projectID: id, userID: userID)
        case let .video(id):
            rows = try db.execute(
                "SELECT \(fragment: Access.role("v.project_id", userID)) AS role FROM videos v WHERE v.id = \(id)")
        case let .generation(id):
            rows = try db.execute(
                """
                SELECT coalesce(\(fragment: Access.role("v.project_id", userID)),
                                CASE WHEN g.user_id = \(userID) THEN 'viewer' END) AS role
                FROM generations g LEFT JOIN videos v ON v.id = g.video_id WHERE g.id = \(id)
                """)
        case let .roundtable(id):
            rows = try db.execute(
                """
                SELECT \(fragment: Access.role("v.project_id", userID)) AS role
                FROM roundtables r JOIN videos v ON v.id = r.video_id WHERE r.id = \(id)
                """)
        case let .batch(id):
            // Either kind of click (their ids come from one sequence, Migrations/0027).
            rows = try db.execute(
                """
                SELECT coalesce(\(fragment: Access.role("c.project_id", userID)),
                                CASE WHEN c.user_id = \(userID) THEN 'viewer' END) AS role
                FROM storyboard_clicks c WHERE c.id = \(id)
                UNION ALL
                SELECT coalesce(\(fragment: Access.role("v.project_id", userID)),
                                CASE WHEN b.user_id = \(userID) THEN 'viewer' END)
                FROM generation_batches b LEFT JOIN videos v ON v.id = b.video_id WHERE b.id = \(id)
                """)
        case let .film(id):
            rows = try db.execute(
                "SELECT \(fragment: Access.role("f.project_id", userID)) AS role FROM films f WHERE f.id = \(id)")
        case let .filmLink(id):
            rows = try db.execute(
                """
                SELECT \(fragment: Access.role("f.project_id", userID)) AS role
                FROM film_links l JOIN films f ON f.id = l.film_id WHERE l.id = \(id)
                """)
        }
        return rows.first?["role"].flatMap(ProjectRole.init(rawValue:))
    }

    /// Nothing when the user's role in the record's project is at least the one needed; else `NotFound` (not a
    /// member, or no such record) or `RoleForbidden`.
    package func require(_ need: AccessNeed, userID: ID<User>) throws {
        guard let role = try role(of: need.resource, userID: userID) else { throw NotFound(need.resource.missing) }
        guard role >= need.role else { throw RoleForbidden(role: role, needed: need.role) }
    }
}

extension ProjectResource {
    var missing: String {
        switch self {
        case .project: "No such project."
        case .video: "No such video."
        case .generation: "No such generation."
        case .roundtable: "No such roundtable."
        case .batch: "No such batch."
        case .film: "No such film."
        case .filmLink: "No such film link."
        }
    }
}
