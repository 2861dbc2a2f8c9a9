// The local store's file plumbing (whole files renamed into place), and the media sweep (`promptreel media
// sweep`, and every worker now and then): whatever no row names in a store — left by a crash, a download that
// stopped half-way, a migration to another store — goes once it is an hour old.

package import Foundation
package import Postgres
import Telemetry

package enum MediaFiles {
    /// Reference images live under `references/shared/<sha prefix>/` (see ReferenceImages); those uploaded
    /// before files were shared, under `references/<video id>/`.
    package static let referencesFolder = "references"
    package static let sharedFolder = "shared"
}

/// Whole files under the media directory, by relative paths PromptReel builds (never user input).
extension MediaFiles {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    /// Sets the file's modification time to now; false when there is no such file.
    @discardableResult
    package static func touch(_ path: String, in directory: String) -> Bool {
        utimes(directory + "/" + path, nil) == 0
    }

    /// `folder` and every folder above it that is missing (`mkdir -p`).
    package static func makeFolder(_ folder: String) {
        var path = folder.hasPrefix("/") ? "" : "."
        for component in folder.split(separator: "/") {
            path += "/" + component
            mkdir(path, 0o755)
        }
    }

    /// The folders `path` needs under `directory`, made.
    private static func makeFolders(for path: String, in directory: String) {
        var folder = directory
        mkdir(folder, 0o755)
        for component in path.split(separator: "/").dropLast() {
            folder += "/" + component
            mkdir(folder, 0o755)
        }
    }

    /// A complete file (on the same file system) renamed to `path`: one step, so a reader never sees half a file.
    package static func place(_ file: String, at path: String, in directory: String) throws {
        makeFolders(for: path, in: directory)
        guard rename(file, directory + "/" + path) == 0 else {
            throw Failure(description: "cannot move \(file) to \(path): errno \(errno)")
        }
    }

    /// Written to a temporary name and renamed, so a reader never sees half a file.
    package static func write(_ bytes: [UInt8], to path: String, in directory: String) throws {
        makeFolders(for: path, in: directory)
        let final = directory + "/" + path
        let staging = final + ".part-" + Crypto.randomToken().prefix(8)
        let fd = open(staging, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "cannot create \(staging): errno \(errno)") }
        var written = 0
        let ok = bytes.withUnsafeBytes { p -> Bool in
            guard let base = p.baseAddress else { return p.isEmpty }
            while written < p.count {
                let n = Glibc.write(fd, base + written, p.count - written)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                written += n
            }
            return true
        }
        close(fd)
        guard ok, rename(staging, final) == 0 else {
            unlink(staging)
            throw Failure(description: "cannot write \(final): errno \(errno)")
        }
    }

    package static func read(_ path: String, in directory: String, maxBytes: Int) throws -> [UInt8] {
        try read(file: directory + "/" + path, maxBytes: maxBytes)
    }

    package static func read(file full: String, maxBytes: Int) throws -> [UInt8] {
        let fd = open(full, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open \(full): errno \(errno)") }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw Failure(description: "cannot read \(full): errno \(errno)") }
            if n == 0 { return result }
            result += chunk[0..<n]
            guard result.count <= maxBytes else { throw Failure(description: "\(full) is over \(maxBytes) bytes") }
        }
    }
}

public enum MediaSweep {
    public struct Removal: Sendable {
        /// `<store>: <key>`.
        public let path: String
        public let bytes: Int64
        public let reason: String
    }

    /// One sweep at a time across every process (the workers' and `promptreel media sweep`): "MS".
    package static let lockKey: Int64 = 0x4D53 << 48

    /// Objects younger than this are spared: a row about to name them may not have committed yet.
    static let graceSeconds: Double = 3600

    /// One pass over every store this process can reach, under the sweep's advisory lock (`wait`: until another
    /// sweep is done; else nil when one is running). A generation's or film's objects go when its row is gone,
    /// its video was deleted or its media now lives in another store; a finished one keeps only the objects its
    /// row names; one still in flight (or unconfirmed, which an operator may adopt) is left alone. Reference
    /// files go once no row names their bytes. Scratch files (staged downloads, decoders' files) go after an
    /// hour. Keys that are not PromptReel's are left alone. Running it again removes nothing.
    package static func run(db: Connection, stores: MediaStores, wait: Bool = true, now: Date = Date()) throws
        -> [Removal]?
    {
        if wait {
            try db.execute("SELECT pg_advisory_lock(\(lockKey))")
        } else {
            guard try db.execute("SELECT pg_try_advisory_lock(\(lockKey)) AS ok")[0].bool("ok") else { return nil }
        }
        defer { _ = try? db.execute("SELECT pg_advisory_unlock(\(lockKey))") }
        var removed: [Removal] = []
        for store in stores.all {
            do {
                var sweep = StoreSweep(db: db, store: store, now: now)
                removed += try sweep.run()
            } catch let error as MediaStoreError {
                Log.error("media sweep: \(store.name) (\(error.code ?? "error")): \(error); tried again next time")
            }
        }
        let storing = Set(
            try db.execute("SELECT id FROM generations WHERE phase = \(GenerationPhase.downloading)").map {
                $0.int("id")
            })
        for scratch in Set(stores.all.map(\.scratchDirectory)).sorted() {
            removed += sweepScratch(scratch, now: now, storing: storing)
        }
        // The upload ledger (quotas) forgets a file an hour after no video of a project its uploader is a member of
        // (nor a generation of theirs) names it.
        try db.execute(
            """
            DELETE FROM reference_uploads u WHERE uploaded_at < now() - interval '1 hour'
              AND NOT EXISTS (SELECT 1 FROM video_reference_images r JOIN videos v ON v.id = r.video_id
                                JOIN project_members pm ON pm.project_id = v.project_id
                              WHERE r.sha256 = u.sha256 AND pm.user_id = u.user_id)
              AND NOT EXISTS (SELECT 1 FROM generations g WHERE g.reference_sha256 = u.sha256 AND g.reference_path IS NOT NULL
                                AND g.user_id = u.user_id)
            """)
        return removed
    }

    /// Scratch files older than an hour (a download or a decode still writing keeps its file young), but a
    /// checked download whose generation is still waiting for the store to take it.
    private static func sweepScratch(_ folder: String, now: Date, storing: Set<Int64>) -> [Removal] {
        let manager = FileManager.default
        return ((try? manager.contentsOfDirectory(atPath: folder)) ?? []).sorted().compactMap { name in
            if let id = StagedMedia.generation(ofStagedFile: name), storing.contains(id) { return nil }
            let path = folder + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
                now.timeIntervalSince1970 - Double(info.st_mtim.tv_sec) > graceSeconds, unlink(path) == 0
            else { return nil }
            return Removal(path: path, bytes: Int64(info.st_size), reason: "a staging file left behind")
        }
    }
}

/// One store's sweep: its listing compared with the rows that name it.
private struct StoreSweep {
    let db: Connection
    let store: any MediaStore
    let now: Date
    var removed: [MediaSweep.Removal] = []

    init(db: Connection, store: any MediaStore, now: Date) {
        self.db = db
        self.store = store
        self.now = now
    }

    func isOld(_ object: StoredObject) -> Bool { now.timeIntervalSince(object.modified) > MediaSweep.graceSeconds }

    mutating func remove(_ object: StoredObject, _ reason: String) throws(MediaStoreError) {
        try store.remove(object.key)
        removed.append(.init(path: "\(store.name): \(object.key)", bytes: object.bytes, reason: reason))
    }

    mutating func run() throws -> [MediaSweep.Removal] {
        var generations: [Int64: [StoredObject]] = [:]
        var films: [Int64: [StoredObject]] = [:]
        var perVideo: [Int64: [StoredObject]] = [:]
        var shared: [StoredObject] = []
        for object in try store.list(prefix: "") {
            let parts = object.key.split(separator: "/", omittingEmptySubsequences: false)
            func number(_ i: Int) -> Int64? {
                guard parts.count > i + 1, let n = Int64(parts[i]), n > 0, String(n) == parts[i] else { return nil }
                return n
            }
            if let id = number(0) {
                generations[id, default: []].append(object)
            } else if parts.first == "films", let id = number(1) {
                films[id, default: []].append(object)
            } else if parts.first == Substring(MediaFiles.referencesFolder) {
                if let id = number(1) {
                    perVideo[id, default: []].append(object)
                } else if parts.count > 2, parts[1] == Substring(MediaFiles.sharedFolder) {
                    shared.append(object)
                }
            }  // anything else is not PromptReel's
        }
        try sweepGenerations(generations)
        try sweepFilms(films)
        try sweepPerVideo(perVideo)
        try sweepShared(shared)
        return removed
    }

    static func list(_ ids: some Collection<Int64>) -> String {
        "{" + ids.sorted().map(String.init).joined(separator: ",") + "}"
    }

    mutating func sweepGenerations(_ folders: [Int64: [StoredObject]]) throws {
        guard !folders.isEmpty else { return }
        var rows: [Int64: Row] = [:]
        for row in try db.execute(
            """
            SELECT id, video_id IS NOT NULL AS live, phase = \(GenerationPhase.done) AS finished, media_store,
                   video_path, thumbnail_path, spritesheet_path, reference_path, reference_fitted_path
            FROM generations WHERE id = ANY(\(Self.list(folders.keys))::bigint[])
            """)
        {
            rows[row.int("id")] = row
        }
        for (id, objects) in folders.sorted(by: { $0.key < $1.key }) {
            guard let row = rows[id] else {
                for object in objects { try remove(object, "no generation \(id)") }
                continue
            }
            guard row.string("media_store") == store.name.rawValue else {
                // Copies left behind by a move to another store (young ones may be a move in progress).
                for object in objects where isOld(object) {
                    try remove(object, "generation \(id)'s media is in \(row.string("media_store"))")
                }
                continue
            }
            guard row.bool("live") else {
                for object in objects { try remove(object, "the video of generation \(id) was deleted") }
                continue
            }
            guard row.bool("finished") else { continue }  // in flight: its worker owns the folder
            let kept = Set(["video_path", "thumbnail_path", "spritesheet_path"].compactMap { row[$0] })
            for object in objects where !kept.contains(object.key) && isOld(object) {
                try remove(object, kept.isEmpty ? "generation \(id) has no media" : "generation \(id) does not use it")
            }
        }
    }

    mutating func sweepFilms(_ folders: [Int64: [StoredObject]]) throws {
        guard !folders.isEmpty else { return }
        var rows: [Int64: Row] = [:]
        for row in try db.execute(
            """
            SELECT id, status, media_store, video_path, poster_path, spritesheet_path
            FROM films WHERE id = ANY(\(Self.list(folders.keys))::bigint[])
            """)
        {
            rows[row.int("id")] = row
        }
        for (id, objects) in folders.sorted(by: { $0.key < $1.key }) {
            guard let row = rows[id] else {
                for object in objects { try remove(object, "no film \(id)") }
                continue
            }
            let status = row.string("status")
            guard status != "queued", status != "running" else { continue }  // its maker owns the folder
            let here = row.string("media_store") == store.name.rawValue
            let kept = here ? Set(["video_path", "poster_path", "spritesheet_path"].compactMap { row[$0] }) : []
            for object in objects where !kept.contains(object.key) && isOld(object) {
                try remove(object, here ? "film \(id) does not use it" : "film \(id)'s media is elsewhere")
            }
        }
    }

    /// Reference images of the layout before shared files (`references/<video id>/…`): a deleted video's go;
    /// in a live video's folder, a file no row names goes once it is an hour old.
    mutating func sweepPerVideo(_ folders: [Int64: [StoredObject]]) throws {
        for (videoID, objects) in folders.sorted(by: { $0.key < $1.key }) {
            guard try db.execute("SELECT 1 FROM videos WHERE id = \(videoID)").first != nil else {
                for object in objects { try remove(object, "the video \(videoID) was deleted") }
                continue
            }
            let kept = Set(
                try db.execute(
                    """
                    SELECT path FROM video_reference_images WHERE video_id = \(videoID)
                    UNION SELECT reference_path FROM generations WHERE video_id = \(videoID) AND reference_path IS NOT NULL
                    UNION SELECT reference_fitted_path FROM generations WHERE video_id = \(videoID) AND reference_fitted_path IS NOT NULL
                    """
                ).map { $0.string("path") })
            for object in objects where !kept.contains(object.key) && isOld(object) {
                try remove(object, "no video or generation uses it")
            }
        }
    }

    /// Shared reference files (`<sha256>.<ext>` and the frames fitted from it, `<sha256>-…`): each is kept while
    /// a video's reference image or a generation in this store names its bytes, and goes once none does and it
    /// is an hour old (an upload or a click refreshes the object before its row commits). Asked again right
    /// before the removal, so a row committed meanwhile keeps it.
    mutating func sweepShared(_ objects: [StoredObject]) throws {
        guard !objects.isEmpty else { return }
        let here = store.name.rawValue
        let named = Set(
            try db.execute(
                """
                SELECT sha256 FROM video_reference_images WHERE media_store = \(here)
                UNION SELECT reference_sha256 FROM generations
                WHERE reference_path IS NOT NULL AND reference_sha256 IS NOT NULL AND media_store = \(here)
                """
            ).map { $0.string("sha256") })
        for object in objects where isOld(object) {
            let file = object.key.split(separator: "/").last.map(String.init) ?? ""
            let sha = String(file.prefix { $0 != "-" && $0 != "." })
            // A write that stopped half-way (`….part-…`) goes whatever its bytes.
            if file.contains(".part-") {
                try remove(object, "an unfinished write")
                continue
            }
            guard !named.contains(sha) else { continue }
            let stillNamed =
                try !db.execute(
                    """
                    SELECT 1 FROM video_reference_images WHERE sha256 = \(sha) AND media_store = \(here)
                    UNION ALL SELECT 1 FROM generations WHERE reference_sha256 = \(sha) AND reference_path IS NOT NULL
                                                        AND media_store = \(here)
                    LIMIT 1
                    """
                ).isEmpty
            if !stillNamed { try remove(object, "no video or generation uses these bytes") }
        }
    }
}
