// `promptreel roundtable …`: the roundtable's roles and chat prices.

import ArgumentParser
import Core

struct RoundtableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roundtable", abstract: "The roundtable's roles and chat model prices.",
        subcommands: [Roles.self, Prices.self])

    struct Roles: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The roles at the table (the Moderator is built in).",
            subcommands: [List.self, Add.self, Set.self, Remove.self])

        struct List: ParsableCommand {
            @OptionGroup var database: DatabaseOptions
            func run() throws { for line in try RoundtableAdmin.listRoles(db: database.connect()) { print(line) } }
        }

        struct Add: ParsableCommand {
            @OptionGroup var database: DatabaseOptions
            @Option(help: "The role's name, e.g. \"Sound Designer\".") var name: String
            @Option(help: "What the role cares about (its system instructions).") var instructions: String
            @Option(help: "Place at the table (lower speaks first).") var position = 100
            func run() throws {
                try admin {
                    try RoundtableAdmin.addRole(
                        name: name, instructions: instructions, position: position, db: database.connect())
                }
            }
        }

        struct Set: ParsableCommand {
            @OptionGroup var database: DatabaseOptions
            @Option(help: "The role to change.") var name: String
            @Option(help: "New instructions.") var instructions: String?
            @Option(help: "New place at the table.") var position: Int?
            func run() throws {
                try admin {
                    try RoundtableAdmin.setRole(
                        name: name, instructions: instructions, position: position, db: database.connect())
                }
            }
        }

        struct Remove: ParsableCommand {
            @OptionGroup var database: DatabaseOptions
            @Option(help: "The role to remove.") var name: String
            func run() throws { try admin { try RoundtableAdmin.removeRole(name: name, db: database.connect()) } }
        }
    }

    struct Prices: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Chat model prices in USD per million tokens.", subcommands: [List.self, Set.self])

        struct List: ParsableCommand {
            @OptionGroup var database: DatabaseOptions
            func run() throws { for line in try RoundtableAdmin.listPrices(db: database.connect()) { print(line) } }
        }

        struct Set: ParsableCommand {
            @OptionGroup var database: DatabaseOptions
            @Option(help: "The chat model's name as the provider knows it.") var model: String
            @Option(help: "USD per million input tokens, e.g. 0.40.") var input: String
            @Option(help: "USD per million output tokens, e.g. 1.60.") var output: String
            func run() throws {
                try admin {
                    try RoundtableAdmin.setPrice(model: model, input: input, output: output, db: database.connect())
                }
            }
        }
    }
}

/// Operator mistakes read as a usage error, not a crash report.
func admin(_ body: () throws -> Void) throws {
    do { try body() } catch let failure as RoundtableAdmin.Failure { throw ValidationError(failure.description) }
}
