// The application as one request handler: resolve the route, authenticate, check CSRF, run the
// handler, and map any error to a response in one place. Owns one database connection; one App per
// FastCGI thread, so it is deliberately not Sendable. It never talks to the video provider: workers do.

public import Core
import CoreMetrics
import Logging
import Metrics
import Postgres
import Telemetry
public import Web

public final class App {
    let config: AppConfig
    /// Shared by every App of the process (one per FastCGI thread); nil: no caching.
    let cache: AnswerCache?
    private var connection: Connection?

    public init(config: AppConfig, cache: AnswerCache? = nil) {
        self.config = config
        self.cache = cache
    }

    /// The connection, (re)opened on demand so the app survives PostgreSQL restarts.
    func database() throws(HTTPError) -> Connection {
        do {
            if let connection {
                try connection.reconnectIfNeeded()
                return connection
            }
            let fresh = try Connection(url: config.databaseURL)
            connection = fresh
            return fresh
        } catch {
            throw HTTPError(
                503, "database_unavailable", "The database is unavailable. Try again shortly.",
                logDetail: error.description)
        }
    }

    public func respond(to request: Request) -> Response {
        let started = monotonicNanoseconds()
        let route = Route(path: request.path)
        let response = answer(request, route: route)
        record(
            route: route?.metricName ?? "unmatched", status: response.status,
            nanoseconds: monotonicNanoseconds() - started)
        return response
    }

    private func answer(_ request: Request, route: Route?) -> Response {
        var request = request
        if request.method == "HEAD" { request.method = "GET" }
        var userID: Int64?
        do {
            guard let route else { throw HTTPError.notFound() }
            if route == .healthz { return health() }
            if route == .metrics { return try InstanceMetrics.serve(request, db: database) }
            let table = handlers(for: route)
            guard let method = HTTPMethod(of: request), let handler = table[method] else {
                var error = HTTPError.methodNotAllowed
                error.headers = [("Allow", table.keys.sorted().map(\.rawValue).joined(separator: ", "))]
                throw error
            }
            var context = try Context(request: request, db: database(), config: config, cache: cache)
            try context.authenticate(api: ErrorPages.isAPI(request), allowBearer: route.acceptsBearer)
            userID = context.user?.id
            if method == .post, !ErrorPages.isAPI(request) { try context.checkCSRF() }
            var response = try handler(&context)
            context.finish(&response)
            return response
        } catch {
            return errorResponse(error, for: request, userID: userID)
        }
    }

    // MARK: Metrics (per thread: after the first request of a kind, no shared lookup and no allocation; the
    // duration histogram takes swift-prometheus' brief mutex per observation)

    private struct RequestKey: Hashable {
        let route: String
        let status: Int
    }
    private let metrics = ProcessMetrics.shared
    private var requestCounters: [RequestKey: CoreMetrics.Counter] = [:]
    private var requestTimers: [String: Metrics.Timer] = [:]

    private func record(route: String, status: Int, nanoseconds: Int64) {
        let key = RequestKey(route: route, status: status)
        if let counter = requestCounters[key] {
            counter.increment()
        } else {
            let counter = metrics.requestCounter(route: route, status: status)
            requestCounters[key] = counter
            counter.increment()
        }
        if let timer = requestTimers[route] {
            timer.recordNanoseconds(nanoseconds)
        } else {
            let timer = metrics.requestTimer(route: route)
            requestTimers[route] = timer
            timer.recordNanoseconds(nanoseconds)
        }
    }

    /// Every error answer is logged with the request id (5xx as errors with the detail, the rest as info).
    func errorResponse(_ error: any Error, for request: Request, userID: Int64? = nil) -> Response {
        let http = Self.httpError(error)
        var metadata: Logger.Metadata = [
            "request_id": "\(request.requestID)", "status": "\(http.status)", "code": "\(http.code)",
        ]
        if let userID { metadata["user_id"] = "\(userID)" }
        if http.status >= 500 {
            Log.error(
                "\(request.method) \(request.path) -> \(http.status): \(http.logDetail ?? http.publicMessage)", metadata
            )
        } else {
            Log.info("\(request.method) \(request.path) -> \(http.status)", metadata)
        }
        if http.status == 503 { connection = connection?.isHealthy == true ? connection : nil }
        return ErrorPages.response(for: http, request: request) { Views.errorPage($0) }
    }

    /// The one mapping from thrown errors to HTTP errors.
    static func httpError(_ error: any Error) -> HTTPError {
        switch error {
        case let e as HTTPError: return e
        case let e as InvalidInput: return e.httpError
        case let e as NotFound: return .notFound(e.message)
        case let e as Unavailable: return HTTPError(503, e.code, e.message, logDetail: e.logDetail)
        case let e as SettingsError: return e.httpError
        case let e as Generations.Refusal: return e.httpError
        case let e as Roundtables.Refusal: return e.httpError
        case let e as BudgetExceeded: return e.httpError
        case let e as Library.Refusal: return e.httpError
        case let e as ReferenceImages.Refusal: return e.httpError
        case let e as Webhooks.Refusal: return e.httpError
        case let e as MultipartError:
            switch e {
            case .noBoundary: return HTTPError(400, "malformed_multipart", "The form upload has no multipart boundary.")
            case let .malformed(why):
                return HTTPError(400, "malformed_multipart", "The form upload is malformed: \(why).")
            case .tooManyParts: return HTTPError(400, "malformed_multipart", "The form upload has too many parts.")
            }
        case let e as DatabaseError:
            switch e {
            case .unavailable:
                return HTTPError(
                    503, "database_unavailable", "The database is unavailable. Try again shortly.",
                    logDetail: e.description)
            case .uniqueViolation: return HTTPError(409, "conflict", "That already exists.", logDetail: e.description)
            case .foreignKeyViolation:
                return HTTPError(
                    409, "conflict", "That refers to something that no longer exists.", logDetail: e.description)
            case .invalidData:
                return HTTPError(422, "validation_failed", "The data is not valid.", logDetail: e.description)
            case .retryable: return HTTPError(503, "busy", "The server is busy. Try again.", logDetail: e.description)
            case .other:
                return HTTPError(500, "internal_error", "Something went wrong on our side.", logDetail: e.description)
            }
        case let FormError.invalidUTF8(field): return .validation(field: field, "must be valid UTF-8 text")
        case let e as JSONError:
            switch e {
            case .wrongContentType:
                return HTTPError(415, "unsupported_media_type", "Send a JSON body with Content-Type: application/json.")
            case let .syntax(offset):
                return HTTPError(400, "invalid_json", "The body is not valid JSON (error at byte \(offset)).")
            case .tooDeep: return HTTPError(400, "invalid_json", "The JSON is nested too deeply.")
            }
        default:
            return HTTPError(500, "internal_error", "Something went wrong on our side.", logDetail: "\(error)")
        }
    }

    /// 200 when the database answers (503 when it does not), with the provider breaker's view; from a
    /// check at most a second old when the cache has one.
    func health() -> Response {
        let now = AnswerCache.now()
        if let degraded = cache?.health(now: now) { return healthy(degraded: degraded) }
        do {
            let degraded = try ProviderHealth(db: database()).isDegraded()
            cache?.store(health: degraded, checkedAt: now)
            return healthy(degraded: degraded)
        } catch {
            connection = nil
            Log.error("healthz: \(error)")
            return .json(.object([("status", .string("database_unavailable"))]), status: 503)
        }
    }

    func healthy(degraded: Bool) -> Response {
        .json(.object([("status", .string("ok")), ("provider", .string(degraded ? "degraded" : "ok"))]))
    }

    typealias Handler = (inout Context) throws -> Response

    /// The route table: which methods each route answers, and with what.
    func handlers(for route: Route) -> [HTTPMethod: Handler] {
        switch route {
        case .home: [.get: { $0.user == nil ? .redirect(to: Route.login.path) : .redirect(to: Route.dashboard.path) }]
        case .healthz, .metrics: [:]  // answered before authentication, in `answer`
        case .login: [.get: AccountPages.loginForm, .post: AccountPages.login]
        case .signup: [.get: AccountPages.signupForm, .post: AccountPages.signup]
        case .logout: [.post: AccountPages.logout]
        case .account: [.get: AccountPages.account]
        case .tokens: [.post: AccountPages.createToken]
        case .accountPreferences: [.post: AccountPages.savePreferences]
        case let .deleteToken(id): [.post: { try AccountPages.deleteToken(&$0, id: id) }]
        case .webhooks: [.get: WebhookPages.list, .post: WebhookPages.create]
        case let .webhook(id): [.get: { try WebhookPages.show(&$0, id: id) }]
        case let .deleteWebhook(id): [.post: { try WebhookPages.delete(&$0, id: id) }]
        case let .redeliverWebhook(delivery): [.post: { try WebhookPages.redeliver(&$0, deliveryID: delivery) }]
        case .apiWebhooks: [.get: WebhookAPI.list, .post: WebhookAPI.create]
        case let .apiWebhook(id):
            [.get: { try WebhookAPI.one(&$0, id: id) }, .delete: { try WebhookAPI.delete(&$0, id: id) }]
        case let .apiWebhookDeliveries(id): [.get: { try WebhookAPI.deliveries(&$0, id: id) }]
        case let .apiRedeliverWebhook(delivery): [.post: { try WebhookAPI.redeliver(&$0, deliveryID: delivery) }]
        case .adminUsers: [.get: AdminPages.users]
        case let .adminUser(id): [.post: { try AdminPages.change(&$0, id: id) }]
        case .adminBudgets: [.get: AdminPages.budgets, .post: AdminPages.setBudget]
        case .usage: [.get: UsagePages.page]
        case .usageCSV: [.get: UsagePages.csv]
        case .apiUsage: [.get: UsageAPI.show]
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
        case let .generateVideo(video):
            [
                .get: { try GenerationPages.settings(&$0, videoID: video) },
                .post: { try GenerationPages.confirm(&$0, videoID: video) },
            ]
        case let .latestGeneration(video): [.get: { try GenerationPages.latest(&$0, videoID: video) }]
        case let .generation(id): [.get: { try GenerationPages.show(&$0, id: id) }]
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
        case .apiProjects: [.get: API.listProjects, .post: API.createProject]
        case let .apiProject(id):
            [
                .get: { try API.project(&$0, id: id) }, .patch: { try API.updateProject(&$0, id: id) },
                .delete: { try API.deleteProject(&$0, id: id) },
            ]
        case .apiVideos: [.get: { try API.listAllVideos(&$0) }]
        case let .apiProjectVideos(project):
            [
                .get: { try API.listVideos(&$0, project: project) },
                .post: { try API.createVideo(&$0, project: project) },
            ]
        case let .apiVideo(id):
            [
                .get: { try API.video(&$0, id: id) }, .patch: { try API.updateVideo(&$0, id: id) },
                .delete: { try API.deleteVideo(&$0, id: id) },
            ]
        case let .apiVideoCopy(id): [.post: { try API.copyVideo(&$0, id: id) }]
        case .apiModels: [.get: API.models]
        case .apiEstimate: [.get: API.estimate]
        case let .apiGenerate(video): [.post: { try GenerationAPI.generate(&$0, videoID: video) }]
        case let .apiStatus(video): [.get: { try GenerationAPI.status(&$0, videoID: video) }]
        case let .apiVideoGenerations(video): [.get: { try GenerationAPI.history(&$0, videoID: video) }]
        case let .apiGeneration(id): [.get: { try GenerationAPI.one(&$0, id: id) }]
        case let .apiCancelGeneration(id): [.post: { try GenerationAPI.cancel(&$0, id: id) }]
        case let .cancelGeneration(id): [.post: { try GenerationPages.cancel(&$0, id: id) }]
        case let .remixGeneration(id):
            [.get: { try GenerationPages.remixForm(&$0, id: id) }, .post: { try GenerationPages.remix(&$0, id: id) }]
        case let .videoTakes(video): [.get: { try GenerationPages.takes(&$0, videoID: video) }]
        case let .apiRemixGeneration(id): [.post: { try GenerationAPI.remix(&$0, id: id) }]
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
        case let .media(generation, file): [.get: { try Media.serve(&$0, generationID: generation, file: file) }]
        }
    }
}
