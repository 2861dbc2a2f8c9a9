// Providers as catalog data (Migrations/0030): where each model's generations are sent. A row names the
// environment variable that holds the key, never the key; the workers read the variable. The built-in
// `default` provider follows OPENAI_BASE_URL at every start.

import Foundation
public import Postgres

public struct Provider: Sendable, Equatable {
    public let name: String
    public let baseURL: String
    public let dialect: String
    /// The name of the environment variable that holds the key (never the key).
    public let apiKeyEnv: String
    public let organization: String?
    public let project: String?
    public let timeoutMs: Int
    public let enabled: Bool
    /// Jobs in flight at once at this provider (nil: only the instance's limit).
    public let maxInFlight: Int?

    public static let defaultName = "default"

    init(_ r: Row) {
        name = r.string("name")
        baseURL = r.string("base_url")
        dialect = r.string("dialect")
        apiKeyEnv = r.string("api_key_env")
        organization = r["organization"]
        project = r["project"]
        timeoutMs = Int(r.int("timeout_ms"))
        enabled = r.bool("enabled")
        maxInFlight = r.optionalInt("max_in_flight").map { Int($0) }
    }
}

public enum ProviderAdmin {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static let dialects = ["openai", "vllm-omni"]

    static let columns: Query =
        "name, base_url, dialect, api_key_env, organization, project, timeout_ms, enabled, max_in_flight"

    public static func all(db: Connection) throws -> [Provider] {
        try db.execute("SELECT \(fragment: columns) FROM providers ORDER BY name = 'default' DESC, name").map(
            Provider.init)
    }

    /// The `default` provider as this process's environment says (OPENAI_BASE_URL, OPENAI_ORG_ID,
    /// OPENAI_PROJECT_ID; the key stays in OPENAI_API_KEY): set at every start of `serve` and `worker`.
    public static func syncDefault(baseURL: String, organization: String?, project: String?, db: Connection) throws {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        try db.execute(
            """
            INSERT INTO providers (name, base_url, api_key_env, organization, project)
            VALUES ('default', \(base), 'OPENAI_API_KEY', \(organization), \(project))
            ON CONFLICT (name) DO UPDATE SET base_url = excluded.base_url, api_key_env = excluded.api_key_env,
                   organization = excluded.organization, project = excluded.project
            WHERE (providers.base_url, providers.api_key_env, providers.organization, providers.project)
                  IS DISTINCT FROM (excluded.base_url, excluded.api_key_env, excluded.organization, excluded.project)
            """)
    }

    public struct Changes: Sendable {
        public var baseURL: String?
        public var dialect: String?
        public var apiKeyEnv: String?
        public var organization: String?
        public var project: String?
        public var timeoutMs: Int?
        /// Jobs in flight at this provider at once (0: no limit of its own).
        public var maxInFlight: Int?

        public init() {}
    }

    /// Checks what can be checked before the database does: a name, an http(s) URL, a dialect PromptReel
    /// speaks, an environment variable's name (upper case: a key pasted by mistake is refused, not stored).
    static func check(name: String?, _ c: Changes) throws {
        if let name, name.range(of: "^[a-z0-9][a-z0-9_-]{0,39}$", options: .regularExpression) == nil {
            throw Failure(description: "--name: lower-case letters, digits, - and _ (at most 40), like gpu-box")
        }
        if let url = c.baseURL,
            url.range(of: "^https?://[^\\s]+$", options: .regularExpression) == nil || url.utf8.count > 2000
        {
            throw Failure(description: "--base-url: an http:// or https:// URL, like https://gpu.example/v1")
        }
        if let dialect = c.dialect, !dialects.contains(dialect) {
            throw Failure(description: "--dialect: one of \(dialects.joined(separator: ", "))")
        }
        if let env = c.apiKeyEnv, env.range(of: "^[A-Z_][A-Z0-9_]{0,99}$", options: .regularExpression) == nil {
            throw Failure(
                description:
                    "--api-key-env: the NAME of the environment variable that holds the key (like GPU_BOX_KEY), not the key"
            )
        }
        if let ms = c.timeoutMs, !(100...600_000).contains(ms) {
            throw Failure(description: "--timeout-ms: 100 to 600000")
        }
        if let n = c.maxInFlight, !(0...100_000).contains(n) {
            throw Failure(description: "--max-in-flight: 1 to 100000 (0: no limit of its own)")
        }
    }

    public static func add(name: String, _ c: Changes, db: Connection) throws {
        try check(name: name, c)
        guard let url = c.baseURL, let env = c.apiKeyEnv else {
            throw Failure(description: "give --base-url and --api-key-env")
        }
        let inserted = try db.execute(
            """
            INSERT INTO providers (name, base_url, dialect, api_key_env, organization, project, timeout_ms, max_in_flight)
            VALUES (\(name), \(url), \(c.dialect ?? "openai"), \(env), \(c.organization), \(c.project), \(c.timeoutMs ?? 30000),
                    nullif(\(c.maxInFlight ?? 0)::integer, 0))
            ON CONFLICT (name) DO NOTHING RETURNING name
            """)
        guard !inserted.isEmpty else { throw Failure(description: "a provider named \(name) already exists") }
    }

    public static func set(name: String, _ c: Changes, db: Connection) throws {
        try check(name: nil, c)
        guard
            name != Provider.defaultName
                || (c.baseURL == nil && c.apiKeyEnv == nil && c.organization == nil && c.project == nil
                    && c.timeoutMs == nil)
        else {
            throw Failure(
                description:
                    "the default provider follows OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_ORG_ID, OPENAI_PROJECT_ID and PROMPTREEL_PROVIDER_TIMEOUT_MS at every start; set those (only --dialect and --max-in-flight are its own)"
            )
        }
        guard
            try !db.execute(
                """
                UPDATE providers SET base_url = coalesce(\(c.baseURL)::text, base_url), dialect = coalesce(\(c.dialect)::text, dialect),
                       api_key_env = coalesce(\(c.apiKeyEnv)::text, api_key_env),
                       organization = coalesce(\(c.organization)::text, organization),
                       project = coalesce(\(c.project)::text, project), timeout_ms = coalesce(\(c.timeoutMs)::integer, timeout_ms),
                       max_in_flight = CASE WHEN \(c.maxInFlight)::integer IS NULL THEN max_in_flight
                                            ELSE nullif(\(c.maxInFlight)::integer, 0) END
                WHERE name = \(name) RETURNING name
                """
            ).isEmpty
        else { throw Failure(description: "no provider named \(name)") }
    }

    public static func setEnabled(name: String, _ enabled: Bool, db: Connection) throws {
        guard try !db.execute("UPDATE providers SET enabled = \(enabled) WHERE name = \(name) RETURNING name").isEmpty
        else { throw Failure(description: "no provider named \(name)") }
    }

    /// One line per provider: name, URL, dialect, the key's variable (and whether this process has it set),
    /// enabled, its models. Never the key.
    public static func listing(db: Connection, environment: [String: String]) throws -> [String] {
        let models = Dictionary(
            grouping: try db.execute("SELECT provider, name FROM video_models ORDER BY position, name"),
            by: { $0.string("provider") })
        return try all(db: db).map { p in
            let keySet = environment[p.apiKeyEnv].map { !$0.isEmpty } ?? false
            let names = (models[p.name] ?? []).map { $0.string("name") }.joined(separator: ",")
            return
                "\(p.name)\t\(p.baseURL)\tdialect=\(p.dialect)\tkey=$\(p.apiKeyEnv) (\(keySet ? "set here" : "not set here"))\t"
                + "\(p.enabled ? "enabled" : "disabled")\ttimeout=\(p.timeoutMs)ms\t"
                + "in-flight=\(p.maxInFlight.map(String.init) ?? "instance")\tmodels=\(names.isEmpty ? "-" : names)"
        }
    }

    /// A model's own in-flight limit (0: none of its own).
    public static func setModelMaxInFlight(model: String, _ limit: Int, db: Connection) throws {
        guard (0...100_000).contains(limit) else {
            throw Failure(description: "--max-in-flight: 1 to 100000 (0: no limit of its own)")
        }
        guard
            try !db.execute(
                "UPDATE video_models SET max_in_flight = nullif(\(limit)::integer, 0) WHERE name = \(model) RETURNING name"
            ).isEmpty
        else { throw Failure(description: "no model named \(model)") }
    }

    /// Moves a model to a provider and sets the name that provider serves it as (nil leaves it).
    public static func setModelProvider(model: String, provider: String?, providerModel: String?, db: Connection) throws
    {
        do {
            guard
                try !db.execute(
                    """
                    UPDATE video_models SET provider = coalesce(\(provider)::text, provider),
                           provider_model = CASE WHEN \(providerModel)::text IS NULL THEN provider_model
                                                 WHEN \(providerModel)::text = '' THEN NULL ELSE \(providerModel)::text END
                    WHERE name = \(model) RETURNING name
                    """
                ).isEmpty
            else { throw Failure(description: "no model named \(model)") }
        } catch let error as DatabaseError {
            if error.isForeignKeyViolation { throw Failure(description: "no provider named \(provider ?? "")") }
            throw Failure(description: "refused: \(error)")
        }
    }
}
