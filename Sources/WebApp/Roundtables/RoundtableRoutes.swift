// The roundtables area's routes: each path parsed and printed in one place, and the handlers that answer it.

package import Core
import Web

package enum RoundtableRoute: Equatable, Sendable {
    /// POST: start a roundtable from the video page (or run one again with feedback).
    case videoRoundtables(video: ID<Video>)
    case roundtable(ID<Roundtable>)
    case roundtableAccept(ID<Roundtable>)
    case roundtableEdit(ID<Roundtable>)
    case roundtableRetry(ID<Roundtable>)
    case apiVideoRoundtable(video: ID<Video>)  // POST: start
    case apiVideoRoundtables(video: ID<Video>)  // GET: list
    case apiRoundtable(ID<Roundtable>)
    case apiRoundtableAccept(ID<Roundtable>)
    case apiRoundtableRetry(ID<Roundtable>)

    init?(_ p: PathParts) {
        switch p.segments {
        default:
            guard let (a, b, value, rest) = p.withID else { return nil }
            switch (a, b, rest) {
            case ("dashboard", "videos", ["roundtables"]): self = .videoRoundtables(video: ID(value))
            case ("dashboard", "roundtables", []): self = .roundtable(ID(value))
            case ("dashboard", "roundtables", ["accept"]): self = .roundtableAccept(ID(value))
            case ("dashboard", "roundtables", ["edit"]): self = .roundtableEdit(ID(value))
            case ("dashboard", "roundtables", ["retry"]): self = .roundtableRetry(ID(value))
            case ("api", "videos", ["roundtable"]): self = .apiVideoRoundtable(video: ID(value))
            case ("api", "videos", ["roundtables"]): self = .apiVideoRoundtables(video: ID(value))
            case ("api", "roundtables", []): self = .apiRoundtable(ID(value))
            case ("api", "roundtables", ["accept"]): self = .apiRoundtableAccept(ID(value))
            case ("api", "roundtables", ["retry"]): self = .apiRoundtableRetry(ID(value))
            default: return nil
            }
        }
    }

    var path: String {
        switch self {
        case let .videoRoundtables(video): "/dashboard/videos/\(video)/roundtables"
        case let .roundtable(id): "/dashboard/roundtables/\(id)"
        case let .roundtableAccept(id): "/dashboard/roundtables/\(id)/accept"
        case let .roundtableEdit(id): "/dashboard/roundtables/\(id)/edit"
        case let .roundtableRetry(id): "/dashboard/roundtables/\(id)/retry"
        case let .apiVideoRoundtable(video): "/api/videos/\(video)/roundtable"
        case let .apiVideoRoundtables(video): "/api/videos/\(video)/roundtables"
        case let .apiRoundtable(id): "/api/roundtables/\(id)"
        case let .apiRoundtableAccept(id): "/api/roundtables/\(id)/accept"
        case let .apiRoundtableRetry(id): "/api/roundtables/\(id)/retry"
        }
    }

    /// The project record the route names and the least role `method` needs.
    func access(_ method: HTTPMethod) -> AccessNeed? {
        switch self {
        case let .videoRoundtables(id), let .apiVideoRoundtable(id): AccessNeed(.video(id), .editor)
        case let .apiVideoRoundtables(id): .reading(.video(id), method)
        case let .roundtable(id), let .apiRoundtable(id): .reading(.roundtable(id), method)
        case let .roundtableAccept(id), let .roundtableEdit(id), let .roundtableRetry(id), let .apiRoundtableAccept(id),
            let .apiRoundtableRetry(id):
            AccessNeed(.roundtable(id), .editor)
        }
    }

    /// Which methods each route answers, and with what.
    var handlers: [HTTPMethod: App.Handler] {
        switch self {
        case let .videoRoundtables(video): [.post: { try RoundtablePages.start(&$0, videoID: video) }]
        case let .roundtable(id): [.get: { try RoundtablePages.show(&$0, id: id) }]
        case let .roundtableAccept(id): [.post: { try RoundtablePages.accept(&$0, id: id) }]
        case let .roundtableEdit(id): [.get: { try RoundtablePages.edit(&$0, id: id) }]
        case let .roundtableRetry(id): [.post: { try RoundtablePages.retry(&$0, id: id) }]
        case let .apiVideoRoundtable(video): [.post: { try RoundtableAPI.start(&$0, videoID: video) }]
        case let .apiVideoRoundtables(video): [.get: { try RoundtableAPI.list(&$0, videoID: video) }]
        case let .apiRoundtable(id): [.get: { try RoundtableAPI.one(&$0, id: id) }]
        case let .apiRoundtableAccept(id): [.post: { try RoundtableAPI.accept(&$0, id: id) }]
        case let .apiRoundtableRetry(id): [.post: { try RoundtableAPI.retry(&$0, id: id) }]
        }
    }
}
