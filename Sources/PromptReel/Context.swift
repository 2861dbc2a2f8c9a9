// Per-request state handed to handlers: the request, the database, who is signed in, the CSRF token
// for forms, and cookies to set on the way out.

import Postgres
import Web

struct User: Sendable {
    let id: Int64
    let email: String
}

struct Context {
    static let sessionCookie = "pr_session"
    static let csrfCookie = "pr_csrf"
    static let flashCookie = "pr_flash"

    let request: Request
    let db: Connection
    let config: AppConfig
    var store: Store { Store(db: db) }
    var generations: Generations { Generations(db: db, config: config) }
    var roundtables: Roundtables { Roundtables(db: db, config: config) }
    var user: User?
    /// The token every form must echo back in `_csrf`.
    private(set) var csrfToken: String
    private var csrfSeed: String
    private var outgoingCookies: [Cookie] = []
    /// The url-encoded body, parsed once for the CSRF check and the handler.
    private var parsedForm: Form?
    /// A one-time message from the previous POST (POST-redirect-GET).
    let flash: String?
    private var flashReplaced = false

    init(request: Request, db: Connection, config: AppConfig) {
        self.request = request
        self.db = db
        self.config = config
        let cookies = request.cookies
        flash = cookies[Context.flashCookie].flatMap { FormDecoder.lenient("m=" + $0)["m"] }
        if let seed = cookies[Context.csrfCookie], seed.count == 43 {
            csrfSeed = seed
        } else if ErrorPages.isAPI(request) {
            csrfSeed = ""  // the API has no forms: no cookie to set
        } else {
            csrfSeed = Crypto.randomToken()
            outgoingCookies.append(Cookie(name: Context.csrfCookie, value: csrfSeed, secure: request.isHTTPS))
        }
        csrfToken = Context.csrfToken(seed: csrfSeed, session: cookies[Context.sessionCookie])
    }

    /// The form token is bound to the CSRF cookie and the session, so a planted cookie alone is useless.
    static func csrfToken(seed: String, session: String?) -> String {
        Crypto.base64url(Crypto.sha256("csrf:\(seed):\(session ?? "")"))
    }

    /// API calls authenticate with a bearer token; pages with the session cookie; media with either.
    mutating func authenticate(api: Bool, allowBearer: Bool) throws {
        if api || allowBearer, let token = request.bearerToken {
            user = try store.userForAPIToken(token)
        } else if !api, let token = request.cookies[Context.sessionCookie] {
            user = try store.userForSession(token)
        }
    }

    func requireUser() throws(HTTPError) -> User {
        guard let user else {
            if ErrorPages.isAPI(request) { throw HTTPError.unauthorized }
            var redirect = HTTPError(303, "login_required", "Sign in to continue.")
            redirect.headers = [("Location", Route.login.path + "?next=" + URLEncoding.encode(request.path))]
            throw redirect
        }
        return user
    }

    mutating func form() throws(FormError) -> Form {
        if let parsedForm { return parsedForm }
        let form = try request.form()
        parsedForm = form
        return form
    }

    mutating func checkCSRF() throws(HTTPError) {
        let sent = (try? form())?["_csrf"] ?? ""
        guard Crypto.constantTimeEqual(sent, csrfToken) else { throw HTTPError.csrf }
    }

    /// Starts a session: a fresh token, stored hashed, and a CSRF token bound to it.
    mutating func signIn(_ user: User) throws {
        let token = Crypto.randomToken()
        try store.createSession(tokenHash: Crypto.sha256(token), userID: user.id, seconds: config.sessionSeconds)
        outgoingCookies.append(Cookie(name: Context.sessionCookie, value: token, maxAge: config.sessionSeconds, secure: request.isHTTPS))
        self.user = user
        csrfToken = Context.csrfToken(seed: csrfSeed, session: token)
    }

    mutating func signOut() throws {
        if let token = request.cookies[Context.sessionCookie] { try store.deleteSession(tokenHash: Crypto.sha256(token)) }
        outgoingCookies.append(Cookie(name: Context.sessionCookie, value: "", maxAge: 0, secure: request.isHTTPS))
        user = nil
    }

    mutating func setFlash(_ message: String) {
        flashReplaced = true
        outgoingCookies.append(Cookie(name: Context.flashCookie, value: URLEncoding.encode(message), maxAge: 60, secure: request.isHTTPS))
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
