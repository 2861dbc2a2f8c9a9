// The SQL behind editing, copying and deleting videos and projects. Deleting never removes the money
// record: Migrations/0008 keeps generations and roundtables (video_id set NULL, the title kept, media
// paths cleared). A delete locks the video rows first, so a click that inserts a generation (its foreign
// key check waits on that lock) either commits before the check sees it, or fails after the delete.

import Postgres

/// What deleting a video or a project takes with it, and what stands in the way.
package struct DeletionSummary: Sendable, Equatable {
    package var videos: Int64
    package var generations: Int64
    /// Bytes of the media files the generations' rows point at.
    package var mediaBytes: Int64
    package var activeGenerations: Int64
    package var unconfirmedGenerations: Int64
    package var activeRoundtables: Int64

    /// Why it cannot go now, if anything: a job in flight, or one whose outcome nobody knows yet.
    package var blocker: Library.Refusal? {
        if activeGenerations > 0 { return .generationActive }
        if unconfirmedGenerations > 0 { return .generationUnconfirmed }
        if activeRoundtables > 0 { return .roundtableActive }
        return nil
    }

}

extension Store {
    // MARK: Editing

    package enum VideoUpdate {
        /// Not a video of a project the user edits.
        case notFound
        /// `ifMatch` is not the video's ETag any more: someone else changed it (nothing was changed).
        case stale(current: Video)
        case updated(Video)
    }

    /// Applies the given changes (nil: unchanged) in one transaction; a changed final prompt is kept as
    /// an `edited` prompt version. With `ifMatch`, only when the video's ETag is still that one (the row is
    /// locked while it is compared, so two editors cannot both pass).
    package func updateVideo(
        id: ID<Video>, userID: ID<User>, changes: Library.VideoChanges, ifMatch: String? = nil
    ) throws -> VideoUpdate {
        try db.transaction {
            guard
                try !db.execute(
                    """
                    SELECT v.id FROM videos v
                    WHERE v.id = \(id) AND \(fragment: Access.member("v.project_id", userID, atLeast: .editor)) FOR UPDATE OF v
                    """
                ).isEmpty, let current = try video(id: id, userID: userID)
            else { return .notFound }
            if let ifMatch, !current.matches(ifMatch) { return .stale(current: current) }
            let presetGiven = changes.preset != nil
            try db.execute(
                """
                UPDATE videos SET title = coalesce(\(changes.title)::text, title), brief = coalesce(\(changes.brief)::text, brief),
                       preset = CASE WHEN \(presetGiven)::boolean THEN \(changes.preset ?? nil)::text ELSE preset END, updated_at = now()
                WHERE id = \(id)
                """)
            if let prompt = changes.finalPrompt, prompt != current.finalPrompt {
                _ = try setFinalPrompt(videoID: id, userID: userID, prompt: prompt, source: .edited, roundtableID: nil)
            }
            return try video(id: id, userID: userID).map(VideoUpdate.updated) ?? .notFound
        }
    }

    /// Nil when the user is not one of the project's owners.
    package func updateProject(id: ID<Project>, userID: ID<User>, changes: Library.ProjectChanges) throws -> Project? {
        guard
            try !db.execute(
                """
                UPDATE projects SET name = coalesce(\(changes.name)::text, name), description = coalesce(\(changes.description)::text, description),
                       updated_at = now()
                WHERE id = \(id) AND \(fragment: Access.member("id", userID, atLeast: .owner)) RETURNING id
                """
            ).isEmpty
        else { return nil }
        return try project(id: id, userID: userID)
    }

    // MARK: Deleting

    /// What deleting would take; nil when the video is not the user's.
    package func deletionSummary(videoID: ID<Video>, userID: ID<User>) throws -> DeletionSummary? {
        guard try video(id: videoID, userID: userID) != nil else { return nil }
        return try summary(of: "v.id = \(videoID)")
    }

    /// What deleting would take; nil when the project is not the user's.
    package func deletionSummary(projectID: ID<Project>, userID: ID<User>) throws -> DeletionSummary? {
        guard try project(id: projectID, userID: userID) != nil else { return nil }
        return try summary(of: "v.project_id = \(projectID)")
    }

    /// Counts over the videos matching `filter` (a condition on `videos v`).
    private func summary(of filter: Query) throws -> DeletionSummary {
        let row = try db.execute(
            """
            WITH doomed AS (SELECT v.id FROM videos v WHERE \(fragment: filter))
            SELECT (SELECT count(*) FROM doomed) AS videos, count(g.id) AS generations,
                   coalesce(sum(CASE WHEN g.video_path IS NOT NULL THEN coalesce(g.video_bytes, 0) ELSE 0 END
                              + CASE WHEN g.thumbnail_path IS NOT NULL THEN coalesce(g.thumbnail_bytes, 0) ELSE 0 END
                              + CASE WHEN g.spritesheet_path IS NOT NULL THEN coalesce(g.spritesheet_bytes, 0) ELSE 0 END), 0)
                   -- the current reference images go too (fitted frames, a fraction of that, are not counted)
                   + (SELECT coalesce(sum(bytes), 0) FROM video_reference_images WHERE video_id IN (SELECT id FROM doomed)) AS media_bytes,
                   count(g.id) FILTER (WHERE g.status IN (\(GenerationStatus.queued), \(GenerationStatus.inProgress))) AS active,
                   count(g.id) FILTER (WHERE g.phase = \(GenerationPhase.unconfirmed)) AS unconfirmed,
                   (SELECT count(*) FROM roundtables r WHERE r.video_id IN (SELECT id FROM doomed)
                      AND r.status IN (\(RoundtableStatus.queued), \(RoundtableStatus.running))) AS roundtables
            FROM generations g WHERE g.video_id IN (SELECT id FROM doomed)
            """)[0]
        return DeletionSummary(
            videos: row.int("videos"), generations: row.int("generations"), mediaBytes: row.int("media_bytes"),
            activeGenerations: row.int("active"), unconfirmedGenerations: row.int("unconfirmed"),
            activeRoundtables: row.int("roundtables"))
    }

    package enum Deletion {
        case notFound
        case refused(Library.Refusal)
        /// Committed: `name` is the video's title (or the project's name). The files no row names any more
        /// were queued for removal in the same transaction (Migrations/0035's triggers).
        case deleted(name: String, projectID: ID<Project>, summary: DeletionSummary)
    }

    /// Deletes the video and its prompt versions; its generations and roundtables stay (see 0008).
    package func deleteVideo(id: ID<Video>, userID: ID<User>) throws -> Deletion {
        try db.transaction {
            // Project row first, as deleting a project does (and as the video count's trigger will): two
            // deletes at once then wait for each other instead of deadlocking.
            try db.execute(
                """
                SELECT p.id FROM projects p JOIN videos v ON v.project_id = p.id
                WHERE v.id = \(id) AND \(fragment: Access.member("p.id", userID, atLeast: .editor)) FOR NO KEY UPDATE OF p
                """)
            guard
                let row = try db.execute(
                    """
                    SELECT v.title, v.project_id FROM videos v
                    WHERE v.id = \(id) AND \(fragment: Access.member("v.project_id", userID, atLeast: .editor)) FOR UPDATE OF v
                    """
                ).first
            else { return .notFound }
            return try delete(
                filter: "v.id = \(id)", name: row.string("title"), projectID: row.id("project_id"),
                statement: "DELETE FROM videos WHERE id = \(id)")
        }
    }

    /// Deletes the project and all its videos (each as `deleteVideo` would).
    package func deleteProject(id: ID<Project>, userID: ID<User>) throws -> Deletion {
        try db.transaction {
            guard
                let row = try db.execute(
                    "SELECT name FROM projects WHERE id = \(id) AND \(fragment: Access.member("id", userID, atLeast: .owner)) FOR UPDATE"
                ).first
            else {
                return .notFound
            }
            try db.execute("SELECT id FROM videos WHERE project_id = \(id) ORDER BY id FOR UPDATE")
            return try delete(
                filter: "v.project_id = \(id)", name: row.string("name"), projectID: id,
                statement: "DELETE FROM projects WHERE id = \(id)")
        }
    }

    /// Inside the caller's transaction, with the video rows locked: refuses while anything is in flight,
    /// else runs `statement`.
    private func delete(filter: Query, name: String, projectID: ID<Project>, statement: Query) throws -> Deletion {
        // A roundtable's retry changes its row without touching the video: lock those rows too, so a retry
        // either lands before the check below (and is seen) or after the delete (and finds no video).
        try db.execute(
            """
            SELECT r.id FROM roundtables r WHERE r.video_id IN (SELECT v.id FROM videos v WHERE \(fragment: filter)) ORDER BY r.id FOR UPDATE
            """)
        let summary = try summary(of: filter)
        if let blocker = summary.blocker { return .refused(blocker) }
        try db.execute(statement)
        return .deleted(name: name, projectID: projectID, summary: summary)
    }
}
