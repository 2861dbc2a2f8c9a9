// `promptreel generations …`: operator actions on generations.

import ArgumentParser
import Core

struct GenerationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generations", abstract: "Operator actions on generations.", subcommands: [Adopt.self])

    struct Adopt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Attach a job found at the provider to an unconfirmed generation (its create's answer was lost).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "PromptReel's generation id.") var id: Int64
        @Option(help: "The provider's job id (video_…).") var providerJobId: String

        func run() throws {
            do {
                try GenerationAdmin.adopt(generationID: id, providerJobID: providerJobId, db: database.connect())
            } catch let failure as GenerationAdmin.Failure {
                throw ValidationError(failure.description)
            }
            print("generation \(id): adopted \(providerJobId); the workers will poll and download it")
        }
    }
}
