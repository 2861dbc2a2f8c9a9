// What every engine suite shares: a schema of its own (so the claims, which take any due row, and the
// breaker's one row see only the suite's rows, and suites run beside each other), the rows it starts from,
// and a scripted provider in place of a socket. Each suite puts a generation in a known phase, runs one
// engine step and reads the row, the provider's calls and the media directory back.

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

/// A suite of engine tests: its own schema, connection, provider and engine, all in its harness.
protocol EngineSuite: AnyObject {
    var harness: EngineHarness { get }
}

/// Builds a suite's pieces on its schema (made once per run) and gives each test a clean start: no
/// unfinished generation left by an earlier test of the suite, and a closed breaker.
final class EngineHarness {
    let db: Connection
    let provider = ScriptedProvider()
    let fixture: EngineFixture
    let media: String
    let engine: GenerationEngine

    init(schema: String, offset: Int64) throws {
        db = try TestSchema.connection(schema, offset: offset)
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
        // The probe answers only for the checked video file about to be stored, so a recorded duration proves it
        // was given that file.
        engine = GenerationEngine(
            db: db, provider: provider, config: config,
            probe: { path in
                path.hasSuffix(".checked") && path.contains("-video.mp4.")
                    && FileManager.default.fileExists(atPath: path)
                    ? VideoProbe(seconds: "3.96", width: 1280, height: 720) : nil
            })
    }

    deinit { try? FileManager.default.removeItem(atPath: media) }
}

extension EngineSuite {
    var db: Connection { harness.db }
    var provider: ScriptedProvider { harness.provider }
    var fixture: EngineFixture { harness.fixture }
    var media: String { harness.media }
    var engine: GenerationEngine { harness.engine }
    var store: GenerationStore { GenerationStore(db: db) }

    func row(_ id: ID<Generation>) throws -> Generation { try #require(try store.byID(id)) }

    /// Makes a row due at once (claims and retries push next_attempt_at into the future).
    func makeDue(_ id: ID<Generation>) throws {
        try db.execute("UPDATE generations SET next_attempt_at = now() - interval '1 second' WHERE id = \(id)")
    }

    func secondsUntilDue(_ id: ID<Generation>) throws -> Double {
        try Double(
            db.execute(
                "SELECT extract(epoch FROM next_attempt_at - now())::float8 AS s FROM generations WHERE id = \(id)")[0]
                .string("s")) ?? .nan
    }

    func health() throws -> (failures: Int64, pauseSeconds: Int64, pausedFor: Double?, pausedUntil: String?) {
        let r = try db.execute(
            """
            SELECT consecutive_failures, pause_seconds, extract(epoch FROM paused_until - now())::float8 AS left, paused_until::text AS until
            FROM provider_health WHERE provider = 'default'
            """)[0]
        return (r.int("consecutive_failures"), r.int("pause_seconds"), r["left"].flatMap(Double.init), r["until"])
    }

    func path(_ id: ID<Generation>, _ asset: MediaAsset) -> String { "\(media)/\(id)/\(asset.fileName)" }
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
}

// MARK: - Fixtures

/// Rows for one test: its own user and project, and a video per generation (the database allows one
/// active generation per video). Prompts are unique, so the provider's list matches only this test's rows.
struct EngineFixture {
    let db: Connection
    let userID: ID<User>
    let projectID: ID<Project>
    let settings: ResolvedSettings

    init(db: Connection) throws {
        self.db = db
        userID = try db.execute(
            "INSERT INTO users (email, password_hash) VALUES (\(TestDatabase.uniqueEmail("engine")), 'not a hash') RETURNING id"
        )[0].id("id")
        projectID = try db.execute(
            "INSERT INTO projects (user_id, name) VALUES (\(userID), 'Engine tests') RETURNING id")[0].id("id")
        settings = try Catalog.load(db).resolve(RequestedSettings(), db: db)  // sora-2, 4 s, 1280x720, $0.40
    }

    static func jobID() -> String { "video_" + UUID().uuidString.lowercased() }

    /// A freshly clicked generation (phase waiting), on a new video unless `videoID` is given.
    func waiting(videoID: ID<Video>? = nil) throws -> Generation {
        let prompt = "A lighthouse at dusk, engine test \(UUID().uuidString)"
        let video =
            try videoID
            ?? db.execute(
                """
                INSERT INTO videos (project_id, title, final_prompt) VALUES (\(projectID), 'Engine test', \(prompt)) RETURNING id
                """)[0].id("id")
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
