// `promptreel sora smoke`: one real generation through the configured provider, printed step by step.

import ArgumentParser
import Foundation
import VideoAPI

struct SoraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sora", abstract: "Talk to the Videos API directly.", subcommands: [Smoke.self])

    struct Smoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a video, watch it to the end and download it (uses OPENAI_API_KEY and OPENAI_BASE_URL).")
        @Option(help: "The prompt.") var prompt = "A paper boat drifting down a rain-soaked street, cinematic"
        @Option(help: "The API's model.") var model = "sora-2"
        @Option(help: "Seconds, as the API takes them.") var seconds = "4"
        @Option(help: "WIDTHxHEIGHT.") var size = "1280x720"
        @Option(help: "Folder for the downloaded files.") var out = ".local/smoke"
        @Option(help: "Give up after this many seconds.") var timeout: Double = 900

        func run() throws {
            guard let config = ProviderConfig.fromEnvironment(ProcessInfo.processInfo.environment) else {
                throw ValidationError("Set OPENAI_API_KEY (and OPENAI_BASE_URL for a gateway or the simulator).")
            }
            let api = try VideoAPIClient(config: config)
            print("provider: \(config.baseURL)")
            let created = try api.create(
                CreateVideo(prompt: prompt, model: model, seconds: seconds, size: size), maxRetries: nil)
            print("created \(created.value.id) [\(created.requestID ?? "-")]: \(created.value.rawStatus)")
            var video = created.value
            var last = ""
            let deadline = Date().addingTimeInterval(timeout)
            while !video.status.isInFlight == false {
                guard Date() < deadline else {
                    throw ValidationError("gave up after \(Int(timeout)) s; the job is \(video.id)")
                }
                let polled = try api.retrieve(video.id)
                video = polled.value
                let line = "\(video.rawStatus) \(video.progress ?? 0)%"
                if line != last {
                    print(line)
                    last = line
                }
                if !video.status.isInFlight == false { VideoAPIClient.sleep(Double(polled.pollAfterMs ?? 2000) / 1000) }
            }
            guard video.status == .completed else {
                throw ValidationError("failed: \(video.failureMessage ?? "unknown")")
            }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for (variant, ext) in [(ContentVariant.video, "mp4"), (.thumbnail, "webp"), (.spritesheet, "jpg")] {
                let path = "\(out)/\(video.id.prefix(60))-\(variant.rawValue).\(ext)"
                let file = try api.download(video.id, variant: variant, to: path, maxBytes: 512 << 20).value
                print("saved \(path) (\(file.bytes) bytes, sha256 \(file.sha256))")
            }
        }
    }
}
