// The engine's submit step: what a create carries, and which failures send it again, hold it back or fail it.

import Formats
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

@Suite(.serialized) final class EngineSubmitTests: EngineSuite {
    let harness: EngineHarness

    init() throws { harness = try EngineHarness(schema: "engine_submit", offset: 1) }

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
        #expect(after.errorCode?.rawValue == code)
        #expect(after.errorMessage == failure.publicMessage)
        #expect(!after.possiblyBilled)
        #expect(after.actualCost == .zero)
        #expect(provider.created.count == 1)
    }
}
