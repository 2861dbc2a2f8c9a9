// Every SQL statement about generations. Claims are single UPDATE … WHERE id = (SELECT … FOR UPDATE
// SKIP LOCKED) statements that also push `next_attempt_at` forward (a lease): whoever wins the row may
// call the provider for it; everyone else skips it until the lease or the poll interval has passed.

import Formats
import Glibc
import Images
package import Postgres

package struct GenerationStore {
    package let db: Connection

    package init(db: Connection) {
        self.db = db
    }

    /// Every process contends for this lock when counting in-flight jobs, so the limit holds globally.
    package static let submitLockKey: Int64 = 0x5052_5355_424D  // "PRSUBM"

    // MARK: Reading

    package func generation(id: ID<Generation>, userID: ID<User>) throws -> Generation? {
        try db.execute(
            """
            SELECT \(fragment: Generation.columns), \(fragment: Access.starter("g.user_id")) FROM generations g
            WHERE g.id = \(id) AND (g.user_id = \(userID) OR \(fragment: Access.memberOfVideo("g.video_id", userID)))
            """
        ).first.map(Generation.init)
    }

    package func latest(videoID: ID<Video>, userID: ID<User>) throws -> Generation? {
        try db.execute(
            """
            SELECT \(fragment: Generation.columns) FROM generations g
            WHERE g.video_id = \(videoID) AND \(fragment: Access.memberOfVideo("\(videoID)::bigint", userID))
            ORDER BY g.id DESC LIMIT 1
            """
        ).first.map(Generation.init)
    }

    /// The takes of the video's latest click (the batch of its latest generation), oldest first: nil when
    /// the user may not see the video, empty before its first generation. The latest take is the last.
    package func latestTakes(videoID: ID<Video>, userID: ID<User>) throws -> [Generation]? {
        let rows = try db.execute(
            """
            SELECT v.id AS owned_video, \(fragment: Generation.columns), \(fragment: Access.starter("g.user_id"))
            FROM videos v
            LEFT JOIN LATERAL (SELECT id, batch_id FROM generations WHERE video_id = v.id ORDER BY id DESC LIMIT 1) last ON true
            LEFT JOIN LATERAL (SELECT * FROM generations x
                               WHERE x.video_id = v.id AND (x.id = last.id OR x.batch_id = last.batch_id)) g ON true
            WHERE v.id = \(videoID) AND \(fragment: Access.member("v.project_id", userID))
            ORDER BY g.id
            """)
        guard !rows.isEmpty else { return nil }
        return rows.filter { $0["id"] != nil }.map(Generation.init)
    }

    /// Whether the video has a queued or in-progress generation, whoever started it (whatever page of its history
    /// is shown).
    package func hasActive(videoID: ID<Video>, userID: ID<User>) throws -> Bool {
        try db.execute(
            """
            SELECT EXISTS (SELECT 1 FROM generations WHERE video_id = \(videoID)
                           AND \(fragment: Access.memberOfVideo("\(videoID)::bigint", userID))
                           AND status IN ('queued', 'in_progress')) AS active
            """)[0].bool("active")
    }

    /// Whether the provider's copy of a generation has expired, by the database's clock (false when it sent no expiry).
    package func providerCopyExpired(_ id: ID<Generation>) throws -> Bool {
        try db.execute(
            "SELECT coalesce(provider_expires_at <= now(), false) AS expired FROM generations WHERE id = \(id)"
        ).first?.bool("expired") ?? false
    }

    /// The seeds a video's takes were sent with, newest first (at most 8): each take numbered in the order the
    /// video's generations were made (take 1 is its first), for "same seed as take N".
    package func takeSeeds(videoID: ID<Video>, userID: ID<User>) throws -> [(take: Int, seed: Int64)] {
        try db.execute(
            """
            SELECT take, seed FROM (
              SELECT row_number() OVER (ORDER BY id) AS take, settings->>'seed' AS seed
              FROM generations WHERE video_id = \(videoID) AND \(fragment: Access.memberOfVideo("\(videoID)::bigint", userID))) t
            WHERE seed IS NOT NULL ORDER BY take DESC LIMIT 8
            """
        ).compactMap { row in
            VideoParameters(stored: .object([("seed", .number(row.string("seed")))])).seed.map {
                (take: Int(row.int("take")), seed: $0)
            }
        }
    }

    /// One page of a video's generations, newest first.
    package func history(videoID: ID<Video>, userID: ID<User>, page: PageRequest) throws -> Page<Generation> {
        let keyset = page.keyset("g.id")
        return Page(
            rows: try db.execute(
                """
                SELECT \(fragment: Generation.columns), \(fragment: Access.starter("g.user_id")) FROM generations g
                WHERE g.video_id = \(videoID) AND \(fragment: Access.memberOfVideo("\(videoID)::bigint", userID))
                  AND \(fragment: keyset.condition) ORDER BY \(fragment: keyset.order)
                """
            ).map(Generation.init), request: page)
    }

    package func byID(_ id: ID<Generation>) throws -> Generation? {
        try db.execute("SELECT \(fragment: Generation.columns) FROM generations g WHERE g.id = \(id)").first.map(
            Generation.init)
    }

    /// This UTC month's video spend as the budgets count it (`spend_items`, Migrations/0019 — 0014: by the month
    /// of the click, settled rows at their actual cost, rows in flight at their reserved estimate), with
    /// the reserved and the possibly billed parts apart.
    package func monthSpend(userID: ID<User>) throws -> (total: USD, reserved: USD, possiblyBilled: USD) {
        let month = try Budgets.currentMonth(db)
        let row = try db.execute(
            """
            SELECT coalesce(sum(i.spend), 0)::text AS spend,
                   coalesce(sum(i.spend) FILTER (WHERE i.status IN (\(GenerationStatus.queued), \(GenerationStatus.inProgress))), 0)::text AS reserved,
                   coalesce(sum(i.possibly_billed), 0)::text AS possibly_billed
            FROM spend_items i
            WHERE i.kind = 'generation' AND i.user_id = \(userID)
              AND i.created_at >= \(month.start)::timestamptz AND i.created_at < \(month.end)::timestamptz
            """)[0]
        return (
            USD(parsing: row.string("spend")) ?? .zero, USD(parsing: row.string("reserved")) ?? .zero,
            USD(parsing: row.string("possibly_billed")) ?? .zero
        )
    }

    /// The median time from submit to finish of this model's last 200 completed generations.
    package func durationEstimate(model: String) throws -> DurationEstimate {
        let row = try db.execute(
            """
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)::bigint AS median, count(*) AS samples
            FROM (SELECT extract(epoch FROM completed_at - coalesce(submitted_at, created_at)) AS seconds FROM generations
                  WHERE model = \(model) AND status = \(GenerationStatus.completed) ORDER BY id DESC LIMIT 200) recent
            """)[0]
        return DurationEstimate(
            model: model, medianSeconds: row.optionalInt("median"), samples: Int(row.int("samples")))
    }

    // MARK: Creating

    /// Records one waiting generation (a click of one take); see `insertBatch`.
    package func insert(
        videoID: ID<Video>, userID: ID<User>, settings: ResolvedSettings, prompt: String,
        reference: GenerationReference? = nil, mediaStore: MediaStoreName = .local
    ) throws -> ID<Generation>? {
        try insertBatch(
            videoID: videoID, userID: userID, settings: settings, prompt: prompt, takes: 1, reference: reference,
            mediaStore: mediaStore)?.last?
            .id
    }

    /// Records a click: its batch and `takes` waiting generations, each at `settings.estimatedCost` (the
    /// price calculate_sora_generation_cost gave and the user confirmed: the cost shown is the cost
    /// recorded, even if the catalog changes meanwhile), reserves it under the budgets (`BudgetExceeded` when it
    /// does not fit) and wakes the workers, in one transaction. The
    /// partial unique index on batches refuses a second active click for the same video (a unique
    /// violation the caller turns into 409). Every take starts from the same fitted `reference` frame, if
    /// any; its media (and that frame) live in `mediaStore`. Nil when the video is not the user's; else the
    /// takes, oldest first, as recorded (read before the commit wakes a worker, so the click's answer is the
    /// click's state).
    package func insertBatch(
        videoID: ID<Video>, userID: ID<User>, settings: ResolvedSettings, prompt: String, takes: Int,
        reference: GenerationReference? = nil, mediaStore: MediaStoreName
    ) throws -> [Generation]? {
        try db.transaction {
            // The click reserves its total under the budgets first (budget rows are always locked before the
            // video's rows, as in a roundtable's insert), or records nothing.
            try Budgets(db: db).reserve(
                userID: userID, amount: settings.estimatedCost.times(takes) ?? USD(micros: .max))
            guard
                let ids = try insertTakes(
                    videoID: videoID, userID: userID, settings: settings, prompt: prompt, takes: takes,
                    reference: reference, mediaStore: mediaStore)
            else { return nil }
            try wakeWorkers()
            return try ids.compactMap { try byID($0) }
        }
    }

    /// A click's batch and its `takes` waiting generations for one video, inside the caller's transaction
    /// (which reserves the budget and wakes the workers). `storyboardClick` names the storyboard click this
    /// batch is one shot of; `mediaStore` the store that will hold the takes' media and holds `reference`'s files.
    /// Nil when the video is not the user's; else the takes' ids, oldest first.
    package func insertTakes(
        videoID: ID<Video>, userID: ID<User>, settings: ResolvedSettings, prompt: String, takes: Int,
        reference: GenerationReference?, storyboardClick: Int64? = nil, mediaStore: MediaStoreName
    ) throws -> [ID<Generation>]? {
        var api: [(String, JSON)] = [
            ("model", .string(settings.providerModel)), ("seconds", .string(settings.apiSeconds)),
            ("size", .string(settings.size)),
        ]
        if let fps = settings.fps, let frames = settings.numFrames {
            api += [("fps", .int(fps)), ("num_frames", .int(frames))]
        }
        var parameters = settings.parameters
        parameters.seed = nil  // each take's own, below
        let settingsJSON = JSON.object(
            [
                ("model", .string(settings.model)), ("duration", .int(settings.duration)),
                ("aspect_ratio", .string(settings.aspectRatio)), ("resolution", .string(settings.resolution)),
                ("takes", .int(takes)), ("api", .object(api)),
            ] + parameters.members
        ).serialized
        // A model that takes a seed gets one per take, recorded, so any take can be made again ("same seed as
        // take N"): the one asked for, then +1 per take; without one, a random start.
        let seeded = settings.declared.contains(.seed)
        let firstSeed = settings.parameters.seed ?? Int64.random(in: 0...VideoParameters.maxSeed)
        guard
            let batch = try db.execute(
                """
                INSERT INTO generation_batches (video_id, user_id, takes, total_cost, storyboard_click_id)
                SELECT v.id, \(userID), \(takes), \(settings.estimatedCost)::numeric * \(takes), \(storyboardClick)
                FROM videos v WHERE v.id = \(videoID) AND \(fragment: Access.member("v.project_id", userID, atLeast: .editor))
                RETURNING id
                """
            ).first?.int("id")
        else { return nil }
        return try db.execute(
            """
            INSERT INTO generations (video_id, user_id, batch_id, settings, prompt, model, seconds, size, resolution, estimated_cost,
                                     reference_path, reference_content_type, reference_width, reference_height, reference_sha256,
                                     reference_fit, reference_fitted_path, provider, provider_model, usd_per_gpu_second, media_store)
            SELECT \(videoID), \(userID), \(batch),
                   CASE WHEN \(seeded) THEN \(settingsJSON)::jsonb || jsonb_build_object('seed', (\(firstSeed)::bigint + n - 1) % 4294967296)
                        ELSE \(settingsJSON)::jsonb END, \(prompt), \(settings.model), \(settings.duration),
                   \(settings.size), \(settings.resolution), \(settings.estimatedCost)::numeric,
                   \(reference?.originalPath), \(reference?.format.contentType), \(reference?.width), \(reference?.height),
                   \(reference?.sha256), \(reference?.fit.rawValue), \(reference?.fittedPath), \(settings.provider),
                   \(settings.providerModel), \(settings.gpuPricing?.usdPerGPUSecond)::numeric, \(mediaStore.rawValue)
            FROM generate_series(1, \(takes)) AS n
            RETURNING id
            """
        ).map { $0.id("id") as ID<Generation> }.sorted()
    }

    /// Records a remix of a finished generation as a click of its own (one take) on the same video:
    /// the original's settings, the new prompt, at `cost` (the catalog's price for the original's model,
    /// size and seconds, as confirmed). Nil when the source is not the user's; else the remix as recorded
    /// (read before the commit wakes a worker).
    package func insertRemix(
        source: Generation, userID: ID<User>, prompt: String, cost: USD, mediaStore: MediaStoreName
    ) throws -> Generation? {
        guard let sourceJob = source.providerJobID else { return nil }
        return try db.transaction {
            try Budgets(db: db).reserve(userID: userID, amount: cost)
            guard
                let batch = try db.execute(
                    """
                    INSERT INTO generation_batches (video_id, user_id, takes, total_cost)
                    SELECT v.id, \(userID), 1, \(cost)::numeric
                    FROM videos v
                    WHERE v.id = \(source.videoID) AND \(fragment: Access.member("v.project_id", userID, atLeast: .editor))
                    RETURNING id
                    """
                ).first?.int("id")
            else { return nil }
            let id =
                try db.execute(
                    """
                    INSERT INTO generations (video_id, user_id, batch_id, settings, prompt, model, seconds, size, resolution, estimated_cost,
                                             remixed_from_generation_id, remix_source_job_id, provider, provider_model, media_store)
                    SELECT video_id, \(userID), \(batch), settings - 'takes', \(prompt), model, seconds, size, resolution, \(cost)::numeric, id, \(sourceJob),
                           provider, provider_model, \(mediaStore.rawValue)
                    FROM generations WHERE id = \(source.id) AND video_id = \(source.videoID)
                    RETURNING id
                    """
                ).first?.id("id") as ID<Generation>?
            guard let id else { return nil }
            try wakeWorkers()
            return try byID(id)
        }
    }

    /// Delivered to listening workers when the surrounding transaction commits.
    package func wakeWorkers() throws {
        try NotifyChannel.generations.notify(db)
    }

    // MARK: Claiming

    /// Session advisory locks, one per generation: held while a process works on it upstream and
    /// released at once when that process dies (its connection closes), so another worker can resume
    /// without waiting out a lease.
    package static func lockKey(_ id: ID<Generation>) -> Int64 { 0x5052 << 48 | id.rawValue }

    package func unlock(_ id: ID<Generation>) {
        _ = try? db.execute("SELECT pg_advisory_unlock(\(GenerationStore.lockKey(id)))")
    }

    package enum Claim {
        case submit(maxInFlight: Int, reconcileAfter: Double)
        case orphan(retryAfter: Double)
        case poll(retryAfter: Double)
        case download(retryAfter: Double)

        package var phase: GenerationPhase {
            switch self {
            case .submit: .waiting
            case .orphan: .submitting
            case .poll: .submitted
            case .download: .downloading
            }
        }
    }

    /// Claims one due generation in `claim`'s phase (or exactly `id`, if due): rows are picked with
    /// FOR UPDATE SKIP LOCKED, taken only if no live process holds their advisory lock, and updated
    /// so `next_attempt_at` moves on (at most one upstream call per generation per interval).
    /// The caller must `unlock` the returned generation's id when done.
    /// `providers`: only generations of these providers (the ones the caller has a client for; nil: any);
    /// a create is never claimed for a disabled provider.
    /// `providers` and `stores`: only generations of these providers whose media live in these stores (a worker
    /// takes no job it could not finish).
    package func claim(
        _ claim: Claim, id: ID<Generation>? = nil, providers: [String]? = nil, stores: [MediaStoreName]? = nil
    ) throws -> Generation? {
        try db.transaction {
            if case let .submit(maxInFlight, _) = claim {
                // Counting and claiming under one lock keeps the in-flight limit across all processes;
                // nothing new is sent to a provider while its breaker pauses creates (the filter below).
                try db.execute("SELECT pg_advisory_xact_lock(\(GenerationStore.submitLockKey))")
                let state = try db.execute(
                    """
                    SELECT (SELECT count(*) FROM generations WHERE phase IN (\(GenerationPhase.submitting), \(GenerationPhase.submitted))) AS n
                    """)[0]
                guard state.int("n") < maxInFlight else { return nil }
            }
            let filter: Query = id.map { "AND id = \($0)" } ?? "AND true"
            let ofProvider: Query =
                providers.map { "AND provider = ANY(\("{" + $0.joined(separator: ",") + "}")::text[])" } ?? "AND true"
            let ofStore: Query =
                stores.map { "AND media_store = ANY(string_to_array(\(MediaStoreName.lines($0)), E'\\n'))" }
                ?? "AND true"
            let mine: Query = "\(fragment: ofProvider) \(fragment: ofStore)"
            let open: Query =
                if case .submit = claim {
                    """
                    AND provider NOT IN (SELECT name FROM providers WHERE NOT enabled)
                    AND provider NOT IN (SELECT provider FROM provider_health WHERE paused_until > now())
                    """
                } else {
                    "AND true"
                }
            let candidates: [ID<Generation>]
            if case .submit = claim {
                candidates = try submitCandidates(filter: filter, mine: mine, open: open)
            } else {
                candidates = try db.execute(
                    """
                    SELECT id FROM generations WHERE phase = \(claim.phase) AND next_attempt_at <= now() \(fragment: filter)
                      \(fragment: mine) \(fragment: open)
                    ORDER BY next_attempt_at, id LIMIT 32 FOR UPDATE SKIP LOCKED
                    """
                ).map { $0.id("id") as ID<Generation> }
            }
            for candidate in candidates {
                guard
                    try db.execute("SELECT pg_try_advisory_lock(\(GenerationStore.lockKey(candidate))) AS ok")[0].bool(
                        "ok")
                else { continue }
                do {
                    let set: Query =
                        switch claim {
                        case let .submit(_, after):
                            "phase = \(GenerationPhase.submitting), submit_started_at = now(), submit_attempts = submit_attempts + 1, next_attempt_at = now() + make_interval(secs => \(after))"
                        case let .orphan(after):
                            "next_attempt_at = now() + make_interval(secs => \(after)), polls = polls + 1"
                        case let .poll(after):
                            "next_attempt_at = now() + make_interval(secs => \(after)), last_checked_at = now(), polls = polls + 1"
                        case let .download(after):
                            "next_attempt_at = now() + make_interval(secs => \(after)), download_attempts = download_attempts + 1"
                        }
                    if let claimed = try db.execute(
                        """
                        UPDATE generations g SET \(fragment: set)
                        WHERE g.id = \(candidate) AND g.phase = \(claim.phase) AND g.next_attempt_at <= now()
                        RETURNING \(fragment: Generation.columns)
                        """
                    ).first.map(Generation.init) {
                        return claimed
                    }
                } catch {
                    unlock(candidate)
                    throw error
                }
                unlock(candidate)
            }
            return nil
        }
    }

    /// The waiting generations a create may be sent for now, in the queue's one order: round-robin across
    /// users (each user's oldest first, then each one's second…, a user's jobs already in flight counting as
    /// turns taken), so one user's 40-shot storyboard does not starve another's single click; only where the provider's and the model's in-flight limits leave a
    /// slot. Called under the submit lock (which serialises every create claim), so no row lock is needed.
    private func submitCandidates(filter: Query, mine: Query, open: Query) throws -> [ID<Generation>] {
        try db.execute(
            """
            WITH busy AS (
              SELECT provider, model, user_id, count(*) AS n FROM generations
              WHERE phase IN (\(GenerationPhase.submitting), \(GenerationPhase.submitted)) GROUP BY provider, model, user_id
            ), due AS (
              SELECT id, user_id, created_at, provider, model,
                     row_number() OVER (PARTITION BY user_id ORDER BY created_at, id)
                       + coalesce((SELECT sum(n) FROM busy b WHERE b.user_id = generations.user_id), 0) AS turn
              FROM generations
              WHERE phase = \(GenerationPhase.waiting) AND next_attempt_at <= now() \(fragment: filter) \(fragment: mine) \(fragment: open)
            )
            SELECT d.id FROM due d
            LEFT JOIN providers p ON p.name = d.provider
            LEFT JOIN video_models m ON m.name = d.model
            WHERE (p.max_in_flight IS NULL OR coalesce((SELECT sum(n) FROM busy b WHERE b.provider = d.provider), 0) < p.max_in_flight)
              AND (m.max_in_flight IS NULL OR coalesce((SELECT sum(n) FROM busy b WHERE b.model = d.model), 0) < m.max_in_flight)
            ORDER BY d.turn, d.created_at, d.id LIMIT 32
            """
        ).map { $0.id("id") as ID<Generation> }
    }

    /// What a waiting generation waits for, in the queue's own order (`submitCandidates`): the first full limit
    /// among its model's, its provider's and the instance's, with how many waiting jobs come before it there.
    /// Nil when no limit is full (it is about to be sent, or waits for a retry).
    package func queueNote(_ id: ID<Generation>, instanceLimit: Int) throws -> String? {
        guard
            let row = try db.execute(
                """
                WITH busy AS (
                  SELECT provider, model, user_id, count(*) AS n FROM generations
                  WHERE phase IN (\(GenerationPhase.submitting), \(GenerationPhase.submitted)) GROUP BY provider, model, user_id
                ), waiting AS (
                  SELECT id, created_at, provider, model,
                         row_number() OVER (PARTITION BY user_id ORDER BY created_at, id)
                           + coalesce((SELECT sum(n) FROM busy b WHERE b.user_id = generations.user_id), 0) AS turn
                  FROM generations WHERE phase = \(GenerationPhase.waiting) AND chain_ready
                ), me AS (SELECT * FROM waiting WHERE id = \(id)),
                ahead AS (SELECT w.* FROM waiting w, me WHERE (w.turn, w.created_at, w.id) < (me.turn, me.created_at, me.id))
                SELECT me.model, me.provider, m.max_in_flight AS model_limit, p.max_in_flight AS provider_limit,
                       (SELECT coalesce(sum(n), 0) FROM busy WHERE busy.model = me.model) AS model_busy,
                       (SELECT coalesce(sum(n), 0) FROM busy WHERE busy.provider = me.provider) AS provider_busy,
                       (SELECT coalesce(sum(n), 0) FROM busy) AS all_busy,
                       (SELECT count(*) FROM ahead WHERE ahead.model = me.model) AS model_ahead,
                       (SELECT count(*) FROM ahead WHERE ahead.provider = me.provider) AS provider_ahead,
                       (SELECT count(*) FROM ahead) AS all_ahead
                FROM me LEFT JOIN video_models m ON m.name = me.model LEFT JOIN providers p ON p.name = me.provider
                """
            ).first
        else { return nil }
        func ahead(_ column: String) -> String {
            let n = row.int(column)
            return n == 0 ? "next in line" : "\(n) ahead of you"
        }
        if let limit = row.optionalInt("model_limit"), row.int("model_busy") >= limit {
            return "Waiting for a free slot on \(row.string("model")): \(limit) at a time, \(ahead("model_ahead"))."
        }
        if let limit = row.optionalInt("provider_limit"), row.int("provider_busy") >= limit {
            return
                "Waiting for a free slot at provider \(row.string("provider")): \(limit) at a time, \(ahead("provider_ahead"))."
        }
        if row.int("all_busy") >= instanceLimit {
            return "Waiting for a free slot: this PromptReel sends \(instanceLimit) at a time, \(ahead("all_ahead"))."
        }
        return nil
    }

    /// The provider accepted the job (or it was found in the list): record its id, then its first state.
    package func recordSubmitted(
        _ id: ID<Generation>, providerJobID: String, requestID: String?, nextPollSeconds: Double
    ) throws
        -> Bool
    {
        try !db.execute(
            """
            UPDATE generations SET phase = \(GenerationPhase.submitted), provider_job_id = \(providerJobID), provider_request_id = \(requestID),
                   submitted_at = now(), last_checked_at = now(), error_code = NULL, error_message = NULL,
                   next_attempt_at = now() + make_interval(secs => \(nextPollSeconds))
            WHERE id = \(id) AND phase = \(GenerationPhase.submitting)
            RETURNING id
            """
        ).isEmpty
    }

    /// Back to the local queue: nothing was created (a 429, a 503, a refused connection).
    package func retrySubmitLater(_ id: ID<Generation>, afterSeconds: Double, note: String) throws {
        try db.execute(
            """
            UPDATE generations SET phase = \(GenerationPhase.waiting), next_attempt_at = now() + make_interval(secs => \(afterSeconds)),
                   error_message = \(note)
            WHERE id = \(id) AND phase = \(GenerationPhase.submitting)
            """)
    }

    /// Leaves the intent in place for the reconciler to settle (the create's outcome is unknown).
    package func reconcileLater(_ id: ID<Generation>, afterSeconds: Double) throws {
        try db.execute(
            """
            UPDATE generations SET next_attempt_at = now() + make_interval(secs => \(afterSeconds))
            WHERE id = \(id) AND phase = \(GenerationPhase.submitting)
            """)
    }

    /// A create was sent but nobody can say whether the job exists: failed, possibly billed at the
    /// estimate, and never resent.
    package func markUnconfirmed(_ id: ID<Generation>, message: String) throws {
        try db.execute(
            """
            UPDATE generations SET phase = \(GenerationPhase.unconfirmed), status = \(GenerationStatus.failed),
                   error_code = \(GenerationErrorCode.unconfirmed), error_message = \(message),
                   possibly_billed = true, actual_cost = estimated_cost, completed_at = now()
            WHERE id = \(id) AND phase = \(GenerationPhase.submitting)
            """)
    }

    package enum AdoptError: Error, Equatable {
        case noSuchGeneration
        case notUnconfirmed(GenerationPhase)
        case videoHasActiveGeneration
        case jobAlreadyAttached
        case database(String)
    }

    /// Attaches the job an operator found at the provider to an unconfirmed generation, which is then
    /// polled and downloaded normally (and the workers woken).
    package func adopt(_ id: ID<Generation>, providerJobID: String) throws(AdoptError) {
        do {
            try db.transaction {
                guard let row = try db.execute("SELECT phase FROM generations WHERE id = \(id) FOR UPDATE").first else {
                    throw AdoptError.noSuchGeneration
                }
                let phase = GenerationPhase(rawValue: row.string("phase")) ?? .done
                guard phase == .unconfirmed else { throw AdoptError.notUnconfirmed(phase) }
                try db.execute(
                    """
                    UPDATE generations SET phase = \(GenerationPhase.submitted), status = \(GenerationStatus.queued),
                           provider_job_id = \(providerJobID), possibly_billed = false, actual_cost = NULL, completed_at = NULL,
                           error_code = NULL, error_message = NULL, submitted_at = now(), next_attempt_at = now()
                    WHERE id = \(id)
                    """)
                try wakeWorkers()
            }
        } catch let error as AdoptError {
            throw error
        } catch let DatabaseError.uniqueViolation(constraint, _) {
            throw constraint == "generation_batches_one_active_per_video"
                ? .videoHasActiveGeneration : .jobAlreadyAttached
        } catch {
            throw .database(String(describing: error))
        }
    }

    /// Another generation with the same prompt and settings whose create is in flight: a job in the
    /// provider's list could be its, so it must not be adopted by this one.
    package func twinSubmitting(_ g: Generation) throws -> Bool {
        try !db.execute(
            """
            SELECT 1 FROM generations WHERE id <> \(g.id) AND phase = \(GenerationPhase.submitting) AND prompt = \(g.prompt)
               AND model = \(g.model) AND size = \(g.size) AND seconds = \(g.seconds) LIMIT 1
            """
        ).isEmpty
    }

    package func isAdopted(providerJobID: String) throws -> Bool {
        try !db.execute("SELECT 1 FROM generations WHERE provider_job_id = \(providerJobID)").isEmpty
    }

    /// Seconds since the intent was written, measured by the database's clock.
    package func submitStartedEpoch(_ id: ID<Generation>) throws -> Double? {
        try db.execute("SELECT extract(epoch FROM submit_started_at)::float8 AS t FROM generations WHERE id = \(id)")
            .first?["t"].flatMap(Double.init)
    }

    /// Cancels a generation that was never sent (nothing to bill). False when it is no longer waiting.
    /// The cancelled generation's video, or nil when nothing was cancelled.
    package func cancelWaiting(_ id: ID<Generation>, userID: ID<User>) throws -> ID<Video>? {
        try db.execute(
            """
            UPDATE generations SET \(fragment: Self.cancelled)
            WHERE id = \(id) AND \(fragment: Access.memberOfVideo("video_id", userID, atLeast: .editor))
              AND phase = \(GenerationPhase.waiting)
            RETURNING video_id
            """
        ).first?.optionalID("video_id")
    }

    /// A disabled user's clicks that were never sent end as cancelled (nothing charged, the reservation
    /// released); work already at the provider finishes, since it may be billed either way.
    @discardableResult
    package func cancelAllWaiting(userID: ID<User>) throws -> Int {
        try db.execute(
            """
            UPDATE generations SET \(fragment: Self.cancelled)
            WHERE user_id = \(userID) AND phase = \(GenerationPhase.waiting) RETURNING id
            """
        ).count
    }

    private static let cancelled: Query = """
        status = \(GenerationStatus.failed), phase = \(GenerationPhase.done), error_code = \(GenerationErrorCode.cancelled),
        error_message = 'Cancelled before it was sent to the video provider. Nothing was charged.', actual_cost = 0, completed_at = now()
        """

    // MARK: Polling

    /// Applies an in-flight state from the provider. `progress` nil: the provider sends none.
    package func recordProgress(
        _ id: ID<Generation>, status: GenerationStatus, providerStatus: String?, progress: Int?, nextPollSeconds: Double
    ) throws {
        try db.execute(
            """
            UPDATE generations SET status = \(status), progress = greatest(progress, \(max(0, min(99, progress ?? 0)))),
                   progress_known = progress_known OR \(progress != nil), provider_status = coalesce(\(providerStatus), provider_status),
                   started_at = CASE WHEN \(status == .inProgress) THEN coalesce(started_at, now()) ELSE started_at END,
                   next_attempt_at = now() + make_interval(secs => \(nextPollSeconds)), poll_errors = 0
            WHERE id = \(id) AND phase = \(GenerationPhase.submitted)
            """)
    }

    /// Only moves the next poll (a failed poll). `upstreamError`: the provider answered 5xx, one more in a row
    /// (anything else starts the count again). Returns how many 5xx answers in a row the job has had.
    @discardableResult
    package func pollLater(_ id: ID<Generation>, afterSeconds: Double, upstreamError: Bool = false) throws -> Int {
        Int(
            try db.execute(
                """
                UPDATE generations SET next_attempt_at = now() + make_interval(secs => \(afterSeconds)),
                       poll_errors = CASE WHEN \(upstreamError) THEN poll_errors + 1 ELSE 0 END
                WHERE id = \(id) AND phase = \(GenerationPhase.submitted)
                RETURNING poll_errors
                """
            ).first?.int("poll_errors") ?? 0)
    }

    /// The GPU time the provider reported for the job (`inference_time_s`, already range-checked).
    package func recordGPUSeconds(_ id: ID<Generation>, _ seconds: Double) throws {
        try db.execute(
            "UPDATE generations SET gpu_seconds = round(\(String(seconds))::numeric, 3) WHERE id = \(id)")
    }

    /// The provider finished: keep its real seconds and size, and hand over to the downloads, which
    /// may keep trying until the provider's copy expires (or `deadlineSeconds` when it gives no expiry).
    package func recordProviderCompleted(_ id: ID<Generation>, video: CompletedJob, deadlineSeconds: Int) throws {
        // An expiry in the past, or more than a day ahead (milliseconds sent as seconds), is not believed.
        let now = Int(time(nil))
        let expiresAt = video.expiresAt.flatMap { $0 > now && $0 < now + 86_400 ? Int64($0) : nil }
        // For remixes: what the provider said, even if already past (then it cannot remix); a value
        // beyond a year is milliseconds or nonsense, and not kept.
        let providerExpiresAt = video.expiresAt.flatMap { $0 > 0 && $0 < now + 366 * 86_400 ? Int64($0) : nil }
        try db.execute(
            """
            UPDATE generations SET phase = \(GenerationPhase.downloading), status = \(GenerationStatus.inProgress), progress = 100,
                   provider_status = \(video.rawStatus), started_at = coalesce(started_at, now()),
                   result_seconds = \(video.seconds), result_size = \(video.size),
                   expires_at = coalesce(to_timestamp(\(expiresAt)::float8), now() + make_interval(secs => \(deadlineSeconds))),
                   provider_expires_at = to_timestamp(\(providerExpiresAt)::float8),
                   next_attempt_at = now()
            WHERE id = \(id) AND phase = \(GenerationPhase.submitted)
            """)
    }

    /// What the provider says of a finished job, in the words the generation row keeps.
    package struct CompletedJob: Sendable {
        package var rawStatus: String
        package var seconds: String?
        package var size: String?
        /// Unix seconds, as the provider sent it (checked before it is kept).
        package var expiresAt: Int?
        package init(rawStatus: String, seconds: String? = nil, size: String? = nil, expiresAt: Int? = nil) {
            self.rawStatus = rawStatus
            self.seconds = seconds
            self.size = size
            self.expiresAt = expiresAt
        }
    }

    /// Ends a generation as failed. `possiblyBilled`: the provider may have made and billed it (a
    /// timeout, a video we could not get): it then counts at its estimate, never $0.
    @discardableResult
    package func fail(_ id: ID<Generation>, code: GenerationErrorCode, message: String, possiblyBilled: Bool = false)
        throws
        -> Bool
    {
        try !db.execute(
            """
            UPDATE generations SET status = \(GenerationStatus.failed), phase = \(GenerationPhase.done), error_code = \(code),
                   error_message = \(message), possibly_billed = \(possiblyBilled),
                   actual_cost = CASE WHEN \(possiblyBilled) THEN estimated_cost ELSE 0 END, completed_at = now()
            WHERE id = \(id) AND phase NOT IN (\(GenerationPhase.done), \(GenerationPhase.unconfirmed))
            RETURNING id
            """
        ).isEmpty
    }

    /// Submitted longer than the timeout: failed and possibly billed (the provider may still finish it).
    package func failTimedOut(afterSeconds: Int, message: String) throws -> [ID<Generation>] {
        try db.execute(
            """
            UPDATE generations SET status = \(GenerationStatus.failed), phase = \(GenerationPhase.done),
                   error_code = \(GenerationErrorCode.timeout), error_message = \(message),
                   possibly_billed = true, actual_cost = estimated_cost, completed_at = now()
            WHERE phase = \(GenerationPhase.submitted) AND submitted_at < now() - make_interval(secs => \(afterSeconds))
            RETURNING id
            """
        ).map { $0.id("id") }
    }

    // MARK: Downloading

    /// A stored file; `source` says whether a preview came from the provider or was made locally.
    package func recordAsset(
        _ id: ID<Generation>, _ asset: MediaAsset, path: String, bytes: Int, sha256: String,
        source: PreviewSource = .provider
    ) throws {
        switch asset {
        case .video:
            try db.execute(
                "UPDATE generations SET video_path = \(path), video_bytes = \(bytes), video_sha256 = \(sha256) WHERE id = \(id) AND phase = \(GenerationPhase.downloading)"
            )
        case .thumbnail:
            try db.execute(
                """
                UPDATE generations SET thumbnail_path = \(path), thumbnail_bytes = \(bytes), thumbnail_sha256 = \(sha256), thumbnail_source = \(source.rawValue)
                WHERE id = \(id) AND phase = \(GenerationPhase.downloading)
                """)
        case .spritesheet:
            try db.execute(
                """
                UPDATE generations SET spritesheet_path = \(path), spritesheet_bytes = \(bytes), spritesheet_sha256 = \(sha256), spritesheet_source = \(source.rawValue)
                WHERE id = \(id) AND phase = \(GenerationPhase.downloading)
                """)
        }
    }

    /// Completed generations whose video is stored but whose poster or spritesheet is not.
    package func completedWithoutPreviews() throws -> [Generation] {
        try db.execute(
            """
            SELECT \(fragment: Generation.columns) FROM generations g
            WHERE g.status = \(GenerationStatus.completed) AND g.phase = \(GenerationPhase.done) AND g.video_path IS NOT NULL
              AND (g.thumbnail_path IS NULL OR g.spritesheet_path IS NULL)
            ORDER BY g.id
            """
        ).map(Generation.init)
    }

    /// A preview made locally after completion; false when the row no longer wants it (its video was
    /// deleted meanwhile, or another run stored one first).
    package func recordLocalPreview(_ id: ID<Generation>, _ asset: MediaAsset, path: String, bytes: Int, sha256: String)
        throws
        -> Bool
    {
        let local = PreviewSource.local.rawValue
        switch asset {
        case .thumbnail:
            return try !db.execute(
                """
                UPDATE generations SET thumbnail_path = \(path), thumbnail_bytes = \(bytes), thumbnail_sha256 = \(sha256), thumbnail_source = \(local)
                WHERE id = \(id) AND phase = \(GenerationPhase.done) AND video_path IS NOT NULL AND thumbnail_path IS NULL RETURNING id
                """
            ).isEmpty
        case .spritesheet:
            return try !db.execute(
                """
                UPDATE generations SET spritesheet_path = \(path), spritesheet_bytes = \(bytes), spritesheet_sha256 = \(sha256), spritesheet_source = \(local)
                WHERE id = \(id) AND phase = \(GenerationPhase.done) AND video_path IS NOT NULL AND spritesheet_path IS NULL RETURNING id
                """
            ).isEmpty
        case .video:
            return false
        }
    }

    package func skipAsset(_ id: ID<Generation>, _ asset: MediaAsset) throws {
        switch asset {
        case .thumbnail: try db.execute("UPDATE generations SET thumbnail_skipped = true WHERE id = \(id)")
        case .spritesheet: try db.execute("UPDATE generations SET spritesheet_skipped = true WHERE id = \(id)")
        case .video: break
        }
    }

    /// `storageProblem`: the media is downloaded but the store refused it for now (its error code, shown as
    /// "storing the video"); nil clears it.
    package func retryDownloadLater(_ id: ID<Generation>, afterSeconds: Double, storageProblem: String? = nil) throws {
        try db.execute(
            """
            UPDATE generations SET next_attempt_at = now() + make_interval(secs => \(afterSeconds)), storage_problem = \(storageProblem)
            WHERE id = \(id) AND phase = \(GenerationPhase.downloading)
            """)
    }

    /// What ffprobe found in the stored video.
    package func recordDelivered(_ id: ID<Generation>, seconds: String?, width: Int?, height: Int?) throws {
        try db.execute(
            """
            UPDATE generations SET delivered_seconds = \(seconds)::numeric, delivered_width = \(width), delivered_height = \(height)
            WHERE id = \(id)
            """)
    }

    /// Completed at the price the user confirmed: a shorter or smaller delivery is recorded and shown,
    /// never charged more than confirmed.
    package func complete(_ id: ID<Generation>) throws -> Bool {
        try !db.execute(
            """
            UPDATE generations SET status = \(GenerationStatus.completed), phase = \(GenerationPhase.done), progress = 100,
                   completed_at = now(), actual_cost = settled_generation_cost(estimated_cost, gpu_seconds, usd_per_gpu_second),
                   storage_problem = NULL
            WHERE id = \(id) AND phase = \(GenerationPhase.downloading) AND video_path IS NOT NULL
            RETURNING id
            """
        ).isEmpty
    }
}
