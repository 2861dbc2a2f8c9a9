// `promptreel mail test`: checks the SMTP relay's settings by sending one mail straight through it.

import ArgumentParser
import Core
import Engine
import Foundation

struct MailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail", abstract: "The SMTP relay (PROMPTREEL_SMTP_URL).", subcommands: [Test.self])

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send one mail through the relay now (not through the outbox) and say whether it took it.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Where to send it.") var to: String

        func run() throws {
            Crypto.initialize()
            guard let relay = database.providers.mail else {
                throw ValidationError("PROMPTREEL_SMTP_URL is not set: nothing is mailed.")
            }
            let address: String
            do { address = try Field.email(to) } catch { throw ValidationError("--to: \(error)") }
            if let problem = relay.sendTest(to: address) {
                FileHandle.standardError.write(
                    Data("mail test: \(relay.redactedURL) did not take it: \(problem)\n".utf8))
                throw ExitCode(1)
            }
            print("mail test: \(relay.redactedURL) took the mail for \(address)")
        }
    }
}
