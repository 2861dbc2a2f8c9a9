// PGresult ownership and conversion into plain rows.

import CLibPQ

/// Owns one PGresult and clears it in deinit.
final class ResultHandle {
    let raw: OpaquePointer?
    init(_ raw: OpaquePointer?) { self.raw = raw }
    deinit { PQclear(raw) }

    func check(connection: Connection) throws(DatabaseError) {
        guard let raw else { throw .unavailable(connection.lastErrorMessage()) }
        switch PQresultStatus(raw) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default:
            let sqlState = field(PR_PG_DIAG_SQLSTATE) ?? ""
            let message = field(PR_PG_DIAG_MESSAGE_PRIMARY) ?? connection.lastErrorMessage()
            let constraint = field(PR_PG_DIAG_CONSTRAINT_NAME)
            throw DatabaseError.from(
                sqlState: sqlState, message: message, constraint: constraint,
                connectionBroken: !connection.isHealthy)
        }
    }

    func rows(connection: Connection) throws(DatabaseError) -> [Row] {
        try check(connection: connection)
        guard let raw else { return [] }
        let columnCount = Int(PQnfields(raw))
        let names = (0..<columnCount).map { String(cString: PQfname(raw, Int32($0))) }
        let columns = Columns(names: names)
        return (0..<Int(PQntuples(raw))).map { r in
            Row(
                columns: columns,
                values: (0..<columnCount).map { c in
                    PQgetisnull(raw, Int32(r), Int32(c)) == 1
                        ? nil : String(cString: PQgetvalue(raw, Int32(r), Int32(c)))
                })
        }
    }

    private func field(_ code: Int32) -> String? {
        PQresultErrorField(raw, code).map { String(cString: $0) }
    }
}

final class Columns: Sendable {
    let index: [String: Int]
    init(names: [String]) {
        var index: [String: Int] = [:]
        for (i, n) in names.enumerated() where index[n] == nil { index[n] = i }
        self.index = index
    }
}

/// One result row: values as libpq's text output, read by column name.
public struct Row: Sendable {
    let columns: Columns
    public let values: [String?]

    public subscript(name: String) -> String? {
        guard let i = columns.index[name] else { preconditionFailure("no column \(name) in query result") }
        return values[i]
    }

    /// A column only some queries select: nil when this one did not (or the value is NULL).
    public func ifSelected(_ name: String) -> String? {
        columns.index[name].flatMap { values[$0] }
    }

    public func string(_ name: String) -> String { self[name] ?? "" }
    public func int(_ name: String) -> Int64 { self[name].flatMap { Int64($0) } ?? 0 }
    public func optionalInt(_ name: String) -> Int64? { self[name].flatMap { Int64($0) } }
    public func bool(_ name: String) -> Bool { self[name] == "t" }
}
