// The vLLM-Omni dialect and LiteLLM's hosted_vllm path: the create's fields in each dialect, failed jobs read
// from non-2xx answers (vLLM-Omni's body, LiteLLM's embedded job) without a retry, FastAPI's `{"detail"}`
// errors, and `inference_time_s` range-checked.

import Formats
import Foundation
import Testing

@testable import VideoAPI

@Suite struct VideoDialects {
    func wan() -> CreateVideo {
        var create = CreateVideo(prompt: "A lantern", model: "Wan-AI/Wan2.2", seconds: "5", size: "832x480")
        create.fps = 16
        create.numFrames = 80
        create.seed = 42
        create.negativePrompt = "blurry"
        create.numInferenceSteps = 30
        create.guidanceScale = "5.5"
        return create
    }

    @Test func vllmOmniSendsFramesNotSizeAndSeconds() {
        let fields = Dictionary(uniqueKeysWithValues: wan().fields(.vllmOmni))
        #expect(fields["width"] == "832" && fields["height"] == "480")
        #expect(fields["num_frames"] == "80" && fields["fps"] == "16")
        #expect(fields["size"] == nil && fields["seconds"] == nil)
        #expect(fields["seed"] == "42" && fields["negative_prompt"] == "blurry")
        #expect(fields["num_inference_steps"] == "30" && fields["guidance_scale"] == "5.5")
    }

    @Test func openaiDialectSendsSizeAndSecondsAndWhatIsSet() {
        let fields = Dictionary(uniqueKeysWithValues: wan().fields(.openai))
        #expect(fields["size"] == "832x480" && fields["seconds"] == "5" && fields["fps"] == "16")
        #expect(fields["width"] == nil && fields["num_frames"] == nil && fields["seed"] == "42")
        let plain = CreateVideo(prompt: "p", model: "sora-2", seconds: "4", size: "1280x720").fields(.openai)
        #expect(plain.map(\.0) == ["prompt", "model", "seconds", "size"])
    }

    @Test func aFailedJobIsReadFromANon2xxBody() {
        let body =
            #"{"id": "video_gen_1", "status": "failed", "progress": 0, "error": {"code": "oom", "message": "CUDA out of memory"}, "inference_time_s": 12.5}"#
        let job = VideoAPIClient.failedJob(in: Array(body.utf8), id: "video_gen_1")
        #expect(job?.status == .failed && job?.errorCode == "oom" && job?.inferenceSeconds == 12.5)
        // Another job's body, or one that did not fail, is not an answer.
        #expect(VideoAPIClient.failedJob(in: Array(body.utf8), id: "video_gen_2") == nil)
        let running = #"{"id": "video_gen_1", "status": "in_progress"}"#
        #expect(VideoAPIClient.failedJob(in: Array(running.utf8), id: "video_gen_1") == nil)
    }

    @Test func aGatewaysEmbeddedFailedJobKeepsOurId() {
        let message =
            #"litellm.InternalServerError: InternalServerError: Hosted_vllmException - {"id": "video_gen_9", "status": "failed", "error": {"code": "nsfw", "message": "blocked"}}"#
        let body = JSON.object([("error", .object([("message", .string(message)), ("code", .string("500"))]))])
        let job = VideoAPIClient.failedJob(in: Array(body.serialized.utf8), id: "video_long_opaque")
        #expect(job?.id == "video_long_opaque" && job?.errorCode == "nsfw" && job?.errorMessage == "blocked")
        let plain = #"{"error": {"message": "The server had an error {not json}", "code": null}}"#
        #expect(VideoAPIClient.failedJob(in: Array(plain.utf8), id: "x") == nil)
    }

    @Test func inferenceTimeIsRangeChecked() throws {
        for (value, expected) in [("12.5", 12.5), ("\"3\"", 3.0), ("-1", nil), ("1e400", nil), ("1e9", nil)]
            as [(String, Double?)]
        {
            let json = try JSONParser.parse(
                Array(#"{"id": "v", "status": "completed", "inference_time_s": \#(value)}"#.utf8)
            ).root
            #expect(try ProviderVideo(json: json).inferenceSeconds == expected, "\(value)")
        }
    }
}

extension VideoAPIAgainstSimulator {
    /// LiteLLM's hosted_vllm turns a failed job into a 500 on every poll: the client reads the embedded job in
    /// one call (no retries), where before it retried and threw an upstream error.
    @Test func aGatewaysPersistent500WithTheJobEndsItInOneCall() throws {
        let api = try client()
        let video = try api.create(
            CreateVideo(
                prompt: "[sim:dialect=litellm-vllm][sim:fail=nsfw_detected][sim:seconds=0.4]", model: "wan",
                seconds: "2", size: "832x480")
        ).value
        VideoAPIClient.sleep(0.5)
        let before = try Sim.stats()["retrieve"] ?? 0
        let failed = try api.retrieve(video.id).value
        #expect(failed.status == .failed && failed.errorCode == "nsfw_detected" && failed.id == video.id)
        #expect(try Sim.stats()["retrieve"] == before + 1)
    }
}
