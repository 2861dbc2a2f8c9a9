// Per-request state handed to handlers: the request, the database, who is signed in, the CSRF token
// for forms, and cookies to set on the way out.

import Core
import Formats
import Glibc
import Postgres
import Telemetry
import Web

struct Context {
    static let sessionCookie = "pr_session"
    static let csrfCookie = "pr_csrf"
    static let flashCookie = "pr_flash"

    let request: Request
    let db: Connection
    let config: AppConfig
    /// This process's cache of rarely changing answers; nil in tests that drive the App directly.
    let cache: AnswerCache?
    var store: Store { Store(db: db) }
    var generations: Generations { Generations(db: db, config: config, cache: cache) }
    var roundtables: Roundtables { Roundtables(db: db, config: config) }
    var webhooks: Webhooks { Webhooks(db: db, config: config.webhooks) }
    var library: Library { Library(db: db, stores: config.engine.media, cache: cache) }
    var storyboardClicks: StoryboardClicks { StoryboardClicks(db: db, config: config, cache: cache) }
    var films: Films { Films(db: db) }
    var user: User?
    /// The token every form must echo back in `_csrf`.
    private(set) var csrfToken: String
    private var csrfSeed: String
    /// The server's CSRF keys (nil on API calls, which have no forms).
    private var formKeys: FormKeys?
    private var outgoingCookies: [Cookie] = []
    /// The url-encoded (or multipart) body, parsed once for the CSRF check and the handler.
    private var parsedForm: Form?
    /// The file parts of a multipart body.
    private var parsedFiles: [MultipartPart] = []
    /// A one-time message from the previous POST (POST-redirect-GET).
    let flash: String?
    private var flashReplaced = false

    init(request: Request, db: Connection, config: AppConfig, cache: AnswerCache? = nil, formKeys: FormKeys?) {
        self.request = request
        self.formKeys = formKeys
        self.db = db
        self.config = config
        self.cache = cache
        let cookies = request.cookies
        flash = cookies[Context.flashCookie].flatMap { FormDecoder.lenient("m=" + $0)["m"] }
        if formKeys == nil {
            csrfSeed = ""  // the API has no forms: no cookie to set
        } else if let seed = cookies[Context.csrfCookie], seed.count == 43 {
            csrfSeed = seed
        } else {
            csrfSeed = Crypto.randomToken()
            outgoingCookies.append(Cookie(name: Context.csrfCookie, value: csrfSeed, secure: request.isHTTPS))
        }
        // API calls have no forms: no token to compute on the hottest path. The token is bound to the CSRF
        // cookie and the session and keyed with the server's secret, so a planted cookie alone is useless.
        csrfToken =
            csrfSeed.isEmpty ? "" : formKeys?.token(seed: csrfSeed, session: cookies[Context.sessionCookie]) ?? ""
    }

    /// API calls authenticate with a bearer token; pages with the session cookie; media with either.
    /// A token's or session's owner comes from the cache when it has it (no database round trip).
    mutating func authenticate(api: Bool, allowBearer: Bool) throws {
        if api || allowBearer, let token = request.bearerToken {
            let hash = Crypto.sha256(token)
            if let cached = cache?.user(forToken: hash) {
                user = cached
                return
            }
            let epoch = cache?.epoch ?? 0
            user = try store.userForAPIToken(token)
            if let user { cache?.store(token: hash, user: user, readAt: epoch) }
        } else if !api, let token = request.cookies[Context.sessionCookie] {
            let hash = Crypto.sha256(token)
            let now = AnswerCache.now()
            if let cached = cache?.user(forSession: hash, now: now) {
                user = cached
                return
            }
            let epoch = cache?.epoch ?? 0
            guard
                let session = try store.session(
                    hash: hash, idleSeconds: config.sessionIdleSeconds, address: request.remoteAddress)
            else { return }
            user = session.user
            // Kept at most five minutes, so the database sees the session (its last-seen time) that often.
            cache?.store(
                session: hash, .init(user: session.user, expiresAt: now + min(session.secondsLeft, 300)), readAt: epoch)
        }
    }

    /// The user's generation and its video, from the cache when it has them (for pages and media).
    func generationWithVideo(id: ID<Generation>, userID: ID<User>) throws -> (Generation, Video)? {
        let now = AnswerCache.now()
        if let entry = cache?.generation(id: id, userID: userID, now: now), let video = entry.video {
            return (entry.generation, video)
        }
        let epoch = cache?.epoch ?? 0
        guard let generation = try generations.store.generation(id: id, userID: userID),
            let videoID = generation.videoID,
            let video = try store.video(id: videoID, userID: userID)
        else { return nil }
        cache?.store(
            generation: .init(
                generation: generation, video: video,
                expiresAt: generation.isActive ? now + AnswerCache.inFlightSeconds : nil), readAt: epoch)
        return (generation, video)
    }

    /// The providers whose breaker holds creates back: from a check at most a second old.
    func degradedProviders() -> [String] {
        let now = AnswerCache.now()
        if let cached = cache?.health(now: now) { return cached.providers.filter(\.degraded).map(\.provider) }
        // only a real answer is kept
        guard let states = try? MediaStoreHealth.all(db) else { return [] }
        cache?.store(health: states, checkedAt: now)
        return states.providers.filter(\.degraded).map(\.provider)
    }

    func requireUser() throws(HTTPError) -> User {
        guard let user else {
            // A bearer token that failed is a program's request: 401, not a log-in page (media take both).
            if ErrorPages.isAPI(request) || request.bearerToken != nil { throw HTTPError.unauthorized }
            var redirect = HTTPError(303, "login_required", "Sign in to continue.")
            redirect.headers = [("Location", Route.accounts(.login).path + "?next=" + URLEncoding.encode(request.path))]
            throw redirect
        }
        return user
    }

    /// Admin pages do not exist for members (and for visitors, who are sent to log in first).
    func requireAdmin() throws(HTTPError) -> User {
        let user = try requireUser()
        guard user.isAdmin else { throw HTTPError.notFound() }
        return user
    }

    /// The form fields, from an url-encoded body or the text parts of a multipart one.
    mutating func form() throws -> Form {
        if let parsedForm { return parsedForm }
        let form: Form
        if request.contentType == "multipart/form-data" {
            let parts = try Multipart.parse(request.body, contentType: request.header("content-type") ?? "")
            var fields: [String: String] = [:]
            for part in parts where part.filename == nil {
                guard let text = String(validating: part.data, as: UTF8.self) else {
                    throw FormError.invalidUTF8(field: part.name)
                }
                if fields[part.name] == nil { fields[part.name] = text }
            }
            parsedFiles = parts.filter { $0.filename != nil }
            form = Form(fields)
        } else {
            form = try request.form()
        }
        try Field.checkText(form.fields)
        parsedForm = form
        return form
    }

    /// A file part of a multipart form (nil when none was sent under that name).
    mutating func file(_ name: String) throws -> MultipartPart? {
        _ = try form()
        return parsedFiles.first { $0.name == name }
    }

    /// `reload` reads the keys again: a token another process signed with a key newer than this process's
    /// copy (a rotation seconds ago) is checked once more against the keys as they are now.
    mutating func checkCSRF(reload: () throws -> FormKeys) throws(HTTPError) {
        let sent: String
        // A form that cannot be read is refused as what it is (400 malformed, 422 naming the field), before
        // and instead of the handler: the token inside it could not be trusted either.
        do { sent = try form()["_csrf"] ?? "" } catch { throw App.httpError(error) }
        let session = request.cookies[Context.sessionCookie]
        guard let keys = formKeys, !csrfSeed.isEmpty else { throw HTTPError.csrf }
        if keys.accepts(sent, seed: csrfSeed, session: session) { return }
        guard let fresh = try? reload(), fresh.accepted != keys.accepted,
            fresh.accepts(sent, seed: csrfSeed, session: session)
        else { throw HTTPError.csrf }
        formKeys = fresh
        csrfToken = fresh.token(seed: csrfSeed, session: session)
    }

    /// Starts a session: a fresh token, stored hashed, and a CSRF token bound to it.
    mutating func signIn(_ user: User) throws {
        let token = Crypto.randomToken()
        try store.createSession(
            tokenHash: Crypto.sha256(token), userID: user.id, seconds: config.sessionSeconds,
            address: request.remoteAddress)
        outgoingCookies.append(
            Cookie(name: Context.sessionCookie, value: token, maxAge: config.sessionSeconds, secure: request.isHTTPS))
        self.user = user
        csrfToken = formKeys?.token(seed: csrfSeed, session: token) ?? ""
    }

    /// The hash of the session this request came with (to tell it apart on the account page).
    var sessionHash: [UInt8]? { request.cookies[Context.sessionCookie].map { Crypto.sha256($0) } }

    mutating func signOut() throws {
        if let token = request.cookies[Context.sessionCookie] {
            try store.deleteSession(tokenHash: Crypto.sha256(token))
        }
        outgoingCookies.append(Cookie(name: Context.sessionCookie, value: "", maxAge: 0, secure: request.isHTTPS))
        user = nil
    }

    mutating func setFlash(_ message: String) {
        flashReplaced = true
        outgoingCookies.append(
            Cookie(name: Context.flashCookie, value: URLEncoding.encode(message), maxAge: 60, secure: request.isHTTPS))
    }

    /// Adds the cookies and the no-store header for signed-in pages.
    func finish(_ response: inout Response) {
        // A shown flash is cleared; a redirect passes it on to the page that will show it.
        if flash != nil, !flashReplaced, !(300..<400).contains(response.status) {
            response.setCookie(Cookie(name: Context.flashCookie, value: "", maxAge: 0, secure: request.isHTTPS))
        }
        for cookie in outgoingCookies { response.setCookie(cookie) }
        if user != nil, response.header("cache-control") == nil { response.addHeader("Cache-Control", "no-store") }
    }
}
