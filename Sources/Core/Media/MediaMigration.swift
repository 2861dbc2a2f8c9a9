// `promptreel media migrate --to s3://… | local`: each row's media copied to another store, checked there (its
// size, as the source has it), and only then the row switched — one row at a time, so the site serves throughout
// (a reader follows the row: the old copy until the switch, the new one after) and a run that stops is simply run
// again (rows already there are skipped; a half-copied object is copied anew). The old copies stay for the media
// sweep, which removes them once they are an hour old (a reader may still be streaming one). Generations still in
// flight are left for a later run.

import Foundation
package import Postgres

package struct MediaMigration {
    package let db: Connection
    package let stores: MediaStores
    package let target: any MediaStore
    /// Only this account's rows (a trial move, or one customer's); nil: every row.
    package let user: ID<User>?

    package init(db: Connection, stores: MediaStores, target: any MediaStore, user: ID<User>? = nil) {
        self.db = db
        self.stores = stores
        self.target = target
        self.user = user
    }

    package struct Report: Sendable, Equatable {
        package var generations = 0, referenceImages = 0, films = 0
        package var objects = 0
        package var bytes: Int64 = 0
        /// Rows not moved: in flight, or in a store this process cannot read.
        package var left = 0
        package var problems: [String] = []
    }

    /// One table's rows to move: the columns naming its objects, the next page of rows in another store (ids
    /// after `after`), and the switch of one row to the target, only while it still names what was copied.
    struct Kind: Sendable {
        let table: String
        let columns: [String]
        let page: @Sendable (_ target: String, _ after: Int64, _ user: Int64?) -> Query
        let switchRow: @Sendable (_ id: Int64, _ target: String, _ row: Row) -> Query
    }

    static let kinds = [
        Kind(
            table: "generations",
            columns: ["video_path", "thumbnail_path", "spritesheet_path", "reference_path", "reference_fitted_path"],
            page: { target, after, user in
                """
                SELECT id AS row_id, media_store, video_path, thumbnail_path, spritesheet_path, reference_path, reference_fitted_path,
                       phase = \(GenerationPhase.done) AS movable
                FROM generations
                WHERE media_store <> \(target) AND id > \(after) AND (\(user)::bigint IS NULL OR user_id = \(user))
                  AND (video_path IS NOT NULL OR thumbnail_path IS NOT NULL OR spritesheet_path IS NOT NULL OR reference_path IS NOT NULL)
                ORDER BY id LIMIT 100
                """
            },
            switchRow: { id, target, row in
                """
                UPDATE generations SET media_store = \(target)
                WHERE id = \(id) AND media_store = \(row.string("media_store")) AND phase = \(GenerationPhase.done)
                  AND video_path IS NOT DISTINCT FROM \(row["video_path"])
                  AND thumbnail_path IS NOT DISTINCT FROM \(row["thumbnail_path"])
                  AND spritesheet_path IS NOT DISTINCT FROM \(row["spritesheet_path"])
                  AND reference_path IS NOT DISTINCT FROM \(row["reference_path"])
                  AND reference_fitted_path IS NOT DISTINCT FROM \(row["reference_fitted_path"])
                RETURNING 1
                """
            }),
        Kind(
            table: "video_reference_images", columns: ["path"],
            page: { target, after, user in
                """
                SELECT video_id AS row_id, media_store, path, true AS movable FROM video_reference_images
                WHERE media_store <> \(target) AND video_id > \(after)
                  AND (\(user)::bigint IS NULL OR video_id IN (SELECT v.id FROM videos v JOIN projects p ON p.id = v.project_id
                                                               WHERE p.user_id = \(user)))
                ORDER BY video_id LIMIT 100
                """
            },
            switchRow: { id, target, row in
                """
                UPDATE video_reference_images SET media_store = \(target)
                WHERE video_id = \(id) AND media_store = \(row.string("media_store")) AND path = \(row.string("path"))
                RETURNING 1
                """
            }),
        Kind(
            table: "films", columns: ["video_path", "poster_path", "spritesheet_path"],
            page: { target, after, user in
                """
                SELECT id AS row_id, media_store, video_path, poster_path, spritesheet_path, status = 'completed' AS movable
                FROM films WHERE media_store <> \(target) AND id > \(after) AND video_path IS NOT NULL
                  AND (\(user)::bigint IS NULL OR user_id = \(user))
                ORDER BY id LIMIT 100
                """
            },
            switchRow: { id, target, row in
                """
                UPDATE films SET media_store = \(target)
                WHERE id = \(id) AND media_store = \(row.string("media_store")) AND status = 'completed'
                  AND video_path IS NOT DISTINCT FROM \(row["video_path"]) AND poster_path IS NOT DISTINCT FROM \(row["poster_path"])
                  AND spritesheet_path IS NOT DISTINCT FROM \(row["spritesheet_path"])
                RETURNING 1
                """
            }),
    ]

    package func run(progress: (String) -> Void = { _ in }) throws -> Report {
        var report = Report()
        let here = target.name.rawValue
        for kind in Self.kinds {
            var after: Int64 = 0
            while true {
                let rows = try db.execute(kind.page(here, after, user?.rawValue))
                guard let last = rows.last else { break }
                after = last.int("row_id")
                for row in rows {
                    let id = row.int("row_id")
                    guard row.bool("movable"), let source = stores.store(MediaStoreName(row.string("media_store")))
                    else {
                        report.left += 1
                        continue
                    }
                    let keys = kind.columns.compactMap { row[$0] }
                    do {
                        for key in keys { report.bytes += try copy(key, from: source) }
                    } catch {
                        report.left += 1
                        report.problems.append("\(kind.table) \(id): \(error)")
                        continue
                    }
                    guard try !db.execute(kind.switchRow(id, here, row)).isEmpty else {
                        report.left += 1  // changed meanwhile: the next run takes it
                        continue
                    }
                    report.objects += keys.count
                    switch kind.table {
                    case "generations": report.generations += 1
                    case "films": report.films += 1
                    default: report.referenceImages += 1
                    }
                    progress("\(kind.table) \(id): \(keys.count) object\(keys.count == 1 ? "" : "s") to \(here)")
                }
            }
        }
        return report
    }

    /// Copies one object unless the target has it at the same size; its size.
    private func copy(_ key: String, from source: any MediaStore) throws -> Int64 {
        guard let size = try source.list(prefix: key).first(where: { $0.key == key })?.bytes else {
            throw MediaStoreError(.notFound, "\(key) is not in \(source.name)")
        }
        if try target.list(prefix: key).first(where: { $0.key == key })?.bytes == size {
            _ = try target.refresh(key)  // the sweep's hour starts again until the row names it
            return 0
        }
        // A copy: the source's own file must stay where it is until the row moves.
        try source.withLocalFile(key) { file in
            try target.put(copyOf: file, key: key, contentType: MediaStores.contentType(of: key))
        }
        guard try target.list(prefix: key).first(where: { $0.key == key })?.bytes == size else {
            throw MediaStoreError(
                .transient, code: "BadDigest", "\(key): the copy in \(target.name) is not \(size) bytes")
        }
        return size
    }
}
