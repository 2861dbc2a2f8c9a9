// Removing media files: a deleted video's directories (after the commit), and `promptreel media sweep`,
// which removes whatever no live row points at — left by a crash between a delete's commit and its file
// removal, or by a download that stopped half-way.

import Foundation
public import Postgres

enum MediaFiles {
    /// Removes `<directory>/<id>/` and everything in it. A failure is logged, never thrown: the rows no
    /// longer point at the files, and the sweep removes them later.
    static func removeGenerationDirectory(_ id: Int64, in directory: String) {
        let path = directory + "/" + String(id)
        guard FileManager.default.fileExists(atPath: path) else { return }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            Log.error("media: cannot remove \(path): \(error); `promptreel media sweep` will")
        }
    }

    /// Total size of the regular files in `path` (a file or a directory, not following symlinks).
    static func bytes(at path: String) -> Int64 {
        let manager = FileManager.default
        guard let attributes = try? manager.attributesOfItem(atPath: path) else { return 0 }
        if attributes[.type] as? FileAttributeType == .typeDirectory {
            return ((try? manager.contentsOfDirectory(atPath: path)) ?? []).reduce(0) { $0 + bytes(at: path + "/" + $1) }
        }
        return attributes[.type] as? FileAttributeType == .typeRegular ? (attributes[.size] as? Int64 ?? 0) : 0
    }
}

public enum MediaSweep {
    public struct Removal: Sendable, CustomStringConvertible {
        public let path: String
        public let bytes: Int64
        public let reason: String
        public var description: String { "removed \(path) (\(Views.bytes(bytes))): \(reason)" }
    }

    /// One pass over the media directory. A generation's directory goes when its row is gone or its video
    /// was deleted; a finished generation keeps only the files its row points at; a generation still in
    /// flight (or unconfirmed, which an operator may adopt) is left alone, staging files included. Names
    /// that are not generation ids are not PromptReel's and are left alone. Running it again removes nothing.
    public static func run(db: Connection, mediaDirectory: String) throws -> [Removal] {
        let manager = FileManager.default
        let names = try manager.contentsOfDirectory(atPath: mediaDirectory).sorted()
        var directories: [Int64: String] = [:]
        for name in names {
            var isDirectory: ObjCBool = false
            guard let id = Int64(name), id > 0, String(id) == name,
                  manager.fileExists(atPath: mediaDirectory + "/" + name, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            directories[id] = mediaDirectory + "/" + name
        }
        guard !directories.isEmpty else { return [] }
        let list = "{" + directories.keys.sorted().map(String.init).joined(separator: ",") + "}"
        var rows: [Int64: Row] = [:]
        for row in try db.execute("""
            SELECT id, video_id IS NOT NULL AS live, phase = \(GenerationPhase.done) AS finished,
                   video_path, thumbnail_path, spritesheet_path
            FROM generations WHERE id = ANY(\(list)::bigint[])
            """) {
            rows[row.int("id")] = row
        }
        var removed: [Removal] = []
        func remove(_ path: String, _ reason: String) {
            let bytes = MediaFiles.bytes(at: path)
            do {
                try manager.removeItem(atPath: path)
                removed.append(Removal(path: path, bytes: bytes, reason: reason))
            } catch {
                Log.error("media sweep: cannot remove \(path): \(error)")
            }
        }
        for (id, path) in directories.sorted(by: { $0.key < $1.key }) {
            guard let row = rows[id] else { remove(path, "no generation \(id)"); continue }
            guard row.bool("live") else { remove(path, "the video of generation \(id) was deleted"); continue }
            guard row.bool("finished") else { continue }  // in flight: its worker owns the directory
            let kept = Set(["video_path", "thumbnail_path", "spritesheet_path"].compactMap { row[$0] })
            if kept.isEmpty { remove(path, "generation \(id) has no media"); continue }
            for file in ((try? manager.contentsOfDirectory(atPath: path)) ?? []).sorted() where !kept.contains("\(id)/\(file)") {
                remove(path + "/" + file, "generation \(id) does not use it")
            }
        }
        return removed
    }
}
