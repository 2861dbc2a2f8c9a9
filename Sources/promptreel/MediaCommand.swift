// `promptreel media sweep`: removes media files that no live generation points at. `promptreel media
// posters`: makes the previews that completed generations lack (see LocalPreviews).

import ArgumentParser
import Core
import Engine
import Foundation
import ObjectStore
import WebApp

struct MediaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media", abstract: "Maintain the media store.",
        subcommands: [Sweep.self, Posters.self, Check.self, Nginx.self, Migrate.self])

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

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check the media store new media goes to: write, read, list and remove a probe object (and, for a bucket, create it first with --create-bucket)."
        )
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Create the S3 bucket if it is not there.") var createBucket = false

        func run() throws {
            let store = database.config.engine.media.current
            if createBucket, let s3 = store as? S3MediaStore { try s3.createBucket() }
            let key = "promptreel-check/\(Crypto.randomToken())"
            let bytes = Array("PromptReel media store check".utf8)
            try store.put(bytes: bytes, key: key, contentType: "text/plain")
            guard try store.read(key, maxBytes: 1024) == bytes else {
                throw ValidationError("\(store.summary): read back something else than was written")
            }
            guard try store.refresh(key), try store.list(prefix: "promptreel-check/").contains(where: { $0.key == key })
            else {
                throw ValidationError("\(store.summary): the probe object is not listed")
            }
            try store.remove(key)
            print("media store \(store.summary): write, read, list and remove work")
        }
    }

    struct Nginx: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print the nginx locations that serve the S3 media store's objects (include them in PromptReel's server block); nothing for the local directory."
        )
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            guard let s3 = database.config.engine.media.current as? S3MediaStore else { return }
            print(s3.nginxLocations, terminator: "")
        }
    }

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Copy every row's media to another store, check each copy, then switch the row (resumable: run it again until nothing is left; the site keeps serving)."
        )
        @OptionGroup var database: DatabaseOptions
        @Option(
            help:
                "The store to move to: s3://bucket/prefix (with the AWS_* settings of PROMPTREEL_MEDIA_STORE), or local for PROMPTREEL_MEDIA_DIR."
        )
        var to: String
        @Option(help: "Only this account's media (by email).") var user: String?

        func run() throws {
            let config = database.config.engine
            let db = try database.connect()
            var owner: ID<User>?
            if let user {
                guard let id = try Store(db: db).userID(email: user) else {
                    throw ValidationError("no account \(user)")
                }
                owner = id
            }
            let target: any MediaStore
            if to == "local" {
                target = LocalMediaStore(directory: config.mediaDirectory)
            } else {
                var env = ProcessInfo.processInfo.environment
                env["PROMPTREEL_MEDIA_STORE"] = to
                guard let s3 = try S3Config.fromEnvironment(env) else {
                    throw ValidationError("--to: s3://bucket/prefix or local")
                }
                target = S3MediaStore(
                    config: s3, scratchDirectory: LocalMediaStore(directory: config.mediaDirectory).scratchDirectory)
            }
            let stores = MediaStores(
                current: target, others: config.media.all + [LocalMediaStore(directory: config.mediaDirectory)])
            let report = try MediaMigration(db: db, stores: stores, target: target, user: owner).run { print($0) }
            for problem in report.problems { print("not moved: \(problem)") }
            print(
                "media migrate to \(target.name): \(report.generations) generations, \(report.referenceImages) reference images, \(report.films) films (\(report.objects) objects, \(Formatting.bytes(report.bytes)) copied); \(report.left) left"
            )
            if report.left > 0 { throw ExitCode(3) }
        }
    }
}
