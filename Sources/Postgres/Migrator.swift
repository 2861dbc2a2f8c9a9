// Applies Migrations/NNNN_name.sql in order, each once, each in its own transaction, under an advisory
// lock so that several processes starting together migrate safely.

import CLibPQ
import Glibc

/// SQL read from a migration file: the only SQL text that does not come from a literal.
public struct MigrationScript: Sendable {
    public let version: Int
    public let name: String
    let sql: String
}

public struct Migrator: Sendable {
    /// Arbitrary but fixed: every PromptReel process contends for the same lock.
    static let lockKey: Int64 = 0x5052_4D49_4752  // "PRMIGR"

    public let scripts: [MigrationScript]

    /// Loads `NNNN_name.sql` files from a directory; any other file name is an error, not skipped.
    public init(directory: String) throws {
        var scripts: [MigrationScript] = []
        for file in try listDirectory(directory).sorted() where file.hasSuffix(".sql") {
            let base = file.dropLast(4)
            guard let underscore = base.firstIndex(of: "_"), let version = Int(base[..<underscore]) else {
                throw MigrationError.badFileName(file)
            }
            scripts.append(
                MigrationScript(
                    version: version, name: String(base[base.index(after: underscore)...]),
                    sql: try readTextFile(directory + "/" + file)))
        }
        let versions = scripts.map(\.version)
        if Set(versions).count != versions.count { throw MigrationError.duplicateVersion }
        self.scripts = scripts.sorted { $0.version < $1.version }
    }

    /// Returns the names of the migrations this call applied.
    @discardableResult
    public func migrate(_ db: Connection) throws -> [String] {
        try db.execute("SELECT pg_advisory_lock(\(Migrator.lockKey))")
        defer { _ = try? db.execute("SELECT pg_advisory_unlock(\(Migrator.lockKey))") }
        try db.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
              version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """)
        let done = Set(try db.execute("SELECT version FROM schema_migrations").map { Int($0.int("version")) })
        var applied: [String] = []
        for script in scripts where !done.contains(script.version) {
            try db.transaction {
                try db.executeScript(script)
                try db.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(script.version), \(script.name))")
            }
            applied.append("\(script.version)_\(script.name)")
        }
        return applied
    }
}

public enum MigrationError: Error, CustomStringConvertible {
    case badFileName(String)
    case duplicateVersion
    case unreadable(String)

    public var description: String {
        switch self {
        case let .badFileName(f): "migration file \(f) must be named NNNN_name.sql"
        case .duplicateVersion: "two migration files share a version number"
        case let .unreadable(p): "cannot read \(p)"
        }
    }
}

func listDirectory(_ path: String) throws -> [String] {
    guard let dir = opendir(path) else { throw MigrationError.unreadable(path) }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

func readTextFile(_ path: String) throws -> String {
    guard let file = fopen(path, "rb") else { throw MigrationError.unreadable(path) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    guard let text = String(validating: bytes, as: UTF8.self) else { throw MigrationError.unreadable(path) }
    return text
}
