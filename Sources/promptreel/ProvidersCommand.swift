// `promptreel providers …`: where the catalog's models are sent. A provider names the environment variable
// that holds its key; the key itself is never stored, printed or logged.

import ArgumentParser
import Core
import Foundation

struct ProvidersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers", abstract: "List and change the video providers (where each model's jobs go).",
        subcommands: [List.self, Add.self, Set.self, Disable.self, Enable.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every provider: URL, dialect, the key's variable (never the key), state, models.")
        @OptionGroup var database: DatabaseOptions
        func run() throws {
            for line in try ProviderAdmin.listing(
                db: database.connect(), environment: ProcessInfo.processInfo.environment)
            {
                print(line)
            }
        }
    }

    struct Settings: ParsableArguments {
        @Option(help: "Its Videos API base URL, e.g. https://gpu.example/v1.") var baseURL: String?
        @Option(help: "How it speaks the Videos API: openai.") var dialect: String?
        @Option(help: "The NAME of the environment variable that holds its key (workers read it).") var apiKeyEnv:
            String?
        @Option(help: "OpenAI-Organization header.") var organization: String?
        @Option(help: "OpenAI-Project header.") var project: String?
        @Option(help: "Time for one call, in milliseconds (default 30000).") var timeoutMs: Int?
        @Option(help: "Jobs in flight there at once (0: only the instance's limit).") var maxInFlight: Int?

        var changes: ProviderAdmin.Changes {
            var c = ProviderAdmin.Changes()
            c.baseURL = baseURL
            c.dialect = dialect
            c.apiKeyEnv = apiKeyEnv
            c.organization = organization
            c.project = project
            c.timeoutMs = timeoutMs
            c.maxInFlight = maxInFlight
            return c
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a provider.",
            discussion: """
                Example (a second gateway; its key in GATEWAY_KEY, set for the workers):
                  promptreel providers add --name gateway --base-url https://gateway.example/v1 --api-key-env GATEWAY_KEY
                then: promptreel models add … --provider gateway [--provider-model NAME]
                """)
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Its name: lower-case letters, digits, - and _.") var name: String
        @OptionGroup var settings: Settings
        func run() throws {
            try ProviderAdmin.add(name: name, settings.changes, db: database.connect())
            print("added provider \(name) (restart the workers to send to it)")
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a provider (the default one follows OPENAI_BASE_URL and OPENAI_API_KEY).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The provider's name.") var name: String
        @OptionGroup var settings: Settings
        func run() throws {
            try ProviderAdmin.set(name: name, settings.changes, db: database.connect())
            print("changed provider \(name) (restart the workers to use the change)")
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send nothing new to a provider: its models leave the catalog; jobs in flight finish.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The provider's name.") var name: String
        func run() throws {
            try ProviderAdmin.setEnabled(name: name, false, db: database.connect())
            print("disabled provider \(name)")
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send to a disabled provider again.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The provider's name.") var name: String
        func run() throws {
            try ProviderAdmin.setEnabled(name: name, true, db: database.connect())
            print("enabled provider \(name)")
        }
    }
}
