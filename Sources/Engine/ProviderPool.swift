// The video providers one worker talks to, by name: a client for every provider row whose key this
// process holds (the row names the environment variable; the key never leaves the process's memory).
// Claims are limited to those providers, so a worker never takes a job it cannot send or follow.

import Core
import Postgres
import Telemetry
import VideoAPI

struct ProviderPool {
    private let clients: [String: any VideoProvider]
    /// Tests: one provider answers for every name.
    private let single: (any VideoProvider)?

    /// The providers the claims are limited to (nil: every one).
    var names: [String]? { single == nil ? clients.keys.sorted() : nil }

    init(single provider: any VideoProvider) {
        clients = [:]
        single = provider
    }

    init(clients: [String: any VideoProvider]) {
        self.clients = clients
        single = nil
    }

    func client(_ name: String) -> (any VideoProvider)? { single ?? clients[name] }

    /// A client per provider row with a key in `environment`; `defaultConfig` (OPENAI_*) is the default
    /// provider's. A provider without a key here is left out (said once in the log, without any key).
    static func load(
        db: Connection, defaultConfig: ProviderConfig, environment: [String: String],
        make: (_ name: String, ProviderConfig) throws -> any VideoProvider
    ) throws -> ProviderPool {
        var clients: [String: any VideoProvider] = [:]
        for row in try ProviderAdmin.all(db: db) {
            if row.name == Provider.defaultName {
                var config = defaultConfig
                config.dialect = VideoDialect(rawValue: row.dialect) ?? .openai
                clients[row.name] = try make(row.name, config)
                continue
            }
            guard let key = environment[row.apiKeyEnv], !key.isEmpty else {
                Log.error(
                    "provider \(row.name): $\(row.apiKeyEnv) is not set for this worker; its jobs wait for one that has it"
                )
                continue
            }
            var config = ProviderConfig(
                baseURL: row.baseURL, apiKey: key, organization: row.organization, project: row.project)
            config.timeoutMs = row.timeoutMs
            config.dialect = VideoDialect(rawValue: row.dialect) ?? .openai
            clients[row.name] = try make(row.name, config)
        }
        return ProviderPool(clients: clients)
    }
}

extension GenerationEngine {
    /// One provider for every generation (tests, and single-provider tools).
    convenience init(
        db: Connection, provider: any VideoProvider, config: EngineConfig,
        probe: @escaping (String) -> VideoProbe? = VideoProbe.run
    ) {
        self.init(db: db, providers: ProviderPool(single: provider), config: config, probe: probe)
    }

    /// The client of the generation's provider (claims only take generations of providers this worker has).
    func provider(for g: Generation) throws(VideoAPIError) -> any VideoProvider {
        guard let client = providers.client(g.provider) else {
            throw VideoAPIError(.badKey, detail: "this worker has no key for provider \(g.provider)")
        }
        return client
    }
}
