// Every URL PromptReel serves, as one enum that both parses paths and prints them, so links are never
// built by hand. Ids are typed: a path whose id is not a number is simply not a route (404).

import Core
import Telemetry

public enum Route: Equatable, Sendable {
    case home
    case healthz
    /// Prometheus text: the instance-wide numbers read from PostgreSQL (loopback only).
    case metrics
    case login
    case signup
    case logout
    case dashboard
    case projects  // POST: create from the dashboard form
    case project(Int64)
    /// GET: the rename/describe form; POST: save it.
    case editProject(Int64)
    /// GET: what deleting takes, with the confirm button; POST: delete.
    case deleteProject(Int64)
    case newVideo(project: Int64)
    case projectVideos(project: Int64)  // POST: create from the new-video form
    case video(Int64)
    case editVideo(Int64)
    case deleteVideo(Int64)
    /// POST: "Save as new video".
    case copyVideo(Int64)
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
    /// POST: start a roundtable from the video page (or run one again with feedback).
    case videoRoundtables(video: Int64)
    case roundtable(Int64)
    case roundtableAccept(Int64)
    case roundtableEdit(Int64)
    case roundtableRetry(Int64)
    /// GET: the video's reference image; POST: upload one (multipart form).
    case videoReferenceImage(video: Int64)
    /// POST: remove the video's reference image.
    case videoReferenceImageDelete(video: Int64)
    /// GET ?size=WxH&fit=crop|letterbox: a small preview of the frame fitted to that size.
    case videoReferencePreview(video: Int64)
    case account
    case tokens  // POST: create
    /// POST: the account's preferences (refresh pages automatically).
    case accountPreferences
    case deleteToken(Int64)
    /// GET: the user's webhook endpoints and the add form; POST: add one (its secret shown once).
    case webhooks
    /// GET: an endpoint's delivery log.
    case webhook(Int64)
    case deleteWebhook(Int64)
    /// POST: "send again".
    case redeliverWebhook(delivery: Int64)
    /// Admins only (404 to members): GET the user list; POST a user's disable, enable or role change.
    case adminUsers
    case adminUser(Int64)
    /// GET: the instance cap and every user's monthly budget; POST: set one.
    case adminBudgets
    /// Spend and outcomes over a range of UTC days (`?from=&to=&scope=`), as a page and as CSV.
    case usage
    case usageCSV

    case apiProjects
    case apiProject(Int64)
    case apiProjectVideos(project: Int64)
    case apiVideos  // GET: the user's videos across projects (search, filters, sorts)
    case apiVideo(Int64)
    case apiVideoCopy(Int64)
    case apiModels
    case apiEstimate
    case apiGenerate(video: Int64)
    case apiStatus(video: Int64)
    case apiVideoGenerations(video: Int64)
    case apiGeneration(Int64)
    case apiCancelGeneration(Int64)
    /// GET: the reference image's facts; PUT: upload (raw image body); DELETE: remove.
    case apiReferenceImage(video: Int64)
    case apiRemixGeneration(Int64)
    case apiVideoRoundtable(video: Int64)  // POST: start
    case apiVideoRoundtables(video: Int64)  // GET: list
    case apiRoundtable(Int64)
    case apiRoundtableAccept(Int64)
    case apiRoundtableRetry(Int64)
    case apiWebhooks  // GET: list; POST: create
    case apiWebhook(Int64)  // GET, DELETE
    case apiWebhookDeliveries(Int64)
    case apiRedeliverWebhook(delivery: Int64)
    /// GET `?from=&to=&group_by=day|model|project|user&scope=`.
    case apiUsage
    /// A stored media file of a generation; only PromptReel's own file names are routes.
    case media(generation: Int64, file: String)

    /// The JSON API's OpenAPI document: served by nginx from Public/openapi.json (made from docs/openapi.yaml),
    /// so it is not a case the app answers.
    public static let openAPIDocumentPath = "/api/openapi.json"

    public init?(path: String) {
        let s = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        /// Ids as the route prints them, only: no sign, no leading zero, ASCII digits (`02`, `+2`, `2.0` are not routes).
        func id(_ text: String) -> Int64? {
            guard let first = text.utf8.first, first != UInt8(ascii: "0"), text.utf8.count <= 18,
                text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else { return nil }
            return Int64(text)
        }
        switch s {
        case [""], []: self = .home
        case ["healthz"]: self = .healthz
        case ["metrics"]: self = .metrics
        case ["login"]: self = .login
        case ["signup"]: self = .signup
        case ["logout"]: self = .logout
        case ["dashboard"]: self = .dashboard
        case ["dashboard", "projects"]: self = .projects
        case ["account"]: self = .account
        case ["account", "tokens"]: self = .tokens
        case ["account", "preferences"]: self = .accountPreferences
        case ["account", "webhooks"]: self = .webhooks
        case ["api", "webhooks"]: self = .apiWebhooks
        case ["admin", "users"]: self = .adminUsers
        case ["admin", "budgets"]: self = .adminBudgets
        case ["usage"]: self = .usage
        case ["usage.csv"]: self = .usageCSV
        case ["api", "usage"]: self = .apiUsage
        case ["api", "projects"]: self = .apiProjects
        case ["api", "videos"]: self = .apiVideos
        case ["api", "models"]: self = .apiModels
        case ["api", "models", "estimate"]: self = .apiEstimate
        default:
            guard s.count >= 3, let value = id(s[2]) else { return nil }
            switch (s[0], s[1], Array(s.dropFirst(3))) {
            case ("dashboard", "projects", []): self = .project(value)
            case ("dashboard", "projects", ["edit"]): self = .editProject(value)
            case ("dashboard", "projects", ["delete"]): self = .deleteProject(value)
            case ("dashboard", "projects", ["videos", "new"]): self = .newVideo(project: value)
            case ("dashboard", "projects", ["videos"]): self = .projectVideos(project: value)
            case ("dashboard", "videos", []): self = .video(value)
            case ("dashboard", "videos", ["edit"]): self = .editVideo(value)
            case ("dashboard", "videos", ["delete"]): self = .deleteVideo(value)
            case ("dashboard", "videos", ["copy"]): self = .copyVideo(value)
            case ("dashboard", "videos", ["generate"]): self = .generateVideo(video: value)
            case ("dashboard", "videos", ["generation"]): self = .latestGeneration(video: value)
            case ("dashboard", "videos", ["reference-image"]): self = .videoReferenceImage(video: value)
            case ("dashboard", "videos", ["reference-image", "delete"]): self = .videoReferenceImageDelete(video: value)
            case ("dashboard", "videos", ["reference-image", "preview"]): self = .videoReferencePreview(video: value)
            case ("dashboard", "generations", []): self = .generation(value)
            case ("dashboard", "generations", ["cancel"]): self = .cancelGeneration(value)
            case ("dashboard", "generations", ["remix"]): self = .remixGeneration(value)
            case ("dashboard", "videos", ["takes"]): self = .videoTakes(video: value)
            case ("dashboard", "videos", ["roundtables"]): self = .videoRoundtables(video: value)
            case ("dashboard", "roundtables", []): self = .roundtable(value)
            case ("dashboard", "roundtables", ["accept"]): self = .roundtableAccept(value)
            case ("dashboard", "roundtables", ["edit"]): self = .roundtableEdit(value)
            case ("dashboard", "roundtables", ["retry"]): self = .roundtableRetry(value)
            case ("account", "tokens", ["delete"]): self = .deleteToken(value)
            case ("account", "webhooks", []): self = .webhook(value)
            case ("account", "webhooks", ["delete"]): self = .deleteWebhook(value)
            case ("account", "webhook-deliveries", ["redeliver"]): self = .redeliverWebhook(delivery: value)
            case ("api", "webhooks", []): self = .apiWebhook(value)
            case ("api", "webhooks", ["deliveries"]): self = .apiWebhookDeliveries(value)
            case ("api", "webhook-deliveries", ["redeliver"]): self = .apiRedeliverWebhook(delivery: value)
            case ("admin", "users", []): self = .adminUser(value)
            case ("api", "projects", []): self = .apiProject(value)
            case ("api", "projects", ["videos"]): self = .apiProjectVideos(project: value)
            case ("api", "videos", []): self = .apiVideo(value)
            case ("api", "videos", ["copy"]): self = .apiVideoCopy(value)
            case ("api", "videos", ["generate-sora"]): self = .apiGenerate(video: value)
            case ("api", "videos", ["sora-status"]): self = .apiStatus(video: value)
            case ("api", "videos", ["generations"]): self = .apiVideoGenerations(video: value)
            case ("api", "generations", []): self = .apiGeneration(value)
            case ("api", "generations", ["cancel"]): self = .apiCancelGeneration(value)
            case ("api", "videos", ["reference-image"]): self = .apiReferenceImage(video: value)
            case ("api", "generations", ["remix"]): self = .apiRemixGeneration(value)
            case ("api", "videos", ["roundtable"]): self = .apiVideoRoundtable(video: value)
            case ("api", "videos", ["roundtables"]): self = .apiVideoRoundtables(video: value)
            case ("api", "roundtables", []): self = .apiRoundtable(value)
            case ("api", "roundtables", ["accept"]): self = .apiRoundtableAccept(value)
            case ("api", "roundtables", ["retry"]): self = .apiRoundtableRetry(value)
            case let ("media", "generations", rest)
            where rest.count == 1
                && (MediaAsset(fileName: rest[0]) != nil || ReferenceFile(fileName: rest[0]) != nil):
                self = .media(generation: value, file: rest[0])
            default: return nil
            }
        }
    }

    public var path: String {
        switch self {
        case .home: "/"
        case .healthz: "/healthz"
        case .metrics: "/metrics"
        case .login: "/login"
        case .signup: "/signup"
        case .logout: "/logout"
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
        case let .generateVideo(video): "/dashboard/videos/\(video)/generate"
        case let .latestGeneration(video): "/dashboard/videos/\(video)/generation"
        case let .generation(id): "/dashboard/generations/\(id)"
        case let .videoReferenceImage(video): "/dashboard/videos/\(video)/reference-image"
        case let .videoReferenceImageDelete(video): "/dashboard/videos/\(video)/reference-image/delete"
        case let .videoReferencePreview(video): "/dashboard/videos/\(video)/reference-image/preview"
        case let .cancelGeneration(id): "/dashboard/generations/\(id)/cancel"
        case let .remixGeneration(id): "/dashboard/generations/\(id)/remix"
        case let .videoTakes(video): "/dashboard/videos/\(video)/takes"
        case let .videoRoundtables(video): "/dashboard/videos/\(video)/roundtables"
        case let .roundtable(id): "/dashboard/roundtables/\(id)"
        case let .roundtableAccept(id): "/dashboard/roundtables/\(id)/accept"
        case let .roundtableEdit(id): "/dashboard/roundtables/\(id)/edit"
        case let .roundtableRetry(id): "/dashboard/roundtables/\(id)/retry"
        case .account: "/account"
        case .tokens: "/account/tokens"
        case .accountPreferences: "/account/preferences"
        case let .deleteToken(id): "/account/tokens/\(id)/delete"
        case .webhooks: "/account/webhooks"
        case let .webhook(id): "/account/webhooks/\(id)"
        case let .deleteWebhook(id): "/account/webhooks/\(id)/delete"
        case let .redeliverWebhook(delivery): "/account/webhook-deliveries/\(delivery)/redeliver"
        case .apiWebhooks: "/api/webhooks"
        case let .apiWebhook(id): "/api/webhooks/\(id)"
        case let .apiWebhookDeliveries(id): "/api/webhooks/\(id)/deliveries"
        case let .apiRedeliverWebhook(delivery): "/api/webhook-deliveries/\(delivery)/redeliver"
        case .adminUsers: "/admin/users"
        case let .adminUser(id): "/admin/users/\(id)"
        case .adminBudgets: "/admin/budgets"
        case .usage: "/usage"
        case .usageCSV: "/usage.csv"
        case .apiUsage: "/api/usage"
        case .apiProjects: "/api/projects"
        case let .apiProject(id): "/api/projects/\(id)"
        case let .apiProjectVideos(project): "/api/projects/\(project)/videos"
        case .apiVideos: "/api/videos"
        case let .apiVideo(id): "/api/videos/\(id)"
        case let .apiVideoCopy(id): "/api/videos/\(id)/copy"
        case .apiModels: "/api/models"
        case .apiEstimate: "/api/models/estimate"
        case let .apiGenerate(video): "/api/videos/\(video)/generate-sora"
        case let .apiStatus(video): "/api/videos/\(video)/sora-status"
        case let .apiVideoGenerations(video): "/api/videos/\(video)/generations"
        case let .apiGeneration(id): "/api/generations/\(id)"
        case let .apiCancelGeneration(id): "/api/generations/\(id)/cancel"
        case let .apiReferenceImage(video): "/api/videos/\(video)/reference-image"
        case let .apiRemixGeneration(id): "/api/generations/\(id)/remix"
        case let .apiVideoRoundtable(video): "/api/videos/\(video)/roundtable"
        case let .apiVideoRoundtables(video): "/api/videos/\(video)/roundtables"
        case let .apiRoundtable(id): "/api/roundtables/\(id)"
        case let .apiRoundtableAccept(id): "/api/roundtables/\(id)/accept"
        case let .apiRoundtableRetry(id): "/api/roundtables/\(id)/retry"
        case let .media(generation, file): "/media/generations/\(generation)/\(file)"
        }
    }

    /// The largest body a request may send: image uploads take up to 20 MiB (plus room for the form
    /// around the file), everything else `standard` (1 MiB). Known from the method and path alone, before
    /// the body is read; nginx's `client_max_body_size` follows the same split.
    public static func maxBodyBytes(method: String, path: String, standard: Int) -> Int {
        guard path.hasSuffix("/reference-image") else { return standard }
        switch (method, Route(path: path)) {
        case ("PUT", .apiReferenceImage?): return ReferenceImages.maxImageBytes
        case ("POST", .videoReferenceImage?): return ReferenceImages.maxImageBytes + formOverheadBytes
        default: return standard
        }
    }

    /// Room for the multipart framing and the CSRF field around an uploaded file.
    static let formOverheadBytes = 64 << 10

    /// Media is fetched by browsers (cookie) and by API clients (bearer token).
    var acceptsBearer: Bool {
        if case .media = self { true } else { false }
    }
}

extension Route {
    /// The route's case name: the `route` label of the request metrics (bounded, unlike raw paths), derived
    /// from the case itself so a new route needs no name of its own (the names are pinned by RouteTests).
    var metricName: String {
        let described = String(describing: self)
        return described.firstIndex(of: "(").map { String(described[..<$0]) } ?? described
    }
}
