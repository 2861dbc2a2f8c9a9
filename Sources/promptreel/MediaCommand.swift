// `promptreel media sweep`: removes media files that no live generation points at. `promptreel media
// posters`: makes the previews that completed generations lack (see LocalPreviews).

import ArgumentParser
import Core
import Engine
import WebApp

struct MediaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media", abstract: "Maintain the media store.", subcommands: [Sweep.self, Posters.self])

    struct Sweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Remove media of deleted videos and of generations that no longer exist, and stray files of finished ones (safe to run at any time, and again)."
        )
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The media directory (default: $PROMPTREEL_MEDIA_DIR, else .local/media).") var mediaDir: String?

        func run() throws {
            var config = database.config.engine
            if let mediaDir { config.mediaDirectory = mediaDir }
            // Waits for a worker's sweep that is running, then sweeps every store this process can reach.
            let db = try database.connect()
            let removed = try MediaSweep.run(db: db, stores: config.media) ?? []
            let deleted = try MediaDeletions.drain(db: db, stores: config.media, limit: 10_000)
            for r in removed { print("removed \(r.path) (\(Formatting.bytes(r.bytes))): \(r.reason)") }
            let stores = config.media.all.map(\.summary).joined(separator: " and ")
            print(
                "media sweep of \(stores): removed \(removed.count) item\(removed.count == 1 ? "" : "s")"
                    + (deleted > 0 ? " and \(deleted) deleted row\(deleted == 1 ? "" : "s")' folders" : ""))
        }
    }

    struct Posters: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make the missing poster and spritesheet of completed generations from their videos with ffmpeg (safe to run again)."
        )
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let config = database.config.engine
            let lines = try MissingPreviews.run(db: database.connect(), config: config)
            for line in lines { print(line) }
            print(
                "media posters in \(config.media.current.summary): \(lines.count) generation\(lines.count == 1 ? "" : "s") given previews"
            )
        }
    }
}
