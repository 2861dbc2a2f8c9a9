// Posters made locally: the subprocess runner (no shell, no inherited descriptors or environment, a
// time limit, bounded output) and ffmpeg making a WebP poster and a JPEG spritesheet from the
// simulator's real MP4, the same size as the provider's.

import Foundation
import Images
import Testing

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct SubprocessTests {
    @Test func passesArgumentsVerbatimAndReportsTheExitStatus() {
        #expect(
            Subprocess.run("/bin/echo", ["a b", "$HOME;", "`x`"], timeoutSeconds: 5)
                == .exited(status: 0, output: "a b $HOME; `x`"))
        #expect(Subprocess.run("/bin/false", [], timeoutSeconds: 5) == .exited(status: 1, output: ""))
    }

    @Test func aMissingProgramCannotStart() {
        #expect(Subprocess.run("/nonexistent/ffmpeg", [], timeoutSeconds: 5) == .cannotStart(ENOENT))
    }

    @Test func aSlowProgramIsKilledAtTheDeadline() {
        let started = Date()
        #expect(Subprocess.run("/bin/sleep", ["30"], timeoutSeconds: 0.3) == .timedOut(output: ""))
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func outputIsBoundedAndTheRestDrained() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("subprocess-\(UUID().uuidString)").path
        defer { unlink(path) }
        try Data(repeating: UInt8(ascii: "x"), count: 3 << 20).write(to: URL(fileURLWithPath: path))
        guard case let .exited(status, output) = Subprocess.run("/bin/cat", [path], timeoutSeconds: 10, maxOutput: 100)
        else {
            Issue.record("cat did not finish")
            return
        }
        #expect(status == 0 && output == String(repeating: "x", count: 100))
    }

    @Test func theChildGetsNoSecretsNorDescriptors() {
        setenv("PROMPTREEL_TEST_SECRET", "hunter2", 1)
        guard case let .exited(_, environment) = Subprocess.run("/usr/bin/env", [], timeoutSeconds: 5) else {
            Issue.record("env did not run")
            return
        }
        #expect(!environment.contains("hunter2") && environment.contains("PATH="))
        let inheritable = open("/dev/null", O_RDONLY)  // a descriptor of this process, not close-on-exec
        defer { close(inheritable) }
        guard case let .exited(_, listing) = Subprocess.run("/bin/ls", ["/proc/self/fd"], timeoutSeconds: 5) else {
            Issue.record("ls did not run")
            return
        }
        // stdin, stdout, stderr and ls's own directory handle only.
        #expect(listing.split(separator: "\n").count <= 4, "\(listing)")
    }
}

@Suite final class LocalPreviewsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/promptreel-sim/Fixtures").path

    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("previews-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.fixtures + "/video.mp4", toPath: directory + "/video.mp4")
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func bytes(_ name: String) throws -> [UInt8] { try MediaFiles.read(name, in: directory, maxBytes: 1 << 24) }

    @Test func argumentsSeekAThirdInAndSpaceEightFrames() {
        let poster = LocalPreviews.arguments(
            .thumbnail, video: "/m/1/video.mp4", output: "/m/1/t", seconds: 6, maxBytes: 1000)
        #expect(
            poster.starts(with: [
                "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-filter_threads", "1", "-ss", "2.000",
                "-protocol_whitelist", "file", "-f", "mov", "-threads", "1", "-i", "file:/m/1/video.mp4",
            ]))
        #expect(poster.contains("libwebp") && poster.last == "file:/m/1/t" && poster.contains("1000"))
        let sheet = LocalPreviews.arguments(
            .spritesheet, video: "/m/1/video.mp4", output: "/m/1/s", seconds: 4, maxBytes: 1000)
        #expect(sheet.contains("fps=2.000000,scale=trunc(iw/4)*2:trunc(ih/4)*2,tile=4x2") && sheet.contains("mjpeg"))
        // Unknown duration: the first frame, 2 frames a second; a nonsense one counts as unknown.
        #expect(
            !LocalPreviews.arguments(.thumbnail, video: "v", output: "o", seconds: nil, maxBytes: 1).contains("-ss"))
        #expect(
            LocalPreviews.arguments(.spritesheet, video: "v", output: "o", seconds: .nan, maxBytes: 1).contains(
                "fps=2,scale=trunc(iw/4)*2:trunc(ih/4)*2,tile=4x2"))
    }

    /// From the simulator's MP4 (320x180, 4 s): a WebP at the video's size and a JPEG the size of the
    /// simulator's own spritesheet, both fully decodable.
    @Test func makesAWebPPosterAndAJPEGSpritesheetTheProviderSize() throws {
        let previews = LocalPreviews()
        let poster = try previews.make(
            .thumbnail, video: directory + "/video.mp4", output: directory + "/thumbnail.webp", seconds: 4,
            frame: (320, 180))
        let webp = try bytes("thumbnail.webp")
        #expect(Array(webp[0..<4]) == Array("RIFF".utf8) && Array(webp[8..<12]) == Array("WEBP".utf8))
        #expect(try Images.validate(webp) == ImageInfo(format: .webp, width: 320, height: 180))
        #expect(poster.bytes == webp.count && poster.sha256 == Crypto.hex(Crypto.sha256(webp)))

        _ = try previews.make(
            .spritesheet, video: directory + "/video.mp4", output: directory + "/spritesheet.jpg", seconds: 4,
            frame: (320, 180))
        let jpeg = try bytes("spritesheet.jpg")
        #expect(jpeg.starts(with: [0xFF, 0xD8, 0xFF]))
        let providers = try Images.probe(
            [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/spritesheet.jpg"))))
        #expect(try Images.validate(jpeg) == providers)
    }

    @Test func missingFfmpegOrABrokenVideoLeavesNothing() throws {
        let missing = LocalPreviews(ffmpeg: "/nonexistent/ffmpeg")
        #expect(throws: LocalPreviews.Failure.self) {
            try missing.make(
                .thumbnail, video: directory + "/video.mp4", output: directory + "/thumbnail.webp", seconds: 4,
                frame: nil)
        }
        try MediaFiles.write(Array("not a video at all".utf8), to: "broken.mp4", in: directory)
        #expect(throws: LocalPreviews.Failure.self) {
            try LocalPreviews().make(
                .spritesheet, video: directory + "/broken.mp4", output: directory + "/spritesheet.jpg", seconds: 4,
                frame: nil)
        }
        // Past the end ffmpeg exits 0 with an empty WebP: refused by its bytes.
        #expect(throws: LocalPreviews.Failure.self) {
            try LocalPreviews().make(
                .thumbnail, video: directory + "/video.mp4", output: directory + "/thumbnail.webp", seconds: 300,
                frame: nil)
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/thumbnail.webp"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/spritesheet.jpg"))
    }

    @Test func aWrongSizeIsRefused() {
        #expect(throws: LocalPreviews.Failure.self) {
            try LocalPreviews().make(
                .thumbnail, video: directory + "/video.mp4", output: directory + "/thumbnail.webp", seconds: 4,
                frame: (1280, 720))
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/thumbnail.webp"))
    }
}

/// The MP4 header read in-process agrees with ffprobe on clips of several shapes (frame rates, sizes, with and
/// without audio, moov at the end or at the start), and refuses what is not an MP4 it understands.
@Suite struct MP4HeaderProbe {
    func clip(_ size: String, fps: Int, seconds: String, audio: Bool, faststart: Bool) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString).mp4").path
        var arguments = ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=\(fps):duration=\(seconds)"]
        if audio { arguments += ["-f", "lavfi", "-i", "sine=frequency=440:duration=\(seconds)", "-c:a", "aac"] }
        arguments += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest"]
        if faststart { arguments += ["-movflags", "+faststart"] }
        guard case .exited(status: 0, _) = Subprocess.run("/usr/bin/ffmpeg", arguments + [path], timeoutSeconds: 60)
        else {
            Issue.record("ffmpeg could not make \(size)@\(fps)")
            return path
        }
        return path
    }

    @Test func agreesWithFfprobe() throws {
        for (size, fps, seconds, audio, faststart) in [
            ("1280x720", 24, "2", true, false), ("832x480", 16, "1.5", false, true), ("720x1280", 30, "1", true, true),
            ("1920x1080", 25, "0.6", false, false),
        ] {
            let path = try clip(size, fps: fps, seconds: seconds, audio: audio, faststart: faststart)
            defer { unlink(path) }
            let header = MP4Header.probe(path)
            #expect(header != nil, "\(size)")
            #expect(header == VideoProbe.ffprobe(path), "\(size)@\(fps) audio \(audio) faststart \(faststart)")
        }
    }

    @Test func refusesWhatItDoesNotUnderstand() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString)").path
        defer { unlink(path) }
        for bytes in [
            Array("not a video at all".utf8), [0, 0, 0, 8, 0x66, 0x74, 0x79, 0x70],  // a lone ftyp box
            [0, 0, 0, 200, 0x6d, 0x6f, 0x6f, 0x76, 1, 2, 3],  // a moov longer than the file
            [0xff, 0xff, 0xff, 0xff, 0x6d, 0x6f, 0x6f, 0x76],
            // An ftyp, then an mdat whose 64-bit size is Int64.max: no overflow, no trap.
            [0, 0, 0, 16, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0]
                + [0, 0, 0, 1, 0x6d, 0x64, 0x61, 0x74, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ] as [[UInt8]] {
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            #expect(MP4Header.probe(path) == nil)
        }
        #expect(MP4Header.probe("/nonexistent/video.mp4") == nil)
    }
}
