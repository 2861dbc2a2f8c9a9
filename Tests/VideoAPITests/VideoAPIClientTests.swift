// The Videos API client against the running simulator, over real HTTP: every call, every error
// class, retries and their waits, timeouts, malformed bodies, and creates that must not be resent.
// Serialized: the simulator's injected faults are shared state.

import Formats
import Foundation
import HTTPClient
import Testing

@testable import VideoAPI

/// The simulator scripts/test starts (with `--api-key sim-test-key --job-seconds 2`).
enum Sim {
    static var base: String {
        guard let url = ProcessInfo.processInfo.environment["PROMPTREEL_SIM_URL"] else {
            fatalError("PROMPTREEL_SIM_URL is not set: run the tests with scripts/test")
        }
        return url
    }
    static let key = "sim-test-key"

    static func config(key: String = Sim.key, timeoutMs: Int = 10_000, retries: Int = 2) -> ProviderConfig {
        var config = ProviderConfig(baseURL: base + "/v1", apiKey: key)
        config.timeoutMs = timeoutMs
        config.maxRetries = retries
        return config
    }

    static func stats() throws -> [String: Int] {
        let (_, body) = try CurlEasy().get(base + "/_sim/stats")
        guard case let .object(pairs) = try JSONParser.parse(body).root else { return [:] }
        return Dictionary(uniqueKeysWithValues: pairs.compactMap { k, v in v.intValue.map { (k, $0) } })
    }

    static func fault(_ endpoint: String, _ kind: String, count: Int = 1, retryAfter: Int = 1, hangSeconds: Double = 5)
        throws
    {
        let body =
            #"{"endpoint":"\#(endpoint)","kind":"\#(kind)","count":\#(count),"retry_after":\#(retryAfter),"hang_seconds":\#(hangSeconds)}"#
        let response = try CurlEasy().perform(
            HTTPClientRequest(
                method: "POST", url: base + "/_sim/faults",
                body: .bytes(Array(body.utf8), contentType: "application/json")),
            into: MemorySink())
        #expect(response.status == 200)
    }

    static func reset() throws {
        _ = try CurlEasy().perform(
            HTTPClientRequest(
                method: "POST", url: base + "/_sim/reset", body: .bytes([], contentType: "application/json")),
            into: MemorySink())
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/promptreel-sim/Fixtures")
}

/// Records the waits the client asks for, and really waits so Retry-After is honoured end to end.
final class Waits: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Double] = []
    var values: [Double] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }
    func wait(_ seconds: Double) {
        lock.lock()
        recorded.append(seconds)
        lock.unlock()
        VideoAPIClient.sleep(seconds)
    }
}

func client(_ config: ProviderConfig = Sim.config(), waits: Waits = Waits()) throws -> VideoAPIClient {
    try VideoAPIClient(config: config, wait: { waits.wait($0) })
}

func waitUntilDone(_ api: VideoAPIClient, _ id: String, timeout: Double = 20) throws -> ProviderVideo {
    let start = Date()
    while true {
        let video = try api.retrieve(id).value
        if !video.status.isInFlight { return video }
        #expect(Date().timeIntervalSince(start) < timeout, "video did not finish")
        if Date().timeIntervalSince(start) > timeout { return video }
        VideoAPIClient.sleep(0.25)
    }
}

@Suite(.serialized) struct VideoAPIAgainstSimulator {
    init() throws { try Sim.reset() }

    @Test func createPollCompleteAndDownloadEveryVariant() throws {
        let api = try client()
        let created = try api.create(
            CreateVideo(prompt: "A lighthouse at dusk", model: "sora-2", seconds: "4", size: "1280x720"))
        #expect(created.value.status == .queued)
        #expect(created.value.seconds == "4" && created.value.size == "1280x720" && created.value.model == "sora-2")
        #expect(created.requestID?.hasPrefix("req_") == true)
        let polled = try api.retrieve(created.value.id)
        #expect(polled.pollAfterMs != nil)
        let done = try waitUntilDone(api, created.value.id)
        #expect(done.status == .completed && done.progress == 100 && done.completedAt != nil && done.expiresAt != nil)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (variant, file, type) in [
            (ContentVariant.video, "video.mp4", "video/mp4"), (.thumbnail, "thumbnail.webp", "image/webp"),
            (.spritesheet, "spritesheet.jpg", "image/jpeg"),
        ] {
            let path = dir.appendingPathComponent(file).path
            let download = try api.download(done.id, variant: variant, to: path, maxBytes: 10 << 20).value
            let expected = try Data(contentsOf: Sim.fixtures.appendingPathComponent(file))
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == expected)
            #expect(download.bytes == expected.count)
            #expect(download.contentType == type)
            #expect(download.sha256 == shellSHA256(path))
            #expect(!FileManager.default.fileExists(atPath: path + ".part"))
        }
    }

    @Test func listPagesWithAfter() throws {
        let api = try client()
        let ids = try (0..<3).map { i in
            try api.create(CreateVideo(prompt: "list \(i)", model: "sora-2", seconds: "4", size: "720x1280")).value.id
        }
        let first = try api.list(limit: 2).value
        #expect(first.data.map(\.id) == [ids[2], ids[1]])
        #expect(first.hasMore)
        let second = try api.list(limit: 2, after: first.lastID).value
        #expect(second.data.map(\.id) == [ids[0]])
        #expect(!second.hasMore)
    }

    @Test func deleteThenNotFound() throws {
        let api = try client()
        let id = try api.create(CreateVideo(prompt: "to delete", model: "sora-2", seconds: "4", size: "720x1280")).value
            .id
        #expect(try api.delete(id).value)
        #expect { try api.retrieve(id) } throws: { ($0 as? VideoAPIError)?.kind == .notFound }
    }

    @Test func remixRefersToItsSource() throws {
        let api = try client()
        let source = try api.create(
            CreateVideo(prompt: "source [sim:seconds=0.5]", model: "sora-2", seconds: "4", size: "720x1280")
        ).value
        _ = try waitUntilDone(api, source.id)
        let remix = try api.remix(source.id, prompt: "same, at night", idempotencyKey: "remix-key-1").value
        #expect(remix.remixedFromVideoID == source.id)
        #expect(remix.id != source.id)
    }

    @Test func longGatewayIDsAreEscapedInPaths() throws {
        let api = try client()
        let video = try api.create(
            CreateVideo(prompt: "[sim:long-id] gateway", model: "sora-2", seconds: "4", size: "720x1280")
        ).value
        #expect(video.id.count > 250 && video.id.contains("=") && video.id.contains("-"))
        #expect(try api.retrieve(video.id).value.id == video.id)
    }

    @Test func errorClasses() throws {
        let bad = try client(Sim.config(key: "wrong-key"))
        #expect { try bad.retrieve("video_x") } throws: { ($0 as? VideoAPIError)?.kind == .badKey }
        let api = try client()
        #expect { try api.retrieve("video_missing") } throws: { ($0 as? VideoAPIError)?.kind == .notFound }
        do {
            _ = try api.create(CreateVideo(prompt: "too big", model: "sora-2", seconds: "4", size: "1920x1080"))
            Issue.record("expected invalid request")
        } catch {
            #expect(error.kind == .invalidRequest && error.param == "size" && error.status == 400)
            #expect(error.detail.contains("1280x720"))
            #expect(error.requestID?.hasPrefix("req_") == true)
        }
        let queued = try api.create(
            CreateVideo(prompt: "not yet [sim:stall]", model: "sora-2", seconds: "4", size: "720x1280")
        ).value
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("early-\(UUID().uuidString).mp4").path
        #expect { try api.download(queued.id, variant: .video, to: path, maxBytes: 1 << 20) } throws: {
            ($0 as? VideoAPIError)?.kind == .invalidRequest
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// The first frame goes as one multipart `input_reference` file; the simulator reads its header and
    /// refuses one of another size with the API's error, naming the parameter.
    @Test func createSendsTheInputReferenceFile() throws {
        func pngHeader(_ width: UInt32, _ height: UInt32) -> [UInt8] {
            func be(_ v: UInt32) -> [UInt8] {
                [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]
            }
            return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + be(13) + Array("IHDR".utf8) + be(width)
                + be(height) + [8, 2, 0, 0, 0, 0, 0, 0, 0]
        }
        let api = try client()
        let frame = ReferenceUpload(
            data: pngHeader(1280, 720), contentType: "image/png", filename: "reference-fitted.png")
        let created = try api.create(
            CreateVideo(prompt: "from a frame", model: "sora-2", seconds: "4", size: "1280x720", inputReference: frame))
        #expect(created.value.status.isInFlight)
        let (_, body) = try CurlEasy().get(Sim.base + "/_sim/last-reference")
        let last = try JSONParser.parse(body).root["last"]
        #expect(last?["width"]?.intValue == 1280 && last?["height"]?.intValue == 720 && last?["files"]?.intValue == 1)
        #expect(last?["content_type"]?.stringValue == "image/png" && last?["bytes"]?.intValue == frame.data.count)
        let wrong = ReferenceUpload(
            data: pngHeader(1280, 719), contentType: "image/png", filename: "reference-fitted.png")
        do {
            _ = try api.create(
                CreateVideo(
                    prompt: "from a frame", model: "sora-2", seconds: "4", size: "1280x720", inputReference: wrong))
            Issue.record("expected invalid request")
        } catch {
            #expect(error.kind == .invalidRequest && error.param == "input_reference" && error.status == 400)
        }
    }

    @Test func failedJobsCarryTheProviderCode() throws {
        let api = try client()
        let video = try api.create(
            CreateVideo(
                prompt: "[sim:fail=moderation_blocked][sim:seconds=0.5]", model: "sora-2", seconds: "4",
                size: "720x1280")
        ).value
        let done = try waitUntilDone(api, video.id)
        #expect(done.status == .failed && done.errorCode == "moderation_blocked")
        #expect(done.failureMessage?.contains("moderation") == true)
    }

    @Test func readsRetryOn429HonouringRetryAfter() throws {
        let waits = Waits()
        let api = try client(waits: waits)
        let id = try api.create(CreateVideo(prompt: "retry", model: "sora-2", seconds: "4", size: "720x1280")).value.id
        try Sim.fault("retrieve", "429", retryAfter: 1)
        let before = try Sim.stats()["retrieve"] ?? 0
        let started = Date()
        #expect(try api.retrieve(id).value.id == id)
        #expect(Date().timeIntervalSince(started) >= 1.0)
        #expect(waits.values == [1.0])
        #expect(try Sim.stats()["retrieve"] == before + 2)
    }

    @Test func readsRetry5xxThenGiveUp() throws {
        let waits = Waits()
        let api = try client(waits: waits)
        let id = try api.create(CreateVideo(prompt: "5xx", model: "sora-2", seconds: "4", size: "720x1280")).value.id
        try Sim.fault("retrieve", "500", count: 2)
        #expect(try api.retrieve(id).value.id == id)
        #expect(waits.values.count == 2 && waits.values.allSatisfy { $0 > 0 && $0 <= 8 })
        try Sim.fault("retrieve", "503", count: 3)
        #expect { try api.retrieve(id) } throws: {
            ($0 as? VideoAPIError)?.kind == .upstream && ($0 as? VideoAPIError)?.status == 503
        }
    }

    @Test func createIsNotResentAfter500() throws {
        let api = try client()
        try Sim.fault("create", "500")
        let before = try Sim.stats()["create"] ?? 0
        #expect {
            try api.create(CreateVideo(prompt: "once", model: "sora-2", seconds: "4", size: "720x1280"))
        } throws: { ($0 as? VideoAPIError)?.status == 500 }
        #expect(try Sim.stats()["create"] == before + 1)
    }

    @Test func createIsRetriedAfter429And503() throws {
        let waits = Waits()
        let api = try client(waits: waits)
        try Sim.fault("create", "429", retryAfter: 1)
        try Sim.fault("create", "503")
        let before = try Sim.stats()["create"] ?? 0
        let video = try api.create(
            CreateVideo(prompt: "eventually", model: "sora-2", seconds: "4", size: "720x1280"), maxRetries: nil
        ).value
        #expect(video.status == .queued)
        #expect(try Sim.stats()["create"] == before + 3)
        #expect(waits.values.first == 1.0)
    }

    @Test func hungCreateTimesOutAndIsNotResent() throws {
        let api = try client(Sim.config(timeoutMs: 1000))
        try Sim.fault("create", "hang", hangSeconds: 3)
        let before = try Sim.stats()["create"] ?? 0
        do {
            _ = try api.create(CreateVideo(prompt: "hang", model: "sora-2", seconds: "4", size: "720x1280"))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.kind == .timeout)
            #expect(error.createOutcome == .lostAnswer)  // the job may exist upstream: never resent blindly
        }
        #expect(try Sim.stats()["create"] == before + 1)
    }

    /// libcurl resends a request whose *reused* connection dies before any answer, a POST too: here a
    /// plain POST on a kept-alive connection reaches the simulator twice and makes two jobs. This is the
    /// hazard the paid calls are kept from (and proof that the drop fault below hits a reused connection).
    @Test func libcurlResendsAPostWhoseReusedConnectionDied() throws {
        let curl = try CurlEasy()
        let auth = [("Authorization", "Bearer \(Sim.key)")]
        let warm = try curl.perform(
            HTTPClientRequest(method: "GET", url: Sim.base + "/v1/videos?limit=1", headers: auth), into: MemorySink())
        #expect(warm.status == 200)
        try Sim.fault("create", "drop")
        let before = try Sim.stats()
        let create = HTTPClientRequest(
            method: "POST", url: Sim.base + "/v1/videos", headers: auth,
            body: .multipart([
                ("prompt", "resent by libcurl"), ("model", "sora-2"), ("seconds", "4"), ("size", "720x1280"),
            ]))
        #expect(try curl.perform(create, into: MemorySink()).status == 200)  // the second copy's answer
        let after = try Sim.stats()
        #expect(after["create"] == before["create"].map { $0 + 2 } && after["jobs"] == before["jobs"].map { $0 + 2 })
    }

    /// The same drop against the client: its create travels on a fresh connection, so it leaves once, the
    /// job exists once, and the failure says the answer was lost (the engine then looks for the job).
    @Test func droppedCreateOnAWarmClientIsSentOnce() throws {
        let api = try client()
        _ = try api.list(limit: 1)  // warms the handle's connection
        try Sim.fault("create", "drop")
        let before = try Sim.stats()
        do {
            _ = try api.create(
                CreateVideo(prompt: "dropped once", model: "sora-2", seconds: "4", size: "720x1280"), maxRetries: nil)
            Issue.record("expected the dropped connection to fail the create")
        } catch {
            #expect(error.kind == .connectionFailed && !error.nothingWasSent && error.createOutcome == .lostAnswer)
        }
        let after = try Sim.stats()
        #expect(after["create"] == before["create"].map { $0 + 1 } && after["jobs"] == before["jobs"].map { $0 + 1 })
        // reads still work on the same handle
        #expect(try api.list(limit: 1).value.data.first?.prompt == "dropped once")
    }

    @Test func droppedRemixOnAWarmClientIsSentOnce() throws {
        let api = try client()
        let source = try api.create(
            CreateVideo(prompt: "remix source [sim:seconds=0.5]", model: "sora-2", seconds: "4", size: "720x1280")
        ).value
        _ = try waitUntilDone(api, source.id)  // polls: the connection is warm
        try Sim.fault("remix", "drop")
        let before = try Sim.stats()
        #expect { try api.remix(source.id, prompt: "at night", maxRetries: nil) } throws: {
            ($0 as? VideoAPIError)?.createOutcome == .lostAnswer
        }
        let after = try Sim.stats()
        #expect(after["remix"] == before["remix"].map { $0 + 1 } && after["jobs"] == before["jobs"].map { $0 + 1 })
    }

    /// A time-out while connecting wrote nothing: not a lost answer, not possibly billed (so a create may go
    /// again and a chat attempt costs nothing); a time-out after sending is both.
    @Test func aConnectTimeoutSentNothing() {
        let connecting = ProviderTransport.failure(
            CurlError(code: 28, message: "Connection timed out after 5000 ms", requestUnsent: true), service: .chat)
        #expect(connecting.kind == .timeout && connecting.nothingWasSent && !connecting.possiblyBilled)
        #expect(connecting.createOutcome == .notTaken)
        let waiting = ProviderTransport.failure(
            CurlError(code: 28, message: "Operation timed out after 60000 ms", requestUnsent: false), service: .video)
        #expect(waiting.kind == .timeout && !waiting.nothingWasSent && waiting.possiblyBilled)
    }

    @Test func hungReadTimesOutAndRetries() throws {
        let waits = Waits()
        let api = try client(Sim.config(timeoutMs: 1000), waits: waits)
        let id = try api.create(CreateVideo(prompt: "slow read", model: "sora-2", seconds: "4", size: "720x1280")).value
            .id
        try Sim.fault("retrieve", "hang", hangSeconds: 3)
        #expect(try api.retrieve(id).value.id == id)
        #expect(waits.values.count == 1)
    }

    @Test func malformedBodyIsTyped() throws {
        let api = try client(Sim.config(retries: 0))
        let id = try api.create(CreateVideo(prompt: "malformed", model: "sora-2", seconds: "4", size: "720x1280")).value
            .id
        try Sim.fault("retrieve", "malformed")
        #expect { try api.retrieve(id) } throws: { ($0 as? VideoAPIError)?.kind == .malformedResponse }
        try Sim.fault("create", "malformed")
        do {
            _ = try api.create(CreateVideo(prompt: "m", model: "sora-2", seconds: "4", size: "720x1280"))
            Issue.record("expected malformed")
        } catch {
            #expect(error.kind == .malformedResponse && error.createOutcome == .lostAnswer)
        }
    }

    @Test func refusedConnectionIsSafeToRetryEvenForCreate() throws {
        let waits = Waits()
        var config = ProviderConfig(baseURL: "http://127.0.0.1:9/v1", apiKey: "k")
        config.maxRetries = 1
        let api = try client(config, waits: waits)
        do {
            _ = try api.create(
                CreateVideo(prompt: "x", model: "sora-2", seconds: "4", size: "720x1280"), maxRetries: nil)
            Issue.record("expected a connection failure")
        } catch {
            #expect(error.kind == .connectionFailed && error.nothingWasSent && error.createOutcome == .notTaken)
        }
        #expect(waits.values.count == 1)  // retried once: nothing could have been created
    }

    @Test func downloadsAreCapped() throws {
        let api = try client(Sim.config(retries: 0))
        let video = try api.create(
            CreateVideo(prompt: "[sim:seconds=0.3] cap", model: "sora-2", seconds: "4", size: "720x1280")
        ).value
        _ = try waitUntilDone(api, video.id)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cap-\(UUID().uuidString).mp4").path
        #expect { try api.download(video.id, variant: .video, to: path, maxBytes: 1000) } throws: {
            ($0 as? VideoAPIError)?.kind == .tooLarge
        }
        #expect(
            !FileManager.default.fileExists(atPath: path) && !FileManager.default.fileExists(atPath: path + ".part"))
    }
}

@Suite struct Decoding {
    @Test func tolerantOfGatewayShapes() throws {
        let json = try JSONParser.parse(
            #"{"id":"abc=","status":"in_progress","seconds":8,"progress":12.0,"usage":{"x":1}}"#)
        let video = try ProviderVideo(json: json)
        #expect(video.seconds == "8" && video.progress == 12 && video.prompt == nil && video.status == .inProgress)
    }

    @Test func retryAfterHeadersAreBoundedNeverTrap() {
        #expect(VideoAPIClient.retryAfter(["retry-after": "2"]) == 2)
        #expect(VideoAPIClient.retryAfter(["retry-after-ms": "1500"]) == 1.5)
        for absurd in ["inf", "1e400", "nan", "-5"] {
            let seconds = VideoAPIClient.retryAfter(["retry-after": absurd, "retry-after-ms": absurd])
            #expect(seconds.map { $0.isFinite && $0 >= 0 && $0 <= 3600 } ?? true, "\(absurd)")
        }
        #expect(VideoAPIClient.retryAfter(["retry-after": "1e19"]) == 3600)
        let error = VideoAPIError(
            .rateLimited, status: 429, detail: "slow down",
            retryAfter: VideoAPIClient.retryAfter(["retry-after": "1e19"]))
        #expect(error.publicMessage.contains("3600 seconds"))
    }

    @Test func absurdNumbersInAVideoAreDroppedNotTrapped() throws {
        let video = try ProviderVideo(
            json: JSONParser.parse(
                #"{"id":"v","status":"queued","progress":1e300,"created_at":-1e308,"expires_at":9.3e18}"#))
        #expect(video.progress == nil && video.expiresAt == nil)
    }

    @Test func statesAreMappedByMeaning() throws {
        func status(_ raw: String) throws -> VideoStatus {
            try ProviderVideo(json: JSONParser.parse(#"{"id":"v","status":"\#(raw)"}"#)).status
        }
        for raw in ["queued", "pending", "starting", "throttled"] { #expect(try status(raw) == .queued, "\(raw)") }
        for raw in ["in_progress", "processing", "running"] { #expect(try status(raw) == .inProgress, "\(raw)") }
        for raw in ["completed", "succeeded"] { #expect(try status(raw) == .completed, "\(raw)") }
        for raw in ["failed", "error", "cancelled", "canceled", "expired", "rejected"] {
            #expect(try status(raw) == .failed, "\(raw)")
        }
        // A word never seen before is not a failure: the job may still be running (and billing).
        #expect(try status("warming_up") == .unknown("warming_up"))
        #expect(try status("warming_up").isInFlight)
        let expired = try ProviderVideo(json: JSONParser.parse(#"{"id":"v","status":"expired"}"#))
        #expect(expired.failureMessage?.contains("expired") == true)
    }

    @Test func idAndStatusAreIndispensable() {
        #expect(throws: DecodeError.self) { try ProviderVideo(json: JSONParser.parse(#"{"status":"queued"}"#)) }
        #expect(throws: DecodeError.self) { try ProviderVideo(json: JSONParser.parse(#"{"id":"v"}"#)) }
        #expect(throws: DecodeError.self) { try ProviderVideo(json: JSONParser.parse(#"[1]"#)) }
    }

    @Test func publicMessagesHideInternals() {
        let e = VideoAPIError(.rateLimited, status: 429, detail: "org-123 limit", requestID: "req_1", retryAfter: 2.2)
        #expect(e.publicMessage == "The video provider is rate limiting us. Try again in 3 seconds.")
        #expect(!VideoAPIError(.badKey, detail: "sk-abc").publicMessage.contains("sk-abc"))
    }
}

func shellSHA256(_ path: String) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try? process.run()
    process.waitUntilExit()
    return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ").first
        .map(String.init) ?? ""
}
