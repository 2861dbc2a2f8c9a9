// Removing media files: a deleted video's directories (after the commit), and `promptreel media sweep`,
// which removes whatever no live row points at — left by a crash between a delete's commit and its file
// removal, or by a download that stopped half-way.

public import Foundation
public import Postgres
import Telemetry

package enum MediaFiles {
    /// Removes `<directory>/<id>/` and everything in it. A failure is logged, never thrown: the rows no
    /// longer point at the files, and the sweep removes them later.
    package static func removeGenerationDirectory(_ id: ID<Generation>, in directory: String) {
        removeDirectory(directory + "/" + id.description)
    }

    /// A deleted video's reference images: `<directory>/references/<video id>/`.
    package static func removeReferenceDirectory(videoID: ID<Video>, in directory: String) {
        removeDirectory(directory + "/" + referencesFolder + "/" + videoID.description)
    }

    /// Reference images live under `<media>/references/shared/<sha prefix>/` (see ReferenceImages); those
    /// uploaded before files were shared, under `<media>/references/<video id>/`.
    package static let referencesFolder = "references"
    package static let sharedFolder = "shared"

    private static func removeDirectory(_ path: String) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            Log.error("media: cannot remove \(path): \(error); `promptreel media sweep` will")
        }
    }

    /// Total size of the regular files in `path` (a file or a directory, not following symlinks).
    package static func bytes(at path: String) -> Int64 {
        let manager = FileManager.default
        guard let attributes = try? manager.attributesOfItem(atPath: path) else { return 0 }
        if attributes[.type] as? FileAttributeType == .typeDirectory {
            return ((try? manager.contentsOfDirectory(atPath: path)) ?? []).reduce(0) {
                $0 + bytes(at: path + "/" + $1)
            }
        }
        return attributes[.type] as? FileAttributeType == .typeRegular ? (attributes[.size] as? Int64 ?? 0) : 0
    }
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
        let full = directory + "/" + path
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
        public let path: String
        public let bytes: Int64
        public let reason: String
    }

    /// One sweep at a time across every process (the workers' and `promptreel media sweep`): "MS".
    package static let lockKey: Int64 = 0x4D53 << 48

    /// One pass over the media directory, under the sweep's advisory lock (`wait`: until another sweep is
    /// done; else nil when one is running). A generation's directory goes when its row is gone or its video
    /// was deleted; a finished generation keeps only the files its row points at (a stray goes once it is an
    /// hour old: a poster being made is renamed into place before its row commits); a generation still in
    /// flight (or unconfirmed, which an operator may adopt) is left alone, staging files included. Decoder
    /// staging files (`tmp/`) go after an hour. Names that are not generation ids are not PromptReel's and
    /// are left alone. Running it again removes nothing.
    public static func run(db: Connection, mediaDirectory: String, wait: Bool = true, now: Date = Date()) throws
        -> [Removal]?
    {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: mediaDirectory, isDirectory: &isDirectory), isDirectory.boolValue
        else { return [] }  // nothing stored yet
        if wait {
            try db.execute("SELECT pg_advisory_lock(\(lockKey))")
        } else {
            guard try db.execute("SELECT pg_try_advisory_lock(\(lockKey)) AS ok")[0].bool("ok") else { return nil }
        }
        defer { _ = try? db.execute("SELECT pg_advisory_unlock(\(lockKey))") }
        var removed = try sweep(db: db, mediaDirectory: mediaDirectory, now: now)
        removed += sweepOld(in: mediaDirectory + "/tmp", now: now, reason: "a decoder's staging file left behind")
        // The upload ledger (quotas) forgets a file an hour after its uploader's rows stopped naming it.
        try db.execute(
            """
            DELETE FROM reference_uploads u WHERE uploaded_at < now() - interval '1 hour'
              AND NOT EXISTS (SELECT 1 FROM video_reference_images r JOIN videos v ON v.id = r.video_id JOIN projects p ON p.id = v.project_id
                              WHERE r.sha256 = u.sha256 AND p.user_id = u.user_id)
              AND NOT EXISTS (SELECT 1 FROM generations g WHERE g.reference_sha256 = u.sha256 AND g.reference_path IS NOT NULL
                                AND g.user_id = u.user_id)
            """)
        return removed
    }

    /// Files in `folder` older than an hour.
    private static func sweepOld(in folder: String, now: Date, reason: String) -> [Removal] {
        let manager = FileManager.default
        return ((try? manager.contentsOfDirectory(atPath: folder)) ?? []).sorted().compactMap { name in
            let path = folder + "/" + name
            return isOld(path, now: now) ? remove(path, reason) : nil
        }
    }

    private static func isOld(_ path: String, now: Date) -> Bool {
        let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? now
        return now.timeIntervalSince(modified) > 3600
    }

    private static func sweep(db: Connection, mediaDirectory: String, now: Date) throws -> [Removal] {
        let manager = FileManager.default
        let names = try manager.contentsOfDirectory(atPath: mediaDirectory).sorted()
        var directories: [Int64: String] = [:]
        for name in names {
            var isDirectory: ObjCBool = false
            guard let id = Int64(name), id > 0, String(id) == name,
                manager.fileExists(atPath: mediaDirectory + "/" + name, isDirectory: &isDirectory),
                isDirectory.boolValue
            else { continue }
            directories[id] = mediaDirectory + "/" + name
        }
        var removed = try sweepReferences(db: db, mediaDirectory: mediaDirectory, now: now)
        guard !directories.isEmpty else { return removed }
        let list = "{" + directories.keys.sorted().map(String.init).joined(separator: ",") + "}"
        var rows: [Int64: Row] = [:]
        for row in try db.execute(
            """
            SELECT id, video_id IS NOT NULL AS live, phase = \(GenerationPhase.done) AS finished,
                   video_path, thumbnail_path, spritesheet_path
            FROM generations WHERE id = ANY(\(list)::bigint[])
            """)
        {
            rows[row.int("id")] = row
        }
        func remove(_ path: String, _ reason: String) {
            if let removal = Self.remove(path, reason) { removed.append(removal) }
        }
        for (id, path) in directories.sorted(by: { $0.key < $1.key }) {
            guard let row = rows[id] else {
                remove(path, "no generation \(id)")
                continue
            }
            guard row.bool("live") else {
                remove(path, "the video of generation \(id) was deleted")
                continue
            }
            guard row.bool("finished") else { continue }  // in flight: its worker owns the directory
            let kept = Set(["video_path", "thumbnail_path", "spritesheet_path"].compactMap { row[$0] })
            if kept.isEmpty {
                remove(path, "generation \(id) has no media")
                continue
            }
            for file in ((try? manager.contentsOfDirectory(atPath: path)) ?? []).sorted()
            where !kept.contains("\(id)/\(file)") && isOld(path + "/" + file, now: now) {
                remove(path + "/" + file, "generation \(id) does not use it")
            }
        }
        return removed
    }

    private static func remove(_ path: String, _ reason: String) -> Removal? {
        let bytes = MediaFiles.bytes(at: path)
        do {
            try FileManager.default.removeItem(atPath: path)
            return Removal(path: path, bytes: bytes, reason: reason)
        } catch {
            Log.error("media sweep: cannot remove \(path): \(error)")
            return nil
        }
    }

    /// Reference images: a deleted video's folder goes; in a live video's folder, a file that neither
    /// the video nor any generation points at goes once it is an hour old (younger ones may belong to an
    /// upload or a click whose row is not committed yet).
    package static func sweepReferences(db: Connection, mediaDirectory: String, now: Date) throws -> [Removal] {
        let manager = FileManager.default
        let root = mediaDirectory + "/" + MediaFiles.referencesFolder
        guard let names = try? manager.contentsOfDirectory(atPath: root) else { return [] }
        var removed = try sweepShared(db: db, folder: root + "/" + MediaFiles.sharedFolder, now: now)
        for name in names.sorted() {
            guard let videoID = Int64(name), videoID > 0, String(videoID) == name else { continue }
            let folder = root + "/" + name
            guard try db.execute("SELECT 1 FROM videos WHERE id = \(videoID)").first != nil else {
                if let removal = remove(folder, "the video \(videoID) was deleted") { removed.append(removal) }
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
            for file in ((try? manager.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            where !kept.contains("\(MediaFiles.referencesFolder)/\(name)/\(file)") {
                let path = folder + "/" + file
                guard isOld(path, now: now) else { continue }
                if let removal = remove(path, "no video or generation uses it") { removed.append(removal) }
            }
        }
        return removed
    }

    /// Shared reference files (`<sha256>.<ext>` and the frames fitted from it, `<sha256>-…`): each is kept while
    /// any video's reference image or any generation names its bytes, and goes once none does and it is an
    /// hour old (an upload or a click touches the file before its row commits).
    private static func sweepShared(db: Connection, folder: String, now: Date) throws -> [Removal] {
        let manager = FileManager.default
        guard let prefixes = try? manager.contentsOfDirectory(atPath: folder) else { return [] }
        let named = Set(
            try db.execute(
                """
                SELECT sha256 FROM video_reference_images
                UNION SELECT reference_sha256 FROM generations WHERE reference_path IS NOT NULL AND reference_sha256 IS NOT NULL
                """
            ).map { $0.string("sha256") })
        var removed: [Removal] = []
        for prefix in prefixes.sorted() {
            let directory = folder + "/" + prefix
            for file in ((try? manager.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
                let sha = String(file.prefix { $0 != "-" && $0 != "." })
                let path = directory + "/" + file
                // A write that stopped half-way (`….part-…`) goes after an hour whatever its bytes.
                let partial = file.contains(".part-")
                guard partial || !named.contains(sha), isOld(path, now: now) else { continue }
                if partial {
                    if let removal = remove(path, "an unfinished write") { removed.append(removal) }
                    continue
                }
                // Set aside, then asked again: an upload or a click that reuses the bytes right now either
                // committed its row before the question (the file goes back) or finds no file and writes it anew.
                let aside = path + ".sweeping"
                guard rename(path, aside) == 0 else { continue }
                let stillNamed =
                    try !db.execute(
                        """
                        SELECT 1 FROM video_reference_images WHERE sha256 = \(sha)
                        UNION ALL SELECT 1 FROM generations WHERE reference_sha256 = \(sha) AND reference_path IS NOT NULL
                        LIMIT 1
                        """
                    ).isEmpty
                if stillNamed {
                    _ = rename(aside, path)
                    continue
                }
                if let removal = remove(aside, "no video or generation uses these bytes") {
                    removed.append(Removal(path: path, bytes: removal.bytes, reason: removal.reason))
                }
            }
        }
        return removed
    }
}
