// Webhooks: the SSRF address rule as a table, the strict URL parser, Standard Webhooks signatures
// against vectors computed with the reference library (PyPI standardwebhooks), the retry schedule, and,
// against the real PostgreSQL, the enqueue trigger and the delivery worker's refusals.

import Formats
import Foundation
import Postgres
import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct WebhookAddressRule {
    @Test(arguments: [
        ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
        ("10.0.0.1", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"), ("192.168.1.10", "private"),
        ("fc00::1", "private"), ("fd12:3456::1", "private"), ("fec0::1", "private"),
        ("169.254.169.254", "link-local"), ("169.254.0.1", "link-local"), ("fe80::1", "link-local"),
        ("febf::1", "link-local"),
        ("100.64.0.1", "shared (CGNAT)"), ("100.127.255.254", "shared (CGNAT)"),
        ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"), ("::", "unspecified"),
        ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
        ("255.255.255.255", "reserved"), ("240.0.0.1", "reserved"), ("198.18.0.1", "reserved"),
        ("192.0.0.8", "reserved"),
        // IPv6 forms that carry an IPv4 address are judged by that address.
        ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"), ("::ffff:10.1.2.3", "private"),
        ("::ffff:7f00:1", "loopback"), ("::127.0.0.1", "loopback"), ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:7f00:1::", "loopback"), ("2002:c0a8:0101::1", "private"),
        // Local-use NAT64 (RFC 8215), in its /96 form and in its /48 form (127.0.0.1 around the u octet).
        ("64:ff9b:1::7f00:1", "loopback"), ("64:ff9b:1::a9fe:a9fe", "link-local"),
        ("64:ff9b:1:7f00:0:100::", "loopback"),
        // Issue 22: SIIT's translated form, Teredo and the rest of 2001::/23, SRv6, and the documentation ranges.
        ("::ffff:0:127.0.0.1", "reserved"), ("::ffff:0:808:808", "reserved"), ("2001::1", "reserved"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "reserved"), ("2001:1ff::1", "reserved"), ("5f00::1", "reserved"),
        ("192.0.2.1", "documentation"), ("198.51.100.7", "documentation"), ("203.0.113.255", "documentation"),
        ("2001:db8::1", "documentation"), ("3fff::1", "documentation"), ("3fff:fff::1", "documentation"),
        ("192.88.99.1", "reserved"),
    ])
    func refused(_ text: String, _ why: String) throws {
        let address = try #require(IPAddress(parsing: text))
        #expect(address.refusal?.rawValue == why, "\(text)")
    }

    @Test(arguments: [
        "8.8.8.8", "1.1.1.1", "93.184.216.34", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1",
        "169.253.1.1", "192.167.1.1", "11.0.0.1", "2606:4700:4700::1111", "2001:4860:4860::8888",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "64:ff9b:1::808:808",
        "192.0.3.1", "198.51.101.1", "203.0.114.1", "2001:200::1", "2001:db9::1", "3fff:1000::1", "5f01::1",
    ])
    func allowed(_ text: String) throws {
        let address = try #require(IPAddress(parsing: text))
        #expect(address.refusal == nil, "\(text)")
    }

    @Test func resolutionRefusesPrivateNamesUnlessAllowed() throws {
        let local = try WebhookURL(parsing: "http://localhost:8080/hook")
        #expect(local.obviousRefusal == .loopback)
        #expect(throws: WebhookResolution.Failure.self) {
            try WebhookResolution.addresses(for: local, allowPrivate: false)
        }
        do {
            _ = try WebhookResolution.addresses(for: local, allowPrivate: false)
        } catch {
            guard case let .refused(address, why) = error else {
                Issue.record("expected a refusal, got \(error)")
                return
            }
            #expect(why == .loopback && address.refusal == .loopback)
        }
        let metadata = try WebhookURL(parsing: "http://169.254.169.254/latest/meta-data/")
        #expect(throws: WebhookResolution.Failure.refused(IPAddress(v4: 169, 254, 169, 254), .linkLocal)) {
            try WebhookResolution.addresses(for: metadata, allowPrivate: false)
        }
        #expect(
            try WebhookResolution.addresses(for: metadata, allowPrivate: true) == [IPAddress(v4: 169, 254, 169, 254)])
        // Allowing private networks never allows what is no receiver at all (issue 22): SIIT, Teredo, TEST-NET.
        for text in ["http://[::ffff:0:127.0.0.1]/", "http://[2001::1]/", "https://192.0.2.1/"] {
            let url = try WebhookURL(parsing: text)
            #expect(throws: WebhookResolution.Failure.self, "\(text)") {
                try WebhookResolution.addresses(for: url, allowPrivate: true)
            }
        }
        #expect(
            try WebhookResolution.addresses(for: WebhookURL(parsing: "http://[::1]:9/"), allowPrivate: true).map(
                \.description) == ["::1"])
        #expect(try WebhookResolution.addresses(for: local, allowPrivate: true).contains(IPAddress(v4: 127, 0, 0, 1)))
    }
}

@Suite struct WebhookRoutes {
    @Test(arguments: [
        Route.webhooks(.webhooks), .webhooks(.webhook(3)), .webhooks(.deleteWebhook(3)),
        .webhooks(.redeliverWebhook(delivery: 9)), .webhooks(.apiWebhooks),
        .webhooks(.apiWebhook(3)),
        .webhooks(.apiWebhookDeliveries(3)), .webhooks(.apiRedeliverWebhook(delivery: 9)),
    ])
    func pathsRoundTrip(_ route: Route) {
        #expect(Route(path: route.path) == route)
    }

    @Test(arguments: [
        "/account/webhooks/x", "/account/webhooks/0", "/account/webhooks/1/deliveries", "/api/webhooks/1/redeliver",
        "/api/webhook-deliveries/1", "/account/webhook-deliveries/1",
    ])
    func unknownPathsAreNotRoutes(_ path: String) {
        #expect(Route(path: path) == nil)
    }
}

@Suite struct WebhookURLRules {
    @Test func acceptedAndNormalized() throws {
        let url = try WebhookURL(parsing: "HTTPS://Hooks.Example.com/in?x=1")
        #expect(
            url.scheme == .https && url.host == "hooks.example.com" && url.port == 443 && url.pathAndQuery == "/in?x=1")
        #expect(url.normalized == "https://hooks.example.com/in?x=1")
        #expect(try WebhookURL(parsing: "http://example.com").normalized == "http://example.com/")
        #expect(try WebhookURL(parsing: "http://example.com:8080?a=b").normalized == "http://example.com:8080/?a=b")
        let v6 = try WebhookURL(parsing: "https://[2606:4700:4700::1111]:8443/x")
        #expect(
            v6.host == "2606:4700:4700::1111" && v6.port == 8443
                && v6.normalized == "https://[2606:4700:4700::1111]:8443/x")
        #expect(try WebhookURL(parsing: "http://10.0.0.1/").obviousRefusal == .privateNetwork)
        #expect(try WebhookURL(parsing: "https://example.com/").obviousRefusal == nil)
    }

    @Test(arguments: [
        ("ftp://example.com/", WebhookURL.Invalid.scheme), ("example.com/hook", .scheme),
        ("file:///etc/passwd", .scheme),
        ("gopher://example.com", .scheme),
        ("https://user:pass@example.com/", .credentials), ("https://user@example.com/", .credentials),
        ("https://example.com@evil.test/", .credentials),
        ("https:///path", .host), ("https://exa_mple.com/", .host), ("https://-bad.com/", .host),
        ("https://a..b/", .host),
        ("https://[::1/", .host), ("https://[fe80::1%25eth0]/", .host), ("https://1.2.3/", .host),
        ("http://2130706433/", .host), ("http://0x7f000001/", .host), ("http://0x7f.1/", .host),
        ("https://example.com:0/", .port), ("https://example.com:70000/", .port), ("https://example.com:/", .port),
        ("https://example.com:8a/", .port), ("https://example.com:+80/", .port),
        ("https://[2606:4700::1]:+443/", .port),
        ("https://exa mple.com/", .characters), ("https://example.com/\\evil", .characters),
        ("https://exämple.com/", .characters),
        ("https://example.com/\t", .characters), ("https://example.com/#frag", .fragment),
        ("https://example.com/" + String(repeating: "a", count: 2000), .tooLong),
        // 2000 characters, but normalizing adds the "/" before the query: 2001 would not fit the column.
        ("http://example.com?" + String(repeating: "a", count: 2000 - 19), .tooLong),
    ])
    func refused(_ raw: String, _ why: WebhookURL.Invalid) {
        #expect(throws: why) { try WebhookURL(parsing: raw) }
    }
}

@Suite struct WebhookSigning {
    init() { Crypto.initialize() }

    // Vectors from standardwebhooks' Webhook(secret).sign(msg_id, timestamp, body) (PyPI standardwebhooks 1.0).
    @Test func matchesTheReferenceLibrary() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        #expect(
            WebhookSignature.sign(
                secret: secret, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
                body: Array(#"{"test": 2432232314}"#.utf8)) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        let body = #"{"type":"generation.completed","timestamp":"2026-11-26T20:00:00Z","data":{"id":42}}"#
        #expect(
            WebhookSignature.sign(
                secret: secret, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
                body: Array(body.utf8)) == "v1,ls08btdcluxHb/RWKd0cZxjy/WSio2Cz3QcfkE//t+Y=")
        #expect(WebhookSignature.sign(secret: "not-a-secret", id: "msg_x", timestamp: 1, body: []) == nil)
    }

    @Test func newSecretsAreStandardAndRandom() throws {
        let a = WebhookSignature.newSecret(), b = WebhookSignature.newSecret()
        #expect(a != b)
        #expect(a.hasPrefix("whsec_") && a.count == 6 + 44)
        #expect(try #require(WebhookSignature.key(a)).count == 32)
        #expect(Crypto.base64Decode("aGVsbG8=") == Array("hello".utf8))
        #expect(Crypto.base64Decode("aGVsbG8") == Array("hello".utf8))
        #expect(Crypto.base64Decode("not base64!") == nil)
    }

    @Test func hmacMatchesRFC4231() {
        // RFC 4231 test case 2.
        let mac = Crypto.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(
            mac.map { String(format: "%02x", $0) }.joined()
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}

@Suite struct WebhookRetrySchedule {
    @Test func backsOffThenGivesUpAfterTheWindow() {
        let config = WebhookConfig()
        let delays = (1...9).map {
            WebhookRetry.delay(afterAttempt: Int64($0), secondsSinceWindowStart: 0, config: config)
        }
        #expect(delays == [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800])
        #expect(WebhookRetry.delay(afterAttempt: 20, secondsSinceWindowStart: 0, config: config) == 28800)
        #expect(WebhookRetry.delay(afterAttempt: 9, secondsSinceWindowStart: 86_400 - 28_800, config: config) == 28800)
        #expect(WebhookRetry.delay(afterAttempt: 9, secondsSinceWindowStart: 86_400 - 28_799, config: config) == nil)
        var fast = WebhookConfig()
        fast.retryBaseSeconds = 0.5
        #expect(WebhookRetry.delay(afterAttempt: 1, secondsSinceWindowStart: 0, config: fast) == 0.5)
        #expect(WebhookConfig.fromEnvironment(["PROMPTREEL_WEBHOOKS_ALLOW_PRIVATE": "1"]).allowPrivate)
        #expect(!WebhookConfig.fromEnvironment([:]).allowPrivate)
        #expect(!WebhookConfig.fromEnvironment(["PROMPTREEL_WEBHOOKS_ALLOW_PRIVATE": "0"]).allowPrivate)
        #expect(config.totalTimeoutMs == 10_000 && config.threads == 4)
        #expect(WebhookConfig.fromEnvironment(["PROMPTREEL_WEBHOOK_THREADS": "8"]).threads == 8)
        #expect(WebhookConfig.fromEnvironment(["PROMPTREEL_WEBHOOK_THREADS": "32"]).threads == 32)
        for bad in ["0", "33", "-1", "x", ""] {
            #expect(WebhookConfig.fromEnvironment(["PROMPTREEL_WEBHOOK_THREADS": bad]).threads == 4)
        }
    }
}

// Serialized, and it ends every pending delivery first: the worker claims any due delivery.
@Suite(.serialized) final class WebhookDeliveryTests {
    let db: Connection
    let userID: ID<User>
    let videoID: ID<Video>

    init() throws {
        try #require(
            TestDatabase.url.contains("promptreel_test"),
            "WebhookDeliveryTests run only against scripts/test's database")
        Crypto.initialize()
        db = try Connection(url: TestDatabase.url)
        try db.execute(
            "UPDATE webhook_deliveries SET status = 'failed', last_error = 'ended by the unit tests' WHERE status = 'pending'"
        )
        userID = try db.execute(
            "INSERT INTO users (email, password_hash) VALUES (\(TestDatabase.uniqueEmail("hooks")), 'not a hash') RETURNING id"
        )[0].id("id")
        let project = try db.execute("INSERT INTO projects (user_id, name) VALUES (\(userID), 'Hooks') RETURNING id")[0]
            .int("id")
        videoID = try db.execute(
            "INSERT INTO videos (project_id, title, final_prompt) VALUES (\(project), 'Hook test', 'A kite') RETURNING id"
        )[0].id("id")
    }

    var user: User { User(id: userID, email: "hooks@example.test") }

    func endpoint(_ url: String, events: [WebhookEvent] = WebhookEvent.allCases) throws -> ID<WebhookEndpoint> {
        try #require(
            try WebhookStore(db: db).create(
                userID: userID, url: url, events: events, secret: WebhookSignature.newSecret(), limit: 10)
        ).id
    }

    /// A generation that ends at once (never left waiting, where a parallel engine test could claim it).
    @discardableResult
    func finishedGeneration(_ status: GenerationStatus) throws -> ID<Generation> {
        try db.transaction {
            let id: ID<Generation> = try db.execute(
                """
                INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution, estimated_cost)
                VALUES (\(videoID), \(userID), '{}', 'A kite', 'sora-2', 4, '1280x720', '720p', 0.40) RETURNING id
                """)[0].id("id")
            try db.execute(
                """
                UPDATE generations SET status = \(status), phase = 'done', completed_at = now(),
                       actual_cost = CASE WHEN \(status == .completed) THEN estimated_cost ELSE 0 END,
                       error_code = CASE WHEN \(status == .failed) THEN 'moderation_blocked' END,
                       error_message = CASE WHEN \(status == .failed) THEN 'Blocked.' END
                WHERE id = \(id)
                """)
            return id
        }
    }

    func deliveries(_ endpointID: ID<WebhookEndpoint>) throws -> [WebhookDelivery] {
        try WebhookStore(db: db).deliveries(endpointID: endpointID, userID: userID, limit: 50)
    }

    @Test func theTriggerEnqueuesOneDeliveryPerSubscribedEndpoint() throws {
        let both = try endpoint("https://hooks.example.com/a")
        let completedOnly = try endpoint("https://hooks.example.com/b", events: [.generationCompleted])
        let failed = try finishedGeneration(.failed)
        let completed = try finishedGeneration(.completed)
        let toBoth = try deliveries(both)
        #expect(toBoth.map(\.event) == [.generationCompleted, .generationFailed])
        #expect(try deliveries(completedOnly).map(\.generationID) == [completed])
        let row = try #require(
            try db.execute(
                "SELECT payload FROM webhook_deliveries WHERE endpoint_id = \(both) AND generation_id = \(failed)"
            ).first)
        let payload = try JSONParser.parse(row.string("payload"))
        #expect(payload["type"]?.stringValue == "generation.failed")
        #expect(payload["data"]?["id"] == .int(failed.rawValue))
        #expect(payload["data"]?["errorCode"]?.stringValue == "moderation_blocked")
        #expect(payload["data"]?["cost"] == .number("0.00"))
        #expect(payload["timestamp"]?.stringValue?.hasSuffix("Z") == true)
        #expect(Set(toBoth.map(\.messageID)).count == 2 && toBoth.allSatisfy { $0.messageID.hasPrefix("msg_") })
        // Another user's endpoint hears nothing, and cannot be read through this user.
        #expect(try WebhookStore(db: db).endpoint(id: both, userID: ID(userID.rawValue + 1_000_000)) == nil)
    }

    @Test func aDeliveryToLoopbackIsRefusedAndRecorded() throws {
        let id = try endpoint("http://127.0.0.1:9/hook")
        try finishedGeneration(.completed)
        let worker = WebhookDeliverer(db: db, config: WebhookConfig())  // PROMPTREEL_WEBHOOKS_ALLOW_PRIVATE unset
        #expect(try worker.runOnce())
        let delivery = try #require(try deliveries(id).first)
        #expect(delivery.status == .failed)
        #expect(delivery.attempts == 1 && delivery.lastStatusCode == nil)
        // The user sees the category, not the resolved address.
        #expect(delivery.lastError == "refused: the host resolves to a loopback address, which webhooks may not reach")
        #expect(delivery.attemptLog.map(\.outcome) == [.refused])
        #expect(try !worker.runOnce())  // nothing else due: a refusal is not retried
    }

    @Test func aNameResolvingToLoopbackIsRefused() throws {
        let id = try endpoint("http://localhost:9/hook")
        try finishedGeneration(.failed)
        #expect(try WebhookDeliverer(db: db, config: WebhookConfig()).runOnce())
        let delivery = try #require(try deliveries(id).first)
        #expect(delivery.status == .failed && delivery.attemptLog.map(\.outcome) == [.refused])
    }

    @Test func anUnreachableReceiverIsRetriedLater() throws {
        let id = try endpoint("http://127.0.0.1:1/hook")
        try finishedGeneration(.completed)
        var config = WebhookConfig()
        config.allowPrivate = true
        #expect(try WebhookDeliverer(db: db, config: config).runOnce())
        let delivery = try #require(try deliveries(id).first)
        #expect(delivery.status == .pending && delivery.attempts == 1)
        #expect(delivery.attemptLog.map(\.outcome) == [.unreachable])
        let wait = try db.execute(
            "SELECT extract(epoch FROM next_attempt_at - now())::float8 AS s FROM webhook_deliveries WHERE id = \(delivery.id)"
        )[0]
        #expect((Double(wait.string("s")) ?? 0) > 3)  // 5 s after the first attempt
        // "Send again" makes it due at once, same webhook-id.
        let again = try Webhooks(db: db, config: config).redeliver(id: delivery.id, user: user)
        #expect(again.messageID == delivery.messageID && again.status == .pending)
        try db.execute("UPDATE webhook_deliveries SET status = 'failed' WHERE id = \(delivery.id)")
    }

    @Test func aNamedReceiverIsReachedThroughThePinnedAddress() throws {
        // The simulator (started by scripts/test) stands in for a receiver: it answers the POST with an
        // error status, which proves the name was resolved, pinned and connected to.
        let sim = try #require(
            ProcessInfo.processInfo.environment["PROMPTREEL_SIM_URL"], "run the tests with scripts/test")
        let id = try endpoint(sim.replacingOccurrences(of: "127.0.0.1", with: "localhost") + "/no-such-hook")
        try finishedGeneration(.completed)
        var config = WebhookConfig()
        config.allowPrivate = true
        #expect(try WebhookDeliverer(db: db, config: config).runOnce())
        let delivery = try #require(try deliveries(id).first)
        let attempt = try #require(delivery.attemptLog.first)
        #expect(attempt.outcome == .rejected && (400..<500).contains(attempt.statusCode ?? 0), "\(attempt)")
        #expect(delivery.status == .pending)  // retried later
        try db.execute("UPDATE webhook_deliveries SET status = 'failed' WHERE id = \(delivery.id)")
    }

    @Test func creationRefusesPrivateLiteralsUnlessAllowed() throws {
        let strict = Webhooks(db: db, config: WebhookConfig())
        for url in [
            "http://127.0.0.1:8080/", "http://169.254.169.254/", "http://[::1]/", "http://localhost/",
            "http://10.1.2.3/",
        ] {
            #expect(throws: Webhooks.Refusal.self) {
                try strict.create(user: user, url: url, events: WebhookEvent.allCases)
            }
            #expect(Webhooks.Refusal.privateAddress(.loopback).httpError.status == 422)
        }
        var config = WebhookConfig()
        config.allowPrivate = true
        let (created, secret) = try Webhooks(db: db, config: config).create(
            user: user, url: " http://127.0.0.1:8080/in ", events: [.generationFailed])
        #expect(created.url == "http://127.0.0.1:8080/in" && created.events == [.generationFailed])
        #expect(WebhookSignature.key(secret)?.count == 32)
        #expect(throws: Webhooks.Refusal.self) { try Webhooks.events(["generation.started"]) }
        #expect(throws: Webhooks.Refusal.self) { try Webhooks.events([]) }
        // Film events are asked for by name.
        #expect(try Webhooks.events(nil) == [.generationCompleted, .generationFailed])
        #expect(try Webhooks.events(["film.completed", "film.failed"]) == [.filmCompleted, .filmFailed])
    }

    var allowing: WebhookConfig {
        var config = WebhookConfig()
        config.allowPrivate = true
        return config
    }

    func secondsUntilDue(_ deliveryID: ID<WebhookDelivery>) throws -> Double {
        let row = try db.execute(
            "SELECT extract(epoch FROM next_attempt_at - now())::float8 AS s FROM webhook_deliveries WHERE id = \(deliveryID)"
        )[0]
        return Double(row.string("s")) ?? 0
    }

    func endAllPending() throws {
        try db.execute(
            "UPDATE webhook_deliveries SET status = 'failed', leased_until = NULL WHERE status = 'pending' AND user_id = \(userID)"
        )
    }

    @Test func aDeadReceiverHoldsBackItsOtherDeliveries() throws {
        let id = try endpoint("http://127.0.0.1:1/dead")
        for _ in 0..<3 { try finishedGeneration(.completed) }
        let worker = WebhookDeliverer(db: db, config: allowing)
        #expect(try worker.runOnce())
        // One timeout for the endpoint, not one per delivery: the other two wait as long as the first.
        #expect(try !worker.runOnce())
        let log = try deliveries(id)
        #expect(log.map(\.attempts).sorted() == [0, 0, 1])
        for delivery in log { #expect(try secondsUntilDue(delivery.id) > 3, "\(delivery.id)") }
        try endAllPending()
    }

    @Test func sendAgainRestartsTheBackoff() throws {
        let id = try endpoint("http://127.0.0.1:1/dead")
        try finishedGeneration(.failed)
        let worker = WebhookDeliverer(db: db, config: allowing)
        #expect(try worker.runOnce())
        let delivery = try #require(try deliveries(id).first)
        // A long round that ended in failure: nine attempts, the next would have waited 8 h.
        try db.execute(
            "UPDATE webhook_deliveries SET attempts = 9, round_attempts = 9, status = 'failed' WHERE id = \(delivery.id)"
        )
        _ = try Webhooks(db: db, config: allowing).redeliver(id: delivery.id, user: user)
        #expect(try worker.runOnce())
        let again = try #require(try deliveries(id).first)
        #expect(again.status == .pending && again.attempts == 10)
        let wait = try secondsUntilDue(delivery.id)
        #expect(wait > 3 && wait < 10, "the new round starts at the first delay (5 s), waited \(wait)")
        try endAllPending()
    }

    @Test func sendAgainIsRefusedDuringAnAttemptAndAStaleAttemptDoesNotOverwrite() throws {
        let id = try endpoint("http://127.0.0.1:1/slow")
        try finishedGeneration(.completed)
        let store = WebhookStore(db: db)
        let due = try #require(try store.claim(leaseSeconds: 120))
        #expect(due.endpointID == id && due.roundAttempt == 1)
        let hooks = Webhooks(db: db, config: allowing)
        #expect(throws: Webhooks.Refusal.self) { try hooks.redeliver(id: due.id, user: user) }
        #expect(Webhooks.Refusal.attemptInProgress(endpointID: id).httpError.status == 409)
        #expect(Webhooks.Refusal.attemptInProgress(endpointID: id).httpError.code == "delivery_in_progress")
        // The lease ran out (the worker is stuck), so "send again" is allowed; the stuck attempt's outcome
        // then arrives, and is logged but does not overwrite the new round.
        try db.execute("UPDATE webhook_deliveries SET leased_until = now() - interval '1 second' WHERE id = \(due.id)")
        let requeued = try hooks.redeliver(id: due.id, user: user)
        #expect(requeued.status == .pending)
        let held = try store.record(
            due, outcome: .delivered, statusCode: 200, error: nil, durationMs: 5, next: .delivered,
            retryAfter: 0, holdEndpoint: false)
        #expect(!held)
        let after = try #require(try deliveries(id).first)
        #expect(after.status == .pending && after.deliveredAt == nil && after.attemptLog.map(\.outcome) == [.delivered])
        #expect(try secondsUntilDue(due.id) < 1)
        try endAllPending()
    }

    @Test func finishedDeliveriesPastTheRetentionAreDeleted() throws {
        let id = try endpoint("https://hooks.example.com/old")
        try finishedGeneration(.completed)
        try finishedGeneration(.failed)
        let both = try deliveries(id)
        let (recent, old) = (both[0].id, both[1].id)
        try db.execute("UPDATE webhook_deliveries SET status = 'delivered' WHERE id IN (\(recent), \(old))")
        try db.execute("UPDATE webhook_deliveries SET created_at = now() - interval '31 days' WHERE id = \(old)")
        try db.execute(
            "INSERT INTO webhook_attempts (delivery_id, outcome, status_code) VALUES (\(old), 'delivered', 200)")
        let worker = WebhookDeliverer(db: db, config: WebhookConfig())
        // At most once an hour per process.
        let far = 1 << 40
        #expect(try worker.pruneIfDue(nowSeconds: far))
        #expect(try !worker.pruneIfDue(nowSeconds: far + 60))
        #expect(try deliveries(id).map(\.id) == [recent])
        #expect(
            try db.execute("SELECT count(*) AS n FROM webhook_attempts WHERE delivery_id = \(old)")[0].int("n") == 0)
        try db.execute("UPDATE webhook_deliveries SET created_at = now() - interval '31 days' WHERE id = \(recent)")
        #expect(try worker.pruneIfDue(nowSeconds: far + 3600))
        #expect(try deliveries(id).isEmpty)
    }

    /// Issue 22: two attempts of one endpoint recorded at once, each holding its own delivery and then holding
    /// back the endpoint's others, used to deadlock (40P01: one attempt lost from the log and sent again). The
    /// test forces that interleaving: a third connection locks a delivery both hold-backs reach first, so the
    /// first recorder waits holding its delivery while the second takes its own; then the lock is released.
    @Test func attemptsOfOneEndpointRecordedAtOnceNeverDeadlock() throws {
        let id = try endpoint("https://hooks.example.com/slow")
        func delivery() throws -> ID<WebhookDelivery> {
            try db.execute(
                """
                INSERT INTO webhook_deliveries (endpoint_id, user_id, event_type, message_id, payload, status, attempts,
                                                round_attempts, leased_until, next_attempt_at, window_started_at)
                VALUES (\(id), \(userID), 'generation.completed', \("msg_dl_" + UUID().uuidString), '{}', 'pending', 1, 1,
                        now() + interval '1 minute', now() + interval '1 minute', now())
                RETURNING id
                """)[0].id("id")
        }
        let blocker = try delivery(), first = try delivery(), second = try delivery()
        let holder = try Connection(url: TestDatabase.url)
        try holder.execute("BEGIN")
        try holder.execute("SELECT 1 FROM webhook_deliveries WHERE id = \(blocker) FOR UPDATE")
        let done = DispatchGroup()
        let outcomes = [Outcome(), Outcome()]
        let pids = [Outcome(), Outcome()]
        func record(_ delivery: ID<WebhookDelivery>, _ index: Int) {
            let due = WebhookStore.Due(
                id: delivery, endpointID: id, messageID: "m", payload: "{}", url: "", secret: "", attempt: 1,
                roundAttempt: 1, secondsSinceWindowStart: 0)
            done.enter()
            Thread {
                do {
                    let connection = try Connection(url: TestDatabase.url)
                    pids[index].set(try connection.execute("SELECT pg_backend_pid() AS p")[0].string("p"))
                    let held = try WebhookStore(db: connection).record(
                        due, outcome: .unreachable, statusCode: nil, error: "timed out", durationMs: 5000,
                        next: .pending, retryAfter: 30, holdEndpoint: true)
                    outcomes[index].set(held ? "held" : "not held")
                } catch {
                    outcomes[index].set("\(error)")
                }
                done.leave()
            }.start()
        }
        func waitsOnALock(_ index: Int) throws -> Bool {
            for _ in 0..<200 {
                if let pid = Int(pids[index].value),
                    try db.execute("SELECT cardinality(pg_blocking_pids(\(pid))) AS n")[0].int("n") > 0
                {
                    return true
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return false
        }
        record(first, 0)
        #expect(try waitsOnALock(0), "the first recorder never waited")
        record(second, 1)
        #expect(try waitsOnALock(1), "the second recorder never waited")
        try holder.execute("COMMIT")
        done.wait()
        #expect(outcomes.map(\.value) == ["held", "held"])
        let logged = try db.execute(
            "SELECT delivery_id, count(*) AS n FROM webhook_attempts WHERE delivery_id IN (\(first), \(second)) GROUP BY 1"
        )
        #expect(logged.count == 2 && logged.allSatisfy { $0.int("n") == 1 })
        try endAllPending()
    }

    /// An endpoint deleted in a transaction that commits while the generation's final update waits on it:
    /// the generation's update must still succeed (the trigger skips the deleted endpoint).
    @Test func anEndpointDeletedConcurrentlyNeverAbortsTheGenerationUpdate() throws {
        let doomed = try endpoint("https://hooks.example.com/doomed")
        let kept = try endpoint("https://hooks.example.com/kept")
        let generation = try finishedGeneration(.failed)  // final already: no engine can claim it
        let deleter = try Connection(url: TestDatabase.url)
        try deleter.execute("BEGIN")
        try deleter.execute("DELETE FROM webhook_endpoints WHERE id = \(doomed)")
        let outcome = Outcome()
        let done = DispatchGroup()
        done.enter()
        Thread {
            do {
                let other = try Connection(url: TestDatabase.url)
                // failed -> completed (an adopted generation completing) fires the trigger.
                try other.execute(
                    "UPDATE generations /* webhook-fk-race */ SET status = 'completed' WHERE id = \(generation)")
                outcome.set("ok")
            } catch {
                outcome.set("\(error)")
            }
            done.leave()
        }.start()
        // Wait until the update is blocked behind the delete's row lock, then commit the delete.
        var waited = false
        for _ in 0..<200 where !waited {
            waited =
                try db.execute(
                    """
                    SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%webhook-fk-race%'
                      AND query NOT LIKE '%pg_stat_activity%'
                    """)[0].int("n") > 0
            if !waited { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(waited, "the generation update never waited on the endpoint's lock")
        try deleter.execute("COMMIT")
        done.wait()
        #expect(outcome.value == "ok")
        #expect(
            try db.execute("SELECT status FROM generations WHERE id = \(generation)")[0].string("status") == "completed"
        )
        #expect(try deliveries(kept).map(\.event) == [.generationCompleted, .generationFailed])
        #expect(
            try db.execute("SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = \(doomed)")[0].int("n")
                == 0)
        try endAllPending()
    }
}

final class Outcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = ""
    func set(_ v: String) {
        lock.lock()
        stored = v
        lock.unlock()
    }
    var value: String {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
