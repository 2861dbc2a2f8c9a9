// The Videos API client: every /v1/videos call on one libcurl handle, with typed errors and retries
// (the plumbing, shared with ChatAPIClient, is ProviderTransport). Not Sendable: each thread (web
// worker, background worker) makes its own.
//
// Retry rule: reads (retrieve, list, download) and delete retry on 429, 408/409, 5xx, timeouts and
// connection failures. Create and remix start paid jobs, so they retry only when nothing can have been
// created: the connection was refused before sending, or the provider answered 429 or 503.

import Formats
import Glibc
import HTTPClient

public struct APIResult<Value: Sendable>: Sendable {
    public var value: Value
    public var requestID: String?
    /// `openai-poll-after-ms`: how long the provider wants us to wait before polling again.
    public var pollAfterMs: Int?
}

public struct CreateVideo: Sendable {
    public var prompt: String
    public var model: String
    public var seconds: String
    public var size: String
    /// Sent as `Idempotency-Key`: providers and gateways that honour it drop a duplicate create.
    public var idempotencyKey: String?
    /// The first frame (image-to-video), already at exactly `size`: sent as the `input_reference` file.
    public var inputReference: ReferenceUpload?
    /// The model's frame rate and the frame count (seconds × fps), for models that have one.
    public var fps: Int?
    public var numFrames: Int?
    /// Generation parameters (vLLM-Omni's names; gateways pass them along), sent only when set.
    public var seed: Int64?
    public var negativePrompt: String?
    public var numInferenceSteps: Int?
    /// Decimal text, sent as it is.
    public var guidanceScale: String?

    public init(
        prompt: String, model: String, seconds: String, size: String, idempotencyKey: String? = nil,
        inputReference: ReferenceUpload? = nil
    ) {
        self.prompt = prompt
        self.model = model
        self.seconds = seconds
        self.size = size
        self.idempotencyKey = idempotencyKey
        self.inputReference = inputReference
    }

    /// The form fields in a dialect: OpenAI's `size`/`seconds`, or vLLM-Omni's `width`/`height`/`num_frames`/`fps`;
    /// then the parameters that are set.
    func fields(_ dialect: VideoDialect) -> [(String, String)] {
        var fields = [("prompt", prompt), ("model", model)]
        let dimensions = size.split(separator: "x")
        switch dialect {
        case .vllmOmni where dimensions.count == 2:
            fields += [("width", String(dimensions[0])), ("height", String(dimensions[1]))]
            if let numFrames, let fps {
                fields += [("num_frames", String(numFrames)), ("fps", String(fps))]
            } else {
                fields.append(("seconds", seconds))
            }
        case .openai, .vllmOmni:
            fields += [("seconds", seconds), ("size", size)]
            if let fps { fields.append(("fps", String(fps))) }
        }
        if let seed { fields.append(("seed", String(seed))) }
        if let negativePrompt { fields.append(("negative_prompt", negativePrompt)) }
        if let numInferenceSteps { fields.append(("num_inference_steps", String(numInferenceSteps))) }
        if let guidanceScale { fields.append(("guidance_scale", guidanceScale)) }
        return fields
    }
}

public struct ReferenceUpload: Sendable {
    public var data: [UInt8]
    public var contentType: String
    public var filename: String
    public init(data: [UInt8], contentType: String, filename: String) {
        self.data = data
        self.contentType = contentType
        self.filename = filename
    }
}

public enum ContentVariant: String, Sendable, CaseIterable {
    case video, thumbnail, spritesheet
}

public struct Download: Sendable {
    public var bytes: Int
    public var sha256: String
    public var contentType: String?
    /// The Content-Length the provider announced, if any (a shorter body is truncated).
    public var announcedLength: Int?
    /// The first bytes of the body, to check what it really is (gateways mislabel errors as video).
    public var head: [UInt8]
}

public final class VideoAPIClient: VideoProvider {
    public let config: ProviderConfig
    /// The shared plumbing: the libcurl handle, headers, retries and error mapping.
    private let transport: ProviderTransport

    public init(config: ProviderConfig, wait: @escaping (Double) -> Void = VideoAPIClient.sleep) throws(VideoAPIError) {
        self.config = config
        transport = try ProviderTransport(.init(config), service: .video, wait: wait)
    }

    public static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }

    // MARK: Calls

    /// POST /videos as multipart/form-data, as OpenAI's SDKs send it (vLLM-Omni takes nothing else).
    /// `maxRetries` overrides the config (nil: the config's); `create(_:)` is one attempt, for the engine.
    public func create(_ params: CreateVideo, maxRetries: Int?) throws(VideoAPIError) -> APIResult<ProviderVideo> {
        let fields = params.fields(config.dialect)
        let body: HTTPClientRequest.Body =
            params.inputReference.map {
                .multipartWithFiles(
                    fields,
                    files: [
                        MimeFile(
                            name: "input_reference", filename: $0.filename, contentType: $0.contentType, data: $0.data)
                    ])
            } ?? .multipart(fields)
        let headers = params.idempotencyKey.map { [("Idempotency-Key", $0)] } ?? []
        return try video(
            transport.send("POST", "/videos", body: body, headers: headers, rule: .create, maxRetries: maxRetries))
    }

    /// GET /videos/{id}. A non-2xx answer that carries the job itself is a successful read of a failed job:
    /// vLLM-Omni answers a failed job's retrieve that way, and LiteLLM's `hosted_vllm` path embeds the upstream
    /// job in a 500's message on every poll. Either ends the job with the provider's error; neither is retried.
    public func retrieve(_ id: String) throws(VideoAPIError) -> APIResult<ProviderVideo> {
        // The failed job is read once, where the non-2xx answer is judged.
        var failed: ProviderVideo?
        let reply = try transport.send("GET", "/videos/" + URLEncoding.encode(id)) { _, body in
            failed = VideoAPIClient.failedJob(in: body, id: id)
            return failed != nil
        }
        guard !(200..<300).contains(reply.0.status), let failed else { return try video(reply) }
        return APIResult(value: failed, requestID: reply.0.headers["x-request-id"], pollAfterMs: nil)
    }

    /// The failed job a non-2xx body describes: the body itself (vLLM-Omni), or a job embedded in the error's
    /// message after the gateway's words (LiteLLM: `… Hosted_vllmException - {"id": …, "status": "failed", …}`).
    /// Only a job that says it failed counts; the embedded one keeps the id PromptReel knows.
    static func failedJob(in body: [UInt8], id: String) -> ProviderVideo? {
        guard let root = try? JSONParser.parse(body).root else { return nil }
        if let job = try? ProviderVideo(json: root), job.status == .failed, job.id == id { return job }
        let message = root["error"]?["message"]?.stringValue ?? root["detail"]?.stringValue
        guard let message, let start = message.firstIndex(of: "{"), let end = message.lastIndex(of: "}"), start < end,
            let embedded = try? JSONParser.parse(Array(message[start...end].utf8)).root,
            var job = try? ProviderVideo(json: embedded), job.status == .failed
        else { return nil }
        job.id = id
        return job
    }

    /// POST /videos/{id}/remix: a paid job, so it retries like a create. `remix(_:prompt:)` is one attempt, for the engine.
    public func remix(_ id: String, prompt: String, idempotencyKey: String? = nil, maxRetries: Int?)
        throws(VideoAPIError) -> APIResult<ProviderVideo>
    {
        guard config.dialect != .vllmOmni else {
            throw VideoAPIError(
                .invalidRequest, status: 404, detail: "this provider (vLLM-Omni) cannot remix videos",
                nothingWasSent: true)
        }
        let body = HTTPClientRequest.Body.bytes(
            Array(JSON.object([("prompt", .string(prompt))]).serialized.utf8), contentType: "application/json")
        let headers = idempotencyKey.map { [("Idempotency-Key", $0)] } ?? []
        return try video(
            transport.send(
                "POST", "/videos/" + URLEncoding.encode(id) + "/remix", body: body, headers: headers,
                rule: .create, maxRetries: maxRetries))
    }

    public func delete(_ id: String) throws(VideoAPIError) -> APIResult<Bool> {
        let (result, json) = try jsonCall("DELETE", "/videos/" + URLEncoding.encode(id))
        return APIResult(value: json["deleted"]?.boolValue ?? true, requestID: result.requestID, pollAfterMs: nil)
    }

    /// GET /videos; `after` pages on from the last id of the previous page.
    public func list(limit: Int = 20, after: String? = nil, order: String = "desc") throws(VideoAPIError) -> APIResult<
        VideoList
    > {
        var path = "/videos?limit=\(limit)&order=\(URLEncoding.encode(order))"
        if let after { path += "&after=" + URLEncoding.encode(after) }
        let (result, json) = try jsonCall("GET", path)
        guard case let .array(items)? = json["data"] else {
            throw VideoAPIError(
                .malformedResponse, status: 200, detail: "the list has no data array", requestID: result.requestID)
        }
        var videos: [ProviderVideo] = []
        for item in items {
            do { videos.append(try ProviderVideo(json: item)) } catch {
                throw VideoAPIError(.malformedResponse, status: 200, detail: error.detail, requestID: result.requestID)
            }
        }
        return APIResult(
            value: VideoList(
                data: videos, lastID: json["last_id"]?.stringValue ?? videos.last?.id,
                hasMore: json["has_more"]?.boolValue ?? false),
            requestID: result.requestID, pollAfterMs: nil)
    }

    /// Streams one asset to `path` (written as `path.part`, renamed when complete), refusing more than
    /// `maxBytes`, and returns its size and SHA-256.
    public func download(_ id: String, variant: ContentVariant, to path: String, maxBytes: Int) throws(VideoAPIError)
        -> APIResult<Download>
    {
        // vLLM-Omni has no variants: it answers the MP4 whatever is asked, so posters are made locally.
        guard config.dialect != .vllmOmni || variant == .video else {
            throw VideoAPIError(
                .notFound, status: 404, detail: "this provider makes no \(variant.rawValue)", nothingWasSent: true)
        }
        let target =
            "/videos/" + URLEncoding.encode(id) + "/content"
            + (config.dialect == .vllmOmni ? "" : "?variant=" + variant.rawValue)
        var attempt = 0
        while true {
            let sink: FileSink
            do { sink = try FileSink(path: path + ".part", limit: maxBytes) } catch {
                throw VideoAPIError(.upstream, detail: "cannot write \(path).part: \(error)", nothingWasSent: true)
            }
            do throws(VideoAPIError) {
                let response = try transport.exchange(
                    "GET", target, body: .none, sink: sink, timeoutMs: config.downloadTimeoutMs)
                do { try sink.close() } catch {
                    throw VideoAPIError(.upstream, detail: "cannot finish writing \(path): \(error)")
                }
                guard (200..<300).contains(response.status) else {
                    unlink(path + ".part")
                    throw transport.classify(response, body: sink.errorBody)
                }
                guard rename(path + ".part", path) == 0 else {
                    throw VideoAPIError(.upstream, detail: "cannot move the download into place at \(path)")
                }
                let length = response.headers["content-length"].flatMap { Int($0) }
                return APIResult(
                    value: Download(
                        bytes: sink.count, sha256: sink.digestHex(), contentType: response.headers["content-type"],
                        announcedLength: length, head: sink.errorBody),
                    requestID: response.headers["x-request-id"], pollAfterMs: nil)
            } catch {
                unlink(path + ".part")
                var failure = error
                if sink.overLimit {
                    failure = VideoAPIError(
                        .tooLarge, detail: "the \(variant.rawValue) is larger than \(maxBytes) bytes")
                }
                guard transport.shouldRetry(failure, rule: .read), attempt < config.maxRetries else { throw failure }
                transport.wait(transport.delay(failure, attempt: attempt))
                attempt += 1
            }
        }
    }

    // MARK: Plumbing

    private func video(_ reply: (HTTPClientResponse, [UInt8])) throws(VideoAPIError) -> APIResult<ProviderVideo> {
        let (response, body) = reply
        let requestID = response.headers["x-request-id"]
        do {
            let video = try ProviderVideo(json: try JSONParser.parse(body).root)
            return APIResult(
                value: video, requestID: requestID,
                pollAfterMs: response.headers["openai-poll-after-ms"].flatMap { Int($0) })
        } catch let error as DecodeError {
            throw VideoAPIError(.malformedResponse, status: response.status, detail: error.detail, requestID: requestID)
        } catch {
            throw VideoAPIError(
                .malformedResponse, status: response.status, detail: "the body is not JSON", requestID: requestID)
        }
    }

    private func jsonCall(_ method: String, _ path: String) throws(VideoAPIError) -> (APIResult<Bool>, JSON) {
        let (response, body) = try transport.send(method, path)
        let requestID = response.headers["x-request-id"]
        guard let json = try? JSONParser.parse(body).root, case .object = json else {
            throw VideoAPIError(
                .malformedResponse, status: response.status, detail: "the body is not a JSON object",
                requestID: requestID)
        }
        return (APIResult(value: true, requestID: requestID, pollAfterMs: nil), json)
    }

    /// `retry-after-ms`, else `Retry-After` in seconds (an HTTP date is treated as "a while": 60 s).
    public static func retryAfter(_ headers: [String: String]) -> Double? {
        ProviderTransport.retryAfter(headers)
    }
}
