// The library area's routes: each path parsed and printed in one place, and the handlers that answer it.

package import Core
import Web

package enum LibraryRoute: Equatable, Sendable {
    case dashboard
    case projects  // POST: create from the dashboard form
    case project(ID<Project>)
    /// GET: the rename/describe form; POST: save it.
    case editProject(ID<Project>)
    /// GET: what deleting takes, with the confirm button; POST: delete.
    case deleteProject(ID<Project>)
    case newVideo(project: ID<Project>)
    case projectVideos(project: ID<Project>)  // POST: create from the new-video form
    case video(ID<Video>)
    case editVideo(ID<Video>)
    case deleteVideo(ID<Video>)
    /// POST: "Save as new video".
    case copyVideo(ID<Video>)
    case apiProjects
    case apiProject(ID<Project>)
    case apiProjectVideos(project: ID<Project>)
    case apiVideos  // GET: the user's videos across projects (search, filters, sorts)
    case apiVideo(ID<Video>)
    case apiVideoCopy(ID<Video>)

    init?(_ p: PathParts) {
        switch p.segments {
        case ["dashboard"]: self = .dashboard
        case ["dashboard", "projects"]: self = .projects
        case ["api", "projects"]: self = .apiProjects
        case ["api", "videos"]: self = .apiVideos
        default:
            guard let (a, b, value, rest) = p.withID else { return nil }
            switch (a, b, rest) {
            case ("dashboard", "projects", []): self = .project(ID(value))
            case ("dashboard", "projects", ["edit"]): self = .editProject(ID(value))
            case ("dashboard", "projects", ["delete"]): self = .deleteProject(ID(value))
            case ("dashboard", "projects", ["videos", "new"]): self = .newVideo(project: ID(value))
            case ("dashboard", "projects", ["videos"]): self = .projectVideos(project: ID(value))
            case ("dashboard", "videos", []): self = .video(ID(value))
            case ("dashboard", "videos", ["edit"]): self = .editVideo(ID(value))
            case ("dashboard", "videos", ["delete"]): self = .deleteVideo(ID(value))
            case ("dashboard", "videos", ["copy"]): self = .copyVideo(ID(value))
            case ("api", "projects", []): self = .apiProject(ID(value))
            case ("api", "projects", ["videos"]): self = .apiProjectVideos(project: ID(value))
            case ("api", "videos", []): self = .apiVideo(ID(value))
            case ("api", "videos", ["copy"]): self = .apiVideoCopy(ID(value))
            default: return nil
            }
        }
    }

    var path: String {
        switch self {
        case .dashboard: "/dashboard"
        case .projects: "/dashboard/projects"
        case let .project(id): "/dashboard/projects/\(id)"
        case let .editProject(id): "/dashboard/projects/\(id)/edit"
        case let .deleteProject(id): "/dashboard/projects/\(id)/delete"
        case let .newVideo(project): "/dashboard/projects/\(project)/videos/new"
        case let .projectVideos(project): "/dashboard/projects/\(project)/videos"
        case let .video(id): "/dashboard/videos/\(id)"
        case let .editVideo(id): "/dashboard/videos/\(id)/edit"
        case let .deleteVideo(id): "/dashboard/videos/\(id)/delete"
        case let .copyVideo(id): "/dashboard/videos/\(id)/copy"
        case .apiProjects: "/api/projects"
        case let .apiProject(id): "/api/projects/\(id)"
        case let .apiProjectVideos(project): "/api/projects/\(project)/videos"
        case .apiVideos: "/api/videos"
        case let .apiVideo(id): "/api/videos/\(id)"
        case let .apiVideoCopy(id): "/api/videos/\(id)/copy"
        }
    }

    /// The project record the route names and the least role `method` needs (nil: no project record).
    func access(_ method: HTTPMethod) -> AccessNeed? {
        switch self {
        case .dashboard, .projects, .apiProjects, .apiVideos: nil
        case let .project(id): .reading(.project(id), method)
        case let .editProject(id), let .deleteProject(id): AccessNeed(.project(id), .owner)
        case let .newVideo(id), let .projectVideos(id): AccessNeed(.project(id), .editor)
        case let .video(id): .reading(.video(id), method)
        case let .editVideo(id), let .deleteVideo(id), let .copyVideo(id), let .apiVideoCopy(id):
            AccessNeed(.video(id), .editor)
        case let .apiProject(id): .reading(.project(id), method, write: .owner)
        case let .apiProjectVideos(id): .reading(.project(id), method)
        case let .apiVideo(id): .reading(.video(id), method)
        }
    }

    /// Which methods each route answers, and with what.
    var handlers: [HTTPMethod: App.Handler] {
        switch self {
        case .dashboard: [.get: ProjectPages.dashboard]
        case .projects: [.post: ProjectPages.create]
        case let .project(id): [.get: { try ProjectPages.show(&$0, id: id) }]
        case let .editProject(id):
            [.get: { try ProjectPages.editForm(&$0, id: id) }, .post: { try ProjectPages.update(&$0, id: id) }]
        case let .deleteProject(id):
            [.get: { try ProjectPages.confirmDelete(&$0, id: id) }, .post: { try ProjectPages.delete(&$0, id: id) }]
        case let .newVideo(project): [.get: { try VideoPages.newForm(&$0, project: project) }]
        case let .projectVideos(project): [.post: { try VideoPages.create(&$0, project: project) }]
        case let .video(id): [.get: { try VideoPages.show(&$0, id: id) }]
        case let .editVideo(id):
            [.get: { try VideoPages.editForm(&$0, id: id) }, .post: { try VideoPages.update(&$0, id: id) }]
        case let .deleteVideo(id):
            [.get: { try VideoPages.confirmDelete(&$0, id: id) }, .post: { try VideoPages.delete(&$0, id: id) }]
        case let .copyVideo(id): [.post: { try VideoPages.copy(&$0, id: id) }]
        case .apiProjects: [.get: API.listProjects, .post: API.createProject]
        case let .apiProject(id):
            [
                .get: { try API.project(&$0, id: id) }, .patch: { try API.updateProject(&$0, id: id) },
                .delete: { try API.deleteProject(&$0, id: id) },
            ]
        case let .apiProjectVideos(project):
            [
                .get: { try API.listVideos(&$0, project: project) },
                .post: { try API.createVideo(&$0, project: project) },
            ]
        case .apiVideos: [.get: { try API.listAllVideos(&$0) }]
        case let .apiVideo(id):
            [
                .get: { try API.video(&$0, id: id) }, .patch: { try API.updateVideo(&$0, id: id) },
                .delete: { try API.deleteVideo(&$0, id: id) },
            ]
        case let .apiVideoCopy(id): [.post: { try API.copyVideo(&$0, id: id) }]
        }
    }
}
