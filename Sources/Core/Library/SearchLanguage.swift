// Which PostgreSQL text-search configuration video search stems and drops stop words with (Migrations/0019).

public import Postgres

/// The text-search language (stemming and stop words) of video search, for `promptreel search-language`.
public enum SearchLanguage {
    public struct Unknown: Error, CustomStringConvertible {
        public let name: String
        public let known: [String]
        public var description: String {
            "no text-search configuration \"\(name)\"; PostgreSQL has: \(known.joined(separator: ", "))"
        }
    }

    public static func current(_ db: Connection) throws -> String {
        try db.execute("SELECT language FROM search_settings").first?.string("language") ?? "english"
    }

    /// Switches to `name` (one of PostgreSQL's text-search configurations) and rebuilds every video's
    /// search document in the same transaction; returns how many videos were rebuilt.
    public static func set(_ name: String, _ db: Connection) throws -> Int64 {
        let known = try db.execute("SELECT cfgname::text AS name FROM pg_ts_config ORDER BY cfgname").map {
            $0.string("name")
        }
        guard known.contains(name) else { throw Unknown(name: name, known: known) }
        return try db.transaction {
            try db.execute("SELECT set_search_language(\(name)::regconfig)")
            return try db.execute("SELECT count(*) AS n FROM videos")[0].int("n")
        }
    }
}
