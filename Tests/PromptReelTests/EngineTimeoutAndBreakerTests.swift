// Time-outs, the breaker in PostgreSQL, and one click taken the whole way by runOnce.

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

@Suite(.serialized) final class EngineTimeoutAndBreakerTests: EngineSuite {
    let harness: EngineHarness

    init() throws { harness = try EngineHarness(schema: "engine_timeout_breaker", offset: 5) }
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
