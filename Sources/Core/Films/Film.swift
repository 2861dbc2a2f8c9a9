// A film: a project's chosen takes stitched in storyboard order (Migrations/0028). The row keeps what it
// was made from; `outOfDate` says the storyboard (its order or a chosen take) changed since.

import Formats
package import Postgres

package struct Film: Sendable {
    package enum Status: String, Sendable, SQLValue {
        case queued, running, completed, failed
        package var sqlText: String { rawValue }
    }

    package enum Transition: String, Sendable, SQLValue {
        case cut, crossfade
        package var sqlText: String { rawValue }
    }

    /// One shot as the film was asked for: its video, the take used and that take's delivered length.
    package struct Shot: Sendable, Equatable {
        package let videoID: ID<Video>
        package let generationID: ID<Generation>
        package let seconds: Double
        package let title: String
    }

    package let id: ID<Film>
    package let projectID: ID<Project>
    package let projectName: String
    /// The email of who made it ("deleted user" once deleted).
    package let startedBy: String
    package let userID: ID<User>
    package let status: Status
    package let transition: Transition
    package let crossfadeMs: Int?
    package let requestedSize: (width: Int, height: Int)?
    package let width: Int?
    package let height: Int?
    package let frameRate: String?
    package let shots: [Shot]
    package let outOfDate: Bool
    package let durationSeconds: Double?
    package let bytes: Int64?
    package let reencoded: Bool?
    /// The store that holds the film's files.
    package let mediaStore: MediaStoreName
    package let videoPath: String?
    package let posterPath: String?
    package let spritesheetPath: String?
    package let error: String?
    package let attempts: Int
    package let createdAt: Timestamp
    package let startedAt: Timestamp?
    package let completedAt: Timestamp?

    package var isActive: Bool { status == .queued || status == .running }
    /// The crossfade in seconds (0 for cuts).
    package var crossfadeSeconds: Double { Double(crossfadeMs ?? 0) / 1000 }
    /// What the film's length must be: the shots' delivered lengths less one crossfade per join.
    package var expectedSeconds: Double {
        shots.reduce(0) { $0 + $1.seconds } - crossfadeSeconds * Double(max(0, shots.count - 1))
    }

    package static let columns: Query = """
        f.id, f.project_id, p.name AS project_name, f.user_id, f.status, f.transition, f.crossfade_ms,
        f.requested_width, f.requested_height, f.width, f.height, f.frame_rate, f.shots::text AS shots,
        f.signature <> storyboard_signature(f.project_id) AS out_of_date,
        f.duration_seconds::text AS duration_seconds, f.bytes, f.reencoded, f.video_path, f.poster_path, f.spritesheet_path, f.media_store,
        f.error, f.attempts, iso(f.created_at) AS created_at, iso(f.started_at) AS started_at, iso(f.completed_at) AS completed_at,
        \(fragment: Access.starter("f.user_id"))
        """

    package init(_ r: Row) {
        id = r.id("id")
        projectID = r.id("project_id")
        projectName = r.string("project_name")
        userID = r.id("user_id")
        startedBy = r["started_by"] ?? ""
        status = Status(rawValue: r.string("status")) ?? .failed
        transition = Transition(rawValue: r.string("transition")) ?? .cut
        crossfadeMs = r.optionalInt("crossfade_ms").map { Int($0) }
        if let w = r.optionalInt("requested_width"), let h = r.optionalInt("requested_height") {
            requestedSize = (Int(w), Int(h))
        } else {
            requestedSize = nil
        }
        width = r.optionalInt("width").map { Int($0) }
        height = r.optionalInt("height").map { Int($0) }
        frameRate = r["frame_rate"]
        shots = Self.shots(json: r.string("shots"))
        outOfDate = r.bool("out_of_date")
        durationSeconds = r["duration_seconds"].flatMap(Double.init)
        bytes = r.optionalInt("bytes")
        reencoded = r["reencoded"].map { $0 == "t" }
        mediaStore = MediaStoreName(r.string("media_store"))
        videoPath = r["video_path"]
        posterPath = r["poster_path"]
        spritesheetPath = r["spritesheet_path"]
        error = r["error"]
        attempts = Int(r.int("attempts"))
        createdAt = r.timestamp("created_at")
        startedAt = r.optionalTimestamp("started_at")
        completedAt = r.optionalTimestamp("completed_at")
    }

    static func shots(json text: String) -> [Shot] {
        guard case let .array(items)? = try? JSONParser.parse(text) else { return [] }
        return items.compactMap { item in
            guard let video = item["videoId"]?.intValue, let generation = item["generationId"]?.intValue,
                case let .number(seconds)? = item["seconds"], let s = Double(seconds)
            else { return nil }
            return Shot(
                videoID: ID(Int64(video)), generationID: ID(Int64(generation)), seconds: s,
                title: item["title"]?.stringValue ?? "")
        }
    }

    static func json(_ shots: [Shot]) -> String {
        JSON.array(
            shots.map {
                .object([
                    ("videoId", .int($0.videoID.rawValue)), ("generationId", .int($0.generationID.rawValue)),
                    ("seconds", .number(String(format: "%.3f", $0.seconds))), ("title", .string($0.title)),
                ])
            }
        ).serialized
    }
}
