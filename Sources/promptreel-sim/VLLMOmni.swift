// vLLM-Omni's /v1/videos (its docs/serving/videos_api.md and protocol/videos.py), and LiteLLM's `hosted_vllm`
// video provider in front of such a server, as ../shared/openai/VIDEOS-API.md describes them:
// - vLLM-Omni (`--dialect vllm-omni`): a multipart-only create with width/height/num_frames/fps and the
//   generation parameters; one served model; progress 0 then 100; `inference_time_s`; a failed job's retrieve
//   answers 500 with the job as its body; content 404 while running, 422 when failed, no variants; errors as
//   `{"detail": …}`; no remix; jobs in memory (`POST /_sim/restart` forgets them).
// - LiteLLM's hosted_vllm (`[sim:dialect=litellm-vllm]` or `--dialect litellm-vllm`): size/seconds plus any
//   vLLM field, long ids, content 404 while running, and a failed job's retrieve a 500 on every poll with the
//   upstream job embedded in its message.

import Foundation

extension Simulator {
    /// vLLM-Omni's own answers; nil where they are OpenAI's (list, delete, content of a finished job).
    func vllmOmni(_ endpoint: String, _ request: SimRequest, id: String) -> SimReply? {
        switch endpoint {
        case "create": return createVllmOmni(request)
        case "remix": return detail(404, "Not Found")
        case "retrieve", "delete", "content":
            guard let job = jobs[id] else { return detail(404, "Video \(id) not found") }
            let state = state(job)
            if endpoint == "retrieve" {
                // A failed job is read with a non-2xx status and the job itself as the body.
                let failed = state.status == "failed"
                return json(failed ? 500 : 200, videoObject(job), phrase: failed ? "Internal Server Error" : "OK")
            }
            if endpoint == "content" && state.status == "failed" { return detail(422, "Generation failed") }
            if endpoint == "content" && state.status != "completed" {
                return detail(404, "Generation is still in-progress")
            }
            return nil
        default: return nil
        }
    }

    func createVllmOmni(_ request: SimRequest) -> SimReply {
        guard request.contentType.lowercased().hasPrefix("multipart/form-data"),
            let boundary = Multipart.boundary(request.contentType),
            let fields = Multipart.parse(request.body, boundary: boundary)
        else {
            return detail(400, "The video API accepts multipart/form-data only.")
        }
        record(fields)
        guard let prompt = fields["prompt"] as? String, !prompt.isEmpty else {
            return validation("prompt", "Field required")
        }
        let model = (fields["model"] as? String) ?? settings.servedModel
        guard model == settings.servedModel else {
            return detail(
                400, "Model mismatch: the request asks for '\(model)' but this server serves '\(settings.servedModel)'."
            )
        }
        func number(_ name: String, _ range: ClosedRange<Double>) -> (Double?, SimReply?) {
            guard let text = fields[name] as? String else { return (nil, nil) }
            guard let value = Double(text), range.contains(value) else {
                return (nil, validation(name, "Input should be between \(range.lowerBound) and \(range.upperBound)"))
            }
            return (value, nil)
        }
        var width = 1280.0
        var height = 720.0
        if let size = fields["size"] as? String {
            let parts = size.split(separator: "x").compactMap { Double($0) }.filter { (64...4096).contains($0) }
            guard parts.count == 2 else { return validation("size", "Expected WIDTHxHEIGHT, each 64 to 4096") }
            (width, height) = (parts[0], parts[1])
        }
        for (name, range) in [
            ("width", 64.0...4096), ("height", 64.0...4096), ("num_frames", 1.0...2000), ("fps", 1.0...120),
            ("seconds", 1.0...600), ("num_inference_steps", 1.0...200), ("guidance_scale", 0.0...20),
            ("seed", 0.0...4_294_967_295),
        ] {
            let (value, refused) = number(name, range)
            if let refused { return refused }
            if name == "width", let value, fields["size"] == nil { width = value }
            if name == "height", let value, fields["size"] == nil { height = value }
        }
        let fps = (fields["fps"] as? String).flatMap(Double.init) ?? 24
        let frames =
            (fields["num_frames"] as? String).flatMap(Double.init)
            ?? ((fields["seconds"] as? String).flatMap(Double.init) ?? 4) * fps
        let size = "\(Int(width))x\(Int(height))"
        if let refused = checkReference(fields["input_reference"], size: size) { return refused }
        let seconds = frames / fps
        let job = newJob(
            model: model, prompt: prompt, size: size,
            seconds: seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds), remixedFrom: nil)
        if let file = (fields["input_reference"] as? [SimFile])?.first { jobReferences[job.id] = file.data }
        return json(200, videoObject(job, creating: true))
    }

    /// The vLLM-Omni job's own fields: progress only 0 or 100, the GPU time and memory once done
    /// (`[sim:gpu=SECONDS]` sets the time; it is the job's duration otherwise).
    func vllmOmniFields(_ job: Job, _ state: JobState, into object: inout [String: Any]) {
        object["progress"] = state.status == "completed" ? 100 : 0
        guard state.status == "completed" || state.status == "failed" else { return }
        // `[sim:gpu=…]` that is no finite number is sent as its text (a provider's nonsense to range-check).
        let raw = directive(job.prompt, "gpu")
        let gpu = raw.map { Double($0) ?? .nan } ?? job.duration
        object["inference_time_s"] = gpu.isFinite ? gpu : raw ?? ""
        object["peak_memory_mb"] = 61_440
        object["stage_durations"] = gpu.isFinite ? ["denoise": gpu * 0.9, "vae_decode": gpu * 0.1] : [:]
        object["expires_at"] = NSNull()
    }

    /// LiteLLM's hosted_vllm create: size/seconds and whatever else came along, any model, any size.
    func createHostedVllm(_ fields: [String: Any], prompt: String, model: String) -> SimReply {
        let size = (fields["size"] as? String) ?? "1280x720"
        let seconds = (fields["seconds"] as? String) ?? "4"
        guard size.split(separator: "x").compactMap({ Int($0) }).count == 2, let n = Int(seconds), (1...60).contains(n)
        else {
            return gatewayError("litellm.BadRequestError: Hosted_vllmException - invalid size or seconds")
        }
        if let refused = checkReference(fields["input_reference"], size: size) { return refused }
        let job = newJob(model: model, prompt: prompt, size: size, seconds: seconds, remixedFrom: nil)
        if let file = (fields["input_reference"] as? [SimFile])?.first { jobReferences[job.id] = file.data }
        return json(200, videoObject(job, creating: true))
    }

    /// What LiteLLM answers for a failed upstream job, on every poll: a 500 whose message embeds the job.
    func hostedVllmFailure(_ job: Job) -> SimReply {
        let upstream: [String: Any] = [
            "id": "video_gen_" + newID(long: false).dropFirst(6), "object": "video", "status": "failed",
            "progress": 0, "model": job.model, "error": state(job).error ?? ["code": "failed"],
        ]
        let embedded = (try? JSONSerialization.data(withJSONObject: upstream, options: [.sortedKeys])) ?? Data()
        let message =
            "litellm.InternalServerError: InternalServerError: Hosted_vllmException - "
            + String(decoding: embedded, as: UTF8.self)
        return json(
            500, ["error": ["message": message, "type": NSNull(), "param": NSNull(), "code": "500"] as [String: Any]],
            phrase: "Internal Server Error")
    }

    /// Keeps a create's fields for GET /_sim/creates (files by name, type and size).
    func record(_ fields: [String: Any]) {
        creates.append(
            fields.mapValues { value -> Any in
                guard let files = value as? [SimFile] else { return value }
                return files.map { ["filename": $0.filename, "bytes": $0.data.count] }
            })
    }

    /// FastAPI's error shape.
    func detail(_ status: Int, _ message: String) -> SimReply {
        let phrases = [400: "Bad Request", 404: "Not Found", 422: "Unprocessable Entity", 500: "Internal Server Error"]
        return json(status, ["detail": message], phrase: phrases[status] ?? "Error")
    }

    /// FastAPI's validation error: 422 with a list of problems.
    func validation(_ field: String, _ message: String) -> SimReply {
        json(
            422, ["detail": [["loc": ["body", field], "msg": message, "type": "value_error"] as [String: Any]]],
            phrase: "Unprocessable Entity")
    }
}
