// Polling a job the provider took: progress, completion, unknown states, failures and vanished jobs.

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

@Suite(.serialized) final class EnginePollTests: EngineSuite {
    let harness: EngineHarness

    init() throws { harness = try EngineHarness(schema: "engine_poll", offset: 3) }

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

    /// 5xx on every poll (a gateway hiding a failed job) ends the job after `pollErrorLimit` polls in a row, failed
    /// and possibly billed; a normal answer in between starts the count again.
    @Test func persistentServerErrorsEndTheJobAfterALimit() throws {
        let job = EngineFixture.jobID()
        let g = try fixture.generation(in: .submitted, jobID: job)
        let limit = engine.config.pollErrorLimit
        let upstream = VideoAPIError(.upstream, status: 500, detail: "litellm.InternalServerError: boom")
        for _ in 1..<limit {
            provider.retrieves.append(.failure(upstream))
            try makeDue(g.id)
            #expect(try engine.pollOne())
        }
        provider.retrieves.append(ok(try providerVideo(job, "in_progress")))
        try makeDue(g.id)
        #expect(try engine.pollOne())
        for poll in 1...limit {
            provider.retrieves.append(.failure(upstream))
            try makeDue(g.id)
            #expect(try engine.pollOne())
            #expect(try row(g.id).phase == (poll < limit ? .submitted : .done), "after poll \(poll)")
        }
        let after = try row(g.id)
        #expect(after.status == .failed && after.errorCode == "upstream_error" && after.possiblyBilled)
        // The provider's words go to the log, not to the user.
        #expect(after.errorMessage?.contains("boom") == false && after.actualCost == after.estimatedCost)
    }

    /// 502, 503 and 504 say the provider is unwell, not the job: they never end it (the timeout does).
    @Test func gatewayOutagesDoNotEndAJob() throws {
        let job = EngineFixture.jobID()
        let g = try fixture.generation(in: .submitted, jobID: job)
        for status in Array(repeating: [502, 503, 504], count: engine.config.pollErrorLimit).joined() {
            provider.retrieves.append(.failure(VideoAPIError(.upstream, status: status, detail: "Bad gateway")))
            try makeDue(g.id)
            #expect(try engine.pollOne())
        }
        #expect(try row(g.id).phase == .submitted)
    }

    /// vLLM-Omni's GPU time is kept with the finished job.
    @Test func gpuTimeIsRecorded() throws {
        let job = EngineFixture.jobID()
        let g = try fixture.generation(in: .submitted, jobID: job)
        provider.retrieves.append(ok(try providerVideo(job, "completed", #","progress":100,"inference_time_s":41.25"#)))
        #expect(try engine.pollOne())
        #expect(try row(g.id).gpuSeconds == "41.250")
    }
}
