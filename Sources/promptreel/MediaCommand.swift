// `promptreel media sweep`: removes media files that no live generation points at.

import ArgumentParser
import Foundation
import PromptReel

struct MediaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "media", abstract: "Maintain the media store.", subcommands: [Sweep.self])

    struct Sweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove media of deleted videos and of generations that no longer exist, and stray files of finished ones (safe to run at any time, and again).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The media directory (default: $PROMPTREEL_MEDIA_DIR, else .local/media).") var mediaDir: String?

        func run() throws {
            let directory = mediaDir ?? database.config.engine.mediaDirectory
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("no media directory at \(directory)")
            }
            let removed = try MediaSweep.run(db: database.connect(), mediaDirectory: directory)
            for removal in removed { print(removal) }
            print("media sweep of \(directory): removed \(removed.count) item\(removed.count == 1 ? "" : "s")")
        }
    }
}
