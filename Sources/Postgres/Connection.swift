// One libpq connection (PGconn), owned and freed by this class. Not thread-safe: each FastCGI worker
// thread and each command owns its own.

import CLibPQ
import Glibc

public final class Connection {
    private var raw: OpaquePointer
    public let url: String
    /// Statements prepared on this connection, by SQL text: each is parsed and planned once.
    private var prepared: [String: String] = [:]
    /// `statement_timeout` for this session (nil: the server's), set again after a reconnect.
    private let statementTimeoutMs: Int?

    /// Connects with a libpq URL or keyword string; `database` overrides the database it names;
    /// `options` adds libpq keywords (e.g. `connect_timeout`, `tcp_user_timeout`) after the URL's.
    public init(
        url: String, database: String? = nil, options: [(String, String)] = [], statementTimeoutMs: Int? = nil
    ) throws(DatabaseError) {
        self.url = url
        self.statementTimeoutMs = statementTimeoutMs
        let keywords = ["dbname"] + (database == nil ? [] : ["dbname"]) + options.map(\.0)
        let values = [url] + (database.map { [$0] } ?? []) + options.map(\.1)
        let opened = withCStrings(keywords + [nil]) { k in
            withCStrings(values + [nil]) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let conn = opened else { throw .unavailable("out of memory") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = Connection.message(conn)
            PQfinish(conn)  // libpq allocates even on failure
            // Thrown before `raw` is set, so deinit (which would PQfinish it again) does not run.
            throw .unavailable(message)
        }
        raw = conn
        // Notices (e.g. "relation already exists, skipping") are not errors: keep them off stderr.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        try configureSession()
    }

    /// Every statement is prepared once and run many times, and PostgreSQL switches a prepared statement to a
    /// generic plan after five runs when that looks no dearer on average: with skewed data (a project of
    /// 50,000 videos among projects of ten; a claim over a million finished generations) the average plan is
    /// the wrong one by orders of magnitude. Plan each run for its own values instead (a fraction of a
    /// millisecond), and without JIT compilation, which costs more than these short queries save.
    private func configureSession() throws(DatabaseError) {
        // An integer only (never text from outside), so it is safe in the SET's text.
        let timeout = statementTimeoutMs.map { "; SET statement_timeout = \(max(0, $0))" } ?? ""
        try ResultHandle(PQexec(raw, "SET plan_cache_mode = force_custom_plan; SET jit = off" + timeout)).check(
            connection: self)
    }

    deinit { PQfinish(raw) }

    public var isHealthy: Bool { PQstatus(raw) == CONNECTION_OK }

    /// Re-establishes a broken connection (after a server restart or a failover); cheap when it is fine. A
    /// connection the server closed while it sat idle is noticed here, before a request's first statement fails on
    /// it: libpq's socket is non-blocking, so reading what is pending costs one system call and no round trip.
    public func reconnectIfNeeded() throws(DatabaseError) {
        if PQstatus(raw) == CONNECTION_OK && PQconsumeInput(raw) == 1 { return }
        prepared = [:]  // a new server session knows none of them
        PQreset(raw)
        guard PQstatus(raw) == CONNECTION_OK else { throw .unavailable(Connection.message(raw)) }
        try configureSession()
    }

    /// Runs one parameterized statement and copies its rows into Swift values.
    @discardableResult
    public func execute(_ query: Query) throws(DatabaseError) -> [Row] {
        let name = try statementName(for: query)
        let values = query.parameters
        let result: ResultHandle = withCStrings(values) { pointers in
            ResultHandle(PQexecPrepared(raw, name, Int32(values.count), pointers, nil, nil, 0))
        }
        do {
            return try result.rows(connection: self)
        } catch {
            // After an error the server may have dropped nothing, but a broken session dropped them all.
            if !isHealthy { prepared = [:] }
            throw error
        }
    }

    /// Prepares a statement the first time its SQL text is seen on this connection.
    private func statementName(for query: Query) throws(DatabaseError) -> String {
        if let name = prepared[query.sql] { return name }
        let name = "s\(prepared.count)"
        try ResultHandle(PQprepare(raw, name, query.sql, Int32(query.parameters.count), nil)).check(connection: self)
        prepared[query.sql] = name
        return name
    }

    /// Runs trusted, multi-statement SQL from a migration file (never request input).
    public func executeScript(_ script: MigrationScript) throws(DatabaseError) {
        try ResultHandle(PQexec(raw, script.sql)).check(connection: self)
    }

    /// How many `transaction` bodies are running on this connection (0: none).
    private var transactionDepth = 0

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws. Inside another
    /// transaction it is a savepoint instead: returning keeps its work for the outer COMMIT, throwing rolls
    /// back only its own work, and nothing commits before the outermost body returns.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        if transactionDepth > 0 { return try savepoint(body) }
        try execute("BEGIN")
        transactionDepth = 1
        defer { transactionDepth = 0 }
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isHealthy { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// A nested transaction. Savepoints of one name stack: ROLLBACK TO and RELEASE act on the newest.
    private func savepoint<T>(_ body: () throws -> T) throws -> T {
        try execute("SAVEPOINT promptreel_nested")
        transactionDepth += 1
        defer { transactionDepth -= 1 }
        do {
            let value = try body()
            try execute("RELEASE SAVEPOINT promptreel_nested")
            return value
        } catch {
            if isHealthy {
                _ = try? execute("ROLLBACK TO SAVEPOINT promptreel_nested")
                _ = try? execute("RELEASE SAVEPOINT promptreel_nested")
            }
            throw error
        }
    }

    // MARK: LISTEN / NOTIFY

    /// Waits until a NOTIFY for a channel this connection LISTENs on arrives, or `timeoutSeconds` pass.
    /// Returns true when at least one arrived (all pending ones are consumed).
    public func waitForNotification(timeoutSeconds: Double) throws(DatabaseError) -> Bool {
        try !waitForNotifications(timeoutSeconds: timeoutSeconds).isEmpty
    }

    /// The payloads of every NOTIFY that has arrived, waiting up to `timeoutSeconds` for the first.
    public func waitForNotifications(timeoutSeconds: Double) throws(DatabaseError) -> [String] {
        let pending = drainNotifications()  // delivered along with an earlier query's result
        if !pending.isEmpty { return pending }
        let socket = PQsocket(raw)
        guard socket >= 0 else { throw .unavailable(lastErrorMessage()) }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(max(0, min(timeoutSeconds, 60)) * 1000))
        guard ready > 0 else { return [] }  // timeout, or EINTR: the caller loops anyway
        guard PQconsumeInput(raw) == 1 else { throw .unavailable(lastErrorMessage()) }
        // A closed socket reads as "ready" with nothing to consume: report the broken connection.
        guard PQstatus(raw) == CONNECTION_OK else { throw .unavailable(lastErrorMessage()) }
        return drainNotifications()
    }

    private func drainNotifications() -> [String] {
        var payloads: [String] = []
        while let notification = PQnotifies(raw) {
            payloads.append(notification.pointee.extra.map { String(cString: $0) } ?? "")
            PQfreemem(notification)
        }
        return payloads
    }

    func lastErrorMessage() -> String { Connection.message(raw) }

    static func message(_ conn: OpaquePointer) -> String {
        guard let c = PQerrorMessage(conn) else { return "unknown error" }
        // libpq ends it with a newline
        return String(String(cString: c).reversed().drop(while: \.isWhitespace).reversed())
    }
}

/// Calls `body` with a C array of C strings (NULL for nil) kept alive for the call; NULL when empty.
func withCStrings<R>(_ values: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    guard !values.isEmpty else { return body(nil) }
    let owned: [UnsafeMutablePointer<CChar>?] = values.map { $0.map { strdup($0) } ?? nil }
    defer { for p in owned { free(p) } }
    let pointers: [UnsafePointer<CChar>?] = owned.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
