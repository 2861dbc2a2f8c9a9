// The generation engine's transitions against the real PostgreSQL, with a scripted provider instead of
// a socket: each test puts one generation in a known phase, runs one engine step (submit, reconcile,
// poll, download, time out) and reads the row, the provider's calls and the media directory back.

import Foundation
import Images
import Postgres
import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import VideoAPI
@testable import WebApp

// Serialized: the engine's claims take ANY due generation and its breaker is one shared row, so two
// engine tests at once would steal each other's rows.
@Suite(.serialized) final class EngineTests {
    let db: Connection
    let provider = ScriptedProvider()
    let fixture: EngineFixture
    let media: String
    let engine: GenerationEngine
    var store: GenerationStore { GenerationStore(db: db) }

    init() throws {
        // This suite ends every unfinished generation: only ever on the test cluster's database.
        try #require(
            TestDatabase.url.contains("promptreel_test"), "EngineTests run only against scripts/test's database")
        db = try Connection(url: TestDatabase.url)
        // Isolation. The claims filter only on phase and next_attempt_at, the submit claim counts every
        // in-flight row against maxInFlight, and failTimedOut sweeps every submitted row. No other unit
        // suite creates generations, but the test cluster outlives a run (end-to-end tests and earlier
        // runs of this suite leave unfinished rows), so each test first ends every unfinished generation
        // and closes the breaker. Only this serialized suite touches these rows.
        try db.execute(
            """
            UPDATE generations SET status = 'failed', phase = 'done', error_code = 'engine_test_reset', completed_at = now()
            WHERE phase IN ('waiting', 'submitting', 'submitted', 'downloading')
            """)
        try db.execute("UPDATE provider_health SET consecutive_failures = 0, pause_seconds = 0, paused_until = NULL")
        fixture = try EngineFixture(db: db)
        media =
            FileManager.default.temporaryDirectory.appendingPathComponent("promptreel-engine-\(UUID().uuidString)").path
        var config = EngineConfig(mediaDirectory: media)
        config.pollMinSeconds = 0.01
        config.pollMaxSeconds = 0.05
        config.reconcileDelaySeconds = 0
        config.timeoutSeconds = 600
        config.downloadDeadlineSeconds = 600
        // The probe answers only for the stored video file, so a recorded duration proves it was given that file.
        engine = GenerationEngine(
            db: db, provider: provider, config: config,
            probe: { path in
                path.hasSuffix("/video.mp4") && FileManager.default.fileExists(atPath: path)
                    ? VideoProbe(seconds: "3.96", width: 1280, height: 720) : nil
            })
    }

    deinit { try? FileManager.default.removeItem(atPath: media) }

    // MARK: Helpers

    func row(_ id: Int64) throws -> Generation { try #require(try store.byID(id)) }

    /// Makes a row due at once (claims and retries push next_attempt_at into the future).
    func makeDue(_ id: Int64) throws {
        try db.execute("UPDATE generations SET next_attempt_at = now() - interval '1 second' WHERE id = \(id)")
    }

    func secondsUntilDue(_ id: Int64) throws -> Double {
        try Double(
            db.execute(
                "SELECT extract(epoch FROM next_attempt_at - now())::float8 AS s FROM generations WHERE id = \(id)")[0]
                .string("s")) ?? .nan
    }

    func health() throws -> (failures: Int64, pauseSeconds: Int64, pausedFor: Double?, pausedUntil: String?) {
        let r = try db.execute(
            """
            SELECT consecutive_failures, pause_seconds, extract(epoch FROM paused_until - now())::float8 AS left, paused_until::text AS until
            FROM provider_health
            """)[0]
        return (r.int("consecutive_failures"), r.int("pause_seconds"), r["left"].flatMap(Double.init), r["until"])
    }

    func path(_ id: Int64, _ asset: MediaAsset) -> String { "\(media)/\(id)/\(asset.fileName)" }
    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// A create whose answer was lost, followed by a reconcile that cannot find the job.
    func unconfirmedGeneration() throws -> Generation {
        let g = try fixture.waiting()
        provider.creates.append(.failure(VideoAPIError(.timeout, detail: "operation timed out")))
        try engine.submitOne()
        provider.lists.append(ok(VideoList(data: [], lastID: nil, hasMore: false)))
        try makeDue(g.id)
        try engine.reconcileOne()
        let unconfirmed = try row(g.id)
        try #require(unconfirmed.phase == .unconfirmed)
        return unconfirmed
    }

    // MARK: Submit

    /// Gives a waiting generation a reference image whose fitted frame is at `fitted` (the file may not exist).
    func attachReference(_ g: Generation, fitted: String) throws {
        try db.execute(
            """
            UPDATE generations SET reference_path = 'references/1/original.jpg', reference_content_type = 'image/jpeg',
                   reference_width = 640, reference_height = 480, reference_sha256 = 'abc', reference_fit = 'crop',
                   reference_fitted_path = \(fitted)
            WHERE id = \(g.id)
            """)
    }

    /// The create carries the fitted frame, read from the media directory, as its one `input_reference`.
    @Test func submitSendsTheFittedReferenceImage() throws {
        let g = try fixture.waiting()
        let fitted = "references/\(g.videoID ?? 0)/abc-1280x720-crop.png"
        let bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]
        try MediaFiles.write(bytes, to: fitted, in: media)
        try attachReference(g, fitted: fitted)
        provider.creates.append(ok(try providerVideo(EngineFixture.jobID(), "queued")))
        #expect(try engine.submitOne())
        let sent = try #require(provider.created.first)
        #expect(sent.inputReference?.data == bytes)
        #expect(sent.inputReference?.contentType == "image/png")
        #expect(try row(g.id).phase == .submitted)
    }

    /// Without its fitted frame on disk nothing is sent: the generation fails, not billed.
    @Test func aMissingReferenceFailsBeforeAnythingIsSent() throws {
        let g = try fixture.waiting()
        try attachReference(g, fitted: "references/\(g.videoID ?? 0)/gone.png")
        #expect(try engine.submitOne())
        let after = try row(g.id)
        #expect(after.status == .failed && after.errorCode == "reference_image_missing")
        #expect(after.cost == .zero && !after.possiblyBilled)
        #expect(provider.created.isEmpty)
    }

    /// waiting → submitted: the create carries the row's prompt, settings and request_key as Idempotency-Key.
    @Test func submitSendsTheCreateWithTheRequestKey() throws {
        let g = try fixture.waiting()
        let job = EngineFixture.jobID()
        provider.creates.append(ok(try providerVideo(job, "queued"), requestID: "req_create_1"))
        #expect(try engine.submitOne())
        let after = try row(g.id)
        #expect(after.phase == .submitted)
        #expect(after.status == .queued)
        #expect(after.providerJobID == job)
        #expect(after.providerRequestID == "req_create_1")
        #expect(after.submitAttempts == 1)
        #expect(after.submittedAt != nil)
        try #require(provider.created.count == 1)
        let sent = provider.created[0]
        #expect(sent.idempotencyKey == g.requestKey)
        #expect(
            sent.prompt == g.prompt && sent.model == g.model && sent.size == g.size && sent.seconds == String(g.seconds)
        )
        #expect(try !engine.submitOne())  // nothing else is waiting
        #expect(provider.created.count == 1)
    }

    static let surelyNotTaken: [VideoAPIError] = [
        VideoAPIError(.connectionFailed, detail: "connection refused", nothingWasSent: true),
        VideoAPIError(.upstream, status: 503, detail: "the engine is overloaded"),
        VideoAPIError(.rateLimited, status: 429, detail: "slow down"),
    ]

    /// A create that surely made nothing (never sent, 503, 429) goes back to `waiting` and is sent
    /// again, with the same Idempotency-Key.
    @Test(arguments: surelyNotTaken)
    func surelyNotTakenIsQueuedAndSentAgain(_ failure: VideoAPIError) throws {
        let g = try fixture.waiting()
        provider.creates.append(.failure(failure))
        #expect(try engine.submitOne())
        let requeued = try row(g.id)
        #expect(requeued.phase == .waiting)
        #expect(requeued.status == .queued)
        #expect(requeued.errorMessage == failure.publicMessage)
        #expect(requeued.providerJobID == nil)

        let job = EngineFixture.jobID()
        provider.creates.append(ok(try providerVideo(job, "queued")))
        try makeDue(g.id)
        #expect(try engine.submitOne())
        let sent = try row(g.id)
        #expect(sent.phase == .submitted)
        #expect(sent.providerJobID == job)
        #expect(sent.submitAttempts == 2)
        #expect(sent.errorMessage == nil)
        #expect(provider.created.count == 2)
        #expect(provider.created.map(\.idempotencyKey) == [g.requestKey, g.requestKey])
    }

    /// A 429's Retry-After holds the generation back that long: not sent before.
    @Test func rateLimitWaitsForRetryAfter() throws {
        let g = try fixture.waiting()
        provider.creates.append(.failure(VideoAPIError(.rateLimited, status: 429, detail: "slow down", retryAfter: 30)))
        #expect(try engine.submitOne())
        #expect(try row(g.id).phase == .waiting)
        let wait = try secondsUntilDue(g.id)
        #expect(wait > 25 && wait <= 30, "next attempt in \(wait) s")
        #expect(try !engine.submitOne())  // not due yet
        #expect(provider.created.count == 1)
        // A rate limit is an answer, not an outage: the breaker does not count it.
        #expect(try health().failures == 0)
    }

    /// While maxInFlight jobs are in flight (submitting or submitted), nothing new is sent.
    @Test func inFlightLimitHoldsNewCreatesBack() throws {
        let busy = try (1...4).map { _ in try fixture.generation(in: .submitted, jobID: EngineFixture.jobID()) }
        let g = try fixture.waiting()
        #expect(try !engine.submitOne())
        #expect(provider.created.isEmpty)
        #expect(try row(g.id).phase == .waiting)
        try db.execute(
            "UPDATE generations SET status = 'completed', phase = 'done', completed_at = now() WHERE id = \(busy[0].id)"
        )
        provider.creates.append(ok(try providerVideo(EngineFixture.jobID(), "queued")))
        #expect(try engine.submitOne())
        #expect(try row(g.id).phase == .submitted)
    }

    /// An account without credit: OpenAI answers the create with 429 and code insufficient_quota. That is
    /// a refusal that no waiting cures, so the generation should fail (not billed) with that code.
    @Test func quotaExhaustedCreateFailsInsteadOfWaitingForever() throws {
        let g = try fixture.waiting()
        provider.creates.append(
            .failure(
                VideoAPIError(
                    .rateLimited, status: 429,
                    detail: "You exceeded your current quota, please check your plan and billing details.",
                    code: "insufficient_quota")))
        #expect(try engine.submitOne())
        let after = try row(g.id)
        #expect(!after.possiblyBilled)
        #expect(provider.created.count == 1)
        #expect(after.phase == .done)
        #expect(after.status == .failed)
        #expect(after.errorCode == "insufficient_quota")
    }

    static let lostAnswers: [VideoAPIError] = [
        VideoAPIError(.upstream, status: 500, detail: "internal error"),
        VideoAPIError(.upstream, status: 502, detail: "bad gateway"),
        VideoAPIError(.upstream, status: 504, detail: "gateway timeout"),
        VideoAPIError(.timeout, detail: "operation timed out after 60000 ms"),
        VideoAPIError(.connectionFailed, detail: "connection reset by peer"),  // dropped after sending
        VideoAPIError(.invalidRequest, status: 409, detail: "a request with this idempotency key is in progress"),
        VideoAPIError(.malformedResponse, status: 200, detail: "the body is not JSON"),
    ]

    /// A create whose answer is lost (500, 502, 504, timeout, dropped connection, 409, unreadable 200)
    /// may have made a job: it stays `submitting` for the reconciler and is never sent again.
    @Test(arguments: lostAnswers)
    func lostAnswerIsNeverResent(_ failure: VideoAPIError) throws {
        let g = try fixture.waiting()
        provider.creates.append(.failure(failure))
        #expect(try engine.submitOne())
        let after = try row(g.id)
        #expect(after.phase == .submitting)
        #expect(after.status == .queued)
        #expect(after.submitAttempts == 1)
        #expect(try secondsUntilDue(g.id) <= 0.5)  // reconcileDelaySeconds = 0: the reconciler may look at once
        try makeDue(g.id)
        #expect(try !engine.submitOne())
        #expect(provider.created.count == 1)
        #expect(try row(g.id).submitAttempts == 1)
    }

    static let refusals: [(VideoAPIError, String)] = [
        (
            VideoAPIError(
                .invalidRequest, status: 400, detail: "prompt is too long", param: "prompt", code: "invalid_value"),
            "invalid_value"
        ),
        (VideoAPIError(.badKey, status: 401, detail: "Incorrect API key provided"), "bad_key"),
    ]

    /// A create the provider answered and refused fails the generation at once, at no cost.
    @Test(arguments: refusals)
    func refusedCreateFailsNotBilled(_ failure: VideoAPIError, code: String) throws {
        let g = try fixture.waiting()
        provider.creates.append(.failure(failure))
        #expect(try engine.submitOne())
        let after = try row(g.id)
        #expect(after.phase == .done)
        #expect(after.status == .failed)
        #expect(after.errorCode == code)
        #expect(after.errorMessage == failure.publicMessage)
        #expect(!after.possiblyBilled)
        #expect(after.actualCost == .zero)
        #expect(provider.created.count == 1)
    }

    // MARK: Reconcile

    /// submitting (lost answer) → submitted: the provider's list shows the job (same prompt, model,
    /// size, seconds, created after the intent) and it is adopted; the create is sent exactly once.
    @Test func lostAnswerIsAdoptedFromTheProvidersList() throws {
        let g = try fixture.waiting()
        provider.creates.append(.failure(VideoAPIError(.timeout, detail: "operation timed out")))
        try engine.submitOne()
        #expect(try row(g.id).phase == .submitting)

        let now = Int(Date().timeIntervalSince1970)
        let job = EngineFixture.jobID()
        let other = EngineFixture.jobID()
        provider.lists.append(
            ok(
                VideoList(
                    data: [
                        try listed(
                            other, prompt: g.prompt + " (another job)", model: g.model, size: g.size,
                            seconds: g.seconds, createdAt: now),
                        // Providers may answer with a dated snapshot of the model asked for.
                        try listed(
                            job, prompt: g.prompt, model: g.model + "-2025-10-06", size: g.size, seconds: g.seconds,
                            createdAt: now, status: "in_progress"),
                    ], lastID: job, hasMore: false)))
        try makeDue(g.id)
        #expect(try engine.reconcileOne())
        let after = try row(g.id)
        #expect(after.phase == .submitted)
        #expect(after.providerJobID == job)
        #expect(after.status == .inProgress)  // its listed state is applied
        #expect(provider.listCalls == 1)
        #expect(provider.created.count == 1)
        #expect(try !engine.submitOne())
        #expect(provider.created.count == 1)
    }

    /// Lost answer + a list the provider refuses (400) → unconfirmed: failed, possibly billed at the
    /// estimate, never resent.
    @Test func lostAnswerWithARefusedListIsUnconfirmed() throws {
        let g = try fixture.waiting()
        provider.creates.append(.failure(VideoAPIError(.upstream, status: 502, detail: "bad gateway")))
        try engine.submitOne()
        provider.lists.append(
            .failure(VideoAPIError(.invalidRequest, status: 400, detail: "listing videos is not supported")))
        try makeDue(g.id)
        #expect(try engine.reconcileOne())
        let after = try row(g.id)
        #expect(after.phase == .unconfirmed)
        #expect(after.status == .failed)
        #expect(after.possiblyBilled)
        #expect(after.errorCode == "unconfirmed")
        #expect(after.actualCost == after.estimatedCost)
        #expect(after.completedAt != nil)
        // Nothing picks it up again: no create, no list, no poll.
        #expect(try !engine.runOnce())
        #expect(provider.created.count == 1)
        #expect(provider.listCalls == 1)
    }

    /// What the provider's list shows instead of the lost job.
    enum NotTheJob: String, CaseIterable, Sendable {
        case nothing, otherPrompt, otherSize, otherSeconds, olderThanTheIntent
        /// Another model whose name starts with this one's: sora-2-pro is not a snapshot of sora-2.
        case otherModelSharingThePrefix
    }

    /// Lost answer + a list that does not show the job → unconfirmed: failed, possibly billed at the
    /// estimate, never resent. A job that differs in prompt, size, seconds or model, or predates the
    /// intent, is not taken for it.
    @Test(arguments: NotTheJob.allCases)
    func lostAnswerNotInTheListIsUnconfirmed(_ shown: NotTheJob) throws {
        let g = try fixture.waiting()
        provider.creates.append(.failure(VideoAPIError(.timeout, detail: "operation timed out")))
        try engine.submitOne()
        let now = Int(Date().timeIntervalSince1970)
        let job = EngineFixture.jobID()
        let data: [ProviderVideo] =
            switch shown {
            case .nothing: []
            case .otherPrompt:
                [
                    try listed(
                        job, prompt: "something else", model: g.model, size: g.size, seconds: g.seconds, createdAt: now)
                ]
            case .otherSize:
                [
                    try listed(
                        job, prompt: g.prompt, model: g.model, size: "720x1280", seconds: g.seconds, createdAt: now)
                ]
            case .otherSeconds:
                [
                    try listed(
                        job, prompt: g.prompt, model: g.model, size: g.size, seconds: g.seconds + 4, createdAt: now)
                ]
            case .olderThanTheIntent:
                [
                    try listed(
                        job, prompt: g.prompt, model: g.model, size: g.size, seconds: g.seconds, createdAt: now - 3600)
                ]
            case .otherModelSharingThePrefix:
                [
                    try listed(
                        job, prompt: g.prompt, model: g.model + "-pro", size: g.size, seconds: g.seconds, createdAt: now
                    )
                ]
            }
        provider.lists.append(ok(VideoList(data: data, lastID: data.last?.id, hasMore: false)))
        try makeDue(g.id)
        #expect(try engine.reconcileOne())
        let after = try row(g.id)
        #expect(provider.created.count == 1)
        #expect(after.phase == .unconfirmed)
        #expect(after.providerJobID == nil)
        #expect(after.errorCode == "unconfirmed")
        #expect(after.possiblyBilled)
        #expect(after.actualCost == after.estimatedCost)
    }

    /// A rate-limited list (429) is a passing condition, like a 5xx: the reconciler should look again
    /// later rather than give the generation up as unconfirmed (which needs an operator to undo).
    @Test func rateLimitedListIsRetriedNotUnconfirmedAtOnce() throws {
        let g = try fixture.waiting()
        provider.creates.append(.failure(VideoAPIError(.timeout, detail: "operation timed out")))
        try engine.submitOne()
        provider.lists.append(
            .failure(VideoAPIError(.rateLimited, status: 429, detail: "Rate limit reached", retryAfter: 5)))
        try makeDue(g.id)
        #expect(try engine.reconcileOne())
        let after = try row(g.id)
        #expect(provider.created.count == 1)
        #expect(after.phase == .submitting)
        #expect(!after.possiblyBilled)
    }

    /// Two generations with the same prompt and settings: while the other's create is in flight, a match
    /// in the list could be its job, so this one is not adopted (and ends unconfirmed if that lasts).
    @Test func aTwinInFlightBlocksAdoption() throws {
        let g = try fixture.waiting()
        provider.creates.append(.failure(VideoAPIError(.timeout, detail: "operation timed out")))
        try engine.submitOne()
        let twinVideo = try db.execute(
            """
            INSERT INTO videos (project_id, title, final_prompt) VALUES (\(fixture.projectID), 'Twin', \(g.prompt)) RETURNING id
            """)[0].int("id")
        let twin = try #require(
            try store.insert(videoID: twinVideo, userID: fixture.userID, settings: fixture.settings, prompt: g.prompt))
        try db.execute(
            "UPDATE generations SET phase = 'submitting', submit_started_at = now(), next_attempt_at = now() + interval '1 hour' WHERE id = \(twin)"
        )
        for attempt in 1...3 {
            try makeDue(g.id)
            #expect(try engine.reconcileOne())
            #expect(try row(g.id).phase == (attempt < 3 ? .submitting : .unconfirmed), "attempt \(attempt)")
        }
        #expect(provider.listCalls == 0)  // never looked: any match would be ambiguous
        try db.execute(
            "UPDATE generations SET status = 'failed', phase = 'done', completed_at = now() WHERE id = \(twin)")
    }

    /// A job already attached to another generation is never adopted a second time.
    @Test func aJobAttachedElsewhereIsNotAdoptedTwice() throws {
        let g = try fixture.waiting()
        let taken = EngineFixture.jobID()
        let elsewhere = try fixture.generation(in: .submitted, jobID: taken)
        try db.execute(
            "UPDATE generations SET status = 'completed', phase = 'done', completed_at = now() WHERE id = \(elsewhere.id)"
        )
        provider.creates.append(.failure(VideoAPIError(.timeout, detail: "operation timed out")))
        try engine.submitOne()
        let now = Int(Date().timeIntervalSince1970)
        provider.lists.append(
            ok(
                VideoList(
                    data: [
                        try listed(
                            taken, prompt: g.prompt, model: g.model, size: g.size, seconds: g.seconds, createdAt: now)
                    ], lastID: nil, hasMore: false)))
        try makeDue(g.id)
        try engine.reconcileOne()
        #expect(try row(g.id).phase == .unconfirmed)
    }

    /// A list outage (5xx) is retried twice more before the generation becomes unconfirmed.
    @Test func listOutageIsRetriedThenUnconfirmed() throws {
        let g = try fixture.waiting()
        provider.creates.append(.failure(VideoAPIError(.timeout, detail: "operation timed out")))
        try engine.submitOne()
        for attempt in 1...3 {
            provider.lists.append(.failure(VideoAPIError(.upstream, status: 502, detail: "bad gateway")))
            try makeDue(g.id)
            #expect(try engine.reconcileOne())
            #expect(try row(g.id).phase == (attempt < 3 ? .submitting : .unconfirmed), "after list attempt \(attempt)")
        }
        #expect(provider.listCalls == 3)
        #expect(provider.created.count == 1)
    }

    /// An operator's adopt moves an unconfirmed generation to submitted, clears the possible bill,
    /// and the workers then poll it as usual.
    @Test func adoptTurnsAnUnconfirmedGenerationBackIntoAPolledJob() throws {
        let g = try unconfirmedGeneration()
        let job = EngineFixture.jobID()
        try store.adopt(g.id, providerJobID: job)
        let adopted = try row(g.id)
        #expect(adopted.phase == .submitted)
        #expect(adopted.status == .queued)
        #expect(adopted.providerJobID == job)
        #expect(!adopted.possiblyBilled)
        #expect(adopted.actualCost == nil)
        #expect(adopted.errorCode == nil)
        #expect(adopted.completedAt == nil)

        provider.retrieves.append(ok(try providerVideo(job, "in_progress", #","progress":10"#)))
        #expect(try engine.pollOne())
        #expect(provider.retrieved == [job])
        #expect(try row(g.id).progress == 10)
    }

    /// Adopt is refused from any other phase, while the video has another active generation, for a
    /// job attached elsewhere, and for an unknown generation.
    @Test func adoptIsRefusedUnlessItIsSafe() throws {
        let submitted = try fixture.generation(in: .submitted, jobID: EngineFixture.jobID())
        #expect(throws: GenerationStore.AdoptError.notUnconfirmed(.submitted)) {
            try self.store.adopt(submitted.id, providerJobID: EngineFixture.jobID())
        }
        let waiting = try fixture.waiting()
        #expect(throws: GenerationStore.AdoptError.notUnconfirmed(.waiting)) {
            try self.store.adopt(waiting.id, providerJobID: EngineFixture.jobID())
        }
        try db.execute(
            "UPDATE generations SET status = 'failed', phase = 'done', completed_at = now() WHERE id = \(waiting.id)")

        let unconfirmed = try unconfirmedGeneration()
        let attached = try #require(submitted.providerJobID)
        #expect(throws: GenerationStore.AdoptError.jobAlreadyAttached) {
            try self.store.adopt(unconfirmed.id, providerJobID: attached)
        }
        // The user generated the same video again meanwhile.
        let again = try fixture.waiting(videoID: unconfirmed.videoID)
        #expect(throws: GenerationStore.AdoptError.videoHasActiveGeneration) {
            try self.store.adopt(unconfirmed.id, providerJobID: EngineFixture.jobID())
        }
        #expect(try row(unconfirmed.id).phase == .unconfirmed)
        #expect(try row(again.id).phase == .waiting)
        #expect(throws: GenerationStore.AdoptError.noSuchGeneration) {
            try self.store.adopt(-1, providerJobID: EngineFixture.jobID())
        }
    }

    // MARK: Poll

    /// in_progress with a progress figure → in_progress, progress recorded and known; the provider's
    /// poll-after is honoured.
    @Test func pollRecordsProgress() throws {
        let job = EngineFixture.jobID()
        let g = try fixture.generation(in: .submitted, jobID: job)
        provider.retrieves.append(ok(try providerVideo(job, "in_progress", #","progress":40"#), pollAfterMs: 5000))
        #expect(try engine.pollOne())
        let after = try row(g.id)
        #expect(after.phase == .submitted)
        #expect(after.status == .inProgress)
        #expect(after.progress == 40)
        #expect(after.progressKnown)
        #expect(after.providerStatus == "in_progress")
        #expect(after.startedAt != nil)
        #expect(after.lastCheckedAt != nil)
        #expect(after.polls == 1)
        let wait = try secondsUntilDue(g.id)
        #expect(wait > 1 && wait <= 5, "next poll in \(wait) s")
        #expect(provider.retrieved == [job])
    }

    /// `processing` without a progress figure (LiteLLM's Veo path) → in_progress, progress unknown.
    @Test func pollWithoutProgressLeavesItUnknown() throws {
        let job = EngineFixture.jobID()
        let g = try fixture.generation(in: .submitted, jobID: job)
        provider.retrieves.append(ok(try providerVideo(job, "processing")))
        #expect(try engine.pollOne())
        let after = try row(g.id)
        #expect(after.phase == .submitted)
        #expect(after.status == .inProgress)
        #expect(after.progress == 0)
        #expect(!after.progressKnown)
        #expect(after.providerStatus == "processing")
    }

    /// completed → downloading at once, with the provider's seconds, size and expiry kept.
    @Test func completedHandsOverToTheDownloads() throws {
        let job = EngineFixture.jobID()
        let g = try fixture.generation(in: .submitted, jobID: job)
        let expires = Int(Date().timeIntervalSince1970) + 3600
        provider.retrieves.append(
            ok(
                try providerVideo(
                    job, "completed", #","progress":100,"seconds":"4","size":"1280x720","expires_at":\#(expires)"#)))
        #expect(try engine.pollOne())
        let after = try row(g.id)
        #expect(after.phase == .downloading)
        #expect(after.status == .inProgress)
        #expect(after.progress == 100)
        #expect(after.providerStatus == "completed")
        #expect(after.resultSeconds == "4")
        #expect(after.resultSize == "1280x720")
        #expect(!after.assetsExpired)
        let expiresAt = try db.execute(
            "SELECT extract(epoch FROM expires_at)::bigint AS e FROM generations WHERE id = \(g.id)")[0].int("e")
        #expect(expiresAt == Int64(expires))
        #expect(try secondsUntilDue(g.id) <= 0)  // the download may start at once
    }

    /// A state never seen before stays in flight (not failed): the provider may still be working and billing.
    @Test func unknownStatusStaysInFlight() throws {
        let job = EngineFixture.jobID()
        let g = try fixture.generation(in: .submitted, jobID: job)
        provider.retrieves.append(ok(try providerVideo(job, "warming_up")))
        #expect(try engine.pollOne())
        let after = try row(g.id)
        #expect(after.phase == .submitted)
        #expect(after.status == .queued)
        #expect(after.providerStatus == "warming_up")
        #expect(after.errorCode == nil)
    }

    /// The provider reports the job failed → failed, not billed, with a plain message.
    @Test func providerFailureFailsNotBilled() throws {
        let job = EngineFixture.jobID()
        let g = try fixture.generation(in: .submitted, jobID: job)
        provider.retrieves.append(
            ok(try providerVideo(job, "failed", #","error":{"code":"moderation_blocked","message":"blocked"}"#)))
        #expect(try engine.pollOne())
        let after = try row(g.id)
        #expect(after.phase == .done)
        #expect(after.status == .failed)
        #expect(after.errorCode == "moderation_blocked")
        #expect(after.errorMessage?.contains("content policy") == true)
        #expect(!after.possiblyBilled)
        #expect(after.actualCost == .zero)
    }

    /// The provider no longer knows the job (404 on three polls; a gateway may not know a fresh job for a
    /// moment) → failed, possibly billed (it had taken the job).
    @Test func vanishedJobFailsPossiblyBilled() throws {
        let job = EngineFixture.jobID()
        let g = try fixture.generation(in: .submitted, jobID: job)
        for poll in 1...3 {
            provider.retrieves.append(.failure(VideoAPIError(.notFound, status: 404, detail: "Video not found")))
            try makeDue(g.id)
            #expect(try engine.pollOne())
            #expect(try row(g.id).status == (poll < 3 ? .queued : .failed), "after poll \(poll)")
        }
        let after = try row(g.id)
        #expect(after.status == .failed)
        #expect(after.errorCode == "not_found")
        #expect(after.possiblyBilled)
        #expect(after.actualCost == after.estimatedCost)
    }

    // MARK: Download

    /// A "video" that is JSON labelled video/mp4, or an MP4 shorter than announced, is not stored and
    /// leaves no file; the row keeps downloading until the provider's copy expires, then fails as
    /// possibly billed.
    @Test func notReadyVideoIsRetriedUntilItExpires() throws {
        let g = try fixture.generation(in: .downloading, jobID: EngineFixture.jobID())
        provider.downloads[.video] = [
            .success(.init(EngineFixture.notReadyJSON, contentType: "video/mp4")),
            .success(.init(EngineFixture.mp4, contentType: "video/mp4", announced: EngineFixture.mp4.count + 1000)),
            .success(.init(EngineFixture.notReadyJSON, contentType: "video/mp4")),
        ]
        provider.downloads[.thumbnail] = [.success(.init(EngineFixture.webp, contentType: "image/webp"))]
        provider.downloads[.spritesheet] = [.success(.init(EngineFixture.jpeg, contentType: "image/jpeg"))]

        #expect(try engine.downloadOne())
        var after = try row(g.id)
        #expect(after.phase == .downloading)
        #expect(after.status == .inProgress)
        #expect(after.videoPath == nil)
        #expect(after.thumbnailPath == "\(g.id)/thumbnail.webp")  // each asset is kept on its own
        #expect(after.spritesheetPath == "\(g.id)/spritesheet.jpg")
        #expect(!exists(path(g.id, .video)))
        #expect(!exists(path(g.id, .video) + ".download"))
        #expect(exists(path(g.id, .thumbnail)))

        try makeDue(g.id)
        #expect(try engine.downloadOne())  // truncated
        after = try row(g.id)
        #expect(after.phase == .downloading)
        #expect(after.videoPath == nil)
        #expect(!exists(path(g.id, .video)))

        try db.execute("UPDATE generations SET expires_at = now() - interval '1 minute' WHERE id = \(g.id)")
        try makeDue(g.id)
        #expect(try engine.downloadOne())
        after = try row(g.id)
        #expect(after.phase == .done)
        #expect(after.status == .failed)
        #expect(after.errorCode == "download_failed")
        #expect(after.possiblyBilled)
        #expect(after.actualCost == after.estimatedCost)
        #expect(!exists(path(g.id, .video)))
        // stored previews are not fetched again
        #expect(provider.downloaded == [.video, .thumbnail, .spritesheet, .video, .video])
    }

    /// A body naming a definite failure (content_filter) fails the generation at once, not billed.
    @Test func definiteFailureBodyFailsAtOnceNotBilled() throws {
        let g = try fixture.generation(in: .downloading, jobID: EngineFixture.jobID())
        provider.downloads[.video] = [
            .success(
                .init(
                    Array(#"{"error":{"code":"content_filter","message":"The video was filtered."}}"#.utf8),
                    contentType: "video/mp4"))
        ]
        #expect(try engine.downloadOne())
        let after = try row(g.id)
        #expect(after.phase == .done)
        #expect(after.status == .failed)
        #expect(after.errorCode == "content_filter")
        #expect(after.errorMessage?.contains("The video was filtered.") == true)
        #expect(!after.possiblyBilled)
        #expect(after.actualCost == .zero)
        #expect(after.videoPath == nil)
        #expect(!exists(path(g.id, .video)))
        #expect(provider.downloaded == [.video])
    }

    /// A real MP4 is stored and completes the generation at its estimate, with what the probe read;
    /// a thumbnail that is really the MP4 is skipped, not stored.
    @Test func realVideoCompletesAndAWrongThumbnailIsSkipped() throws {
        let g = try fixture.generation(in: .downloading, jobID: EngineFixture.jobID())
        provider.downloads[.video] = [.success(.init(EngineFixture.mp4, contentType: "video/mp4"))]
        provider.downloads[.thumbnail] = [.success(.init(EngineFixture.mp4, contentType: "image/webp"))]
        provider.downloads[.spritesheet] = [.success(.init(EngineFixture.jpeg, contentType: "image/jpeg"))]
        #expect(try engine.downloadOne())
        let after = try row(g.id)
        #expect(after.phase == .done)
        #expect(after.status == .completed)
        #expect(after.progress == 100)
        #expect(after.actualCost == after.estimatedCost)
        #expect(!after.possiblyBilled)
        #expect(after.videoPath == "\(g.id)/video.mp4")
        #expect(after.videoBytes == Int64(EngineFixture.mp4.count))
        #expect(after.videoSHA256 == ScriptedProvider.sha256)
        #expect(FileManager.default.contents(atPath: path(g.id, .video)).map { Array($0) } == EngineFixture.mp4)
        #expect(!exists(path(g.id, .video) + ".download"))
        #expect(after.thumbnailSkipped)
        #expect(after.thumbnailPath == nil)
        #expect(!exists(path(g.id, .thumbnail)))
        #expect(after.spritesheetPath == "\(g.id)/spritesheet.jpg")
        #expect(after.deliveredSeconds == "3.96")
        #expect(after.deliveredWidth == 1280 && after.deliveredHeight == 720)
    }

    /// A gateway that answers the thumbnail and spritesheet with the MP4 (LiteLLM's Veo and Runway):
    /// both are made from the stored video, recorded as made locally, and the generation completes.
    @Test func previewsTheProviderDoesNotSendAreMadeLocally() throws {
        let mp4 = [UInt8](try Data(contentsOf: URL(fileURLWithPath: LocalPreviewsTests.fixtures + "/video.mp4")))
        let g = try fixture.generation(in: .downloading, jobID: EngineFixture.jobID())
        provider.downloads[.video] = [.success(.init(mp4, contentType: "video/mp4"))]
        provider.downloads[.thumbnail] = [.success(.init(mp4, contentType: "video/mp4"))]
        provider.downloads[.spritesheet] = [.success(.init(mp4, contentType: "video/mp4"))]
        let real = GenerationEngine(db: db, provider: provider, config: engine.config)  // the real ffprobe
        #expect(try real.downloadOne())
        let after = try row(g.id)
        #expect(after.status == .completed && after.thumbnailSkipped && after.spritesheetSkipped)
        #expect(after.thumbnailSource == .local && after.spritesheetSource == .local)
        let webp = try MediaFiles.read("\(g.id)/thumbnail.webp", in: media, maxBytes: 1 << 24)
        #expect(try Images.validate(webp) == ImageInfo(format: .webp, width: 320, height: 180))
        #expect(after.thumbnailBytes == Int64(webp.count))
        let jpeg = try MediaFiles.read("\(g.id)/spritesheet.jpg", in: media, maxBytes: 1 << 24)
        #expect(try Images.validate(jpeg) == ImageInfo(format: .jpeg, width: 640, height: 180))
        // No staging file left behind.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: "\(media)/\(g.id)").sorted() == [
                "spritesheet.jpg", "thumbnail.webp", "video.mp4",
            ])
        #expect(after.json["thumbnailSource"]?.stringValue == "local")
    }

    /// Without ffmpeg the generation still completes with its video, just without a poster; the
    /// provider's own previews are kept and say so.
    @Test func withoutFfmpegTheVideoStillCompletes() throws {
        let g = try fixture.generation(in: .downloading, jobID: EngineFixture.jobID())
        provider.downloads[.video] = [.success(.init(EngineFixture.mp4, contentType: "video/mp4"))]
        provider.downloads[.thumbnail] = [.success(.init(EngineFixture.mp4, contentType: "video/mp4"))]
        provider.downloads[.spritesheet] = [.success(.init(EngineFixture.jpeg, contentType: "image/jpeg"))]
        var config = engine.config
        config.ffmpegPath = "/nonexistent/ffmpeg"
        #expect(try GenerationEngine(db: db, provider: provider, config: config, probe: engine.probe).downloadOne())
        let after = try row(g.id)
        #expect(after.status == .completed && after.videoPath == "\(g.id)/video.mp4")
        #expect(after.thumbnailPath == nil && after.thumbnailSource == nil && !exists(path(g.id, .thumbnail)))
        #expect(after.spritesheetSource == .provider)
        #expect(after.json["thumbnailSource"] == .null)
    }

    // MARK: Timeouts

    /// Submitted longer than the timeout → failed, possibly billed at the estimate; younger jobs stay.
    @Test func timedOutJobFailsPossiblyBilled() throws {
        let old = try fixture.generation(in: .submitted, jobID: EngineFixture.jobID())
        try db.execute("UPDATE generations SET submitted_at = now() - interval '601 seconds' WHERE id = \(old.id)")
        let young = try fixture.generation(in: .submitted, jobID: EngineFixture.jobID())
        try db.execute("UPDATE generations SET submitted_at = now() - interval '590 seconds' WHERE id = \(young.id)")
        try engine.failTimedOut()
        let after = try row(old.id)
        #expect(after.phase == .done)
        #expect(after.status == .failed)
        #expect(after.errorCode == "timeout")
        #expect(after.possiblyBilled)
        #expect(after.actualCost == after.estimatedCost)
        #expect(after.errorMessage?.contains("10 minutes") == true)
        #expect(try row(young.id).phase == .submitted)
    }

    // MARK: Breaker

    /// Five consecutive provider failures pause creates (nothing is sent while paused, failures then do
    /// not extend the pause); after the pause one more failure reopens it for twice as long; a success
    /// closes it.
    @Test func breakerPausesCreatesAndASuccessClosesIt() throws {
        let g = try fixture.waiting()
        for attempt in 1...5 {
            provider.creates.append(.failure(VideoAPIError(.upstream, status: 503, detail: "overloaded")))
            try makeDue(g.id)
            #expect(try engine.submitOne())
            #expect(try health().failures == Int64(attempt))
            #expect(try ProviderHealth(db: db).isDegraded() == (attempt == 5))
        }
        var h = try health()
        #expect(h.pauseSeconds == 30)
        #expect((h.pausedFor ?? 0) > 25, "paused for \(h.pausedFor ?? 0) s")

        try makeDue(g.id)
        #expect(try !engine.submitOne())  // paused: claims nothing
        #expect(provider.created.count == 5)
        #expect(try row(g.id).phase == .waiting)

        // Polls go on while paused; the breaker guards creates, so neither a failed nor a successful
        // poll changes it (a working retrieve must not hide creates that time out).
        let job = EngineFixture.jobID()
        let inFlight = try fixture.generation(in: .submitted, jobID: job)
        provider.retrieves.append(.failure(VideoAPIError(.timeout, detail: "operation timed out")))
        #expect(try engine.pollOne())
        #expect(try row(inFlight.id).phase == .submitted)
        provider.retrieves.append(ok(try providerVideo(job, "in_progress")))
        try makeDue(inFlight.id)
        #expect(try engine.pollOne())
        let during = try health()
        #expect(during.failures == 5)
        #expect(during.pausedUntil == h.pausedUntil)
        #expect(try ProviderHealth(db: db).isDegraded())

        // The pause is over and the provider still fails: reopened, twice as long.
        try db.execute("UPDATE provider_health SET paused_until = now() - interval '1 second'")
        provider.creates.append(.failure(VideoAPIError(.upstream, status: 503, detail: "overloaded")))
        try makeDue(g.id)
        #expect(try engine.submitOne())
        h = try health()
        #expect(h.pauseSeconds == 60)
        #expect((h.pausedFor ?? 0) > 55, "paused for \(h.pausedFor ?? 0) s")

        // Pause over, the provider answers: closed.
        try db.execute("UPDATE provider_health SET paused_until = now() - interval '1 second'")
        provider.creates.append(ok(try providerVideo(EngineFixture.jobID(), "queued")))
        try makeDue(g.id)
        #expect(try engine.submitOne())
        #expect(try row(g.id).phase == .submitted)
        h = try health()
        #expect(h.failures == 0 && h.pauseSeconds == 0 && h.pausedUntil == nil)
        #expect(try !ProviderHealth(db: db).isDegraded())
        #expect(provider.created.count == 7)
    }

    /// Only consecutive create failures count: a create that succeeds in between starts again.
    @Test func breakerCountsOnlyConsecutiveFailures() throws {
        func failCreates(_ g: Generation, _ n: Int) throws {
            for _ in 1...n {
                provider.creates.append(.failure(VideoAPIError(.upstream, status: 503, detail: "overloaded")))
                try makeDue(g.id)
                #expect(try engine.submitOne())
            }
        }
        let first = try fixture.waiting()
        try failCreates(first, 4)
        #expect(try health().failures == 4)
        provider.creates.append(ok(try providerVideo(EngineFixture.jobID(), "queued")))
        try makeDue(first.id)
        #expect(try engine.submitOne())
        #expect(try health().failures == 0)
        let second = try fixture.waiting()
        try failCreates(second, 4)
        #expect(try health().failures == 4)
        #expect(try !ProviderHealth(db: db).isDegraded())
        #expect(try row(second.id).phase == .waiting)  // surely not taken: queued again
    }

    // MARK: The whole path

    /// runOnce takes a click all the way: waiting → submitted → downloading → completed, one create.
    @Test func runOnceTakesAGenerationFromWaitingToCompleted() throws {
        let g = try fixture.waiting()
        let job = EngineFixture.jobID()
        provider.creates.append(ok(try providerVideo(job, "queued")))
        provider.retrieves.append(
            ok(try providerVideo(job, "completed", #","progress":100,"seconds":"4","size":"1280x720""#)))
        provider.downloads[.video] = [.success(.init(EngineFixture.mp4, contentType: "video/mp4"))]
        provider.downloads[.thumbnail] = [.success(.init(EngineFixture.webp, contentType: "image/webp"))]
        provider.downloads[.spritesheet] = [.success(.init(EngineFixture.jpeg, contentType: "image/jpeg"))]
        for _ in 0..<6 {
            if try row(g.id).phase == .done { break }
            try makeDue(g.id)
            _ = try engine.runOnce()
        }
        let after = try row(g.id)
        #expect(after.status == .completed)
        #expect(after.providerJobID == job)
        #expect(after.thumbnailPath != nil && after.spritesheetPath != nil)
        #expect(after.actualCost == after.estimatedCost)
        #expect(provider.created.count == 1)
        #expect(provider.retrieved == [job])
    }
}

// MARK: - Fixtures

/// Rows for one test: its own user and project, and a video per generation (the database allows one
/// active generation per video). Prompts are unique, so the provider's list matches only this test's rows.
struct EngineFixture {
    let db: Connection
    let userID: Int64
    let projectID: Int64
    let settings: ResolvedSettings

    init(db: Connection) throws {
        self.db = db
        userID = try db.execute(
            "INSERT INTO users (email, password_hash) VALUES (\(TestDatabase.uniqueEmail("engine")), 'not a hash') RETURNING id"
        )[0].int("id")
        projectID = try db.execute(
            "INSERT INTO projects (user_id, name) VALUES (\(userID), 'Engine tests') RETURNING id")[0].int("id")
        settings = try Catalog.load(db).resolve(RequestedSettings(), db: db)  // sora-2, 4 s, 1280x720, $0.40
    }

    static func jobID() -> String { "video_" + UUID().uuidString.lowercased() }

    /// A freshly clicked generation (phase waiting), on a new video unless `videoID` is given.
    func waiting(videoID: Int64? = nil) throws -> Generation {
        let prompt = "A lighthouse at dusk, engine test \(UUID().uuidString)"
        let video =
            try videoID
            ?? db.execute(
                """
                INSERT INTO videos (project_id, title, final_prompt) VALUES (\(projectID), 'Engine test', \(prompt)) RETURNING id
                """)[0].int("id")
        let id = try #require(
            try GenerationStore(db: db).insert(videoID: video, userID: userID, settings: settings, prompt: prompt))
        return try #require(try GenerationStore(db: db).byID(id))
    }

    /// A generation the provider has taken (`submitted`), or that it finished (`downloading`, its copy
    /// kept for ten minutes), as the engine would have left it.
    func generation(in phase: GenerationPhase, jobID: String) throws -> Generation {
        let g = try waiting()
        switch phase {
        case .submitted:
            try db.execute(
                """
                UPDATE generations SET phase = 'submitted', provider_job_id = \(jobID), submit_attempts = 1,
                       submit_started_at = now(), submitted_at = now(), next_attempt_at = now() - interval '1 second'
                WHERE id = \(g.id)
                """)
        case .downloading:
            try db.execute(
                """
                UPDATE generations SET phase = 'downloading', status = 'in_progress', progress = 100, provider_job_id = \(jobID),
                       submit_attempts = 1, submit_started_at = now(), submitted_at = now(), started_at = now(),
                       expires_at = now() + interval '10 minutes', next_attempt_at = now() - interval '1 second'
                WHERE id = \(g.id)
                """)
        default:
            Issue.record("no fixture for phase \(phase.rawValue)")
        }
        return try #require(try GenerationStore(db: db).byID(g.id))
    }

    /// An MP4 starts with an `ftyp` box: its type at offset 4.
    static let mp4: [UInt8] =
        [0, 0, 0, 0x18] + Array("ftypmp42".utf8) + [0, 0, 0, 0] + Array("mp42isom".utf8)
        + [UInt8](repeating: 7, count: 64)
    static let webp: [UInt8] =
        Array("RIFF".utf8) + [0x24, 0, 0, 0] + Array("WEBPVP8 ".utf8) + [UInt8](repeating: 1, count: 32)
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 2, count: 32)
    /// What gateways send, labelled video/mp4, while the video is not ready.
    static let notReadyJSON: [UInt8] = Array(
        #"{"error":{"message":"Video is not ready yet, try again later","type":"invalid_request_error"}}"#.utf8)
}

func providerVideo(_ id: String, _ status: String, _ more: String = "") throws -> ProviderVideo {
    try ProviderVideo(json: JSONParser.parse(#"{"id":"\#(id)","object":"video","status":"\#(status)"\#(more)}"#))
}

/// A Video object as the provider's list shows it.
func listed(
    _ id: String, prompt: String, model: String, size: String, seconds: Int, createdAt: Int,
    status: String = "queued"
) throws -> ProviderVideo {
    let json = JSON.object([
        ("id", .string(id)), ("object", .string("video")), ("status", .string(status)), ("model", .string(model)),
        ("prompt", .string(prompt)), ("size", .string(size)), ("seconds", .string(String(seconds))),
        ("created_at", .int(createdAt)),
    ])
    return try ProviderVideo(json: json)
}

func ok<T: Sendable>(_ value: T, requestID: String? = nil, pollAfterMs: Int? = nil) -> Result<
    APIResult<T>, VideoAPIError
> {
    .success(APIResult(value: value, requestID: requestID, pollAfterMs: pollAfterMs))
}

// MARK: - Scripted provider

/// A `VideoProvider` that answers from queues, one answer per call, and records every call. An
/// unscripted call is a test failure.
final class ScriptedProvider: VideoProvider {
    typealias Answer<T: Sendable> = Result<APIResult<T>, VideoAPIError>

    struct Body {
        var bytes: [UInt8]
        var contentType: String
        /// The Content-Length the provider announces (a larger one means a truncated body).
        var announced: Int?
        init(_ bytes: [UInt8], contentType: String, announced: Int? = nil) {
            self.bytes = bytes
            self.contentType = contentType
            self.announced = announced ?? bytes.count
        }
    }

    static let sha256 = "sha256-of-the-scripted-body"

    var creates: [Answer<ProviderVideo>] = []
    var retrieves: [Answer<ProviderVideo>] = []
    var lists: [Answer<VideoList>] = []
    var downloads: [ContentVariant: [Result<Body, VideoAPIError>]] = [:]

    private(set) var created: [CreateVideo] = []
    private(set) var retrieved: [String] = []
    private(set) var listCalls = 0
    private(set) var downloaded: [ContentVariant] = []

    func create(_ params: CreateVideo) throws(VideoAPIError) -> APIResult<ProviderVideo> {
        created.append(params)
        return try next(&creates, "create")
    }

    func retrieve(_ id: String) throws(VideoAPIError) -> APIResult<ProviderVideo> {
        retrieved.append(id)
        return try next(&retrieves, "retrieve")
    }

    func list(limit: Int, after: String?) throws(VideoAPIError) -> APIResult<VideoList> {
        listCalls += 1
        return try next(&lists, "list")
    }

    func delete(_ id: String) throws(VideoAPIError) -> APIResult<Bool> {
        Issue.record("the engine deleted \(id)")
        throw VideoAPIError(.invalidRequest, status: 400, detail: "unscripted delete")
    }

    var remixes: [Answer<ProviderVideo>] = []
    private(set) var remixed: [(id: String, prompt: String)] = []
    private(set) var remixKeys: [String?] = []

    func remix(_ id: String, prompt: String, idempotencyKey: String?) throws(VideoAPIError) -> APIResult<ProviderVideo>
    {
        remixed.append((id, prompt))
        remixKeys.append(idempotencyKey)
        return try next(&remixes, "remix")
    }

    /// Writes the scripted body to `path`, as the real client leaves a finished download there.
    func download(_ id: String, variant: ContentVariant, to path: String, maxBytes: Int) throws(VideoAPIError)
        -> APIResult<Download>
    {
        downloaded.append(variant)
        var queue = downloads[variant] ?? []
        guard !queue.isEmpty else {
            Issue.record("unscripted \(variant.rawValue) download")
            throw VideoAPIError(.invalidRequest, status: 400, detail: "unscripted download")
        }
        let answer = queue.removeFirst()
        downloads[variant] = queue
        let body = try answer.get()
        guard FileManager.default.createFile(atPath: path, contents: Data(body.bytes)) else {
            throw VideoAPIError(.upstream, detail: "cannot write \(path)")
        }
        return APIResult(
            value: Download(
                bytes: body.bytes.count, sha256: ScriptedProvider.sha256, contentType: body.contentType,
                announcedLength: body.announced, head: Array(body.bytes.prefix(4096))),
            requestID: nil, pollAfterMs: nil)
    }

    private func next<T>(_ queue: inout [Answer<T>], _ call: String) throws(VideoAPIError) -> APIResult<T> {
        guard !queue.isEmpty else {
            Issue.record("unscripted \(call)")
            throw VideoAPIError(.invalidRequest, status: 400, detail: "unscripted \(call)")
        }
        return try queue.removeFirst().get()
    }
}
