// Decoding an uploaded image is the one heavy thing a request does, so no request process does it: each
// decode runs in a short-lived child (`promptreel image-tool`, the same binary) that first caps its own
// memory and CPU time and lowers its priority, then decodes with libvips (header limits, shrink-on-
// load). A bomb or a runaway decode ends the child, not the server: the upload gets a 422. At most
// `maxConcurrent` decodes run at once across the instance and one per user; past that an upload is refused
// at once with 429 (a request thread never waits in line for a decoder).

import Formats
import Foundation
import Glibc
package import Images
package import Postgres

public struct ImageToolConfig: Sendable {
    /// The `promptreel` binary that runs `image-tool` (default: the `promptreel` beside the running program).
    public var executable: String
    /// The child's memory cap (RLIMIT_DATA: what it allocates) and CPU-time cap (RLIMIT_CPU).
    public var memoryMB = 1024
    public var cpuSeconds = 20
    /// Decodes at once across the instance (each holds a PostgreSQL advisory lock while it runs).
    public var maxConcurrent = 2

    public init(executable: String = ImageToolConfig.besideThisProgram) { self.executable = executable }

    /// `promptreel` in the directory of the running program: itself in production, the built binary next
    /// to the test runner in tests.
    public static var besideThisProgram: String {
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "promptreel"
        return (own as NSString).deletingLastPathComponent + "/promptreel"
    }

    public static func fromEnvironment(_ env: [String: String]) -> ImageToolConfig {
        var c = ImageToolConfig(
            executable: env["PROMPTREEL_IMAGE_TOOL"].flatMap { $0.isEmpty ? nil : $0 } ?? besideThisProgram)
        func int(_ key: String, _ range: ClosedRange<Int>) -> Int? {
            env[key].flatMap { Int($0) }.flatMap { range.contains($0) ? $0 : nil }
        }
        if let n = int("PROMPTREEL_IMAGE_MEMORY_MB", 64...65_536) { c.memoryMB = n }
        if let n = int("PROMPTREEL_IMAGE_CPU_SECONDS", 1...600) { c.cpuSeconds = n }
        if let n = int("PROMPTREEL_IMAGE_DECODES", 1...64) { c.maxConcurrent = n }
        return c
    }
}

package struct ImageTool {
    package let config: ImageToolConfig
    /// Where the input and output files of a decode are staged (inside the media directory, so a result
    /// is moved into place without a copy).
    package let stagingDirectory: String

    package enum Failure: Error, Sendable, Equatable {
        /// What libvips said of the image (not an image, too small or large, unreadable).
        case image(ImageError)
        /// The child went past its memory or CPU cap (or its deadline), or could not start.
        case overLimits(detail: String)
        /// Another decode of this user's is running.
        case userBusy
        /// The instance's decoders are all busy.
        case instanceBusy
    }

    package init(config: ImageToolConfig, mediaDirectory: String) {
        self.config = config
        stagingDirectory = mediaDirectory + "/tmp"
    }

    /// Holds a decoder slot for `userID` while `body` runs: session advisory locks on `db`, tried, never
    /// waited for (they end with the connection if the process dies).
    package func withSlot<T>(db: Connection, userID: ID<User>, _ body: () throws -> T) throws -> T {
        let userKey = 0x494D << 48 | userID.rawValue  // "IM"
        guard try db.execute("SELECT pg_try_advisory_lock(\(userKey)) AS ok")[0].bool("ok") else {
            throw Failure.userBusy
        }
        defer { _ = try? db.execute("SELECT pg_advisory_unlock(\(userKey))") }
        for slot in 0..<Int64(config.maxConcurrent) {
            let key = 0x4953 << 48 | slot  // "IS"
            guard try db.execute("SELECT pg_try_advisory_lock(\(key)) AS ok")[0].bool("ok") else { continue }
            defer { _ = try? db.execute("SELECT pg_advisory_unlock(\(key))") }
            return try body()
        }
        throw Failure.instanceBusy
    }

    /// Decodes every pixel once (at a shrink where the format allows): the format and full size.
    package func validate(_ bytes: [UInt8]) throws(Failure) -> ImageInfo {
        let input = try stage(bytes)
        defer { unlink(input) }
        let answer = try run(["validate", "--in", input])
        guard let format = answer["format"]?.stringValue.flatMap(ImageFormat.init(rawValue:)),
            let width = answer["width"]?.intValue, let height = answer["height"]?.intValue
        else { throw .overLimits(detail: "unexpected answer") }
        return ImageInfo(format: format, width: Int(width), height: Int(height))
    }

    /// The image at `path` fitted to `width`×`height` as a PNG (`preview`: a small JPEG of that frame).
    package func fit(_ path: String, width: Int, height: Int, mode: FitMode, preview: Bool = false)
        throws(Failure) -> [UInt8]
    {
        let output = stagingPath()
        defer { unlink(output) }
        _ = try run([
            preview ? "preview" : "fit", "--in", path, "--out", output, "--width", String(width), "--height",
            String(height), "--mode", mode.rawValue,
        ])
        guard let bytes = FileManager.default.contents(atPath: output) else {
            throw .overLimits(detail: "no output")
        }
        return Array(bytes)
    }

    private func run(_ arguments: [String]) throws(Failure) -> JSON {
        let limits = ["--memory-mb", String(config.memoryMB), "--cpu-seconds", String(config.cpuSeconds)]
        let outcome = Subprocess.run(
            config.executable, ["image-tool"] + arguments + limits,
            timeoutSeconds: Double(config.cpuSeconds) * 2 + 5, maxOutput: 8192)
        switch outcome {
        case let .exited(0, output):
            let line = output.split(separator: "\n").last.map(String.init) ?? ""
            guard let answer = try? JSONParser.parse(Array(line.utf8)).root else {
                throw .overLimits(detail: "unreadable answer: \(output.prefix(200))")
            }
            if let error = answer["error"]?.stringValue {
                let width = Int(answer["width"]?.intValue ?? 0), height = Int(answer["height"]?.intValue ?? 0)
                switch error {
                case "over_limits": throw .overLimits(detail: answer["detail"]?.stringValue ?? error)
                case "not_an_image": throw .image(.notAnImage)
                case "too_small": throw .image(.tooSmall(width: width, height: height))
                case "too_large": throw .image(.tooLarge(width: width, height: height))
                default: throw .image(.unreadable(detail: answer["detail"]?.stringValue ?? error))
                }
            }
            return answer
        case let .exited(status, output): throw .overLimits(detail: "exit \(status): \(output.prefix(200))")
        case .timedOut: throw .overLimits(detail: "timed out")
        case let .cannotStart(code): throw .overLimits(detail: "cannot start \(config.executable): errno \(code)")
        }
    }

    private func stagingPath() -> String {
        try? FileManager.default.createDirectory(atPath: stagingDirectory, withIntermediateDirectories: true)
        return stagingDirectory + "/image-" + Crypto.randomToken()
    }

    private func stage(_ bytes: [UInt8]) throws(Failure) -> String {
        let path = stagingPath()
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw .overLimits(detail: "cannot stage the upload in \(stagingDirectory)")
        }
        return path
    }
}
