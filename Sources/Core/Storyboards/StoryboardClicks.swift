// "Generate shots": one click starts a batch for every chosen shot of a project, with one set of settings,
// at one confirmed total, in one transaction (the budget checked for the total: all or nothing), under a
// storyboard-click row that parents the batches. It records and returns; workers send the generations.

import Formats
package import Postgres

package struct StoryboardClicks {
    package let db: Connection
    package let config: AppConfig
    package var cache: AnswerCache? = nil

    package init(db: Connection, config: AppConfig, cache: AnswerCache? = nil) {
        self.db = db
        self.config = config
        self.cache = cache
    }

    /// At most this many shots start in one click (a longer storyboard is generated in parts).
    package static let maxShots = 50

    /// Why a chosen shot starts nothing in this click.
    package enum SkipReason: String, Sendable, Equatable {
        case generationInProgress = "generation_in_progress"
        case noPrompt = "no_prompt"
        case referenceImageNotSupported = "reference_image_not_supported"
        case referenceImageRequired = "reference_image_required"

        package var message: String {
            switch self {
            case .generationInProgress: "already being generated"
            case .noPrompt: "no final prompt yet"
            case .referenceImageNotSupported: "has a reference image, and this model takes none"
            case .referenceImageRequired: "this model needs a reference image, and the shot has none"
            }
        }
    }

    package struct Skip: Sendable {
        package let video: Video
        package let reason: SkipReason
    }

    /// What a click would start: the shots (in storyboard order), each at `perShot`, and the ones skipped.
    package struct Plan: Sendable {
        package let project: Project
        package let settings: ResolvedSettings
        package let takes: Int
        package let shots: [Video]
        package let skipped: [Skip]
        /// Every shot of the project in order, with whether it was chosen (for the page's checkboxes).
        package let storyboard: [(video: Video, chosen: Bool)]
        package let perShot: USD
        package let total: USD
        /// Each shot starts from the last frame of the shot before (one take per shot).
        package let continuity: Bool
        /// With continuity: what each started shot follows, and that shot's place.
        package let links: [ID<Video>: (link: ChainLink, fromShot: Int)]
        package let references: [ID<Video>: GenerationReference]
    }

    /// What a chained shot starts from: a shot started in the same click, or a completed take already there.
    package enum ChainLink: Sendable, Equatable {
        case shot(ID<Video>)
        case take(ID<Generation>)
    }

    /// Why a click started nothing.
    package enum Refusal: Error, Sendable {
        case noSuchProject
        /// A chosen id is not a video of this project (someone else's, or another project's).
        case noSuchVideo(ID<Video>)
        case emptyStoryboard
        /// No shot was chosen and every shot already has a completed take.
        case nothingChosen
        case duplicateShot(ID<Video>)
        case tooManyShots(chosen: Int, limit: Int)
        case providerNotConfigured
        case invalidSettings(SettingsError)
        case priceChanged(now: USD, expected: USD)
        /// Every chosen shot is already being generated (a second click, another tab).
        case allActive(skipped: [Skip])
        /// No chosen shot can start (no prompt, or the model's image rules), each said in `skipped`.
        case nothingToStart(skipped: [Skip])
        case budgetExceeded(BudgetExceeded)
        /// A continuity click whose shots changed since it was reviewed (one started elsewhere).
        case storyboardChanged
        /// Continuity needs one take per shot.
        case continuityNeedsOneTake
        /// Continuity needs a model that takes a reference image.
        case continuityNotSupported(model: String)
    }

    /// What the click recorded.
    package struct Started: Sendable {
        package let clickID: Int64
        package let total: USD
        package let generations: [(videoID: ID<Video>, generationID: ID<Generation>)]
        package let skipped: [Skip]
    }

    /// Which shots a click of `videoIDs` (nil: every shot without a completed chosen take) starts with
    /// `requested`, at what price, and which it skips. Reference images are fitted here, before anything
    /// is recorded.
    package func plan(
        user: User, projectID: ID<Project>, videoIDs: [ID<Video>]?, requested: RequestedSettings,
        continuity: Bool = false
    ) throws -> Plan {
        guard let project = try Store(db: db).project(id: projectID, userID: user.id) else {
            throw Refusal.noSuchProject
        }
        let all = try db.execute(
            """
            SELECT \(fragment: Store.videoColumns(user.id)),
                   EXISTS (SELECT 1 FROM generation_batches b WHERE b.video_id = v.id AND b.active) AS active
            FROM videos v
            WHERE v.project_id = \(projectID) AND \(fragment: Access.member("\(projectID)::bigint", user.id, atLeast: .editor))
            ORDER BY v.position
            """
        ).map { (Video($0), $0.bool("active")) }
        guard !all.isEmpty else { throw Refusal.emptyStoryboard }
        let chosenIDs: Set<ID<Video>>
        if let videoIDs {
            var seen: Set<ID<Video>> = []
            for id in videoIDs {
                guard seen.insert(id).inserted else { throw Refusal.duplicateShot(id) }
            }
            if let foreign = videoIDs.first(where: { id in !all.contains { $0.0.id == id } }) {
                throw Refusal.noSuchVideo(foreign)
            }
            chosenIDs = seen
        } else {
            chosenIDs = Set(all.filter { $0.0.chosenGenerationID == nil }.map(\.0.id))
        }
        guard !chosenIDs.isEmpty else { throw Refusal.nothingChosen }
        guard chosenIDs.count <= Self.maxShots else {
            throw Refusal.tooManyShots(chosen: chosenIDs.count, limit: Self.maxShots)
        }
        guard config.videoProviderConfigured else { throw Refusal.providerNotConfigured }
        let catalog = try Catalog.load(db)
        let settings: ResolvedSettings
        do { settings = try catalog.resolve(requested, db: db) } catch let error as SettingsError {
            throw Refusal.invalidSettings(error)
        }
        let takes = requested.takes ?? 1
        guard let perShot = settings.estimatedCost.times(takes) else {
            throw Refusal.invalidSettings(
                SettingsError(field: .settings, message: "the total for these takes is too large"))
        }
        let images = ReferenceImages(
            db: db, stores: config.engine.media, images: config.images,
            defaultQuotaBytes: config.storageQuotaBytes)
        let ownImages = try images.current(projectID: projectID, userID: user.id)
        let model = catalog.model(named: settings.model)
        if continuity {
            guard takes == 1 else { throw Refusal.continuityNeedsOneTake }
            guard model?.acceptsImage != false else { throw Refusal.continuityNotSupported(model: settings.model) }
        }
        var shots: [Video] = []
        var skipped: [Skip] = []
        var references: [ID<Video>: GenerationReference] = [:]
        var links: [ID<Video>: (link: ChainLink, fromShot: Int)] = [:]
        for (index, (video, active)) in all.enumerated() where chosenIDs.contains(video.id) {
            if active {
                skipped.append(Skip(video: video, reason: .generationInProgress))
                continue
            }
            guard !video.finalPrompt.isEmpty else {
                skipped.append(Skip(video: video, reason: .noPrompt))
                continue
            }
            // The model's image rules, as for one video: its own image is fitted to the size now.
            if let image = ownImages[video.id] {
                guard model?.acceptsImage != false else {
                    skipped.append(Skip(video: video, reason: .referenceImageNotSupported))
                    continue
                }
                references[video.id] = try images.fitted(image, size: settings.size, mode: .crop)
            } else if model?.requiresImage == true, !continuity || index == 0 {
                // (With continuity the shot before gives it its image, when there is one.)
                skipped.append(Skip(video: video, reason: .referenceImageRequired))
                continue
            }
            // A shot's own image wins over the chain; else it follows the shot before it in the storyboard:
            // that shot's new generation when this click starts one, else its completed chosen take.
            if continuity, references[video.id] == nil, index > 0 {
                let before = all[index - 1].0
                if shots.last?.id == before.id {
                    links[video.id] = (.shot(before.id), before.position)
                } else if let take = before.chosenGenerationID {
                    links[video.id] = (.take(take), before.position)
                } else if model?.requiresImage == true {
                    skipped.append(Skip(video: video, reason: .referenceImageRequired))
                    continue
                }
            }
            shots.append(video)
        }
        guard let total = perShot.times(shots.count) else {
            throw Refusal.invalidSettings(
                SettingsError(field: .settings, message: "the total for these shots is too large"))
        }
        return Plan(
            project: project, settings: settings, takes: takes, shots: shots, skipped: skipped,
            storyboard: all.map { ($0.0, chosenIDs.contains($0.0.id)) }, perShot: perShot, total: total,
            continuity: continuity, links: links, references: references)
    }

    /// Records the click planned by `plan` at the total the user confirmed (`expectedCost`, when given, must
    /// be today's total for the shots that can start), and wakes the workers once.
    package func start(
        user: User, projectID: ID<Project>, videoIDs: [ID<Video>]?, requested: RequestedSettings,
        expectedCost: USD?, continuity: Bool = false
    ) throws -> Started {
        let plan = try plan(
            user: user, projectID: projectID, videoIDs: videoIDs, requested: requested, continuity: continuity)
        guard !plan.shots.isEmpty else {
            if plan.skipped.allSatisfy({ $0.reason == .generationInProgress }) {
                throw Refusal.allActive(skipped: plan.skipped)
            }
            throw Refusal.nothingToStart(skipped: plan.skipped)
        }
        let store = GenerationStore(db: db)
        do {
            let started: Started = try db.transaction {
                // A shot started by another click since the plan is skipped now (a read: the unique index on
                // active batches stays the last word); the confirmed total must still be the total.
                let list = "{" + plan.shots.map(\.id.description).joined(separator: ",") + "}"
                let nowActive = Set(
                    try db.execute(
                        "SELECT video_id FROM generation_batches WHERE video_id = ANY(\(list)::bigint[]) AND active"
                    ).map { $0.id("video_id") as ID<Video> })
                let shots = plan.shots.filter { !nowActive.contains($0.id) }
                let skipped =
                    plan.skipped
                    + plan.shots.filter { nowActive.contains($0.id) }.map {
                        Skip(video: $0, reason: .generationInProgress)
                    }
                guard !shots.isEmpty else { throw Refusal.allActive(skipped: skipped) }
                // A chain whose link started elsewhere meanwhile would send a shot without its frame.
                if plan.continuity, shots.count < plan.shots.count { throw Refusal.storyboardChanged }
                let total = plan.perShot.times(shots.count) ?? plan.total
                if let expectedCost, expectedCost != total {
                    throw Refusal.priceChanged(now: total, expected: expectedCost)
                }
                // Then the budget rows (as every click locks them, before any insert), for the total: all or
                // nothing.
                try Budgets(db: db).reserve(userID: user.id, amount: total)
                let skippedJSON = JSON.array(
                    skipped.map {
                        .object([("videoId", .int($0.video.id.rawValue)), ("reason", .string($0.reason.rawValue))])
                    })
                let clickID = try db.execute(
                    """
                    INSERT INTO storyboard_clicks (project_id, user_id, settings, takes, shots, total_cost, skipped, continuity)
                    VALUES (\(projectID), \(user.id), \(plan.settings.userJSON.serialized)::jsonb, \(plan.takes),
                            \(shots.count), \(total)::numeric, \(skippedJSON.serialized)::jsonb, \(plan.continuity))
                    RETURNING id
                    """)[0].int("id")
                var generations: [(ID<Video>, ID<Generation>)] = []
                var started: [ID<Video>: ID<Generation>] = [:]
                for shot in shots {
                    guard
                        let ids = try store.insertTakes(
                            videoID: shot.id, userID: user.id, settings: plan.settings, prompt: shot.finalPrompt,
                            takes: plan.takes, reference: plan.references[shot.id], storyboardClick: clickID,
                            mediaStore: config.engine.media.current.name)
                    else { throw Refusal.noSuchVideo(shot.id) }  // deleted since the plan
                    generations += ids.map { (shot.id, $0) }
                    started[shot.id] = ids.last
                    // Continuity: it waits (never due) until a worker gives it the last frame it follows.
                    let follows: ID<Generation>? =
                        switch plan.links[shot.id]?.link {
                        case let .shot(video)?: started[video]
                        case let .take(take)?: take
                        case nil: nil
                        }
                    if let follows, let id = ids.last {
                        try db.execute(
                            """
                            UPDATE generations SET chain_previous_id = \(follows), chain_from_shot = \(plan.links[shot.id]?.fromShot),
                                   chain_ready = false, next_attempt_at = 'infinity'
                            WHERE id = \(id)
                            """)
                    }
                }
                try store.wakeWorkers()
                return Started(clickID: clickID, total: total, generations: generations, skipped: skipped)
            }
            for shot in Set(started.generations.map(\.videoID)) { cache?.invalidate(.video(shot)) }
            return started
        } catch let error as DatabaseError where error.isUniqueViolation {
            throw Refusal.allActive(skipped: [])
        } catch let error as BudgetExceeded {
            throw Refusal.budgetExceeded(error)
        }
    }
}
