// The engine's remix and takes transitions, on a schema of their own (EngineSupport). A remix is sent as the provider's remix of the original's job instead of a create,
// under the same honest-outcome rules; takes are N generations of one click, active together.

import Foundation
import Postgres
import Testing

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import VideoAPI
@testable import WebApp

@Suite(.serialized) final class EngineRemixTests: EngineSuite {
    let harness: EngineHarness

    init() throws { harness = try EngineHarness(schema: "engine_remix", offset: 6) }

    /// A completed generation whose provider copy expires in `expiresIn` seconds (negative: already expired).
    func completedSource(expiresIn: Int = 3600) throws -> Generation {
        let g = try fixture.waiting()
        try db.execute(
            """
            UPDATE generations SET status = 'completed', phase = 'done', progress = 100, provider_job_id = \(EngineFixture.jobID()),
                   submitted_at = now(), completed_at = now(), actual_cost = estimated_cost, video_path = \("\(g.id)/video.mp4"),
                   provider_expires_at = now() + make_interval(secs => \(expiresIn)), expires_at = now() + make_interval(secs => \(expiresIn))
            WHERE id = \(g.id)
            """)
        return try row(g.id)
    }

    func remixOf(_ source: Generation, prompt: String = "The same lighthouse, at night") throws -> Generation {
        let id = try #require(
            try store.insertRemix(
                source: source, userID: fixture.userID, prompt: prompt, cost: source.estimatedCost, mediaStore: .local)
        ).id
        return try row(id)
    }

    /// waiting remix → submitted: the provider is asked to remix the original's job with the new prompt; no create.
    @Test func remixIsSentAsTheProvidersRemix() throws {
        let source = try completedSource()
        let remix = try remixOf(source)
        #expect(remix.remixedFromGenerationID == source.id && remix.remixSourceJobID == source.providerJobID)
        #expect(
            remix.videoID == source.videoID && remix.model == source.model && remix.size == source.size
                && remix.seconds == source.seconds)
        #expect(remix.batchID != nil && remix.batchID != source.batchID)
        let job = EngineFixture.jobID()
        provider.remixes.append(ok(try providerVideo(job, "queued")))
        #expect(try engine.submitOne())
        try #require(provider.remixed.count == 1)
        #expect(
            provider.remixed[0].id == source.providerJobID
                && provider.remixed[0].prompt == "The same lighthouse, at night")
        #expect(provider.remixKeys == [remix.requestKey])  // a gateway that honours keys drops a duplicate
        #expect(provider.created.isEmpty)
        let after = try row(remix.id)
        #expect(after.phase == .submitted && after.providerJobID == job)
    }

    /// The provider refuses because its copy of the original expired: failed, not billed, `source_expired`.
    @Test func remixOfAnExpiredOriginalFailsNotBilled() throws {
        let source = try completedSource()
        let remix = try remixOf(source)
        provider.remixes.append(
            .failure(
                VideoAPIError(
                    .invalidRequest, status: 400, detail: "Video has expired", param: "video_id",
                    code: "video_expired")))
        #expect(try engine.submitOne())
        let failed = try row(remix.id)
        #expect(failed.status == .failed && failed.phase == .done)
        #expect(failed.errorCode == .sourceExpired)
        #expect(!failed.possiblyBilled && failed.cost == .zero)
        #expect(failed.errorMessage?.contains("Generate again") == true)
    }

    /// Any other refusal keeps the provider's code (nothing billed either).
    @Test func otherRemixRefusalsKeepTheProvidersCode() throws {
        let source = try completedSource()
        let remix = try remixOf(source)
        provider.remixes.append(
            .failure(VideoAPIError(.invalidRequest, status: 400, detail: "bad prompt", code: "moderation_blocked")))
        #expect(try engine.submitOne())
        let failed = try row(remix.id)
        #expect(failed.status == .failed && failed.errorCode == "moderation_blocked" && !failed.possiblyBilled)
    }

    /// A lost remix answer is never resent: the reconciler adopts the job the list shows remixed from
    /// the same original, and ignores a same-prompt job remixed from another.
    @Test func lostRemixAnswerIsReconciledNeverResent() throws {
        let source = try completedSource()
        let remix = try remixOf(source)
        provider.remixes.append(.failure(VideoAPIError(.timeout, detail: "operation timed out")))
        #expect(try engine.submitOne())
        #expect(try row(remix.id).phase == .submitting)
        try makeDue(remix.id)
        #expect(try !engine.submitOne())  // not resent
        #expect(provider.remixed.count == 1)

        let now = Int(Date().timeIntervalSince1970)
        var other = try listed(
            EngineFixture.jobID(), prompt: remix.prompt, model: remix.model, size: remix.size, seconds: remix.seconds,
            createdAt: now)
        other.remixedFromVideoID = "video_someone_else"
        var ours = try listed(
            EngineFixture.jobID(), prompt: remix.prompt, model: remix.model, size: remix.size, seconds: remix.seconds,
            createdAt: now, status: "in_progress")
        ours.remixedFromVideoID = source.providerJobID
        provider.lists.append(ok(VideoList(data: [other, ours], lastID: ours.id, hasMore: false)))
        #expect(try engine.reconcileOne())
        let adopted = try row(remix.id)
        #expect(adopted.phase == .submitted && adopted.providerJobID == ours.id)
        #expect(provider.remixed.count == 1 && provider.created.isEmpty)
    }

    /// 429 / 503: surely not taken, so the same remix is sent again later.
    @Test func remixSurelyNotTakenIsSentAgain() throws {
        let source = try completedSource()
        let remix = try remixOf(source)
        provider.remixes.append(.failure(VideoAPIError(.rateLimited, status: 429, detail: "slow down", retryAfter: 0)))
        #expect(try engine.submitOne())
        #expect(try row(remix.id).phase == .waiting)
        try makeDue(remix.id)
        provider.remixes.append(ok(try providerVideo(EngineFixture.jobID(), "queued")))
        #expect(try engine.submitOne())
        #expect(try row(remix.id).phase == .submitted && provider.remixed.count == 2)
    }

    /// The provider's own expires_at is kept (for remix offers), apart from the download deadline.
    @Test func providerExpiryIsRecordedOnCompletion() throws {
        let job = EngineFixture.jobID()
        let g = try fixture.generation(in: .submitted, jobID: job)
        var done = try providerVideo(job, "completed")
        done.expiresAt = Int(Date().timeIntervalSince1970) + 120
        provider.retrieves.append(ok(done))
        #expect(try engine.pollOne())
        let after = try row(g.id)
        #expect(after.phase == .downloading && after.providerExpiresAt != nil && !after.providerCopyExpired)
    }

    // MARK: Takes

    func batchActive(_ id: Int64?) throws -> Bool {
        try db.execute("SELECT active FROM generation_batches WHERE id = \(try #require(id))")[0].bool("active")
    }

    /// A click of three takes is one active batch of three waiting generations; the video takes no other
    /// click until the last take finishes, whichever order they finish in.
    @Test func takesShareOneActiveBatch() throws {
        let video: ID<Video> = try db.execute(
            "INSERT INTO videos (project_id, title, final_prompt) VALUES (\(fixture.projectID), 'Takes', 'Three takes') RETURNING id"
        )[0].id("id")
        let ids = try #require(
            try store.insertBatch(
                videoID: video, userID: fixture.userID, settings: fixture.settings, prompt: "Three takes", takes: 3,
                mediaStore: .local)
        ).map(\.id)
        #expect(ids.count == 3)
        let takes = try ids.map(row)
        let batch = takes[0].batchID
        #expect(
            takes.allSatisfy {
                $0.batchID == batch && $0.phase == .waiting && $0.estimatedCost == fixture.settings.estimatedCost
            })
        let total = try db.execute(
            "SELECT total_cost::text AS t, takes FROM generation_batches WHERE id = \(try #require(batch))")[0]
        #expect(USD(parsing: total.string("t")) == fixture.settings.estimatedCost.times(3) && total.int("takes") == 3)
        #expect(try batchActive(batch))
        #expect(throws: DatabaseError.self) {
            _ = try store.insertBatch(
                videoID: video, userID: fixture.userID, settings: fixture.settings, prompt: "Three takes", takes: 1,
                mediaStore: .local)
        }
        #expect(try store.cancelWaiting(ids[1], userID: fixture.userID) == video)
        #expect(try store.fail(ids[2], code: "moderation_blocked", message: "no"))
        #expect(try batchActive(batch))  // one take still queued
        #expect(try store.cancelWaiting(ids[0], userID: fixture.userID) == video)
        #expect(try !batchActive(batch))
        let next = try #require(
            try store.insertBatch(
                videoID: video, userID: fixture.userID, settings: fixture.settings, prompt: "Three takes", takes: 2,
                mediaStore: .local)
        ).map(\.id)
        let latest = try #require(try store.latestTakes(videoID: video, userID: fixture.userID))
        #expect(latest.map(\.id) == next)
        #expect(try store.latestTakes(videoID: video, userID: ID(fixture.userID.rawValue + 1_000_000)) == nil)
    }
}
