// The references area's routes: each path parsed and printed in one place, and the handlers that answer it.

package import Core
import Web

package enum ReferenceRoute: Equatable, Sendable {
    /// GET: the video's reference image; POST: upload one (multipart form).
    case videoReferenceImage(video: ID<Video>)
    /// POST: remove the video's reference image.
    case videoReferenceImageDelete(video: ID<Video>)
    /// GET ?size=WxH&fit=crop|letterbox: a small preview of the frame fitted to that size.
    case videoReferencePreview(video: ID<Video>)
    /// GET: the reference image's facts; PUT: upload (raw image body); DELETE: remove.
    case apiReferenceImage(video: ID<Video>)

    init?(_ p: PathParts) {
        switch p.segments {
        default:
            guard let (a, b, value, rest) = p.withID else { return nil }
            switch (a, b, rest) {
            case ("dashboard", "videos", ["reference-image"]): self = .videoReferenceImage(video: ID(value))
            case ("dashboard", "videos", ["reference-image", "delete"]):
                self = .videoReferenceImageDelete(video: ID(value))
            case ("dashboard", "videos", ["reference-image", "preview"]):
                self = .videoReferencePreview(video: ID(value))
            case ("api", "videos", ["reference-image"]): self = .apiReferenceImage(video: ID(value))
            default: return nil
            }
        }
    }

    var path: String {
        switch self {
        case let .videoReferenceImage(video): "/dashboard/videos/\(video)/reference-image"
        case let .videoReferenceImageDelete(video): "/dashboard/videos/\(video)/reference-image/delete"
        case let .videoReferencePreview(video): "/dashboard/videos/\(video)/reference-image/preview"
        case let .apiReferenceImage(video): "/api/videos/\(video)/reference-image"
        }
    }

    /// The project record the route names and the least role `method` needs.
    func access(_ method: HTTPMethod) -> AccessNeed? {
        switch self {
        case let .videoReferenceImage(id), let .videoReferencePreview(id), let .apiReferenceImage(id):
            .reading(.video(id), method)
        case let .videoReferenceImageDelete(id): AccessNeed(.video(id), .editor)
        }
    }

    /// Which methods each route answers, and with what.
    var handlers: [HTTPMethod: App.Handler] {
        switch self {
        case let .videoReferenceImage(video):
            [
                .get: { try ReferencePages.original(&$0, videoID: video) },
                .post: { try ReferencePages.upload(&$0, videoID: video) },
            ]
        case let .videoReferenceImageDelete(video): [.post: { try ReferencePages.remove(&$0, videoID: video) }]
        case let .videoReferencePreview(video): [.get: { try ReferencePages.preview(&$0, videoID: video) }]
        case let .apiReferenceImage(video):
            [
                .get: { try ReferenceAPI.show(&$0, videoID: video) },
                .put: { try ReferenceAPI.put(&$0, videoID: video) },
                .delete: { try ReferenceAPI.delete(&$0, videoID: video) },
            ]
        }
    }
}
