// The application's handlers against a real PostgreSQL, without a socket: auth, CSRF, ownership,
// validation and error mapping.

import Formats
import Postgres
import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct Handlers {
    @Test func unknownPathIs404AndWrongMethodIs405() {
        let client = Client()
        #expect(client.get("/no/such/page").status == 404)
        let api = client.get("/api/nothing")
        #expect(api.status == 404)
        #expect(api.bodyText.contains(#""code":"not_found""#))
        let wrong = client.send(Request(method: "DELETE", path: "/login"))
        #expect(wrong.status == 405)
        #expect(wrong.header("allow") == "GET, POST")
    }

    @Test func pagesNeedASignedInUser() {
        let client = Client()
        let response = client.get("/dashboard")
        #expect(response.status == 303)
        #expect(response.header("location") == "/login?next=%2Fdashboard")
        #expect(client.get("/api/projects").status == 401)
    }

    @Test func signUpCreateProjectAndSaveVideo() throws {
        let client = Client()
        client.signUp()
        #expect(client.get("/dashboard").status == 200)
        let created = client.post("/dashboard/projects", [("name", "Launch"), ("description", "Q3 teaser")])
        #expect(created.status == 303)
        let projectID = try #require(client.idFromLocation(created))
        #expect(client.get("/dashboard/projects/\(projectID)").bodyText.contains("Launch"))
        let saved = client.post(
            "/dashboard/projects/\(projectID)/videos",
            [("title", "Opening shot"), ("brief", "b"), ("final_prompt", "A drone shot over a city at dawn")])
        #expect(saved.status == 303)
        let videoID = try #require(client.idFromLocation(saved))
        let page = client.get("/dashboard/videos/\(videoID)")
        #expect(page.status == 200)
        #expect(page.bodyText.contains("A drone shot over a city at dawn"))
        #expect(page.bodyText.contains("Video saved."))  // flash after the redirect
    }

    @Test func formPostWithoutCSRFIs403AndChangesNothing() throws {
        let client = Client()
        client.signUp()
        for csrf in ["", "forged", String(repeating: "A", count: 43)] {
            let response = client.post("/dashboard/projects", [("name", "Should not exist")], csrf: csrf)
            #expect(response.status == 403)
        }
        #expect(!client.get("/dashboard").bodyText.contains("Should not exist"))
    }

    @Test func someoneElsesRecordsAre404() throws {
        let alice = Client()
        alice.signUp()
        let projectID = try #require(alice.idFromLocation(alice.post("/dashboard/projects", [("name", "Alice's")])))
        let videoID = try #require(
            alice.idFromLocation(alice.post("/dashboard/projects/\(projectID)/videos", [("title", "Secret")])))
        let bob = Client()
        bob.signUp()
        let missing = bob.get("/dashboard/videos/999999999")
        let foreign = bob.get("/dashboard/videos/\(videoID)")
        #expect(foreign.status == 404)
        #expect(foreign.bodyText == missing.bodyText)
        #expect(bob.get("/dashboard/projects/\(projectID)").status == 404)
        #expect(bob.post("/dashboard/projects/\(projectID)/videos", [("title", "Intruder")]).status == 404)
        #expect(!alice.get("/dashboard/projects/\(projectID)").bodyText.contains("Intruder"))
    }

    @Test func validationNamesTheField() throws {
        let client = Client()
        client.signUp()
        let projectID = try #require(client.idFromLocation(client.post("/dashboard/projects", [("name", "P")])))
        let empty = client.post("/dashboard/projects/\(projectID)/videos", [("title", "   ")])
        #expect(empty.status == 422)
        #expect(empty.bodyText.contains("title: must not be empty"))
        let long = client.post(
            "/dashboard/projects/\(projectID)/videos", [("title", String(repeating: "x", count: 201))])
        #expect(long.status == 422)
        #expect(long.bodyText.contains("title: must be at most 200 characters"))
        let prompt = client.post(
            "/dashboard/projects/\(projectID)/videos",
            [("title", "ok"), ("final_prompt", String(repeating: "é", count: 32001))])
        #expect(prompt.bodyText.contains("final_prompt: must be at most 32000 characters"))
        // The form keeps what was typed, escaped.
        let kept = client.post("/dashboard/projects/\(projectID)/videos", [("title", ""), ("brief", "<b>keep</b>")])
        #expect(kept.bodyText.contains("&lt;b&gt;keep&lt;/b&gt;"))
        // A preset that does not exist is input too: the form comes back with what was typed, not an error page.
        let preset = client.post(
            "/dashboard/projects/\(projectID)/videos", [("title", "Kept title"), ("preset", "no-such-preset")])
        #expect(preset.status == 422 && preset.bodyText.contains("preset: no preset named no-such-preset"))
        #expect(preset.bodyText.contains("value=\"Kept title\""))
    }

    @Test func loginThrottlesPerAccountAndAddressNotPerAccount() {
        let email = Client().signUp()
        let client = Client(config: AppConfig(databaseURL: TestDatabase.url, loginFailuresPerAccount: 3))
        client.get("/login")
        for _ in 0..<3 {
            #expect(client.post("/login", [("email", email), ("password", "wrong password")]).status == 401)
        }
        // From this address even the right password waits now, told for how long...
        let throttled = client.post("/login", [("email", email), ("password", "correct horse battery")])
        #expect(throttled.status == 429)
        #expect(throttled.header("retry-after").flatMap(Int.init).map { (25...30).contains($0) } == true)
        // ...but from another address the right password works.
        let other = Client(config: AppConfig(databaseURL: TestDatabase.url, loginFailuresPerAccount: 3))
        other.get("/login")
        #expect(other.post("/login", [("email", email), ("password", "correct horse battery")]).status == 303)
    }

    @Test func loginLogoutAndSafeNext() throws {
        let email = Client().signUp()
        let client = Client()
        client.get("/login?next=/account")
        let ok = client.post(
            "/login?next=/account", [("email", email.uppercased()), ("password", "correct horse battery")])
        #expect(ok.status == 303)
        #expect(ok.header("location") == "/account")
        #expect(client.get("/account").status == 200)
        #expect(client.post("/logout", []).status == 303)
        #expect(client.get("/account").status == 303)
        #expect(AccountPagesProbe.safeNext("//evil.example/") == "/dashboard")
        #expect(AccountPagesProbe.safeNext("https://evil.example/") == "/dashboard")
    }

    @Test func signupCanBeTurnedOff() {
        let client = Client(config: AppConfig(databaseURL: TestDatabase.url, signupEnabled: false))
        #expect(client.get("/signup").status == 403)
        #expect(!client.get("/login").bodyText.contains("Create an account"))
    }

    @Test func apiTokenCreatedOnAccountPageWorksOnce() throws {
        let client = Client()
        client.signUp()
        client.get("/account")
        let page = client.post("/account/tokens", [("name", "ci")])
        #expect(page.status == 201)
        let token = try #require(
            page.bodyText.range(of: #"pr_[A-Za-z0-9_-]{43}"#, options: .regularExpression).map {
                String(page.bodyText[$0])
            })
        #expect(!client.get("/account").bodyText.contains(token))  // shown once
        let api = Client()
        let auth = ["authorization": "Bearer \(token)"]
        #expect(api.get("/api/projects", headers: auth).status == 200)
        #expect(api.get("/api/projects", headers: ["authorization": "Bearer pr_nope"]).status == 401)
    }

    /// "Refresh pages automatically": on by default, saved for the user (read back with the session), a bad
    /// value is a 422 that changes nothing.
    @Test func refreshPreferenceIsRememberedAndValidated() throws {
        let client = Client()
        client.signUp()
        #expect(client.get("/account").bodyText.contains(#"name="refresh_pages" value="on" checked"#))
        let refused = client.post("/account/preferences", [("refresh_pages", "sometimes")])
        #expect(refused.status == 422 && refused.bodyText.contains("on or off"))
        #expect(client.get("/account").bodyText.contains(#"name="refresh_pages" value="on" checked"#))
        let saved = client.post("/account/preferences", [("refresh_pages", "off")])
        #expect(saved.status == 303 && saved.header("location") == "/account")
        #expect(client.get("/account").bodyText.contains(#"name="refresh_pages" value="off" checked"#))
        #expect(client.post("/account/preferences", [("refresh_pages", "on")]).status == 303)
        #expect(client.get("/account").bodyText.contains(#"name="refresh_pages" value="on" checked"#))
    }

    @Test func jsonAPIValidatesAndMapsErrors() throws {
        Crypto.initialize()
        let db = try Connection(url: TestDatabase.url)
        let email = TestDatabase.uniqueEmail("api")
        _ = try Accounts.createUser(db, email: email, password: "long enough password")
        let token = try Accounts.createToken(db, email: email, name: "test")
        let client = Client()
        func call(_ method: String, _ path: String, _ body: [UInt8], type: String = "application/json") -> Response {
            client.send(
                Request(
                    method: method, path: path, headers: ["authorization": "Bearer \(token)", "content-type": type],
                    body: body))
        }
        let created = call("POST", "/api/projects", Array(#"{"name":"Via API"}"#.utf8))
        #expect(created.status == 201)
        let projectID = try #require(JSONParser.parse(created.bodyText)["id"]?.intValue)
        #expect(call("POST", "/api/projects", Array("{".utf8)).status == 400)
        #expect(call("POST", "/api/projects", Array("[]".utf8)).status == 400)
        #expect(
            call("POST", "/api/projects", Array("name=x".utf8), type: "application/x-www-form-urlencoded").status == 415
        )
        #expect(call("POST", "/api/projects", Array(#"{"name":5}"#.utf8)).bodyText.contains("name: must be a string"))
        let bad = call(
            "POST", "/api/projects/\(projectID)/videos", Array(#"{"title":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8))
        #expect(bad.status == 422)
        #expect(bad.bodyText.contains("title: must be valid UTF-8"))
        let video = call(
            "POST", "/api/projects/\(projectID)/videos", Array(#"{"title":"T","final_prompt":"P \u00e9"}"#.utf8))
        #expect(video.status == 201)
        let videoID = try #require(JSONParser.parse(video.bodyText)["id"]?.intValue)
        let read = call("GET", "/api/videos/\(videoID)", [])
        #expect(try JSONParser.parse(read.bodyText)["final_prompt"]?.stringValue == "P é")
    }
}

/// Reaches the internal `safeNext` through the public surface it protects.
enum AccountPagesProbe {
    static func safeNext(_ next: String) -> String {
        let client = Client()
        let email = client.signUp()
        let other = Client()
        other.get("/login")
        let response = other.post(
            "/login?next=\(URLEncoding.encode(next))", [("email", email), ("password", "correct horse battery")])
        return response.header("location") ?? ""
    }
}

/// Each role's connection carries its own statement timeout, and a statement that runs past it is a 503.
@Suite struct ConnectionRoles {
    @Test func requestAndWorkerConnectionsHaveTheirTimeouts() throws {
        var config = AppConfig.fromEnvironment([
            "DATABASE_URL": TestDatabase.url, "PROMPTREEL_REQUEST_STATEMENT_TIMEOUT_MS": "1500",
        ])
        #expect(config.requestStatementTimeoutMs == 1500 && config.workerStatementTimeoutMs == 300_000)
        config.databaseURL = TestDatabase.url
        #expect(
            try config.connect(.request).execute("SHOW statement_timeout")[0].string("statement_timeout") == "1500ms")
        #expect(try config.connect(.worker).execute("SHOW statement_timeout")[0].string("statement_timeout") == "5min")
        let mapped = App.httpError(DatabaseError.timedOut("canceling statement due to statement timeout"))
        #expect(mapped.status == 503 && mapped.code == "database_timeout")
    }
}
