// The simulated Videos API, transport-free: requests in, replies out. Jobs advance with the clock
// (queued → in_progress with rising progress → completed), so nothing runs in the background.
// Chat Completions, for the roundtable, are in ChatSimulator.swift.
// A dialect bends the answers the way a gateway does (see ../shared/openai/VIDEOS-API.md).

import Foundation

struct SimRequest: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var authorization: String?
    var contentType: String
    var body: Data
}

struct SimReply: Sendable {
    var status: Int
    var phrase: String
    var headers: [(String, String)]
    var body: Data
    var delaySeconds: Double?
    /// Close the connection without sending any answer at all.
    var dropConnection = false
}

/// How jobs are represented: OpenAI's own shapes, what LiteLLM's proxy sends for Veo, Runway and a hosted
/// vLLM server, or vLLM-Omni's own server (VLLMOmni.swift).
enum Dialect: String, Sendable, CaseIterable {
    case openai
    case litellmVeo = "litellm-veo"
    case litellmRunway = "litellm-runway"
    case litellmVllm = "litellm-vllm"
    case vllmOmni = "vllm-omni"

    /// LiteLLM's Veo transform knows only `processing` until the operation is done.
    func status(_ status: String) -> String {
        self == .litellmVeo && (status == "queued" || status == "in_progress") ? "processing" : status
    }

    /// The provider LiteLLM routes to, as its messages name it (nil: OpenAI itself).
    var gatewayProvider: String? {
        switch self {
        case .openai, .vllmOmni: nil
        case .litellmVeo: "gemini"
        case .litellmRunway: "runwayml"
        case .litellmVllm: "hosted_vllm"
        }
    }
}

struct Fixtures: Sendable {
    let video: Data, thumbnail: Data, spritesheet: Data

    static func load() throws -> Fixtures {
        func read(_ name: String, _ ext: String) throws -> Data {
            guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures") else {
                throw CocoaError(.fileNoSuchFile)
            }
            return try Data(contentsOf: url)
        }
        return try Fixtures(
            video: read("video", "mp4"), thumbnail: read("thumbnail", "webp"), spritesheet: read("spritesheet", "jpg"))
    }
}

actor Simulator {
    struct Settings: Sendable {
        var jobSeconds: Double
        var pollAfterMs: Int
        var apiKey: String?
        var gatewayIDs: Bool
        var dialect: Dialect = .openai
        /// vLLM-Omni serves one model and refuses any other ("Model mismatch").
        var servedModel = "Wan-AI/Wan2.2-T2V-A14B-Diffusers"
        /// Added to every /v1 call's answer (a provider that takes this long per call).
        var callLatencyMs = 0
    }

    /// Sizes per model, as OpenAI's 2026 guide lists them; dated snapshots share their family's sizes.
    static let sizes: [String: [String]] = [
        "sora-2": ["720x1280", "1280x720"],
        "sora-2-pro": ["720x1280", "1280x720", "1024x1792", "1792x1024", "1080x1920", "1920x1080"],
    ]
    static let aliases = [
        "sora-2-2025-10-06": "sora-2", "sora-2-2025-12-08": "sora-2", "sora-2-pro-2025-10-06": "sora-2-pro",
    ]
    static let seconds = ["4", "8", "12", "16", "20"]

    enum Outcome: Sendable { case complete, fail(String), stall }

    struct Job: Sendable {
        let id: String
        let model: String
        let prompt: String
        let size: String
        let seconds: String
        let createdAt: Double
        let remixedFrom: String?
        let duration: Double
        let outcome: Outcome
        let sequence: Int
        let dialect: Dialect
        let expiresAfter: Double
        /// Video downloads answer a content-filter error (as 200 video/mp4), forever.
        let contentFailed: Bool
        /// Video downloads still to answer "not ready" (as 200 video/mp4) once completed.
        var notReadyLeft: Int
    }

    struct Fault: Sendable {
        var kind: String  // one of Simulator.faultKinds
        var remaining: Int
        var retryAfter: Int
        var hangSeconds: Double
    }

    let settings: Settings
    let fixtures: Fixtures
    var jobs: [String: Job] = [:]
    var faults: [String: [Fault]] = [:]
    var stats: [String: Int] = [:]
    var sequence = 0
    /// Creates that carried an `input_reference` image, and what the last one was (for /_sim/last-reference).
    var referencesReceived = 0
    var lastReference: [String: Any]?
    /// The image each job was created from, as received (GET /_sim/references/{job id}).
    var jobReferences: [String: Data] = [:]
    /// Every create's fields as received (GET /_sim/creates).
    var creates: [[String: Any]] = []

    init(settings: Settings, fixtures: Fixtures) {
        self.settings = settings
        self.fixtures = fixtures
    }

    // MARK: Dispatch

    func handle(_ request: SimRequest) -> SimReply {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map {
            String($0).removingPercentEncoding ?? String($0)
        }
        if parts.first == "_sim" { return control(request, parts) }
        let endpoint: String
        if parts == ["v1", "chat", "completions"] && request.method == "POST" {
            endpoint = "chat"
        } else {
            guard parts.count >= 2, parts[0] == "v1", parts[1] == "videos" else {
                return error(
                    404, "Invalid URL (\(request.method) \(request.path))", type: "invalid_request_error",
                    code: "unknown_url")
            }
            switch (request.method, parts.count, parts.count > 3 ? parts[3] : "") {
            case ("POST", 2, _): endpoint = "create"
            case ("GET", 2, _): endpoint = "list"
            case ("GET", 3, _): endpoint = "retrieve"
            case ("DELETE", 3, _): endpoint = "delete"
            case ("GET", 4, "content"): endpoint = "content"
            case ("POST", 4, "remix"): endpoint = "remix"
            default:
                return error(
                    404, "Invalid URL (\(request.method) \(request.path))", type: "invalid_request_error",
                    code: "unknown_url")
            }
        }
        stats[endpoint, default: 0] += 1
        let fault = nextFault(endpoint)
        if let fault, let faulted = faultReply(fault, endpoint: endpoint) { return faulted }
        var reply = serve(endpoint, request, id: parts.count > 2 ? parts[2] : "")
        if settings.callLatencyMs > 0 {
            reply.delaySeconds = (reply.delaySeconds ?? 0) + Double(settings.callLatencyMs) / 1000
        }
        // These two faults let the call happen (a create makes its job) and then spoil only the answer.
        // A late fault adds to a delay the call already has (a slow chat answer).
        if let fault, fault.kind == "late" { reply.delaySeconds = (reply.delaySeconds ?? 0) + fault.hangSeconds }
        if let fault, fault.kind == "drop" { reply.dropConnection = true }
        return reply
    }

    func serve(_ endpoint: String, _ request: SimRequest, id: String) -> SimReply {
        guard authorized(request.authorization) else {
            return error(
                401,
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                type: "invalid_request_error", code: "invalid_api_key")
        }
        if settings.dialect == .vllmOmni, let reply = vllmOmni(endpoint, request, id: id) { return reply }
        switch endpoint {
        case "chat": return chat(request)
        case "create": return create(request)
        case "list": return list(request.query)
        case "retrieve":
            return withJob(id) { job in
                if job.dialect == .litellmVllm, state(job).status == "failed" { return hostedVllmFailure(job) }
                var reply = json(200, videoObject(job))
                // Gateways do not pass OpenAI's polling hint on.
                if job.dialect == .openai {
                    reply.headers.append(("openai-poll-after-ms", String(settings.pollAfterMs)))
                }
                return reply
            }
        case "delete":
            return withJob(id) { job in
                jobs[job.id] = nil
                return json(200, ["id": job.id, "object": "video.deleted", "deleted": true])
            }
        case "content": return withJob(id) { job in content(job, variant: request.query["variant"]) }
        default: return withJob(id) { job in remix(job, request) }
        }
    }

    func authorized(_ header: String?) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let key = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        if let expected = settings.apiKey { return key == expected }
        return !key.isEmpty
    }

    func withJob(_ id: String, _ body: (Job) -> SimReply) -> SimReply {
        guard let job = jobs[id] else {
            return error(
                404, "Video with id '\(id)' not found.", type: "invalid_request_error", param: "video_id", code: nil)
        }
        return body(job)
    }

    // MARK: Endpoints

    func create(_ request: SimRequest) -> SimReply {
        let fields: [String: Any]
        switch parseBody(request) {
        case let .success(f): fields = f
        case let .failure(reply): return reply
        }
        record(fields)
        guard let prompt = fields["prompt"] as? String, !prompt.isEmpty else {
            return error(
                400, "Missing required parameter: 'prompt'.", param: "prompt", code: "missing_required_parameter")
        }
        guard prompt.count <= 32000 else {
            return error(
                400, "Invalid 'prompt': string too long. Expected a string with maximum length 32000.", param: "prompt",
                code: "string_above_max_length")
        }
        let model = (fields["model"] as? String) ?? "sora-2"
        if dialect(of: prompt) == .litellmVllm { return createHostedVllm(fields, prompt: prompt, model: model) }
        guard let family = Simulator.sizes[model] != nil ? model : Simulator.aliases[model],
            let sizes = Simulator.sizes[family]
        else {
            return error(
                400, "Invalid value: '\(model)'. Supported values are: 'sora-2' and 'sora-2-pro'.", param: "model",
                code: "invalid_value")
        }
        if let raw = fields["seconds"], !(raw is String) {
            return error(
                400,
                "Invalid type for 'seconds': expected one of '4', '8', or '12', but got \(raw is NSNumber ? "an integer" : "another type") instead.",
                param: "seconds", code: "invalid_type")
        }
        let seconds = (fields["seconds"] as? String) ?? "4"
        guard Simulator.seconds.contains(seconds) else {
            return error(
                400,
                "Invalid value: '\(seconds)'. Supported values are: \(Simulator.seconds.map { "'\($0)'" }.joined(separator: ", ")).",
                param: "seconds", code: "invalid_value")
        }
        let size = (fields["size"] as? String) ?? "720x1280"
        guard sizes.contains(size) else {
            return error(
                400,
                "Invalid value: '\(size)'. Model \(model) supports sizes: \(sizes.map { "'\($0)'" }.joined(separator: ", ")).",
                param: "size", code: "invalid_value")
        }
        // Runway only turns an image into a video: LiteLLM passes a create without one on, and Runway refuses it.
        if dialect(of: prompt) == .litellmRunway && fields["input_reference"] == nil {
            return gatewayError(
                "litellm.BadRequestError: RunwaymlException - promptImage: Required. Runway generates video from an image only: an input image (input_reference) is required.",
                param: "input_reference")
        }
        if let refused = checkReference(fields["input_reference"], size: size) { return refused }
        let job = newJob(model: model, prompt: prompt, size: size, seconds: seconds, remixedFrom: nil)
        if let file = (fields["input_reference"] as? [SimFile])?.first { jobReferences[job.id] = file.data }
        return json(200, videoObject(job, creating: true))
    }

    /// An `input_reference` upload must be one real image (by its header) of exactly the requested size,
    /// as the API requires; an object reference (`image_url` / `file_id`, JSON bodies) is taken as is.
    func checkReference(_ value: Any?, size: String) -> SimReply? {
        guard let value else { return nil }
        if value is [String: Any] { return nil }
        guard let files = value as? [SimFile] else {
            return error(
                400, "Invalid 'input_reference': expected an image file upload.", param: "input_reference",
                code: "invalid_type")
        }
        guard files.count == 1, let file = files.first else {
            return error(
                400, "Invalid 'input_reference': send exactly one image, not \(files.count).", param: "input_reference",
                code: "invalid_value")
        }
        guard let header = ImageHeader(file.data) else {
            return error(
                400, "Invalid 'input_reference': the file is not a supported image (JPEG, PNG or WebP).",
                param: "input_reference", code: "invalid_image_format")
        }
        guard "\(header.width)x\(header.height)" == size else {
            return error(
                400,
                "Inpaint image must match the requested width and height (got \(header.width)x\(header.height), expected \(size)).",
                param: "input_reference", code: "invalid_value")
        }
        referencesReceived += 1
        lastReference = [
            "files": files.count, "width": header.width, "height": header.height, "format": header.format,
            "content_type": file.contentType ?? NSNull(), "filename": file.filename, "bytes": file.data.count,
        ]
        return nil
    }

    /// A new job from a completed one's copy, with `remixed_from_video_id`; refused once that copy has
    /// expired (`expires_at` passed), as the provider no longer has the video. LiteLLM remixes only for
    /// OpenAI and Azure: a job in another provider's dialect is refused before anything is made.
    func remix(_ source: Job, _ request: SimRequest) -> SimReply {
        if let provider = source.dialect.gatewayProvider {
            return gatewayError(
                "litellm.BadRequestError: Video remix is not supported for provider '\(provider)'. Remix is only available for OpenAI and Azure."
            )
        }
        let sourceState = state(source)
        guard sourceState.status == "completed" else {
            return error(
                400, "Video '\(source.id)' is not completed, so it cannot be remixed.", param: "video_id", code: nil)
        }
        if let completedAt = sourceState.completedAt, Date().timeIntervalSince1970 >= completedAt + source.expiresAfter
        {
            return error(
                400, "Video '\(source.id)' has expired (its content is no longer available), so it cannot be remixed.",
                param: "video_id", code: "video_expired")
        }
        let fields: [String: Any]
        switch parseBody(request) {
        case let .success(f): fields = f
        case let .failure(reply): return reply
        }
        guard let prompt = fields["prompt"] as? String, !prompt.isEmpty else {
            return error(
                400, "Missing required parameter: 'prompt'.", param: "prompt", code: "missing_required_parameter")
        }
        guard prompt.count <= 32000 else {
            return error(
                400, "Invalid 'prompt': string too long. Expected a string with maximum length 32000.", param: "prompt",
                code: "string_above_max_length")
        }
        let job = newJob(
            model: source.model, prompt: prompt, size: source.size, seconds: source.seconds, remixedFrom: source.id)
        return json(200, videoObject(job, creating: true))
    }

    func list(_ query: [String: String]) -> SimReply {
        if settings.dialect != .openai && settings.dialect != .vllmOmni {
            // LiteLLM cannot route a list without a model or provider.
            return gatewayError(
                "litellm.BadRequestError: LLM Provider NOT provided. A model or custom_llm_provider is required to list videos."
            )
        }
        let limit = query["limit"].flatMap { Int($0) } ?? 20
        guard (0...100).contains(limit) else {
            return error(400, "Invalid 'limit': must be between 0 and 100.", param: "limit", code: "invalid_value")
        }
        let order = query["order"] ?? "desc"
        guard order == "asc" || order == "desc" else {
            return error(
                400, "Invalid value: '\(order)'. Supported values are: 'asc' and 'desc'.", param: "order",
                code: "invalid_value")
        }
        var all = jobs.values.sorted { $0.sequence < $1.sequence }
        if order == "desc" { all.reverse() }
        if let after = query["after"] {
            guard let index = all.firstIndex(where: { $0.id == after }) else {
                return error(404, "Video with id '\(after)' not found.", param: "after", code: nil)
            }
            all = Array(all[(index + 1)...])
        }
        let page = Array(all.prefix(limit))
        return json(
            200,
            [
                "object": "list", "data": page.map { videoObject($0) },
                "first_id": page.first?.id ?? NSNull(), "last_id": page.last?.id ?? NSNull(),
                "has_more": all.count > page.count,
            ])
    }

    func content(_ job: Job, variant: String?) -> SimReply {
        let variant = variant ?? "video"
        // LiteLLM ignores the variant and sends the video again.
        let gateway = job.dialect != .openai
        let asset: (Data, String)
        switch variant {
        case "video":
            if let spec = directive(job.prompt, "clip") {
                guard let clip = clip(spec) else {
                    return error(500, "The simulator could not render the clip '\(spec)'.", param: nil, code: nil)
                }
                asset = (clip, "video/mp4")
            } else {
                asset = (fixtures.video, "video/mp4")
            }
        case "thumbnail": asset = gateway ? (fixtures.video, "video/mp4") : (fixtures.thumbnail, "image/webp")
        case "spritesheet": asset = gateway ? (fixtures.video, "video/mp4") : (fixtures.spritesheet, "image/jpeg")
        default:
            return error(
                400, "Invalid value: '\(variant)'. Supported values are: 'video', 'thumbnail', and 'spritesheet'.",
                param: "variant", code: "invalid_value")
        }
        let status = job.dialect.status(state(job).status)
        if job.dialect == .litellmVllm && status != "completed" {
            return error(
                404, "litellm.NotFoundError: Hosted_vllmException - Generation is still in-progress", code: "404")
        }
        guard status == "completed" else {
            return error(
                400, "Video is not ready yet. Its status is '\(status)'; download content once it is 'completed'.",
                param: nil, code: nil)
        }
        // LiteLLM bugs seen in the field: an error envelope sent as a 200 "video/mp4".
        if variant == "video" && job.contentFailed {
            return errorAsVideo("The video was blocked by the provider's content filter.", code: "content_filter")
        }
        if variant == "video" && job.notReadyLeft > 0 {
            jobs[job.id]?.notReadyLeft -= 1
            return errorAsVideo("Video is not ready yet (status: processing).", code: nil)
        }
        return SimReply(
            status: 200, phrase: "OK", headers: [("Content-Type", asset.1), ("x-request-id", requestID())],
            body: asset.0)
    }

    /// Clips of other shapes for the film tests, rendered once per spec with ffmpeg's test sources:
    /// `[sim:clip=WxH@FPS,audio|silent,SECONDS]` (H.264 yuv420p; AAC 48 kHz stereo with `audio`).
    var clips: [String: Data] = [:]

    func clip(_ spec: String) -> Data? {
        if let cached = clips[spec] { return cached }
        let parts = spec.split(separator: ",").map(String.init)
        let shape = parts.first?.split(separator: "@").map(String.init) ?? []
        let size = shape.first?.split(separator: "x").compactMap { Int($0) } ?? []
        guard parts.count == 3, shape.count == 2, size.count == 2, size.allSatisfy({ (16...1920).contains($0) }),
            let fps = Int(shape[1]), (1...60).contains(fps), ["audio", "silent"].contains(parts[1]),
            let seconds = Double(parts[2]), seconds > 0, seconds <= 20
        else { return nil }
        let out = NSTemporaryDirectory() + "sim-clip-\(getpid())-\(clips.count).mp4"
        var arguments = [
            "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
            "testsrc2=size=\(size[0])x\(size[1]):rate=\(fps):duration=\(parts[2])",
        ]
        if parts[1] == "audio" {
            arguments += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=\(parts[2])", "-ac", "2"]
            arguments += ["-c:a", "aac", "-b:a", "96k"]
        }
        arguments += [
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-shortest",
            out,
        ]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: out) }
        guard process.terminationStatus == 0, let data = FileManager.default.contents(atPath: out) else { return nil }
        clips[spec] = data
        return data
    }

    // MARK: Jobs

    func newJob(model: String, prompt: String, size: String, seconds: String, remixedFrom: String?) -> Job {
        sequence += 1
        stats["jobs", default: 0] += 1
        var duration = settings.jobSeconds
        var outcome = Outcome.complete
        if let n = directive(prompt, "seconds").flatMap(Double.init) { duration = n }
        if let code = directive(prompt, "fail") { outcome = .fail(code) }
        if prompt.contains("[sim:stall]") { outcome = .stall }
        let dialect = dialect(of: prompt)
        // LiteLLM encodes provider and model into every id it hands out.
        let long =
            settings.gatewayIDs || prompt.contains("[sim:long-id]") || (dialect != .openai && dialect != .vllmOmni)
        let job = Job(
            id: dialect == .vllmOmni ? "video_gen_" + newID(long: false).dropFirst(6) : newID(long: long), model: model,
            prompt: prompt, size: size, seconds: seconds,
            createdAt: Date().timeIntervalSince1970, remixedFrom: remixedFrom, duration: duration,
            outcome: outcome, sequence: sequence, dialect: dialect,
            expiresAfter: directive(prompt, "expires").flatMap(Double.init) ?? 3600,
            contentFailed: prompt.contains("[sim:content-failed]"),
            notReadyLeft: directive(prompt, "content-not-ready").flatMap(Int.init) ?? 0)
        jobs[job.id] = job
        return job
    }

    /// The job's dialect: its prompt's `[sim:dialect=NAME]`, else the simulator's.
    func dialect(of prompt: String) -> Dialect {
        directive(prompt, "dialect").flatMap(Dialect.init(rawValue:)) ?? settings.dialect
    }

    /// Reads `[sim:NAME=VALUE]` from a prompt.
    func directive(_ prompt: String, _ name: String) -> String? {
        guard let start = prompt.range(of: "[sim:\(name)=") else { return nil }
        guard let end = prompt[start.upperBound...].firstIndex(of: "]") else { return nil }
        return String(prompt[start.upperBound..<end])
    }

    struct JobState {
        var status: String
        var progress: Int
        var completedAt: Double?
        var error: [String: String]?
    }

    /// Where a job is now: queued for the first tenth, then progressing; failures happen halfway.
    func state(_ job: Job) -> JobState {
        let elapsed = Date().timeIntervalSince1970 - job.createdAt
        let fraction = job.duration <= 0 ? 1 : elapsed / job.duration
        if fraction < 0.1 { return JobState(status: "queued", progress: 0) }
        switch job.outcome {
        case .stall:
            return JobState(status: "in_progress", progress: min(42, Int(fraction * 100)))
        case let .fail(code) where fraction >= 0.5:
            return JobState(
                status: "failed", progress: 50, completedAt: job.createdAt + job.duration * 0.5,
                error: ["code": code, "message": Simulator.failureMessage(code)])
        default:
            if fraction >= 1 {
                return JobState(status: "completed", progress: 100, completedAt: job.createdAt + job.duration)
            }
            return JobState(status: "in_progress", progress: max(1, min(99, Int(fraction * 100))))
        }
    }

    static func failureMessage(_ code: String) -> String {
        switch code {
        case "moderation_blocked": "Your request was blocked by our moderation system."
        case "billing_hard_limit_reached": "Billing hard limit has been reached."
        case "rate_limit_exceeded": "Rate limit reached for video generation."
        default: "Video generation failed (\(code))."
        }
    }

    /// The Video object as the job's dialect shows it; `creating` marks the create (or remix) answer.
    func videoObject(_ job: Job, creating: Bool = false) -> [String: Any] {
        let s = state(job)
        var object: [String: Any] = [
            "id": job.id, "object": "video", "model": job.model, "status": job.dialect.status(s.status),
            "progress": s.progress,
            "created_at": Int(job.createdAt), "completed_at": s.completedAt.map { Int($0) } ?? NSNull(),
            "expires_at": s.status == "completed" ? Int((s.completedAt ?? 0) + job.expiresAfter) as Any : NSNull(),
            "prompt": job.prompt, "size": job.size, "seconds": job.seconds,
            "remixed_from_video_id": job.remixedFrom ?? NSNull(), "error": s.error ?? NSNull(),
        ]
        switch job.dialect {
        case .openai: break
        case .litellmVeo:
            // Observed from LiteLLM 1.108: no progress at all, and every time is null.
            object["progress"] = nil
            for key in ["created_at", "completed_at", "expires_at"] { object[key] = NSNull() }
        case .litellmRunway:
            // Observed: the create answer says 0; later answers carry the real time.
            if creating { object["created_at"] = 0 }
        case .litellmVllm: break
        case .vllmOmni: vllmOmniFields(job, s, into: &object)
        }
        return object
    }

    func newID(long: Bool) -> String {
        if long {
            // Gateways encode provider and job into long base64url ids with padding.
            let bytes = (0..<200).map { _ in UInt8.random(in: 0...255) }
            let b64 = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
                of: "/", with: "_")
            return "video_" + b64 + "-_=="
        }
        return "video_" + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    func requestID() -> String {
        "req_" + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    // MARK: Bodies

    enum Parsed { case success([String: Any]), failure(SimReply) }

    func parseBody(_ request: SimRequest) -> Parsed {
        let type = request.contentType.lowercased()
        if type.hasPrefix("application/json") {
            guard let object = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any] else {
                return .failure(error(400, "We could not parse the JSON body of your request.", code: nil))
            }
            return .success(object)
        }
        if type.hasPrefix("multipart/form-data") {
            guard let boundary = Multipart.boundary(request.contentType),
                let fields = Multipart.parse(request.body, boundary: boundary)
            else {
                return .failure(error(400, "Could not parse multipart form data.", code: nil))
            }
            return .success(fields)
        }
        return .failure(
            error(
                400, "Unsupported content type: '\(request.contentType)'. Use multipart/form-data or application/json.",
                code: nil))
    }

    // MARK: Replies

    func json(_ status: Int, _ object: [String: Any], phrase: String = "OK", contentType: String = "application/json")
        -> SimReply
    {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return SimReply(
            status: status, phrase: phrase, headers: [("Content-Type", contentType), ("x-request-id", requestID())],
            body: body)
    }

    func envelope(_ message: String, type: String = "invalid_request_error", param: String? = nil, code: String?)
        -> [String: Any]
    {
        [
            "error": ["message": message, "type": type, "param": param ?? NSNull(), "code": code ?? NSNull()]
                as [String: Any]
        ]
    }

    func error(
        _ status: Int, _ message: String, type: String = "invalid_request_error", param: String? = nil, code: String?
    ) -> SimReply {
        let phrases = [
            400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
        ]
        return json(status, envelope(message, type: type, param: param, code: code), phrase: phrases[status] ?? "Error")
    }

    /// A 400 in LiteLLM's envelope: `type` null, the status as a string `code`.
    func gatewayError(_ message: String, param: String? = nil) -> SimReply {
        let body: [String: Any] = ["message": message, "type": NSNull(), "param": param ?? NSNull(), "code": "400"]
        return json(400, ["error": body], phrase: "Bad Request")
    }

    /// An error envelope sent as a successful download, as LiteLLM has done.
    func errorAsVideo(_ message: String, code: String?) -> SimReply {
        json(200, envelope(message, code: code), contentType: "video/mp4")
    }

    // MARK: Faults and the control API

    static let faultKinds = ["400", "429", "quota", "500", "502", "503", "504", "hang", "malformed", "late", "drop"]

    /// Takes the next queued fault for an endpoint, if any.
    func nextFault(_ endpoint: String) -> Fault? {
        guard var queue = faults[endpoint], !queue.isEmpty else { return nil }
        var fault = queue.removeFirst()
        fault.remaining -= 1
        if fault.remaining > 0 { queue.insert(fault, at: 0) }
        faults[endpoint] = queue
        return fault
    }

    /// The answer that replaces the call, or nil for faults that let the call happen (late, drop).
    func faultReply(_ fault: Fault, endpoint: String) -> SimReply? {
        let upstream = endpoint == "chat" ? "model provider" : "video provider"
        switch fault.kind {
        case "late", "drop": return nil
        case "400": return error(400, "The request could not be processed.", code: nil)
        case "429":
            var reply = error(
                429, "Rate limit reached for requests. Please try again in \(fault.retryAfter)s.", type: "requests",
                code: "rate_limit_exceeded")
            reply.headers += [
                ("Retry-After", String(fault.retryAfter)), ("retry-after-ms", String(fault.retryAfter * 1000)),
            ]
            return reply
        case "quota":
            // No wait cures an empty account, so OpenAI sends no Retry-After.
            return error(
                429, "You exceeded your current quota, please check your plan and billing details.",
                type: "insufficient_quota", code: "insufficient_quota")
        case "500":
            return error(
                500, "The server had an error while processing your request. Sorry about that!", type: "server_error",
                code: nil)
        case "502":
            return error(
                502, "Bad gateway: the upstream \(upstream) sent an invalid response.", type: "server_error", code: nil)
        case "503":
            return error(
                503, "The engine is currently overloaded, please try again later.", type: "server_error", code: nil)
        case "504": return error(504, "Gateway timeout.", type: "server_error", code: nil)
        case "hang":
            var reply = error(504, "Gateway timeout.", type: "server_error", code: nil)
            reply.delaySeconds = fault.hangSeconds
            return reply
        default:  // malformed
            return SimReply(
                status: 200, phrase: "OK",
                headers: [("Content-Type", "application/json"), ("x-request-id", requestID())],
                body: Data(
                    (endpoint == "chat"
                        ? #"{"id": "chatcmpl-trunc", "object": "chat.compl"# : #"{"id": "video_trunc", "object": "vid"#)
                        .utf8))
        }
    }

    static let endpoints = ["create", "list", "retrieve", "delete", "content", "remix", "chat"]

    func control(_ request: SimRequest, _ parts: [String]) -> SimReply {
        switch (request.method, parts.count > 1 ? parts[1] : "") {
        case ("GET", "stats"):
            // Calls per endpoint (chat completions included), and "jobs": how many jobs were made (late and
            // dropped creates included).
            return json(
                200, Dictionary(uniqueKeysWithValues: (Simulator.endpoints + ["jobs"]).map { ($0, stats[$0] ?? 0) }))
        case ("GET", "references") where parts.count == 3:
            guard let data = jobReferences[parts[2]] else {
                return error(404, "No image for that job.", param: nil, code: nil)
            }
            return SimReply(
                status: 200, phrase: "OK", headers: [("Content-Type", "application/octet-stream")], body: data)
        case ("GET", "last-reference"):
            // How many creates carried an image, and the last one's facts (null before the first).
            return json(200, ["received": referencesReceived, "last": lastReference ?? NSNull()])
        case ("POST", "restart"):
            // A vLLM-Omni server keeps its jobs in memory: a restart forgets every one of them.
            jobs = [:]
            return json(200, ["restarted": true])
        case ("GET", "creates"):
            // Every create's form fields as received (files by name and size), oldest first.
            return json(200, ["creates": creates])
        case ("POST", "reset"):
            creates = []
            jobs = [:]
            faults = [:]
            stats = [:]
            referencesReceived = 0
            lastReference = nil
            jobReferences = [:]
            return json(200, ["reset": true])
        case ("POST", "faults"):
            guard let object = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
                let endpoint = object["endpoint"] as? String, Simulator.endpoints.contains(endpoint),
                let kind = object["kind"] as? String, Simulator.faultKinds.contains(kind)
            else {
                return error(
                    400,
                    "Send {\"endpoint\": one of \(Simulator.endpoints), \"kind\": \(Simulator.faultKinds.joined(separator: "|")), \"count\": N, \"retry_after\": seconds, \"hang_seconds\": seconds}.",
                    code: nil)
            }
            let fault = Fault(
                kind: kind, remaining: max(1, object["count"] as? Int ?? 1),
                retryAfter: max(0, object["retry_after"] as? Int ?? 1),
                hangSeconds: object["hang_seconds"] as? Double ?? 30)
            faults[endpoint, default: []].append(fault)
            return json(200, ["endpoint": endpoint, "kind": kind, "count": fault.remaining])
        default:
            return error(404, "Unknown simulator control call.", code: nil)
        }
    }
}
