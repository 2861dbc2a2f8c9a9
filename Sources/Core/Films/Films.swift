// Films: asking for one (recorded and returned at once; a worker stitches it), reading, listing and deleting
// them — the one service behind the pages and the JSON API — and the claims the film makers use.

import Foundation
import Glibc
package import Postgres

package struct Films {
    package let db: Connection

    package init(db: Connection) {
        self.db = db
    }

    /// A film of at most this many shots (a longer one is a different product).
    package static let maxShots = 200
    package static let crossfadeRange = 200...2000
    package static let defaultCrossfadeMs = 500

    /// Why a film was not asked for.
    package enum Refusal: Error, Sendable {
        case noSuchProject
        case emptyStoryboard
        /// These shots have no completed take.
        case shotsMissing([ID<Video>])
        /// Another film of this storyboard is being made.
        case inProgress
        case tooManyShots(Int)
        /// The crossfade is not shorter than every shot.
        case crossfadeTooLong(shortest: Double)
    }

    /// What the user asks for; checked by the API and the page (`size` even, 16…4096).
    package struct Request: Sendable {
        package var transition: Film.Transition
        package var crossfadeMs: Int?
        package var size: (width: Int, height: Int)?

        package init(transition: Film.Transition, crossfadeMs: Int? = nil, size: (width: Int, height: Int)? = nil) {
            self.transition = transition
            self.crossfadeMs = crossfadeMs
            self.size = size
        }

        /// "WxH" with even sides from 16 to 4096 (H.264 at 4:2:0 needs even sides).
        package static func size(_ text: String) throws(InvalidInput) -> (width: Int, height: Int) {
            let parts = text.split(separator: "x", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ $0.count <= 4 && $0.allSatisfy(\.isASCII) }),
                let w = Int(parts[0]), let h = Int(parts[1]), (16...4096).contains(w), (16...4096).contains(h),
                w % 2 == 0, h % 2 == 0
            else {
                throw InvalidInput(field: "size", "must be WIDTHxHEIGHT with even sides from 16 to 4096, like 1280x720")
            }
            return (w, h)
        }
    }

    /// Records a film of the project's storyboard as it is now (each shot's chosen take) and wakes the film
    /// makers; one at a time per storyboard.
    package func make(userID: ID<User>, projectID: ID<Project>, request: Request) throws -> Film {
        try db.transaction {
            // The project row first, as moves and new shots take it: the shots read are the storyboard's.
            guard
                !(try db.execute(
                    """
                    SELECT id FROM projects
                    WHERE id = \(projectID) AND \(fragment: Access.member("id", userID, atLeast: .editor)) FOR UPDATE
                    """
                ))
                .isEmpty
            else { throw Refusal.noSuchProject }
            // The shots and the signature in one statement, so one snapshot: "out of date" is exact.
            let rows = try db.execute(
                """
                SELECT v.id, v.title, c.id AS generation_id, coalesce(c.delivered_seconds, c.seconds)::float8::text AS seconds,
                       storyboard_signature(\(projectID)) AS signature
                FROM videos v
                LEFT JOIN LATERAL (SELECT g.id, g.delivered_seconds, g.seconds FROM generations g
                                   WHERE g.video_id = v.id AND g.status = 'completed' AND g.video_path IS NOT NULL
                                     AND (g.id = v.chosen_generation_id OR v.chosen_generation_id IS NULL)
                                   ORDER BY g.completed_at DESC NULLS LAST, g.id DESC LIMIT 1) c ON true
                WHERE v.project_id = \(projectID) ORDER BY v.position
                """)
            guard !rows.isEmpty else { throw Refusal.emptyStoryboard }
            guard rows.count <= Self.maxShots else { throw Refusal.tooManyShots(rows.count) }
            let missing = rows.filter { $0["generation_id"] == nil }.map { $0.id("id") as ID<Video> }
            guard missing.isEmpty else { throw Refusal.shotsMissing(missing) }
            let shots = rows.map {
                Film.Shot(
                    videoID: $0.id("id"), generationID: $0.id("generation_id"),
                    seconds: Double($0.string("seconds")) ?? 0, title: $0.string("title"))
            }
            var crossfade: Int?
            if request.transition == .crossfade {
                let ms = request.crossfadeMs ?? Self.defaultCrossfadeMs
                let shortest = shots.map(\.seconds).min() ?? 0
                guard Double(ms) / 1000 < shortest || shots.count == 1 else {
                    throw Refusal.crossfadeTooLong(shortest: shortest)
                }
                crossfade = ms
            }
            do {
                let id: ID<Film> = try db.transaction {
                    try db.execute(
                        """
                        INSERT INTO films (project_id, user_id, transition, crossfade_ms, requested_width, requested_height, shots, signature)
                        VALUES (\(projectID), \(userID), \(request.transition), \(crossfade), \(request.size?.width), \(request.size?.height),
                                \(Film.json(shots))::jsonb, \(rows[0].string("signature")))
                        RETURNING id
                        """)[0].id("id")
                }
                try NotifyChannel.films.notify(db)
                guard let film = try film(id: id, userID: userID) else { throw Refusal.noSuchProject }
                return film
            } catch let error as DatabaseError where error.isUniqueViolation {
                throw Refusal.inProgress
            }
        }
    }

    package func film(id: ID<Film>, userID: ID<User>) throws -> Film? {
        try db.execute(
            """
            SELECT \(fragment: Film.columns) FROM films f JOIN projects p ON p.id = f.project_id
            WHERE f.id = \(id) AND \(fragment: Access.member("f.project_id", userID))
            """
        ).first.map(Film.init)
    }

    /// The project's films, newest first (none when the user is not a member).
    package func list(projectID: ID<Project>, userID: ID<User>, page: PageRequest) throws -> Page<Film> {
        let keyset = page.keyset("f.id")
        return Page(
            rows: try db.execute(
                """
                SELECT \(fragment: Film.columns) FROM films f JOIN projects p ON p.id = f.project_id
                WHERE f.project_id = \(projectID) AND \(fragment: Access.member("\(projectID)::bigint", userID))
                  AND \(fragment: keyset.condition)
                ORDER BY \(fragment: keyset.order)
                """
            ).map(Film.init), request: page)
    }

    /// Deletes a film of a project the user edits; its files are queued for a worker to remove (Migrations/0035's
    /// trigger), and a film still being made is dropped by its maker when it finds the row gone. False when there
    /// is no such film.
    package func delete(id: ID<Film>, userID: ID<User>) throws -> Bool {
        try !db.execute(
            """
            DELETE FROM films f WHERE f.id = \(id) AND \(fragment: Access.member("f.project_id", userID, atLeast: .editor))
            RETURNING f.id
            """
        ).isEmpty
    }

    /// The names a film's files have (`films/<id>/…`).
    package static let fileNames = ["film.mp4", "poster.webp", "spritesheet.jpg"]

    /// Where a film's files live: the keys under this prefix.
    package static func directory(_ id: ID<Film>) -> String { "films/\(id)" }

    // MARK: The film makers' side

    /// Held (a session advisory lock) while a process stitches the film; released when it dies, so another
    /// maker takes the film up again.
    package static func lockKey(_ id: ID<Film>) -> Int64 { 0x5046 << 48 | id.rawValue }  // "PF"

    /// After this many starts a film that keeps killing its maker fails instead of looping.
    package static let maxAttempts = 3

    /// A film waiting to be made, or one whose maker died, now locked by this process (call `release`).
    package func claim() throws -> Film? {
        try db.transaction {
            let candidates = try db.execute(
                // Waiting films first: a running one is taken only when its maker died (its lock is free).
                """
                SELECT id FROM films WHERE status IN ('queued', 'running')
                ORDER BY status = 'running', id LIMIT 16 FOR UPDATE SKIP LOCKED
                """
            ).map { $0.id("id") as ID<Film> }
            for candidate in candidates {
                guard try db.execute("SELECT pg_try_advisory_lock(\(Self.lockKey(candidate))) AS ok")[0].bool("ok")
                else { continue }
                let claimed = try db.execute(
                    """
                    UPDATE films SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now())
                    WHERE id = \(candidate) AND status IN ('queued', 'running') RETURNING id, attempts
                    """
                ).first
                if let claimed {
                    if claimed.int("attempts") > Int64(Self.maxAttempts) {
                        let message =
                            "Making this film stopped its worker \(Self.maxAttempts) times; it was given up."
                        try db.execute(
                            "UPDATE films SET status = 'failed', completed_at = now(), error = \(message) WHERE id = \(candidate)"
                        )
                        release(candidate)  // what an attempt stored, the media sweep removes
                        continue
                    }
                    return try db.execute(
                        "SELECT \(fragment: Film.columns) FROM films f JOIN projects p ON p.id = f.project_id WHERE f.id = \(candidate)"
                    ).first.map(Film.init)
                }
                release(candidate)
            }
            return nil
        }
    }

    package func release(_ id: ID<Film>) {
        _ = try? db.execute("SELECT pg_advisory_unlock(\(Self.lockKey(id)))")
    }

    /// Where a shot's take is stored.
    package struct Take: Sendable {
        package let key: String
        package let store: MediaStoreName
    }

    /// Where the take of each shot is stored, nil for a shot whose file is gone.
    package func takes(_ film: Film) throws -> [ID<Generation>: Take] {
        let list = "{" + film.shots.map(\.generationID.description).joined(separator: ",") + "}"
        var takes: [ID<Generation>: Take] = [:]
        for row in try db.execute(
            """
            SELECT id, video_path, media_store FROM generations
            WHERE id = ANY(\(list)::bigint[])
            """)
        {
            if let path = row["video_path"] {
                takes[row.id("id")] = Take(key: path, store: MediaStoreName(row.string("media_store")))
            }
        }
        return takes
    }

    package struct Made: Sendable {
        package let width: Int, height: Int
        package let frameRate: String
        package let seconds: Double
        package let bytes: Int64
        package let reencoded: Bool
        package let videoPath: String
        package let posterPath: String?
        package let spritesheetPath: String?

        package init(
            width: Int, height: Int, frameRate: String, seconds: Double, bytes: Int64, reencoded: Bool,
            videoPath: String, posterPath: String?, spritesheetPath: String?
        ) {
            self.width = width
            self.height = height
            self.frameRate = frameRate
            self.seconds = seconds
            self.bytes = bytes
            self.reencoded = reencoded
            self.videoPath = videoPath
            self.posterPath = posterPath
            self.spritesheetPath = spritesheetPath
        }
    }

    /// Records the finished film, its files in `store`; false when the row is gone (deleted meanwhile: the caller
    /// removes the files).
    package func complete(_ id: ID<Film>, _ made: Made, store: MediaStoreName) throws -> Bool {
        try !db.execute(
            """
            UPDATE films SET status = 'completed', completed_at = now(), error = NULL, width = \(made.width), height = \(made.height),
                   frame_rate = \(made.frameRate), duration_seconds = \(String(format: "%.3f", made.seconds))::numeric,
                   bytes = \(made.bytes), reencoded = \(made.reencoded), video_path = \(made.videoPath),
                   poster_path = \(made.posterPath), spritesheet_path = \(made.spritesheetPath), media_store = \(store.rawValue)
            WHERE id = \(id) AND status = 'running' RETURNING id
            """
        ).isEmpty
    }

    /// Records why it failed (its maker stored nothing of it).
    package func fail(_ id: ID<Film>, message: String) throws {
        try db.execute(
            "UPDATE films SET status = 'failed', completed_at = now(), error = \(message) WHERE id = \(id) AND status = 'running'"
        )
    }
}
