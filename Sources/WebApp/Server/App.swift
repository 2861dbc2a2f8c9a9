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
            throw HTTPError(503, "database_unavailable", "The database is unavailable. Try again shortly.",
                            logDetail: error.description)
        }
    }

    public func respond(to request: Request) -> Response {
        let started = monotonicNanoseconds()
        let route = Route(path: request.path)
        let response = answer(request, route: route)
        record(route: route?.metricName ?? "unmatched", status: response.status, nanoseconds: monotonicNanoseconds() - started)
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
            guard let handler = table[request.method] else {
                var error = HTTPError.methodNotAllowed
                error.headers = [("Allow", table.keys.sorted().joined(separator: ", "))]
                throw error
            }
            var context = try Context(request: request, db: database(), config: config, cache: cache)
            try context.authenticate(api: ErrorPages.isAPI(request), allowBearer: route.acceptsBearer)
            userID = context.user?.id
            if request.method == "POST", !ErrorPages.isAPI(request) { try context.checkCSRF() }
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
        var metadata: Logger.Metadata = ["request_id": "\(request.requestID)", "status": "\(http.status)", "code": "\(http.code)"]
        if let userID { metadata["user_id"] = "\(userID)" }
        if http.status >= 500 {
            Log.error("\(request.method) \(request.path) -> \(http.status): \(http.logDetail ?? http.publicMessage)", metadata)
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
            case let .malformed(why): return HTTPError(400, "malformed_multipart", "The form upload is malformed: \(why).")
            case .tooManyParts: return HTTPError(400, "malformed_multipart", "The form upload has too many parts.")
            }
        case let e as DatabaseError:
            switch e {
            case .unavailable: return HTTPError(503, "database_unavailable", "The database is unavailable. Try again shortly.", logDetail: e.description)
            case .uniqueViolation: return HTTPError(409, "conflict", "That already exists.", logDetail: e.description)
            case .foreignKeyViolation: return HTTPError(409, "conflict", "That refers to something that no longer exists.", logDetail: e.description)
            case .invalidData: return HTTPError(422, "validation_failed", "The data is not valid.", logDetail: e.description)
            case .retryable: return HTTPError(503, "busy", "The server is busy. Try again.", logDetail: e.description)
            case .other: return HTTPError(500, "internal_error", "Something went wrong on our side.", logDetail: e.description)
            }
        case let FormError.invalidUTF8(field): return .validation(field: field, "must be valid UTF-8 text")
        case let e as JSONError:
            switch e {
            case .wrongContentType: return HTTPError(415, "unsupported_media_type", "Send a JSON body with Content-Type: application/json.")
            case let .syntax(offset): return HTTPError(400, "invalid_json", "The body is not valid JSON (error at byte \(offset)).")
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
    func handlers(for route: Route) -> [String: Handler] {
        switch route {
        case .home: ["GET": { $0.user == nil ? .redirect(to: Route.login.path) : .redirect(to: Route.dashboard.path) }]
        case .healthz, .metrics: [:]  // answered before authentication, in `answer`
        case .login: ["GET": AccountPages.loginForm, "POST": AccountPages.login]
        case .signup: ["GET": AccountPages.signupForm, "POST": AccountPages.signup]
        case .logout: ["POST": AccountPages.logout]
        case .account: ["GET": AccountPages.account]
        case .tokens: ["POST": AccountPages.createToken]
        case .accountPreferences: ["POST": AccountPages.savePreferences]
        case let .deleteToken(id): ["POST": { try AccountPages.deleteToken(&$0, id: id) }]
        case .webhooks: ["GET": WebhookPages.list, "POST": WebhookPages.create]
        case let .webhook(id): ["GET": { try WebhookPages.show(&$0, id: id) }]
        case let .deleteWebhook(id): ["POST": { try WebhookPages.delete(&$0, id: id) }]
        case let .redeliverWebhook(delivery): ["POST": { try WebhookPages.redeliver(&$0, deliveryID: delivery) }]
        case .apiWebhooks: ["GET": WebhookAPI.list, "POST": WebhookAPI.create]
        case let .apiWebhook(id): ["GET": { try WebhookAPI.one(&$0, id: id) }, "DELETE": { try WebhookAPI.delete(&$0, id: id) }]
        case let .apiWebhookDeliveries(id): ["GET": { try WebhookAPI.deliveries(&$0, id: id) }]
        case let .apiRedeliverWebhook(delivery): ["POST": { try WebhookAPI.redeliver(&$0, deliveryID: delivery) }]
        case .adminUsers: ["GET": AdminPages.users]
        case let .adminUser(id): ["POST": { try AdminPages.change(&$0, id: id) }]
        case .adminBudgets: ["GET": AdminPages.budgets, "POST": AdminPages.setBudget]
        case .usage: ["GET": UsagePages.page]
        case .usageCSV: ["GET": UsagePages.csv]
        case .apiUsage: ["GET": UsageAPI.show]
        case .dashboard: ["GET": ProjectPages.dashboard]
        case .projects: ["POST": ProjectPages.create]
        case let .project(id): ["GET": { try ProjectPages.show(&$0, id: id) }]
        case let .editProject(id): ["GET": { try ProjectPages.editForm(&$0, id: id) }, "POST": { try ProjectPages.update(&$0, id: id) }]
        case let .deleteProject(id): ["GET": { try ProjectPages.confirmDelete(&$0, id: id) }, "POST": { try ProjectPages.delete(&$0, id: id) }]
        case let .newVideo(project): ["GET": { try VideoPages.newForm(&$0, project: project) }]
        case let .projectVideos(project): ["POST": { try VideoPages.create(&$0, project: project) }]
        case let .video(id): ["GET": { try VideoPages.show(&$0, id: id) }]
        case let .editVideo(id): ["GET": { try VideoPages.editForm(&$0, id: id) }, "POST": { try VideoPages.update(&$0, id: id) }]
        case let .deleteVideo(id): ["GET": { try VideoPages.confirmDelete(&$0, id: id) }, "POST": { try VideoPages.delete(&$0, id: id) }]
        case let .copyVideo(id): ["POST": { try VideoPages.copy(&$0, id: id) }]
        case let .generateVideo(video): ["GET": { try GenerationPages.settings(&$0, videoID: video) },
                                         "POST": { try GenerationPages.confirm(&$0, videoID: video) }]
        case let .latestGeneration(video): ["GET": { try GenerationPages.latest(&$0, videoID: video) }]
        case let .generation(id): ["GET": { try GenerationPages.show(&$0, id: id) }]
        case let .videoReferenceImage(video): ["GET": { try ReferencePages.original(&$0, videoID: video) },
                                               "POST": { try ReferencePages.upload(&$0, videoID: video) }]
        case let .videoReferenceImageDelete(video): ["POST": { try ReferencePages.remove(&$0, videoID: video) }]
        case let .videoReferencePreview(video): ["GET": { try ReferencePages.preview(&$0, videoID: video) }]
        case let .apiReferenceImage(video): ["GET": { try ReferenceAPI.show(&$0, videoID: video) },
                                             "PUT": { try ReferenceAPI.put(&$0, videoID: video) },
                                             "DELETE": { try ReferenceAPI.delete(&$0, videoID: video) }]
        case .apiProjects: ["GET": API.listProjects, "POST": API.createProject]
        case let .apiProject(id): ["GET": { try API.project(&$0, id: id) }, "PATCH": { try API.updateProject(&$0, id: id) },
                                   "DELETE": { try API.deleteProject(&$0, id: id) }]
        case .apiVideos: ["GET": { try API.listAllVideos(&$0) }]
        case let .apiProjectVideos(project): ["GET": { try API.listVideos(&$0, project: project) },
                                              "POST": { try API.createVideo(&$0, project: project) }]
        case let .apiVideo(id): ["GET": { try API.video(&$0, id: id) }, "PATCH": { try API.updateVideo(&$0, id: id) },
                                 "DELETE": { try API.deleteVideo(&$0, id: id) }]
        case let .apiVideoCopy(id): ["POST": { try API.copyVideo(&$0, id: id) }]
        case .apiModels: ["GET": API.models]
        case .apiEstimate: ["GET": API.estimate]
        case let .apiGenerate(video): ["POST": { try GenerationAPI.generate(&$0, videoID: video) }]
        case let .apiStatus(video): ["GET": { try GenerationAPI.status(&$0, videoID: video) }]
        case let .apiVideoGenerations(video): ["GET": { try GenerationAPI.history(&$0, videoID: video) }]
        case let .apiGeneration(id): ["GET": { try GenerationAPI.one(&$0, id: id) }]
        case let .apiCancelGeneration(id): ["POST": { try GenerationAPI.cancel(&$0, id: id) }]
        case let .cancelGeneration(id): ["POST": { try GenerationPages.cancel(&$0, id: id) }]
        case let .remixGeneration(id): ["GET": { try GenerationPages.remixForm(&$0, id: id) }, "POST": { try GenerationPages.remix(&$0, id: id) }]
        case let .videoTakes(video): ["GET": { try GenerationPages.takes(&$0, videoID: video) }]
        case let .apiRemixGeneration(id): ["POST": { try GenerationAPI.remix(&$0, id: id) }]
        case let .videoRoundtables(video): ["POST": { try RoundtablePages.start(&$0, videoID: video) }]
        case let .roundtable(id): ["GET": { try RoundtablePages.show(&$0, id: id) }]
        case let .roundtableAccept(id): ["POST": { try RoundtablePages.accept(&$0, id: id) }]
        case let .roundtableEdit(id): ["GET": { try RoundtablePages.edit(&$0, id: id) }]
        case let .roundtableRetry(id): ["POST": { try RoundtablePages.retry(&$0, id: id) }]
        case let .apiVideoRoundtable(video): ["POST": { try RoundtableAPI.start(&$0, videoID: video) }]
        case let .apiVideoRoundtables(video): ["GET": { try RoundtableAPI.list(&$0, videoID: video) }]
        case let .apiRoundtable(id): ["GET": { try RoundtableAPI.one(&$0, id: id) }]
        case let .apiRoundtableAccept(id): ["POST": { try RoundtableAPI.accept(&$0, id: id) }]
        case let .apiRoundtableRetry(id): ["POST": { try RoundtableAPI.retry(&$0, id: id) }]
        case let .media(generation, file): ["GET": { try Media.serve(&$0, generationID: generation, file: file) }]
        }
    }
}
