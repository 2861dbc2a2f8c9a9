// The generations area's routes: each path parsed and printed in one place, and the handlers that answer it.

import Core
import Web

package enum GenerationRoute: Equatable, Sendable {
    /// The generate settings page (GET, with the chosen settings as query) and its confirm (POST).
    case generateVideo(video: Int64)
    /// The latest generation of a video (redirects to it).
    case latestGeneration(video: Int64)
    case generation(Int64)
    /// POST: cancel a generation not yet sent.
    case cancelGeneration(Int64)
    /// The remix form of a completed generation (GET) and its confirm (POST).
    case remixGeneration(Int64)
    /// The takes of a video's latest click, side by side (refreshes while they run).
    case videoTakes(video: Int64)
    case apiModels
    case apiEstimate
    case apiGenerate(video: Int64)
    case apiStatus(video: Int64)
    case apiVideoGenerations(video: Int64)
    case apiGeneration(Int64)
    case apiCancelGeneration(Int64)
    case apiRemixGeneration(Int64)

    init?(_ p: PathParts) {
        switch p.segments {
        case ["api", "models"]: self = .apiModels
        case ["api", "models", "estimate"]: self = .apiEstimate
        default:
            guard let (a, b, value, rest) = p.withID else { return nil }
            switch (a, b, rest) {
            case ("dashboard", "videos", ["generate"]): self = .generateVideo(video: value)
            case ("dashboard", "videos", ["generation"]): self = .latestGeneration(video: value)
            case ("dashboard", "generations", []): self = .generation(value)
            case ("dashboard", "generations", ["cancel"]): self = .cancelGeneration(value)
            case ("dashboard", "generations", ["remix"]): self = .remixGeneration(value)
            case ("dashboard", "videos", ["takes"]): self = .videoTakes(video: value)
            case ("api", "videos", ["generate-sora"]): self = .apiGenerate(video: value)
            case ("api", "videos", ["sora-status"]): self = .apiStatus(video: value)
            case ("api", "videos", ["generations"]): self = .apiVideoGenerations(video: value)
            case ("api", "generations", []): self = .apiGeneration(value)
            case ("api", "generations", ["cancel"]): self = .apiCancelGeneration(value)
            case ("api", "generations", ["remix"]): self = .apiRemixGeneration(value)
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
