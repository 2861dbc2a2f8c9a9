// The roundtables area's routes: each path parsed and printed in one place, and the handlers that answer it.

import Core
import Web

package enum RoundtableRoute: Equatable, Sendable {
    /// POST: start a roundtable from the video page (or run one again with feedback).
    case videoRoundtables(video: Int64)
    case roundtable(Int64)
    case roundtableAccept(Int64)
    case roundtableEdit(Int64)
    case roundtableRetry(Int64)
    case apiVideoRoundtable(video: Int64)  // POST: start
    case apiVideoRoundtables(video: Int64)  // GET: list
    case apiRoundtable(Int64)
    case apiRoundtableAccept(Int64)
    case apiRoundtableRetry(Int64)

    init?(_ p: PathParts) {
        switch p.segments {
        default:
            guard let (a, b, value, rest) = p.withID else { return nil }
            switch (a, b, rest) {
            case ("dashboard", "videos", ["roundtables"]): self = .videoRoundtables(video: value)
            case ("dashboard", "roundtables", []): self = .roundtable(value)
            case ("dashboard", "roundtables", ["accept"]): self = .roundtableAccept(value)
            case ("dashboard", "roundtables", ["edit"]): self = .roundtableEdit(value)
            case ("dashboard", "roundtables", ["retry"]): self = .roundtableRetry(value)
            case ("api", "videos", ["roundtable"]): self = .apiVideoRoundtable(video: value)
            case ("api", "videos", ["roundtables"]): self = .apiVideoRoundtables(video: value)
            case ("api", "roundtables", []): self = .apiRoundtable(value)
            case ("api", "roundtables", ["accept"]): self = .apiRoundtableAccept(value)
            case ("api", "roundtables", ["retry"]): self = .apiRoundtableRetry(value)
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
