// Lost create answers settled from the provider's list: adopted, unconfirmed, or left for later; and adopting by hand.

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

@Suite(.serialized) final class EngineReconcileTests: EngineSuite {
    let harness: EngineHarness

    init() throws { harness = try EngineHarness(schema: "engine_reconcile", offset: 2) }

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
        let twinVideo: ID<Video> = try db.execute(
            """
            INSERT INTO videos (project_id, title, final_prompt) VALUES (\(fixture.projectID), 'Twin', \(g.prompt)) RETURNING id
            """)[0].id("id")
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
}
