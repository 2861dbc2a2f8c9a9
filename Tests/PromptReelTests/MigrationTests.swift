// Migrations against real, fresh databases: applied once, idempotent, and safe when run concurrently.

import Foundation
import Postgres
import Testing

@testable import Core

@Suite(.serialized) struct Migrations {
    static let directory: String = {
        // Tests run from the package root in scripts/test; #filePath keeps it right from anywhere.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Migrations").path
    }()

    /// A new empty database, dropped first if an earlier run left it.
    func freshDatabase(_ name: StaticString) throws -> Connection {
        let admin = try Connection(url: TestDatabase.url)
        switch name.description {
        case "promptreel_migtest_once":
            try admin.execute("DROP DATABASE IF EXISTS promptreel_migtest_once WITH (FORCE)")
            try admin.execute("CREATE DATABASE promptreel_migtest_once")
        default:
            try admin.execute("DROP DATABASE IF EXISTS promptreel_migtest_race WITH (FORCE)")
            try admin.execute("CREATE DATABASE promptreel_migtest_race")
        }
        return try Connection(url: TestDatabase.url, database: name.description)
    }

    @Test func appliesEachOnceAndIsIdempotent() throws {
        let db = try freshDatabase("promptreel_migtest_once")
        let migrator = try Migrator(directory: Migrations.directory)
        #expect(migrator.scripts.count >= 2)
        let first = try migrator.migrate(db)
        #expect(first.count == migrator.scripts.count)
        #expect(try migrator.migrate(db).isEmpty)
        #expect(
            try db.execute("SELECT count(*) AS n FROM schema_migrations")[0].int("n") == Int64(migrator.scripts.count))
        #expect(try db.execute("SELECT to_regclass('videos') IS NOT NULL AS ok")[0].bool("ok"))
    }

    @Test func concurrentRunsApplyEachMigrationOnce() throws {
        _ = try freshDatabase("promptreel_migtest_race")
        let migrator = try Migrator(directory: Migrations.directory)
        let results = Results()
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                do {
                    let db = try Connection(url: TestDatabase.url, database: "promptreel_migtest_race")
                    results.add(try migrator.migrate(db).count)
                } catch {
                    results.add(-1)
                }
                group.leave()
            }.start()
        }
        group.wait()
        #expect(results.values.sorted() == [0, 0, 0, migrator.scripts.count])
    }

    @Test func badFileNamesAreRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "SELECT 1;".write(to: dir.appendingPathComponent("first.sql"), atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.self) { try Migrator(directory: dir.path) }
    }
}

final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Int] = []
    func add(_ v: Int) {
        lock.lock()
        stored.append(v)
        lock.unlock()
    }
    var values: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

@Suite struct DatabaseErrors {
    @Test func uniqueViolationIsTyped() throws {
        let db = try Connection(url: TestDatabase.url)
        try db.execute("CREATE TEMP TABLE t (k text PRIMARY KEY)")
        try db.execute("INSERT INTO t VALUES (\("a"))")
        do {
            try db.execute("INSERT INTO t VALUES (\("a"))")
            Issue.record("expected a unique violation")
        } catch {
            #expect(error.isUniqueViolation)
        }
    }

    @Test func parametersCannotInjectSQL() throws {
        let db = try Connection(url: TestDatabase.url)
        let hostile = "x'); DROP TABLE users; --"
        let row = try db.execute("SELECT \(hostile)::text AS v, \(Optional<String>.none) AS n")[0]
        #expect(row["v"] == hostile)
        #expect(row["n"] == nil)
        #expect(try db.execute("SELECT to_regclass('users') IS NOT NULL AS ok")[0].bool("ok"))
    }

    @Test func transactionsRollBackOnError() throws {
        let db = try Connection(url: TestDatabase.url)
        try db.execute("CREATE TEMP TABLE r (k int)")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try db.transaction {
                try db.execute("INSERT INTO r VALUES (1)")
                throw Boom()
            }
        }
        #expect(try db.execute("SELECT count(*) AS n FROM r")[0].int("n") == 0)
    }
}

/// Each channel's LISTEN statement names the channel its NOTIFYs use, and a NOTIFY on it wakes a listener.
@Suite struct Channels {
    @Test(arguments: NotifyChannel.all.map(\.name)) func listenAndNotifyAgree(_ name: String) throws {
        let channel = try #require(NotifyChannel.all.first { $0.name == name })
        #expect(channel.listen.sql == "LISTEN \(channel.name)")
        let listener = try Connection(url: TestDatabase.url)
        try listener.execute(channel.listen)
        try channel.notify(try Connection(url: TestDatabase.url), payload: "ping")
        #expect(try listener.waitForNotifications(timeoutSeconds: 5).contains("ping"))
    }
}
