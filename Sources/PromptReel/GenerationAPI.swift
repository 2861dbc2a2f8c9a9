// The generation JSON API: start a generation (once), read its status (refreshing it from the provider
// at most once per poll interval), its history, and one generation.

import Postgres
import VideoAPI
import Web

enum GenerationAPI {
    /// POST /api/videos/{id}/generate-sora {"settings": {...}, "expectedCost"?: 0.4}
    static func generate(_ c: inout Context, videoID: Int64) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: videoID, userID: user.id) else { throw HTTPError.notFound("No such video.") }
        let body = c.request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 })
            ? JSON.object([]) : try Field.jsonObject(c.request.json()).root
        let requested = try Catalog.requested(fromJSON: body["settings"])
        let expected = try expectedCost(body["expectedCost"])
        let outcome = try start(&c, user: user, video: video, requested: requested, expectedCost: expected)
        return .json(.object(outcome.pairs))
    }

    struct Started {
        let generation: Generation
        let message: String
        var pairs: [(String, JSON)] {
            [("success", .bool(true)), ("jobId", .string(generation.jobID)), ("generationId", .int(generation.id)),
             ("status", .string("queued")), ("estimatedCost", .number(generation.estimatedCost)), ("message", .string(message))]
        }
    }

    /// Records the generation (the database allows one active per video) and submits it at once when a
    /// slot is free. Shared by the JSON API and the confirm page.
    static func start(_ c: inout Context, user: User, video: Video, requested: RequestedSettings,
                      expectedCost: String?) throws -> Started {
        guard !video.finalPrompt.isEmpty else {
            throw HTTPError.validation(field: "final_prompt", "this video has no final prompt yet; write one before generating")
        }
        let engine = try c.engine()  // 503 before anything is recorded when no provider is configured
        let settings = try Catalog.load(c.db).resolve(requested, db: c.db)
        if let expectedCost, !sameAmount(expectedCost, settings.estimatedCost) {
            throw HTTPError(409, "price_changed", "The price for these settings is now $\(settings.estimatedCost), not $\(expectedCost). Review it and confirm again.")
        }
        let id: Int64
        do {
            guard let inserted = try c.generations.insert(videoID: video.id, userID: user.id, settings: settings, prompt: video.finalPrompt) else {
                throw HTTPError.notFound("No such video.")
            }
            id = inserted
        } catch let error as DatabaseError where error.isUniqueViolation {
            throw HTTPError(409, "generation_in_progress", "A generation of this video is already queued or in progress.")
        }
        let outcome = try engine.submit(id: id, failOnRefusal: true)
        let generation = try c.generations.byID(id)
        guard let generation else { throw HTTPError.notFound("No such generation.") }
        switch outcome {
        case .submitted?: return Started(generation: generation, message: "Generation started.")
        case let .refused(error)?: throw providerError(error)
        case .unknown?: return Started(generation: generation, message: "Sent to the video provider; confirming that it arrived.")
        case .waitingLocally?, nil: return Started(generation: generation, message: "Queued: it will be sent when the video provider has a free slot.")
        }
    }

    /// GET /api/videos/{id}/sora-status
    static func status(_ c: inout Context, videoID: Int64) throws -> Response {
        let user = try c.requireUser()
        guard let latest = try c.generations.videoLatest(videoID: videoID, userID: user.id) else {
            throw HTTPError.notFound("No such video.")
        }
        guard var generation = latest else { throw HTTPError(404, "no_generation", "This video has not been generated yet.") }
        if let refreshed = try refresh(&c, generation) { generation = refreshed }
        return .json(generation.statusJSON)
    }

    /// Checks the provider if the generation is in flight and due; the claim in `pollOne` makes this at
    /// most one upstream call per generation per interval, however many callers ask.
    static func refresh(_ c: inout Context, _ generation: Generation) throws -> Generation? {
        guard generation.phase == "submitted", c.config.provider != nil else { return nil }
        do {
            guard try c.engine().pollOne(id: generation.id) else { return nil }
        } catch let error as HTTPError {
            Log.error("status refresh of generation \(generation.id): \(error.logDetail ?? error.publicMessage)")
            return nil
        }
        return try c.generations.byID(generation.id)
    }

    /// GET /api/videos/{id}/generations — newest first.
    static func history(_ c: inout Context, videoID: Int64) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.video(id: videoID, userID: user.id) != nil else { throw HTTPError.notFound("No such video.") }
        return .json(.object([("generations", .array(try c.generations.history(videoID: videoID, userID: user.id).map(\.json)))]))
    }

    /// GET /api/generations/{id}
    static func one(_ c: inout Context, id: Int64) throws -> Response {
        let user = try c.requireUser()
        guard let generation = try c.generations.generation(id: id, userID: user.id) else { throw HTTPError.notFound("No such generation.") }
        return .json(generation.json)
    }

    static func expectedCost(_ value: JSON?) throws(HTTPError) -> String? {
        switch value {
        case nil, .null?: return nil
        case let .number(n)?: return n
        case let .string(s)? where Double(s) != nil: return s
        default: throw .validation(field: "expectedCost", "must be a number")
        }
    }

    /// Compares two decimal amounts as cents ("0.4" equals "0.40").
    static func sameAmount(_ a: String, _ b: String) -> Bool {
        func cents(_ s: String) -> Int64? {
            let parts = s.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count <= 2, let whole = Int64(parts[0]) else { return nil }
            let fraction = parts.count == 2 ? String(parts[1]) : ""
            guard fraction.count <= 2 || fraction.dropFirst(2).allSatisfy({ $0 == "0" }),
                  let f = Int64((fraction + "00").prefix(2)) else { return nil }
            return whole * 100 + f
        }
        guard let x = cents(a), let y = cents(b) else { return false }
        return x == y
    }

    /// A provider refusal as an HTTP error with a fitting status; the log keeps the provider's detail.
    static func providerError(_ error: VideoAPIError) -> HTTPError {
        let detail = error.description
        switch error.kind {
        case .invalidRequest: return HTTPError(422, "provider_rejected", error.publicMessage, logDetail: detail)
        case .rateLimited:
            return HTTPError(429, "provider_rate_limited", error.publicMessage, logDetail: detail,
                             headers: error.retryAfter.map { [("Retry-After", String(Int($0.rounded(.up))))] } ?? [])
        case .badKey: return HTTPError(502, "provider_auth_failed", error.publicMessage, logDetail: detail)
        case .notAllowed: return HTTPError(502, "provider_forbidden", error.publicMessage, logDetail: detail)
        case .timeout: return HTTPError(504, "provider_timeout", error.publicMessage, logDetail: detail)
        default: return HTTPError(503, "provider_unavailable", error.publicMessage, logDetail: detail)
        }
    }
}
