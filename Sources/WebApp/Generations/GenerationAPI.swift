// The generation JSON API: start a generation (recorded at once; a worker submits it), read its status
// (from the database only), its history, one generation, and cancel one not yet sent.

import Core
import Formats
import Images
import Postgres
import Telemetry
import Web

enum GenerationAPI {
    /// POST /api/videos/{id}/generate-sora {"settings": {..., "takes"?: 1–4}, "expectedCost"?: total}
    static func generate(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: videoID, userID: user.id) else {
            throw HTTPError.notFound("No such video.")
        }
        let body =
            c.request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 })
            ? JSON.object([]) : try Field.jsonObject(Field.jsonBody(c.request)).root
        let requested = try Catalog.requested(fromJSON: body["settings"])
        let expected = try expectedCost(body["expectedCost"])
        let fit = try imageFit(body["imageFit"])
        let started: Generations.Started
        do {
            started = try c.generations.start(
                user: user, video: video, requested: requested, expectedCost: expected, fit: fit)
        } catch let refusal as Generations.Refusal {
            throw refusal.httpError
        }
        guard let latest = started.latest else { throw HTTPError.notFound("No such video.") }
        return startedAnswer(c, latest: latest, ids: started.takes.map(\.id), total: started.total)
    }

    /// The answer to a click (generate or remix): the latest take's ids, every take's, and the total price.
    static func startedAnswer(
        _ c: Context, latest: Generation, ids: [ID<Generation>], total: USD, extra: [(String, JSON)] = []
    )
        -> Response
    {
        .json(
            .object(
                [
                    ("success", .bool(true)), ("jobId", .string(latest.jobID)), ("generationId", .id(latest.id)),
                    ("generationIds", .array(ids.map(JSON.id))),
                    ("status", .string(GenerationStatus.queued.rawValue)), ("estimatedCost", .number(total.jsonText)),
                    ("message", .string(startedMessage(c))),
                ] + extra))
    }

    /// POST /api/generations/{id}/remix {"prompt", "expectedCost"?}: a new generation of the same video,
    /// sent as the provider's remix of this one.
    static func remix(_ c: inout Context, id: ID<Generation>) throws -> Response {
        let user = try c.requireUser()
        let doc = try Field.jsonObject(Field.jsonBody(c.request))
        let body = doc.root
        let prompt = try Field.text(Field.json(doc, "prompt"), name: "prompt", max: 32000, required: true)
        let expected = try expectedCost(body["expectedCost"])
        let generation: Generation
        do {
            generation = try c.generations.remix(user: user, sourceID: id, prompt: prompt, expectedCost: expected)
        } catch let refusal as Generations.Refusal {
            throw refusal.httpError
        }
        return startedAnswer(
            c, latest: generation, ids: [generation.id], total: generation.estimatedCost,
            extra: [("remixedFromGenerationId", .id(id))])
    }

    /// What a click is told: it is recorded; when it leaves depends on the provider's health.
    static func startedMessage(_ c: Context) -> String {
        (try? ProviderHealth(db: c.db).isDegraded()) == true
            ? "Queued. The video provider is not answering; your generation will start when it is back."
            : "Queued: it is being sent to the video provider."
    }

    /// GET /api/videos/{id}/sora-status — reads the database only (workers keep it current), and not even
    /// that when the latest generation is finished and this process has its answer cached. Carries an
    /// ETag; `If-None-Match` with it answers 304 with no body.
    static func status(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        let now = AnswerCache.now()
        if let cached = c.cache?.status(videoID: videoID, userID: user.id, now: now) {
            return statusResponse(cached.body, etag: cached.etag, request: c.request)
        }
        let epoch = c.cache?.epoch ?? 0
        guard let (takes, estimate) = try c.generations.latestTakes(videoID: videoID, userID: user.id) else {
            throw HTTPError.notFound("No such video.")
        }
        guard let generation = takes.last else {
            throw HTTPError(404, "no_generation", "This video has not been generated yet.")
        }
        // The seed's shape for the latest take, plus every take of the latest click.
        var answer = generation.statusJSON(estimate: estimate)
        if case let .object(pairs) = answer { answer = .object(pairs + [("takes", .array(takes.map(\.takeJSON)))]) }
        let body = Array(answer.serialized.utf8)
        let etag = "\"" + Crypto.base64url(Crypto.sha256(body)).prefix(22) + "\""
        // A finished answer changes only through a NOTIFY'd event (a new generation, an adoption); an
        // in-flight one also by its progress, so it is reused for a second at most.
        c.cache?.store(
            status: .init(
                userID: user.id, body: body, etag: etag,
                expiresAt: takes.contains(where: \.isActive) ? now + AnswerCache.inFlightSeconds : nil),
            videoID: videoID, readAt: epoch)
        return statusResponse(body, etag: etag, request: c.request)
    }

    static func statusResponse(_ body: [UInt8], etag: String, request: Request) -> Response {
        // Clients may keep it but must ask again each time (cheap with If-None-Match).
        let headers = [("Content-Type", "application/json"), ("ETag", etag), ("Cache-Control", "private, no-cache")]
        if request.header("if-none-match")?.split(separator: ",").contains(where: {
            String($0).trimmingSpaces == etag || String($0).trimmingSpaces == "*"
        }) == true {
            return Response(status: 304, headers: headers)
        }
        return Response(status: 200, headers: headers, body: body)
    }

    /// GET /api/videos/{id}/generations — newest first, paged (`?limit=`, `?after=`).
    static func history(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.video(id: videoID, userID: user.id) != nil else { throw HTTPError.notFound("No such video.") }
        let request = try PageRequest.parse(
            c.request.query, list: .generations, scope: videoID.rawValue, userID: user.id)
        let page = try c.generations.store.history(videoID: videoID, userID: user.id, page: request)
        return .json(
            page.json(
                key: "generations", next: page.next(\.id, list: .generations, scope: videoID.rawValue, userID: user.id),
                \.json))
    }

    /// GET /api/generations/{id}
    static func one(_ c: inout Context, id: ID<Generation>) throws -> Response {
        let user = try c.requireUser()
        guard let generation = try c.generations.store.generation(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such generation.")
        }
        return .json(try c.generations.noted(generation).json)
    }

    /// POST /api/generations/{id}/cancel — only before it was sent (409 afterwards: the provider has it).
    static func cancel(_ c: inout Context, id: ID<Generation>) throws -> Response {
        let user = try c.requireUser()
        guard try c.generations.store.generation(id: id, userID: user.id) != nil else {
            throw HTTPError.notFound("No such generation.")
        }
        guard try c.generations.cancel(id: id, userID: user.id), let cancelled = try c.generations.store.byID(id) else {
            throw HTTPError(
                409, "already_sent",
                "This generation is no longer waiting: the video provider has it (or it has finished).")
        }
        return .json(cancelled.json)
    }

    /// How the video's reference image is fitted to the size: "crop" (the default) or "letterbox".
    static func imageFit(_ value: JSON?) throws(InvalidInput) -> FitMode {
        switch value {
        case nil, .null?: return .crop
        case let .string(s)?:
            guard let mode = FitMode(rawValue: s) else {
                throw InvalidInput(field: "imageFit", "must be crop or letterbox")
            }
            return mode
        default: throw InvalidInput(field: "imageFit", "must be crop or letterbox")
        }
    }

    /// A plain, non-negative decimal amount (number or string); anything else is a 422, never a crash.
    static func expectedCost(_ value: JSON?) throws(InvalidInput) -> USD? {
        let text: String
        switch value {
        case nil, .null?: return nil
        case let .number(n)?: text = n
        case let .string(s)?: text = s
        default: throw InvalidInput(field: "expectedCost", "must be a number")
        }
        guard let amount = USD(parsing: text) else {
            throw InvalidInput(field: "expectedCost", "must be a plain decimal amount in dollars, such as 0.40")
        }
        return amount
    }
}
