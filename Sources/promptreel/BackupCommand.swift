// `promptreel backup --to DIR` and `promptreel restore --from DIR` (Core's `Backup`): the database from one snapshot
// and a manifest of every media object its rows name, the local store's files copied beside them.

import ArgumentParser
import Core
import WebApp

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract:
            "Back up the database (pg_dump, one snapshot) and a manifest of its media (sizes and checksums; the local directory's files copied too) into a new folder."
    )
    @OptionGroup var database: DatabaseOptions
    @Option(help: "A new (or empty) folder for the backup.") var to: String

    func run() throws {
        let config = database.config
        let summary = try Backup(databaseURL: config.databaseURL, stores: config.engine.media).backup(to: to)
        for missing in summary.missing { print("missing: \(missing)") }
        print(
            "backup in \(to): database.dump, manifest.tsv (\(summary.objects) media objects, \(Formatting.bytes(summary.copiedBytes)) of local files copied)"
        )
        if !summary.missing.isEmpty { throw ExitCode(3) }
    }
}

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract:
            "Restore a backup onto an empty database: pg_restore, the local files copied back and checked against the manifest, the bucket's objects checked to be there."
    )
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The backup's folder.") var from: String

    func run() throws {
        let config = database.config
        let summary = try Backup(databaseURL: config.databaseURL, stores: config.engine.media).restore(from: from)
        for missing in summary.missingAtBackup { print("already missing when the backup was made: \(missing)") }
        for missing in summary.missing { print("missing: \(missing)") }
        print(
            "restored from \(from): the database and \(summary.objects) media objects (\(Formatting.bytes(summary.copiedBytes)) of local files copied)"
        )
        if !summary.missing.isEmpty { throw ExitCode(3) }
    }
}
