// Test helpers: the real database from DATABASE_URL (scripts/test starts one) and a cookie-keeping
// client that drives the App's handlers directly, with no socket in between.

import Formats
import Foundation
import Postgres
import Synchronization
import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

enum TestDatabase {
    /// scripts/test always sets it; running `swift test` alone without it fails loudly, never skips.
    static var url: String {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            fatalError("DATABASE_URL is not set: run the tests with scripts/test")
        }
        return url
    }

    static func uniqueEmail(_ tag: String = "user") -> String {
        "\(tag)-\(UUID().uuidString.lowercased())@example.test"
    }
}

/// A schema of one suite's own in the test database, made afresh once per run with every migration. Suites
/// whose code takes any due row (the engines' claims) see only their own rows there, so they run beside each
/// other. Its ids start at `offset` × 10¹² so the per-row advisory locks, which are database-wide and keyed by
/// id, never meet another suite's rows.
enum TestSchema {
    private static let made = Mutex<Set<String>>([])

    static func connection(_ name: String, offset: Int64) throws -> Connection {
        precondition(name.allSatisfy { $0 == "_" || ("a"..."z").contains($0) }, "a schema name of lowercase letters")
        let url = TestDatabase.url
        let connect = { try Connection(url: url, options: [("options", "-c search_path=\(name)")]) }
        try made.withLock { made in
            guard !made.contains(name) else { return }
            let admin = try Connection(url: url)
            try admin.execute(
                """
                CREATE FUNCTION pg_temp.fresh_schema(name text) RETURNS void LANGUAGE plpgsql AS $$
                BEGIN
                  EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', name);
                  EXECUTE format('CREATE SCHEMA %I', name);
                END $$
                """)
            try admin.execute("SELECT pg_temp.fresh_schema(\(name))")
            let db = try connect()
            try Migrator(directory: Migrations.directory).migrate(db)
            try db.execute(
                """
                CREATE FUNCTION pg_temp.restart_sequences(name text, first bigint) RETURNS void LANGUAGE plpgsql AS $$
                DECLARE s text;
                BEGIN
                  FOR s IN SELECT sequencename FROM pg_sequences WHERE schemaname = name LOOP
                    EXECUTE format('ALTER SEQUENCE %I.%I RESTART WITH %s', name, s, first);
                  END LOOP;
                END $$
                """)
            try db.execute("SELECT pg_temp.restart_sequences(\(name), \(offset * 1_000_000_000_000))")
            made.insert(name)
        }
        return try connect()
    }
}

/// A browser without a network: keeps cookies, echoes the CSRF token, calls App.respond.
final class Client {
    let app: App
    var cookies: [String: String] = [:]
    var lastCSRF = ""
    /// Each client comes from its own address, as browsers do (the throttles count per address).
    var address = "10.\(Int.random(in: 0...255)).\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"

    init(config: AppConfig = AppConfig(databaseURL: TestDatabase.url)) {
        Crypto.initialize()
        app = App(config: config)
    }

    init(app: App) {
        Crypto.initialize()
        self.app = app
    }

    @discardableResult
    func get(_ target: String, headers: [String: String] = [:]) -> Response {
        send(Request(method: "GET", target: target, headers: headers))
    }

    /// Posts a form with the CSRF token from the last page (unless `csrf` overrides it).
    @discardableResult
    func post(_ path: String, _ fields: [(String, String)], csrf: String? = nil) -> Response {
        let all = [("_csrf", csrf ?? lastCSRF)] + fields
        let body = all.map { URLEncoding.encode($0.0) + "=" + URLEncoding.encode($0.1) }.joined(separator: "&")
        return send(
            Request(
                method: "POST", target: path, headers: ["content-type": "application/x-www-form-urlencoded"],
                body: Array(body.utf8)))
    }

    func send(_ request: Request) -> Response {
        var request = request
        var headers = request.headers
        if !cookies.isEmpty { headers["cookie"] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        request.headers = headers
        request.remoteAddress = address
        let response = app.respond(to: request)
        for (name, value) in response.headers where name == "Set-Cookie" {
            let pair = value.split(separator: ";")[0]
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if value.contains("Max-Age=0") { cookies[parts[0]] = nil } else { cookies[parts[0]] = parts[1] }
        }
        if let range = response.bodyText.range(of: #"name="_csrf" value="([^"]+)""#, options: .regularExpression) {
            lastCSRF = String(response.bodyText[range].split(separator: "\"")[3])
        }
        return response
    }

    /// Signs up a fresh user, logs in (sign-up never does) and returns their email.
    @discardableResult
    func signUp(_ email: String = TestDatabase.uniqueEmail()) -> String {
        get("/signup")
        let response = post("/signup", [("email", email), ("password", "correct horse battery")])
        #expect(response.status == 303 && response.header("location") == "/login", "sign-up: \(response.bodyText)")
        get("/login")
        let login = post("/login", [("email", email), ("password", "correct horse battery")])
        #expect(login.status == 303, "log-in failed: \(login.bodyText)")
        get("/dashboard")  // as a browser would; the form token is bound to the new session
        return email
    }

    func idFromLocation(_ response: Response) -> Int64? {
        response.header("location")?.split(separator: "/").last.flatMap { Int64($0) }
    }
}

/// Tests write ids as literals (`.video(7)`); the application never makes one from a literal.
extension ID: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self.init(value) }
}
