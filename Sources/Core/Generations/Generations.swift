// Starting, reading and cancelling generations: the one service behind both the JSON API and the
// pages. It only records and reads; workers talk to the provider (a click never waits on it).

import Formats
package import Images
package import Postgres

package struct Generations {
    package let db: Connection
    package let config: AppConfig
    /// This process's cache: a click drops the video's cached answers at once, so the same process never
    /// answers the previous generation's status after it (other processes hear the NOTIFY within ms).
    package var cache: AnswerCache? = nil

    package init(db: Connection, config: AppConfig, cache: AnswerCache? = nil) {
        self.db = db
        self.config = config
        self.cache = cache
    }
    package var store: GenerationStore { GenerationStore(db: db) }

    /// Why a click started nothing. The API and the pages each turn these into their own answer.
    package enum Refusal: Error, Sendable {
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
        /// The generation cannot be remixed (see `RemixUnavailable`).
        case remixUnavailable(RemixUnavailable)
        /// The click would pass the user's monthly budget or the instance's cap.
        case budgetExceeded(BudgetExceeded)
    }

    /// What a click started: its takes (oldest first; the last is "the latest") and their total price.
    package struct Started: Sendable {
        package let takes: [Generation]
        package let total: USD
        package var latest: Generation? { takes.last }
    }

    /// Records a click of `requested.takes` (default 1) waiting generations at the price the user confirmed
    /// (`expectedCost`, when given, must be today's total) and wakes the workers; the database allows one
    /// active click per video, so clicking again starts nothing. A video's reference image is fitted to the
    /// generation's size here (`fit`), and every take records both files.
    package func start(user: User, video: Video, requested: RequestedSettings, expectedCost: USD?, fit: FitMode = .crop)
        throws -> Started
    {
        guard !video.finalPrompt.isEmpty else { throw Refusal.noPrompt }
        guard config.videoProviderConfigured else { throw Refusal.providerNotConfigured }
        let settings: ResolvedSettings
        let catalog = try Catalog.load(db)
        do { settings = try catalog.resolve(requested, db: db) } catch let error as SettingsError {
            throw Refusal.invalidSettings(error)
        }
        let takes = requested.takes ?? 1
        guard let total = settings.estimatedCost.times(takes) else {
            throw Refusal.invalidSettings(
                SettingsError(field: .settings, message: "the total for these takes is too large"))
        }
        if let expectedCost, expectedCost != total {
            throw Refusal.priceChanged(now: total, expected: expectedCost)
        }
        let reference = try referenceFrame(
            video: video, user: user, model: catalog.model(named: settings.model), size: settings.size, fit: fit)
        do {
            guard
                let recorded = try store.insertBatch(
                    videoID: video.id, userID: user.id, settings: settings, prompt: video.finalPrompt,
                    takes: takes, reference: reference, mediaStore: config.engine.media.current.name)
            else { throw Refusal.noSuchVideo }
            cache?.invalidate(.video(video.id))
            return Started(takes: recorded, total: total)
        } catch let error as DatabaseError where error.isUniqueViolation {
            throw Refusal.alreadyActive
        } catch let error as DatabaseError where error.isForeignKeyViolation {
            throw Refusal.noSuchVideo  // deleted while this click was being recorded
        } catch let error as BudgetExceeded {
            throw Refusal.budgetExceeded(error)
        }
    }

    // MARK: Remix

    /// Why a generation cannot be remixed, in words a user can act on.
    package enum RemixUnavailable: Error, Sendable, Equatable {
        case notCompleted
        case modelNotOffered(String)
        case modelCannotRemix(String)
        case expired(at: String)

        package var code: String {
            switch self {
            case .notCompleted: "not_completed"
            case .modelNotOffered: "model_not_offered"
            case .modelCannotRemix: "remix_not_supported"
            case .expired: "source_expired"
            }
        }
        package var message: String {
            switch self {
            case .notCompleted: "Only a completed generation can be remixed."
            case let .modelNotOffered(model):
                "\(model) is no longer offered here, so its videos cannot be remixed. Generate again with another model."
            case let .modelCannotRemix(model):
                "\(model) does not support remix (the provider cannot remix its videos). Generate again instead."
            case let .expired(at):
                "The provider kept this video only until \(at); it can no longer remix it. Generate again instead."
            }
        }
    }

    /// Whether `source` can be remixed now, and at what price: the catalog's price for its model,
    /// resolution and seconds. Expiry is the provider's `expires_at`, by the database's clock.
    package func remixOffer(_ source: Generation, catalog: Catalog) throws -> Result<USD, RemixUnavailable> {
        guard source.status == .completed, source.providerJobID != nil else { return .failure(.notCompleted) }
        guard let model = catalog.model(named: source.model) else { return .failure(.modelNotOffered(source.model)) }
        guard model.supportsRemix else { return .failure(.modelCannotRemix(source.model)) }
        // Asked of the database's clock now: a page may show a generation read (and cached) before it expired.
        if let expiresAt = source.providerExpiresAt,
            expiresAt <= (try db.execute("SELECT iso(now()) AS now")[0].timestamp("now"))
        {
            return .failure(.expired(at: expiresAt.minuteText))
        }
        do {
            return .success(
                try Catalog.cost(duration: source.seconds, resolution: source.resolution, model: source.model, db: db))
        } catch is SettingsError {
            return .failure(.modelNotOffered(source.model))
        }
    }

    /// Records a remix of the user's completed generation `sourceID` with a new prompt, priced and confirmed
    /// like any click (`expectedCost`, when given, must be the price); a worker sends it as the provider's remix.
    package func remix(user: User, sourceID: ID<Generation>, prompt: String, expectedCost: USD?) throws -> Generation {
        guard let source = try store.generation(id: sourceID, userID: user.id) else {
            throw NotFound("No such generation.")
        }
        guard config.videoProviderConfigured else { throw Refusal.providerNotConfigured }
        let cost: USD
        switch try remixOffer(source, catalog: Catalog.load(db)) {
        case let .success(price): cost = price
        case let .failure(why): throw Refusal.remixUnavailable(why)
        }
        if let expectedCost, expectedCost != cost { throw Refusal.priceChanged(now: cost, expected: expectedCost) }
        do {
            guard
                let generation = try store.insertRemix(
                    source: source, userID: user.id, prompt: prompt, cost: cost,
                    mediaStore: config.engine.media.current.name)
            else {
                throw NotFound("No such generation.")
            }
            if let videoID = generation.videoID { cache?.invalidate(.video(videoID)) }
            return generation
        } catch let error as DatabaseError where error.isUniqueViolation {
            throw Refusal.alreadyActive
        } catch let error as DatabaseError where error.isForeignKeyViolation {
            throw NotFound("No such generation.")  // its video was deleted meanwhile
        } catch let error as BudgetExceeded {
            throw Refusal.budgetExceeded(error)
        }
    }

    /// The model's image rules applied to the video's reference image, and the fitted frame when it has one.
    package func referenceFrame(video: Video, user: User, model: CatalogModel?, size: String, fit: FitMode) throws
        -> GenerationReference?
    {
        let images = ReferenceImages(
            db: db, stores: config.engine.media, images: config.images,
            defaultQuotaBytes: config.storageQuotaBytes)
        let image = try images.current(videoID: video.id, userID: user.id)
        if let model, image != nil, !model.acceptsImage { throw Refusal.referenceImageNotSupported(model: model.name) }
        if let model, image == nil, model.requiresImage { throw Refusal.referenceImageRequired(model: model.name) }
        return try image.map { try images.fitted($0, size: size, mode: fit) }
    }

    /// The takes of the video's latest click (the latest take last) with, for a take whose provider sends
    /// no progress, the model's usual duration. Nil when the video is not the user's; empty before its
    /// first generation.
    package func latestTakes(videoID: ID<Video>, userID: ID<User>) throws -> (
        takes: [Generation], estimate: DurationEstimate?
    )? {
        guard let takes = try store.latestTakes(videoID: videoID, userID: userID) else { return nil }
        guard let latest = takes.last else { return ([], nil) }
        return (try takes.map(noted), try estimate(for: latest))
    }

    /// The generation with what it waits for, when it is waiting (one query then; none otherwise).
    package func noted(_ g: Generation) throws -> Generation {
        guard g.phase == .waiting, g.chainReady else { return g }
        var noted = g
        noted.queueNote = try store.queueNote(g.id, instanceLimit: config.engine.maxInFlight)
        return noted
    }

    package func estimate(for generation: Generation) throws -> DurationEstimate? {
        guard generation.isActive, !generation.progressKnown else { return nil }
        return try store.durationEstimate(model: generation.model)
    }

    /// Cancels a generation that has not been sent yet; false once it has (the provider has it).
    package func cancel(id: ID<Generation>, userID: ID<User>) throws -> Bool {
        guard let videoID = try store.cancelWaiting(id, userID: userID) else { return false }
        cache?.invalidate(.video(videoID))
        return true
    }
}
