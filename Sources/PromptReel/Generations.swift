// Starting, reading and cancelling generations: the one service behind both the JSON API and the
// pages. It only records and reads; workers talk to the provider (a click never waits on it).

import Images
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
        /// The video has a reference image and the model makes videos from text only.
        case referenceImageNotSupported(model: String)
        /// The model makes videos only from an image and the video has none.
        case referenceImageRequired(model: String)

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
            case let .referenceImageNotSupported(model):
                HTTPError(422, "reference_image_not_supported",
                          "\(model) does not take a reference image, and this video has one. Remove the image or pick a model that takes one.")
            case let .referenceImageRequired(model):
                HTTPError(422, "reference_image_required", "\(model) makes videos only from an image: upload a reference image to this video first.")
            }
        }
    }

    /// Records a waiting generation at the price the user confirmed (`expectedCost`, when given, must be
    /// today's price) and wakes the workers; the database allows one active generation per video.
    /// A video's reference image is fitted to the generation's size here (`fit`), and both files are recorded.
    func start(user: User, video: Video, requested: RequestedSettings, expectedCost: USD?, fit: FitMode = .crop) throws -> Generation {
        guard !video.finalPrompt.isEmpty else { throw Refusal.noPrompt }
        guard config.provider != nil else { throw Refusal.providerNotConfigured }
        let settings: ResolvedSettings
        let catalog = try Catalog.load(db)
        do { settings = try catalog.resolve(requested, db: db) } catch let error as SettingsError {
            throw Refusal.invalidSettings(error)
        }
        if let expectedCost, expectedCost != settings.estimatedCost {
            throw Refusal.priceChanged(now: settings.estimatedCost, expected: expectedCost)
        }
        let reference = try referenceFrame(video: video, user: user, model: catalog.model(named: settings.model), size: settings.size, fit: fit)
        do {
            guard let id = try store.insert(videoID: video.id, userID: user.id, settings: settings, prompt: video.finalPrompt,
                                            reference: reference),
                  let generation = try store.byID(id) else { throw Refusal.noSuchVideo }
            return generation
        } catch let error as DatabaseError where error.isUniqueViolation {
            throw Refusal.alreadyActive
        }
    }

    /// The model's image rules applied to the video's reference image, and the fitted frame when it has one.
    func referenceFrame(video: Video, user: User, model: CatalogModel?, size: String, fit: FitMode) throws -> GenerationReference? {
        let images = ReferenceImages(db: db, mediaDirectory: config.engine.mediaDirectory)
        let image = try images.current(videoID: video.id, userID: user.id)
        if let model, image != nil, !model.acceptsImage { throw Refusal.referenceImageNotSupported(model: model.name) }
        if let model, image == nil, model.requiresImage { throw Refusal.referenceImageRequired(model: model.name) }
        return try image.map { try images.fitted($0, size: size, mode: fit) }
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
