// Every URL PromptReel serves, as one enum that both parses paths and prints them, so links are never
// built by hand. Routes are grouped by area: each area's enum (beside its pages, e.g.
// Roundtables/RoundtableRoutes.swift) parses, prints and answers its own paths. Ids are typed and only in the
// form they are printed in: a path whose id is not a canonical number is simply not a route (404).

package import Core
import Formats
import Telemetry
import Web

package enum Route: Equatable, Sendable {
    case home
    case healthz
    /// Prometheus text: the instance-wide numbers read from PostgreSQL (loopback only).
    case metrics
    /// Sign-in, sign-up, the account page and its API tokens.
    case accounts(AccountRoute)
    /// Admins only (404 to members).
    case admin(AdminRoute)
    /// Projects and videos: the dashboard, their pages and the library API.
    case library(LibraryRoute)
    /// Generating, watching, cancelling and remixing; the catalog API.
    case generations(GenerationRoute)
    case roundtables(RoundtableRoute)
    /// A video's reference image (image-to-video).
    case references(ReferenceRoute)
    case webhooks(WebhookRoute)
    case usage(UsageRoute)
    /// A project as a storyboard: shot order, chosen takes, generating many shots in one click.
    case storyboards(StoryboardRoute)
    /// A project's stitched films, their media and read-only links.
    case films(FilmRoute)
    /// A project's members and invitations; the caller's own invitations.
    case sharing(SharingRoute)
    /// A stored media file of a generation; only PromptReel's own file names are routes.
    case media(generation: ID<Generation>, file: String)

    /// The JSON API's OpenAPI document: served by nginx from Public/openapi.json (made from docs/openapi.yaml),
    /// so it is not a case the app answers.
    package static let openAPIDocumentPath = "/api/openapi.json"

    package init?(path: String) {
        let p = PathParts(path)
        switch p.segments {
        case [""], []: self = .home
        case ["healthz"]: self = .healthz
        case ["metrics"]: self = .metrics
        default:
            if let r = AccountRoute(p) {
                self = .accounts(r)
            } else if let r = AdminRoute(p) {
                self = .admin(r)
            } else if let r = LibraryRoute(p) {
                self = .library(r)
            } else if let r = GenerationRoute(p) {
                self = .generations(r)
            } else if let r = RoundtableRoute(p) {
                self = .roundtables(r)
            } else if let r = ReferenceRoute(p) {
                self = .references(r)
            } else if let r = WebhookRoute(p) {
                self = .webhooks(r)
            } else if let r = UsageRoute(p) {
                self = .usage(r)
            } else if let r = StoryboardRoute(p) {
                self = .storyboards(r)
            } else if let r = FilmRoute(p) {
                self = .films(r)
            } else if let r = SharingRoute(p) {
                self = .sharing(r)
            } else if let (a, b, value, rest) = p.withID, a == "media", b == "generations", rest.count == 1,
                MediaAsset(fileName: rest[0]) != nil || ReferenceFile(fileName: rest[0]) != nil
            {
                self = .media(generation: ID(value), file: rest[0])
            } else {
                return nil
            }
        }
    }

    package var path: String {
        switch self {
        case .home: "/"
        case .healthz: "/healthz"
        case .metrics: "/metrics"
        case let .accounts(r): r.path
        case let .admin(r): r.path
        case let .library(r): r.path
        case let .generations(r): r.path
        case let .roundtables(r): r.path
        case let .references(r): r.path
        case let .webhooks(r): r.path
        case let .usage(r): r.path
        case let .storyboards(r): r.path
        case let .films(r): r.path
        case let .sharing(r): r.path
        case let .media(generation, file): "/media/generations/\(generation)/\(file)"
        }
    }

    /// The largest body a request may send: image uploads take up to 20 MiB (plus room for the form
    /// around the file), everything else `standard` (1 MiB). Known from the method and path alone, before
    /// the body is read; nginx's `client_max_body_size` follows the same split.
    package static func maxBodyBytes(method: String, path: String, standard: Int) -> Int {
        guard path.hasSuffix("/reference-image") else { return standard }
        switch (method, Route(path: path)) {
        case ("PUT", .references(.apiReferenceImage)?): return ReferenceImages.maxImageBytes
        case ("POST", .references(.videoReferenceImage)?): return ReferenceImages.maxImageBytes + formOverheadBytes
        default: return standard
        }
    }

    /// Room for the multipart framing and the CSRF field around an uploaded file.
    static let formOverheadBytes = 64 << 10

    /// The path as log lines may show it: a film link's token (a secret) is left out.
    package static func loggable(_ path: String) -> String {
        guard path.hasPrefix("/shared/films/") else { return path }
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if segments.count > 3 { segments[3] = "[token]" }
        return segments.joined(separator: "/")
    }

    /// The project record the route names and the least role `method` needs in its project (nil: the route names
    /// no project record — accounts, webhooks, usage, lists of the caller's own). Reads need any role: their
    /// queries carry the membership, so the check runs for the rest only (`App.answer`).
    func access(_ method: HTTPMethod) -> AccessNeed? {
        switch self {
        case .home, .healthz, .metrics, .accounts, .admin, .webhooks, .usage: nil
        case let .library(r): r.access(method)
        case let .generations(r): r.access(method)
        case let .roundtables(r): r.access(method)
        case let .references(r): r.access(method)
        case let .storyboards(r): r.access(method)
        case let .films(r): r.access(method)
        case let .sharing(r): r.access(method)
        case let .media(generation, _): AccessNeed(.generation(generation), .viewer)
        }
    }

    /// Answered without an account: the sign-in pages, logging out (ends the session there is, if any), a
    /// password-reset link, a film's shared link. Everything else needs one before anything else is said about it
    /// (even which methods it has).
    var isPublic: Bool {
        switch self {
        case .healthz, .metrics,
            .accounts(.login), .accounts(.signup), .accounts(.logout), .accounts(.passwordReset),
            .accounts(.forgotPassword),
            .films(.sharedFilm), .films(.sharedFilmMedia):
            true
        default: false
        }
    }

    /// Media is fetched by browsers (cookie) and by API clients (bearer token).
    var acceptsBearer: Bool {
        switch self {
        case .media, .films(.filmMedia): true
        default: false
        }
    }

    /// The route's case name within its area: the `route` label of the request metrics (bounded, unlike raw
    /// paths), derived from the case itself so a new route needs no name of its own (pinned by RouteTests).
    var metricName: String {
        switch self {
        case .home, .healthz, .metrics, .media: Self.caseName(self)
        case let .accounts(r): Self.caseName(r)
        case let .admin(r): Self.caseName(r)
        case let .library(r): Self.caseName(r)
        case let .generations(r): Self.caseName(r)
        case let .roundtables(r): Self.caseName(r)
        case let .references(r): Self.caseName(r)
        case let .webhooks(r): Self.caseName(r)
        case let .usage(r): Self.caseName(r)
        case let .storyboards(r): Self.caseName(r)
        case let .films(r): Self.caseName(r)
        case let .sharing(r): Self.caseName(r)
        }
    }

    private static func caseName(_ value: some Sendable) -> String {
        let described = String(describing: value)
        return described.firstIndex(of: "(").map { String(described[..<$0]) } ?? described
    }
}

/// A path split for the area parsers: its segments, and `withID` for the `/a/b/ID/rest…` shape.
package struct PathParts: Sendable {
    package let segments: [String]

    init(_ path: String) {
        segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
    }

    /// `(a, b, id, rest)` when the third segment is a canonical id.
    var withID: (String, String, Int64, [String])? {
        guard segments.count >= 3, let value = Self.id(segments[2]) else { return nil }
        return (segments[0], segments[1], value, Array(segments.dropFirst(3)))
    }

    /// Ids as the route prints them, only: no sign, no leading zero, ASCII digits (`02`, `+2`, `2.0` are not routes).
    static func id(_ text: String) -> Int64? {
        guard let first = text.utf8.first, first != UInt8(ascii: "0"), text.utf8.count <= 18,
            text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return Int64(text)
    }
}

extension AccessNeed {
    /// GET reads with any role; the route's other methods need `write`.
    static func reading(_ resource: ProjectResource, _ method: HTTPMethod, write: ProjectRole = .editor) -> AccessNeed {
        AccessNeed(resource, method == .get ? .viewer : write)
    }
}
