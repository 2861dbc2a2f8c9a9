// The application as one request handler: resolve the route, authenticate, check CSRF, run the
// handler, and map any error to a response in one place. Owns one database connection; one App per
// FastCGI thread, so it is deliberately not Sendable. It never talks to the video provider: workers do.

public import Core
import CoreMetrics
import Formats
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
            let fresh = try config.connect(.request)
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
        var userID: ID<User>?
        do {
            guard let route else { throw HTTPError.notFound() }
            if route == .healthz { return health() }
            if route == .metrics { return try InstanceMetrics.serve(request, db: database) }
            let table = handlers(for: route)
            let method = HTTPMethod(of: request)
            let handler = method.flatMap { table[$0] }
            try Field.checkText(request.query)
            let keys = ErrorPages.isAPI(request) ? nil : try formKeys()
            var context = try Context(request: request, db: database(), config: config, cache: cache, formKeys: keys)
            try context.authenticate(api: ErrorPages.isAPI(request), allowBearer: route.acceptsBearer)
            userID = context.user?.id
            // Only for the answers that carry it (a 401 or a 405), never on the way to a handler.
            func allow() -> String { table.keys.sorted().map(\.rawValue).joined(separator: ", ") }
            // The checks in this order (Tests/e2e/test_authorization.py walks every route through them): no
            // account where one is needed (401, or the log-in page), a read-only token's change (403), a record
            // the caller may not see (404), one their role may not change (403), a method the route lacks (405).
            // The account is asked for here, before a form's CSRF token or the method are looked at (a 401 for a
            // method the route lacks still names the ones it has); handlers then read it with `requireUser`.
            if context.user == nil, !route.isPublic {
                do { _ = try context.requireUser() } catch var error {
                    if handler == nil { error.headers.append(("Allow", allow())) }
                    throw error
                }
            }
            if context.user?.scope == .read, method != .get { throw HTTPError.readOnlyToken }
            // Reads of a route it answers need no look-up here (their queries carry the membership: the hot paths
            // stay one query).
            if let user = context.user, let need = route.access(method ?? .get) {
                if handler == nil {
                    try Members(db: context.db).require(AccessNeed(need.resource, .viewer), userID: user.id)
                } else if need.role > .viewer {
                    try Members(db: context.db).require(need, userID: user.id)
                }
            }
            guard let method, let handler else {
                var error = HTTPError.methodNotAllowed
                error.headers = [("Allow", allow())]
                throw error
            }
            if method == .post, !ErrorPages.isAPI(request) { try context.checkCSRF(reload: freshFormKeys) }
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
    func errorResponse(_ error: any Error, for request: Request, userID: ID<User>? = nil) -> Response {
        let http = Self.httpError(error)
        var metadata: Logger.Metadata = [
            "request_id": "\(request.requestID)", "status": "\(http.status)", "code": "\(http.code)",
        ]
        if let userID { metadata["user_id"] = "\(userID)" }
        if http.status >= 500 {
            Log.error(
                "\(request.method) \(Route.loggable(request.path)) -> \(http.status): \(http.logDetail ?? http.publicMessage)",
                metadata
            )
        } else {
            Log.info("\(request.method) \(Route.loggable(request.path)) -> \(http.status)", metadata)
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
        case let e as RoleForbidden: return HTTPError(403, "role_forbidden", e.message)
        case let e as StaleVideo: return e.httpError
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
            case .timedOut:
                return HTTPError(
                    503, "database_timeout", "The database took too long to answer. Try again shortly.",
                    logDetail: e.description)
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

    /// The CSRF keys, from a copy at most `AnswerCache.formKeysSeconds` old when the cache has one.
    func formKeys() throws -> FormKeys {
        if let keys = cache?.formKeys(now: AnswerCache.now()) { return keys }
        return try freshFormKeys()
    }

    /// The CSRF keys read now (and kept for the next requests).
    func freshFormKeys() throws -> FormKeys {
        let now = AnswerCache.now()
        let keys = try FormKeys.load(database())
        cache?.store(formKeys: keys, readAt: now)
        return keys
    }

    /// 200 when the database answers (503 when it does not), with the provider breaker's view; from a
    /// check at most a second old when the cache has one.
    func health() -> Response {
        let now = AnswerCache.now()
        if let states = cache?.health(now: now) { return healthy(states) }
        do {
            let states = try MediaStoreHealth.all(database())
            cache?.store(health: states, checkedAt: now)
            return healthy(states)
        } catch {
            connection = nil
            Log.error("healthz: \(error)")
            return .json(.object([("status", .string("database_unavailable"))]), status: 503)
        }
    }

    /// `provider`: the worst state; `providers`: each enabled provider's; `storage`: the worst of the media
    /// stores' as the workers last found them (no store is called here).
    func healthy(_ states: InstanceHealth) -> Response {
        func word(_ degraded: Bool) -> JSON { .string(degraded ? "degraded" : "ok") }
        return .json(
            .object([
                ("status", .string("ok")), ("provider", word(states.providers.contains(where: \.degraded))),
                ("providers", .object(states.providers.map { ($0.provider, word($0.degraded)) })),
                ("storage", word(states.storage.contains(where: \.degraded))),
            ]))
    }

    typealias Handler = (inout Context) throws -> Response

    /// The route table: which methods each route answers, and with what (each area's beside its pages).
    func handlers(for route: Route) -> [HTTPMethod: Handler] {
        switch route {
        case .home:
            [
                .get: {
                    $0.user == nil
                        ? .redirect(to: Route.accounts(.login).path) : .redirect(to: Route.library(.dashboard).path)
                }
            ]
        case .healthz, .metrics: [:]  // answered before authentication, in `answer`
        case let .accounts(r): r.handlers
        case let .admin(r): r.handlers
        case let .library(r): r.handlers
        case let .generations(r): r.handlers
        case let .roundtables(r): r.handlers
        case let .references(r): r.handlers
        case let .webhooks(r): r.handlers
        case let .usage(r): r.handlers
        case let .storyboards(r): r.handlers
        case let .films(r): r.handlers
        case let .sharing(r): r.handlers
        case let .media(generation, file): [.get: { try Media.serve(&$0, generationID: generation, file: file) }]
        }
    }
}
