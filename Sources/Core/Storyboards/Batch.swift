// A click as the user sees it afterwards: a storyboard click (one batch per shot) or a single video's click
// (its takes), both named by one id space (Migrations/0027), with every generation's current state.

import Formats
package import Postgres

package struct Batch: Sendable {
    package enum Kind: String, Sendable {
        case storyboard, video
    }

    package struct Shot: Sendable {
        /// Nil once the video was deleted (its generations stay: they are the money record).
        package let videoID: ID<Video>?
        package let title: String
        /// Its place in the storyboard now (nil once deleted).
        package let position: Int?
        package let generations: [Generation]
    }

    package let id: Int64
    package let kind: Kind
    package let projectID: ID<Project>?
    package let projectName: String?
    package let settings: StoredSettings
    package let takes: Int
    /// Each shot started from the last frame of the shot before.
    package let continuity: Bool
    package let totalCost: USD
    package let createdAt: Timestamp
    package let shots: [Shot]
    package let skipped: [(videoID: ID<Video>, reason: String)]

    package var generations: [Generation] { shots.flatMap(\.generations) }
    /// Something is still queued or in progress.
    package var isActive: Bool { generations.contains(where: \.isActive) }

    /// The click `id`, either kind: the user's own, or one on a video or project they are a member of; nil when
    /// there is no such click they may see.
    package static func load(id: Int64, userID: ID<User>, db: Connection) throws -> Batch? {
        if let click = try db.execute(
            """
            SELECT c.id, c.project_id, p.name AS project_name, c.settings::text AS settings, c.takes,
                   c.total_cost::text AS total_cost, iso(c.created_at) AS created_at, c.skipped::text AS skipped, c.continuity
            FROM storyboard_clicks c LEFT JOIN projects p ON p.id = c.project_id
            WHERE c.id = \(id) AND (c.user_id = \(userID) OR \(fragment: Access.member("c.project_id", userID)))
            """
        ).first {
            let rows = try db.execute(
                """
                SELECT \(fragment: Generation.columns), v.title AS shot_title, v.position AS shot_position, b.id AS shot_batch
                FROM generation_batches b JOIN generations g ON g.batch_id = b.id LEFT JOIN videos v ON v.id = g.video_id
                WHERE b.storyboard_click_id = \(id)
                ORDER BY b.id, g.id
                """)
            var skipped: [(ID<Video>, String)] = []
            if let doc = try? JSONParser.parse(click.string("skipped")), case let .array(items) = doc {
                for item in items {
                    if let video = item["videoId"]?.intValue, let reason = item["reason"]?.stringValue {
                        skipped.append((ID(Int64(video)), reason))
                    }
                }
            }
            return Batch(
                id: id, kind: .storyboard, projectID: click.optionalID("project_id"),
                projectName: click["project_name"], settings: StoredSettings(jsonText: click.string("settings")),
                takes: Int(click.int("takes")), continuity: click.bool("continuity"),
                totalCost: USD(parsing: click.string("total_cost")) ?? .zero,
                createdAt: click.timestamp("created_at"), shots: shots(rows), skipped: skipped)
        }
        guard
            let batch = try db.execute(
                """
                SELECT b.id, v.project_id, p.name AS project_name, b.takes, b.total_cost::text AS total_cost,
                       iso(b.created_at) AS created_at
                FROM generation_batches b LEFT JOIN videos v ON v.id = b.video_id LEFT JOIN projects p ON p.id = v.project_id
                WHERE b.id = \(id) AND (b.user_id = \(userID) OR \(fragment: Access.memberOfVideo("b.video_id", userID)))
                """
            ).first
        else { return nil }
        let rows = try db.execute(
            """
            SELECT \(fragment: Generation.columns), v.title AS shot_title, v.position AS shot_position, g.batch_id AS shot_batch
            FROM generations g LEFT JOIN videos v ON v.id = g.video_id
            WHERE g.batch_id = \(id) ORDER BY g.id
            """)
        let list = shots(rows)
        return Batch(
            id: id, kind: .video, projectID: batch.optionalID("project_id"), projectName: batch["project_name"],
            settings: list.first?.generations.first?.settings ?? StoredSettings(jsonText: "{}"),
            takes: Int(batch.int("takes")), continuity: false,
            totalCost: USD(parsing: batch.string("total_cost")) ?? .zero,
            createdAt: batch.timestamp("created_at"), shots: list, skipped: [])
    }

    /// Rows ordered by batch then generation, grouped into one shot per batch.
    private static func shots(_ rows: [Row]) -> [Shot] {
        var shots: [Shot] = []
        var current: (batch: Int64, rows: [Row])?
        func close() {
            guard let current, let first = current.rows.first else { return }
            let generations = current.rows.map(Generation.init)
            shots.append(
                Shot(
                    videoID: generations[0].videoID,
                    title: first["shot_title"] ?? generations[0].deletedVideoTitle ?? "Deleted video",
                    position: first.optionalInt("shot_position").map { Int($0) }, generations: generations))
        }
        for row in rows {
            let batch = row.int("shot_batch")
            if current?.batch != batch {
                close()
                current = (batch, [])
            }
            current?.rows.append(row)
        }
        close()
        return shots
    }

    /// The user's latest storyboard click of the project, if any.
    package static func latestClick(projectID: ID<Project>, userID: ID<User>, db: Connection) throws -> Int64? {
        try db.execute(
            """
            SELECT id FROM storyboard_clicks WHERE project_id = \(projectID) AND user_id = \(userID)
            ORDER BY id DESC LIMIT 1
            """
        ).first?.int("id")
    }
}
