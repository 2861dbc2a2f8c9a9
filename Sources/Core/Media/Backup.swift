// `promptreel backup --to DIR` and `promptreel restore --from DIR`. A backup is a consistent `pg_dump` (custom
// format) taken from one snapshot, and a manifest of every media object the rows of that same snapshot name — its
// store, key, size and checksum (SHA-256 of the local files, which are copied into the backup; the store's ETag for
// a bucket's objects, which the bucket keeps) — so the dump and the media agree. A restore goes onto an empty
// database: pg_restore, then each local file copied back and checked against the manifest, and each bucket object
// checked to be there with the same size.

import Foundation
import Postgres

package struct Backup {
    package let databaseURL: String
    package let stores: MediaStores

    package init(databaseURL: String, stores: MediaStores) {
        self.databaseURL = databaseURL
        self.stores = stores
    }

    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    package struct Summary: Sendable {
        package var objects = 0
        package var copiedBytes: Int64 = 0
        /// Objects a row names that a store does not have (listed in the manifest as missing), or that a restore
        /// could not put back.
        package var missing: [String] = []
        /// On a restore: what was already missing when the backup was made (said, not an error of the restore).
        package var missingAtBackup: [String] = []
    }

    /// The PostgreSQL client programs, the newest installed (`pg_dump` must be at least the server's version).
    static func program(_ name: String) -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init)
            .sorted()
        return versions.last.map { "\(root)/\($0)/bin/\(name)" } ?? "/usr/bin/\(name)"
    }

    /// libpq's settings from the environment the programs need (a password given as PGPASSWORD, a pgpass file…).
    static var libpqEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { $0.key.hasPrefix("PG") }
    }

    static let manifestHeader = "store\tkey\tbytes\tchecksum"

    package func backup(to directory: String) throws -> Summary {
        let manager = FileManager.default
        if let existing = try? manager.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw Failure(description: "\(directory) is not empty: a backup goes into a new folder")
        }
        try manager.createDirectory(atPath: directory + "/media", withIntermediateDirectories: true)
        let db = try Connection(url: databaseURL)
        // One snapshot for the dump and the manifest: what the dump holds is exactly what the manifest lists.
        try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        let snapshot = try db.execute("SELECT pg_export_snapshot() AS s")[0].string("s")
        let dump = Subprocess.run(
            Self.program("pg_dump"),
            [
                "--format=custom", "--no-owner", "--snapshot=\(snapshot)", "--file=\(directory)/database.dump",
                databaseURL,
            ],
            timeoutSeconds: 6 * 3600, environment: Self.libpqEnvironment)
        if let failure = dump.failure("pg_dump", timeoutSeconds: 6 * 3600) {
            _ = try? db.execute("ROLLBACK")
            throw Failure(description: failure)
        }
        let named = try db.execute(
            """
            SELECT media_store, unnest(ARRAY[video_path, thumbnail_path, spritesheet_path, reference_path, reference_fitted_path]) AS key
            FROM generations
            UNION SELECT media_store, path FROM video_reference_images
            UNION SELECT media_store, unnest(ARRAY[video_path, poster_path, spritesheet_path]) FROM films
            """
        ).compactMap { row in row["key"].map { Named(store: row.string("media_store"), key: $0) } }
        try db.execute("COMMIT")
        var summary = Summary()
        var lines = [Self.manifestHeader]
        for object in Set(named).sorted(by: { ($0.store, $0.key) < ($1.store, $1.key) }) {
            let name = MediaStoreName(object.store), key = object.key
            guard let store = stores.store(name) else {
                summary.missing.append("\(name): \(key) (a store this process cannot read)")
                lines.append("\(name)\t\(key)\t-\tmissing")
                continue
            }
            if name == .local {
                let copy = directory + "/media/" + key
                do {
                    try manager.createDirectory(
                        atPath: (copy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    let bytes = try store.withLocalFile(key) { file -> Int64 in
                        try manager.copyItem(atPath: file, toPath: copy)
                        return Int64((try manager.attributesOfItem(atPath: copy)[.size] as? Int) ?? 0)
                    }
                    lines.append("\(name)\t\(key)\t\(bytes)\tsha256:\(try Crypto.sha256Hex(file: copy))")
                    summary.copiedBytes += bytes
                } catch {
                    summary.missing.append("\(name): \(key)")
                    lines.append("\(name)\t\(key)\t-\tmissing")
                    continue
                }
            } else {
                guard let object = try store.list(prefix: key).first(where: { $0.key == key }) else {
                    summary.missing.append("\(name): \(key)")
                    lines.append("\(name)\t\(key)\t-\tmissing")
                    continue
                }
                lines.append("\(name)\t\(key)\t\(object.bytes)\tetag:\(object.etag ?? "")")
            }
            summary.objects += 1
        }
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: directory + "/manifest.tsv", atomically: true, encoding: .utf8)
        return summary
    }

    package func restore(from directory: String) throws -> Summary {
        let manager = FileManager.default
        guard manager.fileExists(atPath: directory + "/database.dump"),
            let manifest = try? String(contentsOfFile: directory + "/manifest.tsv", encoding: .utf8)
        else {
            throw Failure(description: "\(directory) holds no PromptReel backup (database.dump and manifest.tsv)")
        }
        let db = try Connection(url: databaseURL)
        guard try db.execute("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")[0].int("n") == 0 else {
            throw Failure(description: "the database is not empty: a backup is restored onto an empty database")
        }
        let restore = Subprocess.run(
            Self.program("pg_restore"),
            ["--no-owner", "--exit-on-error", "--dbname=\(databaseURL)", directory + "/database.dump"],
            timeoutSeconds: 6 * 3600, environment: Self.libpqEnvironment)
        if let failure = restore.failure("pg_restore", timeoutSeconds: 6 * 3600) {
            throw Failure(description: failure)
        }
        var summary = Summary()
        for line in manifest.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, fields[3] != "missing" else {
                if fields.count == 4 { summary.missingAtBackup.append("\(fields[0]): \(fields[1])") }
                continue
            }
            let name = MediaStoreName(fields[0]), key = fields[1], bytes = Int64(fields[2]) ?? -1
            guard let store = stores.store(name) else {
                summary.missing.append("\(name): \(key) (a store this process cannot reach)")
                continue
            }
            if name == .local {
                let saved = directory + "/media/" + key
                guard fields[3] == "sha256:" + (try Crypto.sha256Hex(file: saved)) else {
                    throw Failure(description: "\(key): the backup's copy does not match its manifest")
                }
                MediaFiles.makeFolder(store.scratchDirectory)
                let staged = store.scratchDirectory + "/restore-\(getpid())-\(UInt32.random(in: .min ... .max))"
                try manager.copyItem(atPath: saved, toPath: staged)
                try store.put(file: staged, key: key, contentType: MediaStores.contentType(of: key))
                summary.copiedBytes += bytes
            } else if try store.list(prefix: key).first(where: { $0.key == key })?.bytes != bytes {
                summary.missing.append("\(name): \(key)")
                continue
            }
            summary.objects += 1
        }
        return summary
    }

    /// One object a row names.
    struct Named: Hashable {
        let store: String
        let key: String
    }
}
