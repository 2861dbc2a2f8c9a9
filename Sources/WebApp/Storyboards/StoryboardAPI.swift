// The storyboard JSON API: generate a project's shots in one click, and read a click (a batch) with every
// generation's state.

import Core
import Formats
import Web

enum StoryboardAPI {
    /// POST /api/projects/{id}/generate {"videoIds"?: [...], "settings": {..., "takes"?}, "expectedCost"?}
    static func generate(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        let doc = try Field.jsonObject(Field.jsonBody(c.request))
        let body = doc.root
        var videoIDs: [ID<Video>]?
        switch body["videoIds"] {
        case nil, .null?: videoIDs = nil
        case let .array(items)?:
            guard !items.isEmpty else { throw InvalidInput(field: "videoIds", "must list at least one video") }
            guard items.count <= StoryboardClicks.maxShots else {
                throw StoryboardClicks.Refusal.tooManyShots(chosen: items.count, limit: StoryboardClicks.maxShots)
                    .httpError
            }
            videoIDs = try items.map { item throws(InvalidInput) in
                guard let n = item.intValue, n > 0, case let .number(text) = item, !text.contains(".") else {
                    throw InvalidInput(field: "videoIds", "must be video ids (whole numbers)")
                }
                return ID(Int64(n))
            }
        default: throw InvalidInput(field: "videoIds", "must be an array of video ids")
        }
        var continuity = false
        switch body["continuity"] {
        case nil, .null?: break
        case let .bool(value)?: continuity = value
        default: throw InvalidInput(field: "continuity", "must be true or false")
        }
        let requested = try Catalog.requested(fromJSON: body["settings"])
        let expected = try GenerationAPI.expectedCost(body["expectedCost"])
        let started: StoryboardClicks.Started
        do {
            started = try c.storyboardClicks.start(
                user: user, projectID: project, videoIDs: videoIDs, requested: requested, expectedCost: expected,
                continuity: continuity)
        } catch let refusal as StoryboardClicks.Refusal {
            throw refusal.httpError
        }
        return .json(
            .object([
                ("batchId", .int(started.clickID)), ("estimatedCost", .number(started.total.jsonText)),
                (
                    "generations",
                    .array(
                        started.generations.map {
                            .object([("videoId", .id($0.videoID)), ("generationId", .id($0.generationID))])
                        })
                ),
                ("skipped", skippedJSON(started.skipped.map { ($0.video.id, $0.reason.rawValue) })),
                ("message", .string(GenerationAPI.startedMessage(c))),
            ]))
    }

    /// GET /api/batches/{id}: a click (a storyboard click or one video's) and every generation's state.
    static func batch(_ c: inout Context, id: ID<Batch>) throws -> Response {
        let user = try c.requireUser()
        guard let batch = try Batch.load(id: id.rawValue, userID: user.id, db: c.db) else {
            throw HTTPError.notFound("No such batch.")
        }
        return .json(json(batch))
    }

    static func json(_ b: Batch) -> JSON {
        var counts: [String: Int] = [:]
        for g in b.generations { counts[g.status.rawValue, default: 0] += 1 }
        return .object([
            ("id", .int(b.id)), ("kind", .string(b.kind.rawValue)), ("projectId", b.projectID.map(JSON.id) ?? .null),
            ("status", .string(b.isActive ? "running" : "finished")), ("settings", b.settings.document),
            ("takes", .int(b.takes)), ("continuity", .bool(b.continuity)),
            ("estimatedCost", .number(b.totalCost.jsonText)),
            ("createdAt", .string(b.createdAt.iso)),
            ("counts", .object(counts.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            (
                "shots",
                .array(
                    b.shots.map { shot in
                        .object([
                            ("videoId", shot.videoID.map(JSON.id) ?? .null), ("title", .string(shot.title)),
                            ("position", shot.position.map { .int($0) } ?? .null),
                            ("generations", .array(shot.generations.map(\.json))),
                        ])
                    })
            ),
            ("skipped", skippedJSON(b.skipped)),
        ])
    }

    static func skippedJSON(_ skipped: [(videoID: ID<Video>, reason: String)]) -> JSON {
        .array(skipped.map { .object([("videoId", .id($0.videoID)), ("reason", .string($0.reason))]) })
    }
}
