// Starting, reading and cancelling generations: the one service behind both the JSON API and the
// pages. It only records and reads; workers talk to the provider (a click never waits on it).

import Postgres
import Web

struct Generations {
    let db: Connection
    let config: AppConfig
    var store: GenerationStore { GenerationStore(db: db) }

    /// Why a click started nothing. The API and the pages each turn these into their own answer.
    enum Refusal: Error, Sendable {
        case noSuchVideo
        case noPrompt
        case providerNotConfigured
        case invalidSettings(SettingsError)
        /// The confirmed price is not today's price for these settings.
        case priceChanged(now: USD, expected: USD)
        /// The video already has a queued or in-progress generation.
        case alreadyActive

        var httpError: HTTPError {
            switch self {
            case .noSuchVideo: .notFound("No such video.")
            case .noPrompt: .validation(field: "final_prompt", "this video has no final prompt yet; write one before generating")
            case .providerNotConfigured:
                HTTPError(503, "provider_not_configured", "Video generation is not configured on this server (no OPENAI_API_KEY).")
            case let .invalidSettings(error): error.httpError
            case let .priceChanged(now, expected):
                HTTPError(409, "price_changed", "The price for these settings is now \(now.display), not \(expected.display). Review it and confirm again.")
            case .alreadyActive: HTTPError(409, "generation_in_progress", "A generation of this video is already queued or in progress.")
            }
        }
    }

    /// Records a waiting generation at the price the user confirmed (`expectedCost`, when given, must be
    /// today's price) and wakes the workers; the database allows one active generation per video.
    func start(user: User, video: Video, requested: RequestedSettings, expectedCost: USD?) throws -> Generation {
        guard !video.finalPrompt.isEmpty else { throw Refusal.noPrompt }
        guard config.provider != nil else { throw Refusal.providerNotConfigured }
        let settings: ResolvedSettings
        do { settings = try Catalog.load(db).resolve(requested, db: db) } catch let error as SettingsError {
            throw Refusal.invalidSettings(error)
        }
        if let expectedCost, expectedCost != settings.estimatedCost {
            throw Refusal.priceChanged(now: settings.estimatedCost, expected: expectedCost)
        }
        do {
            guard let id = try store.insert(videoID: video.id, userID: user.id, settings: settings, prompt: video.finalPrompt),
                  let generation = try store.byID(id) else { throw Refusal.noSuchVideo }
            return generation
        } catch let error as DatabaseError where error.isUniqueViolation {
            throw Refusal.alreadyActive
        }
    }

    /// The latest generation of a video with, for a job whose provider sends no progress, the model's
    /// usual duration. Nil when the video is not the user's; `.some(nil)` before its first generation.
    func latest(videoID: Int64, userID: Int64) throws -> (Generation, DurationEstimate?)?? {
        guard let latest = try store.videoLatest(videoID: videoID, userID: userID) else { return nil }
        guard let generation = latest else { return .some(nil) }
        return .some((generation, try estimate(for: generation)))
    }

    func estimate(for generation: Generation) throws -> DurationEstimate? {
        guard generation.isActive, !generation.progressKnown else { return nil }
        return try store.durationEstimate(model: generation.model)
    }

    /// Cancels a generation that has not been sent yet; false once it has (the provider has it).
    func cancel(id: Int64, userID: Int64) throws -> Bool {
        try store.cancelWaiting(id, userID: userID)
    }
}
