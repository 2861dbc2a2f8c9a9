// `promptreel secrets …`: the server secrets kept in the database.

import ArgumentParser
import Core

struct SecretsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets", abstract: "Server secrets kept in the database.", subcommands: [Rotate.self])

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make a new CSRF key for forms; the previous one is still accepted for an hour (every host picks the new one up within 30 s)."
        )
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Refuse the previous secrets at once (a leaked one): forms open right now must be reloaded.")
        var revoke = false

        func run() throws {
            Crypto.initialize()
            try FormKeys.rotate(database.connect(), revoke: revoke)
            print(
                revoke
                    ? "form secret rotated; the previous ones are refused (within 30 s on every host)"
                    : "form secret rotated; the previous one is accepted for \(FormKeys.graceSeconds / 60) more minutes"
            )
        }
    }
}
