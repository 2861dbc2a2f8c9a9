// The roundtable JSON API: start one (202, a worker runs it), read one or a video's list, accept the
// proposal into the video's final prompt, retry a failed one.

import Core
import Formats
import Telemetry
import Web

enum RoundtableAPI {
    /// POST /api/videos/{id}/roundtable {"preset"?, "feedback"?, "previousRoundtableId"?, "settings"?}
    static func start(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: videoID, userID: user.id) else {
            throw HTTPError.notFound("No such video.")
        }
        let doc =
            c.request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 })
            ? nil : try Field.jsonObject(Field.jsonBody(c.request))
        let previous: ID<Roundtable>?
        switch doc?.root["previousRoundtableId"] {
        case nil, .null?: previous = nil
        case let .number(n)?:
            guard let id = Int64(n), id > 0 else {
                throw InvalidInput(field: "previousRoundtableId", "must be a roundtable id")
            }
            previous = ID(id)
        default: throw InvalidInput(field: "previousRoundtableId", "must be a roundtable id")
        }
        let table = try refusals {
            try c.roundtables.start(
                user: user, video: video, preset: presetChoice(doc),
                feedback: doc.map { try Field.json($0, "feedback") } ?? nil,
                requested: Catalog.requested(fromJSON: doc?.root["settings"]), previous: previous)
        }
        var response = Response.json(
            .object([("roundtableId", .id(table.id)), ("status", .string(table.status.rawValue))]), status: 202)
        response.addHeader("Location", Route.roundtables(.apiRoundtable(table.id)).path)
        return response
    }

    /// GET /api/roundtables/{id}
    static func one(_ c: inout Context, id: ID<Roundtable>) throws -> Response {
        let user = try c.requireUser()
        guard let table = try c.roundtables.store.roundtable(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such roundtable.")
        }
        return .json(table.json(messages: try c.roundtables.store.messages(roundtableID: id)))
    }

    /// GET /api/videos/{id}/roundtables — newest first.
    static func list(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.video(id: videoID, userID: user.id) != nil else { throw HTTPError.notFound("No such video.") }
        let tables = try c.roundtables.store.list(videoID: videoID, userID: user.id)
        return .json(
            .object([
                (
                    "roundtables",
                    .array(try tables.map { $0.json(messages: try c.roundtables.store.messages(roundtableID: $0.id)) })
                )
            ]))
    }

    /// POST /api/roundtables/{id}/accept {"prompt"?} → the video with its new final prompt.
    static func accept(_ c: inout Context, id: ID<Roundtable>) throws -> Response {
        let user = try c.requireUser()
        let doc = c.request.body.isEmpty ? nil : try Field.jsonObject(Field.jsonBody(c.request))
        let edited = try doc.map { try Field.json($0, "prompt") } ?? nil
        let (_, video) = try refusals { try c.roundtables.accept(id: id, user: user, editedPrompt: edited) }
        return .json(API.json(video))
    }

    /// POST /api/roundtables/{id}/retry — a failed one resumes, asking only what is missing.
    static func retry(_ c: inout Context, id: ID<Roundtable>) throws -> Response {
        let user = try c.requireUser()
        let table = try refusals { try c.roundtables.retry(id: id, user: user) }
        return .json(
            .object([("roundtableId", .id(table.id)), ("status", .string(table.status.rawValue))]), status: 202)
    }

    /// Absent: the video's own preset; null or "": none; a name: that preset.
    static func presetChoice(_ doc: JSONDocument?) throws -> String? {
        guard let doc, let value = doc.root["preset"] else { return nil }
        return value.isNull ? "" : try Field.json(doc, "preset") ?? ""
    }

    static func refusals<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let refusal as Roundtables.Refusal { throw refusal.httpError }
    }
}
