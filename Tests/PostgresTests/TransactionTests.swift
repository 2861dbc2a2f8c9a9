// Transactions that nest, against scripts/test's PostgreSQL: an inner one is a savepoint, so its failure
// undoes only its own work, an outer failure undoes everything, and nothing commits early.

import Foundation
import Postgres
import Testing

@Suite(.serialized) struct NestedTransactions {
    let db: Connection

    init() throws {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            fatalError("DATABASE_URL is not set: run the tests with scripts/test")
        }
        db = try Connection(url: url)
        // A real table (a second connection must see what is committed), emptied for each test.
        try db.execute("CREATE TABLE IF NOT EXISTS nested_transaction_test (name text PRIMARY KEY)")
        try db.execute("DELETE FROM nested_transaction_test")
    }

    struct Refused: Error {}

    func insert(_ name: String) throws {
        try db.execute("INSERT INTO nested_transaction_test VALUES (\(name))")
    }

    func names(on connection: Connection? = nil) throws -> [String] {
        try (connection ?? db).execute("SELECT name FROM nested_transaction_test ORDER BY name").map {
            $0.string("name")
        }
    }

    @Test func anInnerFailureUndoesOnlyItsOwnWork() throws {
        try db.transaction {
            try insert("a")
            #expect(throws: Refused.self) {
                try db.transaction {
                    try insert("b")
                    throw Refused()
                }
            }
            try insert("c")
        }
        #expect(try names() == ["a", "c"])
    }

    @Test func anOuterFailureUndoesEverythingAndNothingCommitsEarly() throws {
        let other = try Connection(url: db.url)
        #expect(throws: Refused.self) {
            try db.transaction {
                try insert("a")
                try db.transaction { try db.transaction { try insert("b") } }
                // The inner ones returned, but nothing is committed before the outermost does.
                #expect(try names(on: other).isEmpty)
                #expect(try names() == ["a", "b"])
                throw Refused()
            }
        }
        #expect(try names().isEmpty && names(on: other).isEmpty)
        try db.transaction { try db.transaction { try insert("d") } }
        #expect(try names(on: other) == ["d"])
    }

    /// A failed statement inside a savepoint leaves the outer transaction usable once rolled back to it.
    @Test func aFailedStatementInAnInnerTransactionSparesTheOuter() throws {
        try db.transaction {
            try insert("a")
            #expect(throws: DatabaseError.self) { try db.transaction { try insert("a") } }  // duplicate key
            try insert("b")
        }
        #expect(try names() == ["a", "b"])
    }
}

/// A statement past its connection's `statement_timeout` is a typed `timedOut` (the app answers 503), and a
/// reconnect sets it again.
@Suite struct StatementTimeouts {
    @Test func aSlowStatementTimesOutTypedAndTheSettingSurvivesAReconnect() throws {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            Issue.record("DATABASE_URL is not set: run the tests with scripts/test")
            return
        }
        let db = try Connection(url: url, statementTimeoutMs: 200)
        #expect {
            try db.execute("SELECT pg_sleep(2)")
        } throws: {
            if case .timedOut = $0 as? DatabaseError { true } else { false }
        }
        #expect(try db.execute("SHOW statement_timeout").first?.string("statement_timeout") == "200ms")
        // The server ends the session; the reconnect comes back with the same timeout.
        let other = try Connection(url: url)
        let pid = try db.execute("SELECT pg_backend_pid() AS pid")[0].int("pid")
        try other.execute("SELECT pg_terminate_backend(\(pid)::integer)")
        #expect(throws: DatabaseError.self) { try db.execute("SELECT 1") }
        try db.reconnectIfNeeded()
        #expect(try db.execute("SHOW statement_timeout").first?.string("statement_timeout") == "200ms")
    }
}
