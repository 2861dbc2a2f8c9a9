// The promptreel command: a thin shell over the library targets.

import ArgumentParser
public import FastCGIServer
public import PromptReel
import Foundation
import Postgres

extension App: RequestHandler {}

@main
struct PromptReelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promptreel",
        abstract: "PromptReel: turn saved video prompts into videos.",
        subcommands: [Serve.self, Migrate.self, UserCommand.self, TokenCommand.self, ModelsCommand.self, SoraCommand.self])
}

struct DatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL connection URL (default: $DATABASE_URL).")
    var databaseURL: String?

    var config: AppConfig {
        var config = AppConfig.fromEnvironment(ProcessInfo.processInfo.environment)
        if let databaseURL { config.databaseURL = databaseURL }
        return config
    }

    func connect() throws -> Connection { try Connection(url: config.databaseURL) }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve FastCGI requests (behind nginx).")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Unix socket path to listen on.") var socket: String?
    @Option(help: "HOST:PORT to listen on instead of a socket.") var listen: String?
    @Option(help: "Worker threads (default: 2 x cores).") var threads: Int?
    @Option(help: "Largest accepted request body in bytes.") var maxBodyBytes: Int = 1 << 20

    func run() throws {
        guard (socket == nil) != (listen == nil) else { throw ValidationError("Give exactly one of --socket or --listen.") }
        Crypto.initialize()
        let config = database.config
        let address: FastCGIServer.Address = socket.map { .socket(path: $0) } ?? .tcp(listen ?? "")
        let server = FastCGIServer(address: address, threads: threads ?? 2 * ProcessInfo.processInfo.activeProcessorCount,
                                   maxBodyBytes: maxBodyBytes)
        Log.info("serving on \(socket ?? listen ?? "") with \(server.threads) threads")
        try server.run { App(config: config) }
        Log.info("stopped")
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Folder of NNNN_name.sql files.") var migrations: String = "Migrations"

    func run() throws {
        let applied = try Migrator(directory: migrations).migrate(database.connect())
        print(applied.isEmpty ? "migrations: up to date" : "migrations applied: \(applied.joined(separator: ", "))")
    }
}

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage users.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user; the password is read from $PROMPTREEL_PASSWORD or stdin.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Email address.") var email: String

        func run() throws {
            Crypto.initialize()
            let password = ProcessInfo.processInfo.environment["PROMPTREEL_PASSWORD"] ?? readLine(strippingNewline: true) ?? ""
            let user = try Accounts.createUser(database.connect(), email: email, password: password)
            print("created user \(user.id) <\(user.email)>")
        }
    }
}

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage API tokens.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API token for a user and print it.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's email.") var email: String
        @Option(help: "A name to recognise the token by.") var name: String = "cli"

        func run() throws {
            Crypto.initialize()
            print(try Accounts.createToken(database.connect(), email: email, name: name))
        }
    }
}
