// `promptreel budget …`: monthly budgets per user and the instance-wide cap (months in UTC).

import ArgumentParser
import Core

struct BudgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budget", abstract: "Monthly budgets (USD, UTC calendar months): per user and instance-wide.",
        subcommands: [Set.self, Show.self])

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a user's monthly budget (--email) or the instance's cap (--instance).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The user's email.") var email: String?
        @Flag(help: "Set the instance-wide cap instead of a user's budget.") var instance = false
        @Option(help: "USD per month, e.g. 50 or 12.40; none removes the limit.") var monthly: String

        func validate() throws {
            guard (email != nil) != instance else { throw ValidationError("give exactly one of --email or --instance") }
        }

        func run() throws {
            do { print(try BudgetAdmin.set(email: email, monthly: monthly, db: database.connect())) } catch let failure
                as BudgetAdmin.Failure
            {
                throw ValidationError(failure.description)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The instance's cap and every user budget, with this month's spend.")
        @OptionGroup var database: DatabaseOptions
        func run() throws { for line in try BudgetAdmin.show(db: database.connect()) { print(line) } }
    }
}
