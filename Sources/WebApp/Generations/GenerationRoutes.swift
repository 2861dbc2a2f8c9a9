// The generations area's routes: each path parsed and printed in one place, and the handlers that answer it.

package import Core
import Web

package enum GenerationRoute: Equatable, Sendable {
    /// The generate settings page (GET, with the chosen settings as query) and its confirm (POST).
    case generateVideo(video: ID<Video>)
    /// The latest generation of a video (redirects to it).
    case latestGeneration(video: ID<Video>)
    case generation(ID<Generation>)
    /// POST: cancel a generation not yet sent.
    case cancelGeneration(ID<Generation>)
    /// The remix form of a completed generation (GET) and its confirm (POST).
    case remixGeneration(ID<Generation>)
    /// The takes of a video's latest click, side by side (refreshes while they run).
    case videoTakes(video: ID<Video>)
    case apiModels
    case apiEstimate
    case apiGenerate(video: ID<Video>)
    case apiStatus(video: ID<Video>)
    case apiVideoGenerations(video: ID<Video>)
    case apiGeneration(ID<Generation>)
    case apiCancelGeneration(ID<Generation>)
    case apiRemixGeneration(ID<Generation>)

    init?(_ p: PathParts) {
        switch p.segments {
        case ["api", "models"]: self = .apiModels
        case ["api", "models", "estimate"]: self = .apiEstimate
        default:
            guard let (a, b, value, rest) = p.withID else { return nil }
            switch (a, b, rest) {
            case ("dashboard", "videos", ["generate"]): self = .generateVideo(video: ID(value))
            case ("dashboard", "videos", ["generation"]): self = .latestGeneration(video: ID(value))
            case ("dashboard", "generations", []): self = .generation(ID(value))
            case ("dashboard", "generations", ["cancel"]): self = .cancelGeneration(ID(value))
            case ("dashboard", "generations", ["remix"]): self = .remixGeneration(ID(value))
            case ("dashboard", "videos", ["takes"]): self = .videoTakes(video: ID(value))
            case ("api", "videos", ["generate-sora"]): self = .apiGenerate(video: ID(value))
            case ("api", "videos", ["sora-status"]): self = .apiStatus(video: ID(value))
            case ("api", "videos", ["generations"]): self = .apiVideoGenerations(video: ID(value))
            case ("api", "generations", []): self = .apiGeneration(ID(value))
            case ("api", "generations", ["cancel"]): self = .apiCancelGeneration(ID(value))
            case ("api", "generations", ["remix"]): self = .apiRemixGeneration(ID(value))
            default: return nil
            }
        }
    }

    var path: String {
        switch self {
        case let .generateVideo(video): "/dashboard/videos/\(video)/generate"
        case let .latestGeneration(video): "/dashboard/videos/\(video)/generation"
        case let .generation(id): "/dashboard/generations/\(id)"
        case let .cancelGeneration(id): "/dashboard/generations/\(id)/cancel"
        case let .remixGeneration(id): "/dashboard/generations/\(id)/remix"
        case let .videoTakes(video): "/dashboard/videos/\(video)/takes"
        case .apiModels: "/api/models"
        case .apiEstimate: "/api/models/estimate"
        case let .apiGenerate(video): "/api/videos/\(video)/generate-sora"
        case let .apiStatus(video): "/api/videos/\(video)/sora-status"
        case let .apiVideoGenerations(video): "/api/videos/\(video)/generations"
        case let .apiGeneration(id): "/api/generations/\(id)"
        case let .apiCancelGeneration(id): "/api/generations/\(id)/cancel"
        case let .apiRemixGeneration(id): "/api/generations/\(id)/remix"
        }
    }

    /// The project record the route names and the least role `method` needs (nil: no project record).
    func access(_ method: HTTPMethod) -> AccessNeed? {
        switch self {
        case .apiModels, .apiEstimate: nil
        case let .generateVideo(id), let .apiGenerate(id): AccessNeed(.video(id), .editor)
        case let .latestGeneration(id), let .videoTakes(id), let .apiStatus(id), let .apiVideoGenerations(id):
            .reading(.video(id), method)
        case let .generation(id), let .apiGeneration(id): .reading(.generation(id), method)
        case let .cancelGeneration(id), let .remixGeneration(id), let .apiCancelGeneration(id),
            let .apiRemixGeneration(id):
            AccessNeed(.generation(id), .editor)
        }
    }

    /// Which methods each route answers, and with what.
    var handlers: [HTTPMethod: App.Handler] {
        switch self {
        case let .generateVideo(video):
            [
                .get: { try GenerationPages.settings(&$0, videoID: video) },
                .post: { try GenerationPages.confirm(&$0, videoID: video) },
            ]
        case let .latestGeneration(video): [.get: { try GenerationPages.latest(&$0, videoID: video) }]
        case let .generation(id): [.get: { try GenerationPages.show(&$0, id: id) }]
        case let .cancelGeneration(id): [.post: { try GenerationPages.cancel(&$0, id: id) }]
        case let .remixGeneration(id):
            [.get: { try GenerationPages.remixForm(&$0, id: id) }, .post: { try GenerationPages.remix(&$0, id: id) }]
        case let .videoTakes(video): [.get: { try GenerationPages.takes(&$0, videoID: video) }]
        case .apiModels: [.get: API.models]
        case .apiEstimate: [.get: API.estimate]
        case let .apiGenerate(video): [.post: { try GenerationAPI.generate(&$0, videoID: video) }]
        case let .apiStatus(video): [.get: { try GenerationAPI.status(&$0, videoID: video) }]
        case let .apiVideoGenerations(video): [.get: { try GenerationAPI.history(&$0, videoID: video) }]
        case let .apiGeneration(id): [.get: { try GenerationAPI.one(&$0, id: id) }]
        case let .apiCancelGeneration(id): [.post: { try GenerationAPI.cancel(&$0, id: id) }]
        case let .apiRemixGeneration(id): [.post: { try GenerationAPI.remix(&$0, id: id) }]
        }
    }
}
