// Issue 22's smaller findings, each through the App against a real PostgreSQL: the text rule at every door,
// duplicate JSON keys, keyed CSRF tokens and their rotation, a failed bearer on media, invalid UTF-8 in forms.

import Formats
import Postgres
import Testing
import Web

@testable import Core
@testable import WebApp

@Suite struct ProbeFindings {
    let db: Connection
    let token: String
    let client = Client()

    init() throws {
        Crypto.initialize()
        db = try Connection(url: TestDatabase.url)
        let email = TestDatabase.uniqueEmail("probe")
        _ = try Accounts.createUser(db, email: email, password: "long enough password")
        token = try Accounts.createToken(db, email: email, name: "probe")
    }

    func call(_ method: String, _ target: String, _ body: String = "", headers: [String: String] = [:]) -> Response {
        var all = ["authorization": "Bearer \(token)", "content-type": "application/json"]
        all.merge(headers) { $1 }
        return client.send(Request(method: method, target: target, headers: all, body: Array(body.utf8)))
    }

    func error(_ response: Response) -> (code: String?, message: String?) {
        let doc = try? JSONParser.parse(response.bodyText)
        return (doc?["error"]?["code"]?.stringValue, doc?["error"]?["message"]?.stringValue)
    }

    /// NUL and the other control characters are refused by name (they were cut or stored before), in JSON
    /// strings, JSON keys, form fields and query values; tab and newline pass.
    @Test func controlCharactersAreRefusedEverywhereTextIsAccepted() throws {
        for name in [#"a\u0000b"#, #"a\u0007b"#, #"a\u001Bb"#, #"a\u007Fb"#, #"a\u0085b"#] {
            let r = call("POST", "/api/projects", #"{"name":"\#(name)"}"#)
            #expect(r.status == 422 && error(r).message?.hasPrefix("name: must not contain control characters") == true)
        }
        let nested = call("POST", "/api/projects", #"{"name":"ok","x\u0000":1}"#)
        #expect(nested.status == 422)
        let fine = call("POST", "/api/projects", #"{"name":"Line one\nline\ttwo"}"#)
        #expect(fine.status == 201)
        let project = try #require(JSONParser.parse(fine.bodyText)["id"]?.intValue)
        let video = call("POST", "/api/projects/\(project)/videos", #"{"title":"T","brief":"keep\u0000DROPPED"}"#)
        #expect(video.status == 422 && error(video).message?.hasPrefix("brief:") == true)
        #expect(call("GET", "/api/videos?q=cat%00dog").status == 422)
        #expect(call("GET", "/api/videos?q=cat%09dog").status == 200)
        // A page form: the field is named on a page (not the CSRF 403).
        let browser = Client()
        browser.signUp()
        let page = browser.post("/dashboard/projects", [("name", "keep\u{0}DROPPED")])
        #expect(page.status == 422 && page.bodyText.contains("must not contain control characters"))
    }

    @Test func duplicateJSONKeysAreRefused() {
        let r = call("POST", "/api/projects", #"{"name":"first","name":"second"}"#)
        #expect(r.status == 422 && error(r).message == "name: must appear only once")
        #expect(call("POST", "/api/projects", #"{"name":"x","settings":{"a":1,"a":2}}"#).status == 422)
    }

    /// A form whose bytes are not UTF-8 is a 422 naming the field, not a CSRF 403.
    @Test func invalidUTF8InAFormIs422() {
        let browser = Client()
        browser.signUp()
        let body = Array("_csrf=\(URLEncoding.encode(browser.lastCSRF))&name=".utf8) + Array("%C3%28".utf8)
        let r = browser.send(
            Request(
                method: "POST", target: "/dashboard/projects",
                headers: ["content-type": "application/x-www-form-urlencoded"], body: body))
        #expect(r.status == 422, "\(r.status) \(r.bodyText.prefix(200))")
    }

    /// A media request with a bearer token that fails is a program's: 401, not a redirect to the log-in page.
    @Test func mediaWithABadBearerIs401() {
        let r = client.send(
            Request(method: "GET", target: "/media/generations/1/video.mp4", headers: ["authorization": "Bearer pr_no"])
        )
        #expect(r.status == 401)
        let anonymous = Client().get("/media/generations/1/video.mp4")
        #expect(anonymous.status == 303)  // a browser without a session is still sent to log in
    }

    /// The token is an HMAC under the server's secret: the cookie alone does not give it away.
    @Test func csrfTokensAreKeyedWithTheServerSecret() throws {
        let browser = Client()
        browser.get("/login")
        let seed = try #require(browser.cookies[Context.csrfCookie])
        let unkeyed = Crypto.base64url(Crypto.sha256("csrf:\(seed):"))
        #expect(!browser.lastCSRF.isEmpty && browser.lastCSRF != unkeyed)
        let keys = try FormKeys.load(db)
        #expect(keys.accepted.contains { FormKeys.token(key: $0, seed: seed, session: nil) == browser.lastCSRF })
        let forged = browser.post("/login", [("email", "x@example.test"), ("password", "y")], csrf: unkeyed)
        #expect(forged.status == 403)
    }

    /// After `secrets rotate` a form already on screen still posts (the retired key is accepted for an hour);
    /// a key retired longer ago, or one the server never had, is refused.
    @Test func aRotationKeepsFormsOnScreenWorkingForAnHour() throws {
        let browser = Client()
        browser.get("/login")
        let seed = try #require(browser.cookies[Context.csrfCookie])
        let before = browser.lastCSRF
        try FormKeys.rotate(db)
        let keys = try FormKeys.load(db)
        #expect(keys.accepted.count >= 2 && keys.token(seed: seed, session: nil) != before)
        let onScreen = browser.post("/login", [("email", "x@example.test"), ("password", "y")], csrf: before)
        #expect(onScreen.status != 403, "\(onScreen.status)")
        let stale = "stale-\(Crypto.randomToken())"
        try db.execute("INSERT INTO form_secrets (secret, retired_at) VALUES (\(stale), now() - interval '61 minutes')")
        let old = browser.post(
            "/login", [("email", "x@example.test"), ("password", "y")],
            csrf: FormKeys.token(key: stale, seed: seed, session: nil))
        #expect(old.status == 403)
        let unknown = browser.post(
            "/login", [("email", "x@example.test"), ("password", "y")],
            csrf: FormKeys.token(key: Crypto.randomToken(), seed: seed, session: nil))
        #expect(unknown.status == 403)
    }
}
