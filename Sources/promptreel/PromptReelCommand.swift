// The promptreel command: a thin shell over the library targets.

import ArgumentParser
import Core
import Engine
public import FastCGIServer
import Foundation
import Postgres
import Telemetry
public import WebApp

extension App: RequestHandler {}

@main
struct PromptReelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promptreel",
        abstract: "PromptReel: turn saved video prompts into videos.",
        subcommands: [
            Serve.self, WorkerCommand.self, Migrate.self, UserCommand.self, TokenCommand.self, ModelsCommand.self,
            ProvidersCommand.self,
            GenerationsCommand.self, RoundtableCommand.self, SoraCommand.self, MediaCommand.self, BudgetCommand.self,
            UsageCommand.self, SearchLanguageCommand.self, SecretsCommand.self, ImageToolCommand.self,
            BackupCommand.self,
            RestoreCommand.self, MailCommand.self,
        ])
}

struct DatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL connection URL (default: $DATABASE_URL).")
    var databaseURL: String?

    var config: AppConfig {
        let env = ProcessInfo.processInfo.environment
        var config = AppConfig.fromEnvironment(env)
        if let databaseURL { config.databaseURL = databaseURL }
        // Only that a provider and a relay exist; `serve`, `worker` and `mail test` stop on a relay setting that
        // cannot work (`providers`), other commands (migrate, reset-link…) go on without mail.
        var settings = ProviderSettings.fromEnvironment(env)
        settings.mail = try? MailRelay.fromEnvironment(env)
        settings.announce(to: &config)
        // The S3 media store, when configured: a setting that cannot work stops the command before it starts.
        do {
            config.engine.configuredStores = try MediaStoreSettings.stores(
                env, mediaDirectory: config.engine.mediaDirectory)
        } catch {
            FileHandle.standardError.write(Data("promptreel: \(error)\n".utf8))
            Foundation.exit(2)
        }
        return config
    }

    /// The providers' and the mail relay's settings: the workers' alone (the app learns only that they exist). A
    /// mail setting that cannot work stops the command (exit 2) before it starts.
    var providers: ProviderSettings {
        let env = ProcessInfo.processInfo.environment
        var settings = ProviderSettings.fromEnvironment(env)
        do { settings.mail = try MailRelay.fromEnvironment(env) } catch {
            FileHandle.standardError.write(Data("promptreel: \(error)\n".utf8))
            Foundation.exit(2)
        }
        return settings
    }

    func connect() throws -> Connection { try Connection(url: config.databaseURL) }
}

/// Where this process's own metrics are served, and the `process` label they and its log lines carry.
struct MetricsOptions: ParsableArguments {
    @Option(
        help:
            "Serve this process's metrics at http://HOST:PORT/metrics (a port alone means 127.0.0.1:PORT). Off unless given."
    )
    var metricsListen: String?
    @Flag(help: "Allow --metrics-listen on an address other than loopback.") var metricsAllowRemote = false
    @Option(help: "The process label of its metrics and log lines (default: the command, serve or worker).")
    var metricsName: String?

    /// Starts logging and metrics under the process's name; the listener, if asked for, is bound at once.
    func start(_ command: String) throws -> MetricsListener? {
        let process = metricsName ?? command
        Log.start(process: process)
        let metrics = ProcessMetrics.start(process: process)
        guard let metricsListen else { return nil }
        do {
            let listener = try MetricsListener(address: metricsListen, allowRemote: metricsAllowRemote) {
                metrics.exposition()
            }
            Log.info("metrics at http://\(metricsListen)/metrics", ["port": "\(listener.port)"])
            return listener
        } catch {
            throw ValidationError(error.description)
        }
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve FastCGI requests (behind nginx).")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Unix socket path to listen on.") var socket: String?
    @Option(help: "HOST:PORT to listen on instead of a socket.") var listen: String?
    @Option(help: "Worker threads (default: 2 x cores).") var threads: Int?
    @Option(help: "Largest accepted request body in bytes (image uploads take up to 20 MiB).") var maxBodyBytes: Int =
        1 << 20
    @Flag(help: "Do not run the background generation worker in this process.") var noWorker = false
    @Option(help: "Background worker threads.") var workerThreads = 2
    @Option(help: "Roundtable threads (separate from the video workers).") var roundtableThreads = 2
    @OptionGroup var metricsOptions: MetricsOptions

    func run() throws {
        guard (socket == nil) != (listen == nil) else {
            throw ValidationError("Give exactly one of --socket or --listen.")
        }
        blockStopSignals()  // before any thread starts, so only sigwait ever sees SIGTERM
        let metricsListener = try metricsOptions.start("serve")
        Crypto.initialize()
        let providers = database.providers
        let config = database.config
        do {  // the forms' CSRF key is made at the first start (FormKeys.load makes it when there is none)
            _ = try FormKeys.load(database.connect())
        } catch {
            Log.error("could not read the form secrets yet (the first form request will): \(error)")
        }
        let address: FastCGIServer.Address = socket.map { .socket(path: $0) } ?? .tcp(listen ?? "")
        let server = FastCGIServer(
            address: address, threads: threads ?? 2 * ProcessInfo.processInfo.activeProcessorCount,
            maxBodyBytes: { [maxBodyBytes] in Route.maxBodyBytes(method: $0, path: $1, standard: maxBodyBytes) })
        let workers =
            noWorker
            ? nil
            : WorkerThreads(
                config: config, providers: providers, count: workerThreads,
                roundtables: roundtableThreads)
        // One cache for every request thread, kept true by a listener of its own (PROMPTREEL_CACHE=off:
        // none, to measure what it buys).
        let cache: AnswerCache? = ProcessInfo.processInfo.environment["PROMPTREEL_CACHE"] == "off" ? nil : AnswerCache()
        let listener = cache.map { cache in
            BackgroundThread("cache-listener") { CacheListener.run(cache, databaseURL: config.databaseURL, until: $0) }
        }
        Log.info(
            "serving on \(socket ?? listen ?? "") with \(server.threads) threads\(noWorker ? "" : " and \(workerThreads) worker threads")"
        )
        try server.run { App(config: config, cache: cache) }
        listener?.stopAndWait()
        workers?.stopAndWait()
        metricsListener?.stopAndWait()
        Log.info("stopped")
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run only the background generation worker (any number may run at once).")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Worker threads.") var threads = 2
    @Option(help: "Roundtable threads (separate from the video workers).") var roundtableThreads = 2
    @OptionGroup var metricsOptions: MetricsOptions

    func run() throws {
        blockStopSignals()
        let metricsListener = try metricsOptions.start("worker")
        Crypto.initialize()
        let workers = WorkerThreads(
            config: database.config, providers: database.providers, count: threads, roundtables: roundtableThreads)
        Log.info("worker running with \(threads) threads")
        waitForStopSignal()
        workers.stopAndWait()
        metricsListener?.stopAndWait()
        Log.info("worker stopped")
    }
}

/// The worker threads; SIGTERM lets each finish its current step. Video workers, roundtable workers and the webhook sender
/// are separate threads, so a slow chat model never delays a video job.
final class WorkerThreads: Sendable {
    let threads: [BackgroundThread]

    init(config: AppConfig, providers: ProviderSettings, count: Int, roundtables: Int) {
        func thread(_ kind: Worker.Kind, _ name: String) -> BackgroundThread {
            BackgroundThread(name) {
                Worker(config: config, providers: providers, kind: kind, name: name).run(until: $0)
            }
        }
        var threads: [BackgroundThread] = (0..<max(1, count)).map { thread(.videos, "worker-\($0)") }
        threads += (0..<max(0, roundtables)).map { thread(.roundtables, "roundtable-\($0)") }
        threads += (0..<config.webhooks.threads).map { thread(.webhooks, "webhooks-\($0)") }
        threads += (0..<config.engine.filmThreads).map { thread(.films, "films-\($0)") }
        if providers.mail != nil { threads.append(thread(.mail, "mail")) }
        threads.append(thread(.maintenance, "maintenance"))
        self.threads = threads
    }

    func stopAndWait() {
        for thread in threads { thread.stop.stop() }  // all at once, then wait for each
        for thread in threads { thread.stopAndWait() }
    }
}

/// One thread with its own stop flag.
final class BackgroundThread: Sendable {
    let stop = StopFlag()
    let done = DispatchGroup()

    init(_ name: String, _ body: @escaping @Sendable (StopFlag) -> Void) {
        done.enter()
        let thread = Thread { [stop, done] in
            body(stop)
            done.leave()
        }
        thread.name = name
        thread.start()
    }

    func stopAndWait() {
        stop.stop()
        done.wait()
    }
}

func stopSignals() -> sigset_t {
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGTERM)
    sigaddset(&signals, SIGINT)
    return signals
}

/// Threads started afterwards inherit the mask, so the signals wait for sigwait.
func blockStopSignals() {
    var signals = stopSignals()
    pthread_sigmask(SIG_BLOCK, &signals, nil)
}

/// Blocks until SIGTERM or SIGINT.
func waitForStopSignal() {
    var signals = stopSignals()
    var received: Int32 = 0
    sigwait(&signals, &received)
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
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage users.",
        subcommands: [Create.self, SetRole.self, Disable.self, Enable.self, Quota.self, ResetLink.self])

    struct ResetLink: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-link",
            abstract: "Print a one-time link (valid for an hour) with which the user chooses a new password.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's email.") var email: String
        @Option(
            help: "The site's address as users reach it (default: $PROMPTREEL_PUBLIC_URL, else http://127.0.0.1:8080).")
        var baseURL: String?

        func run() throws {
            Crypto.initialize()
            let token = try Accounts.createResetLink(database.connect(), email: email)
            print(MailText.base(baseURL ?? database.config.publicURL) + MailText.resetPath + "?token=" + token)
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user; the password is read from $PROMPTREEL_PASSWORD or stdin.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Email address.") var email: String
        @Flag(help: "Make the user an admin (the first user of an instance is one anyway).") var admin = false

        func run() throws {
            Crypto.initialize()
            let password =
                ProcessInfo.processInfo.environment["PROMPTREEL_PASSWORD"] ?? readLine(strippingNewline: true) ?? ""
            let user = try Accounts.createUser(database.connect(), email: email, password: password, admin: admin)
            print("created user \(user.id) <\(user.email)> (\(user.role.rawValue))")
        }
    }

    struct SetRole: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-role", abstract: "Make a user an admin or a member.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's email.") var email: String
        @Option(help: "admin or member.") var role: String

        func run() throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role must be admin or member") }
            try Accounts.setRole(database.connect(), email: email, role: role)
            print("\(email) is now \(role.rawValue)")
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a user: their sessions end and their API tokens stop working.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's email.") var email: String

        func run() throws {
            try Accounts.setDisabled(database.connect(), email: email, disabled: true)
            print("disabled \(email)")
        }
    }

    struct Quota: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a user's storage quota for uploads (default: PROMPTREEL_STORAGE_QUOTA_BYTES, 5 GB).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's email.") var email: String
        @Option(help: "Bytes (0 refuses every upload).") var bytes: Int64?
        @Flag(help: "Back to the instance's default.") var reset = false

        func run() throws {
            guard (bytes != nil) != reset else { throw ValidationError("Give --bytes N (N >= 0) or --reset.") }
            if let bytes, bytes < 0 { throw ValidationError("--bytes must be 0 or more") }
            try Accounts.setStorageQuota(database.connect(), email: email, bytes: reset ? nil : bytes)
            print(reset ? "\(email): the default storage quota" : "\(email): storage quota \(bytes ?? 0) bytes")
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled user (they log in again).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's email.") var email: String

        func run() throws {
            try Accounts.setDisabled(database.connect(), email: email, disabled: false)
            print("enabled \(email)")
        }
    }
}

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Manage API tokens.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API token for a user and print it.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's email.") var email: String
        @Option(help: "A name to recognise the token by.") var name: String = "cli"
        @Option(help: "read (refused on every change) or full.") var scope: String = "full"

        func run() throws {
            Crypto.initialize()
            guard let scope = TokenScope(rawValue: scope) else { throw ValidationError("--scope must be read or full") }
            print(try Accounts.createToken(database.connect(), email: email, name: name, scope: scope))
        }
    }
}
