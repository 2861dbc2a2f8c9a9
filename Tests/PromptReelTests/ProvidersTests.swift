// Issue 24, part 1: providers as catalog data — what the operator may enter (a key is refused where its
// variable's name goes), the default provider following the environment, and the listing that never
// shows a key.

import Foundation
import Postgres
import Testing

@testable import Core

@Suite(.serialized) struct ProviderCatalog {
    let db: Connection

    init() throws { db = try Connection(url: TestDatabase.url) }

    @Test func refusesWhatIsNotAProvider() {
        var c = ProviderAdmin.Changes()
        c.baseURL = "https://gpu.example/v1"
        c.apiKeyEnv = "sk-live-123"
        #expect(throws: ProviderAdmin.Failure.self) { try ProviderAdmin.add(name: "gpu", c, db: db) }
        c.apiKeyEnv = "GPU_KEY"
        for bad in ["Gpu", "", "a b", String(repeating: "x", count: 41)] {
            #expect(throws: ProviderAdmin.Failure.self) { try ProviderAdmin.add(name: bad, c, db: db) }
        }
        c.baseURL = "file:///etc/passwd"
        #expect(throws: ProviderAdmin.Failure.self) { try ProviderAdmin.add(name: "gpu", c, db: db) }
        c.baseURL = "https://gpu.example/v1"
        c.dialect = "grpc"
        #expect(throws: ProviderAdmin.Failure.self) { try ProviderAdmin.add(name: "gpu", c, db: db) }
        // The default provider is the environment's: not changed by hand.
        var url = ProviderAdmin.Changes()
        url.baseURL = "https://elsewhere.example/v1"
        #expect(throws: ProviderAdmin.Failure.self) { try ProviderAdmin.set(name: "default", url, db: db) }
        var timeout = ProviderAdmin.Changes()
        timeout.timeoutMs = 5000
        #expect(throws: ProviderAdmin.Failure.self) { try ProviderAdmin.set(name: "default", timeout, db: db) }
    }

    @Test func theDefaultFollowsTheEnvironmentAndTheListingNamesOnlyTheVariable() throws {
        let before = try #require(try ProviderAdmin.all(db: db).first { $0.name == "default" })
        defer {
            _ = try? ProviderAdmin.syncDefault(
                baseURL: before.baseURL, organization: before.organization, project: before.project, db: db)
        }
        try ProviderAdmin.syncDefault(baseURL: "http://127.0.0.1:9/v1///", organization: "org-1", project: nil, db: db)
        let now = try #require(try ProviderAdmin.all(db: db).first { $0.name == "default" })
        #expect(
            now.baseURL == "http://127.0.0.1:9/v1" && now.organization == "org-1" && now.apiKeyEnv == "OPENAI_API_KEY")
        let lines = try ProviderAdmin.listing(db: db, environment: ["OPENAI_API_KEY": "sk-secret-value"])
        let line = try #require(lines.first { $0.hasPrefix("default\t") })
        #expect(line.contains("key=$OPENAI_API_KEY (set here)") && !lines.joined().contains("sk-secret-value"))
    }
}

/// Issue 24, part 3: the queue's one order (round-robin across users) and the in-flight limits of a model,
/// at the claim every worker process makes (on generations of a provider name of their own, so other
/// tests' work is not in the way).
@Suite struct QueueOrderAndLimits {
    let db: Connection
    let provider = "queue-\(UUID().uuidString.prefix(8).lowercased())"

    init() throws { db = try Connection(url: TestDatabase.url) }

    /// What the claims took ends here: rows left "in flight" would count against the instance's limit of
    /// every later test (the end-to-end suite shares the database).
    func finish() throws {
        try db.execute(
            """
            UPDATE generations SET phase = 'done', status = 'failed', error_code = 'cancelled', actual_cost = 0, completed_at = now()
            WHERE provider = \(provider) AND phase <> 'done'
            """)
    }

    func user(_ tag: String) throws -> (ID<User>, ID<Project>) {
        let user: ID<User> = try db.execute(
            "INSERT INTO users (email, password_hash) VALUES (\(TestDatabase.uniqueEmail(tag)), 'x') RETURNING id")[0]
            .id("id")
        let project: ID<Project> = try db.execute(
            "INSERT INTO projects (user_id, name) VALUES (\(user), 'Queue') RETURNING id")[0].id("id")
        return (user, project)
    }

    /// A waiting generation `seconds` old, on a video of its own (one active click per video).
    func waiting(_ project: ID<Project>, _ user: ID<User>, model: String = "sora-2", ago seconds: Int) throws {
        let video = try #require(
            try Store(db: db).createVideo(projectID: project, userID: user, title: "q", brief: "", finalPrompt: "p")
        ).id
        try db.execute(
            """
            INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution, estimated_cost, provider, created_at)
            VALUES (\(video), \(user), '{}', 'p', \(model), 4, '1280x720', '720p', 0.40, \(provider),
                    now() - make_interval(secs => \(seconds)))
            """)
    }

    func claimUser() throws -> ID<User>? {
        let store = GenerationStore(db: db)
        guard let g = try store.claim(.submit(maxInFlight: 100_000, reconcileAfter: 60), providers: [provider]) else {
            return nil
        }
        store.unlock(g.id)
        return g.userID
    }

    @Test func oneUsersStoryboardDoesNotStarveAnothersClick() throws {
        defer { try? finish() }
        let (a, aProject) = try user("fair-a"), (b, bProject) = try user("fair-b")
        for n in 0..<5 { try waiting(aProject, a, ago: 100 - n) }  // A's five, all older than B's one
        try waiting(bProject, b, ago: 10)
        var order: [ID<User>] = []
        while let next = try claimUser() { order.append(next) }
        #expect(order == [a, b, a, a, a, a])
    }

    @Test func aModelsLimitHoldsAtTheClaim() throws {
        defer { try? finish() }
        let model = "limit-\(UUID().uuidString.prefix(8).lowercased())"
        var m = CatalogAdmin.NewModel(
            name: model, displayName: "Limited", position: 900, durations: [4], prices: [("720p", "0.10")],
            sizes: [("16:9", "720p", "1280x720")])
        m.supportsRemix = false
        try CatalogAdmin.add(m, db: db)
        try CatalogAdmin.setEnabled(model: model, false, db: db)  // not offered to other tests
        try ProviderAdmin.setModelMaxInFlight(model: model, 1, db: db)
        let (u, project) = try user("limit")
        for n in 0..<3 { try waiting(project, u, model: model, ago: 30 - n) }
        #expect(try claimUser() == u)
        #expect(try claimUser() == nil)  // one in flight (submitting) at that model
        try db.execute(
            "UPDATE generations SET phase = 'submitted' WHERE provider = \(provider) AND phase = 'submitting'")
        #expect(try claimUser() == nil)  // still at the provider
        try db.execute(
            "UPDATE generations SET phase = 'done', status = 'completed', completed_at = now(), actual_cost = 0.40 WHERE provider = \(provider) AND phase = 'submitted'"
        )
        #expect(try claimUser() == u)
    }
}
