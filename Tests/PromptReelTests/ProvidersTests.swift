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
