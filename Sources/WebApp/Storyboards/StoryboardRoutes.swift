// The storyboard area's routes: a project's shots in order, each shot's chosen take, "Generate shots" (one
// click for many shots) and the clicks it records (batches).

package import Core
import Web

package enum StoryboardRoute: Equatable, Sendable {
    /// GET: the project's shots in order, moved with plain forms.
    case storyboard(ID<Project>)
    /// POST: move the shot to the form's `position` in its project's storyboard.
    case moveVideo(ID<Video>)
    /// POST: make the form's `generation_id` the shot's chosen take.
    case chooseTake(ID<Video>)
    /// GET: choose shots and settings and review the total (query); POST: confirm it.
    case generateShots(ID<Project>)
    /// GET: a click's shots and their generations (refreshes while anything runs).
    case batch(ID<Batch>)
    /// PUT: the take the storyboard's film uses for this shot.
    case apiVideoChosenTake(ID<Video>)
    /// POST: generate the project's shots in one click.
    case apiGenerateShots(ID<Project>)
    case apiBatch(ID<Batch>)

    init?(_ p: PathParts) {
        guard let (a, b, value, rest) = p.withID else { return nil }
        switch (a, b, rest) {
        case ("dashboard", "projects", ["storyboard"]): self = .storyboard(ID(value))
        case ("dashboard", "videos", ["move"]): self = .moveVideo(ID(value))
        case ("dashboard", "videos", ["chosen-take"]): self = .chooseTake(ID(value))
        case ("dashboard", "projects", ["generate"]): self = .generateShots(ID(value))
        case ("dashboard", "batches", []): self = .batch(ID(value))
        case ("api", "videos", ["chosen-take"]): self = .apiVideoChosenTake(ID(value))
        case ("api", "projects", ["generate"]): self = .apiGenerateShots(ID(value))
        case ("api", "batches", []): self = .apiBatch(ID(value))
        default: return nil
        }
    }

    var path: String {
        switch self {
        case let .storyboard(id): "/dashboard/projects/\(id)/storyboard"
        case let .moveVideo(id): "/dashboard/videos/\(id)/move"
        case let .chooseTake(id): "/dashboard/videos/\(id)/chosen-take"
        case let .generateShots(id): "/dashboard/projects/\(id)/generate"
        case let .batch(id): "/dashboard/batches/\(id)"
        case let .apiVideoChosenTake(id): "/api/videos/\(id)/chosen-take"
        case let .apiGenerateShots(id): "/api/projects/\(id)/generate"
        case let .apiBatch(id): "/api/batches/\(id)"
        }
    }

    /// The project record the route names and the least role `method` needs.
    func access(_ method: HTTPMethod) -> AccessNeed? {
        switch self {
        case let .storyboard(id): .reading(.project(id), method)
        case let .moveVideo(id), let .chooseTake(id), let .apiVideoChosenTake(id): AccessNeed(.video(id), .editor)
        case let .generateShots(id), let .apiGenerateShots(id): AccessNeed(.project(id), .editor)
        case let .batch(id), let .apiBatch(id): .reading(.batch(id), method)
        }
    }

    /// Which methods each route answers, and with what.
    var handlers: [HTTPMethod: App.Handler] {
        switch self {
        case let .storyboard(id): [.get: { try StoryboardPages.show(&$0, project: id) }]
        case let .moveVideo(id): [.post: { try StoryboardPages.move(&$0, id: id) }]
        case let .chooseTake(id): [.post: { try StoryboardPages.chooseTake(&$0, id: id) }]
        case let .generateShots(id):
            [
                .get: { try ShotClickPages.review(&$0, project: id) },
                .post: { try ShotClickPages.confirm(&$0, project: id) },
            ]
        case let .batch(id): [.get: { try ShotClickPages.batch(&$0, id: id) }]
        case let .apiVideoChosenTake(id): [.put: { try API.chooseTake(&$0, id: id) }]
        case let .apiGenerateShots(id): [.post: { try StoryboardAPI.generate(&$0, project: id) }]
        case let .apiBatch(id): [.get: { try StoryboardAPI.batch(&$0, id: id) }]
        }
    }
}
