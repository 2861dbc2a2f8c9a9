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
import Telemetry

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
        /// The child went past its memory or CPU cap, or its deadline (it said so, or a signal ended it).
        case overLimits(detail: String)
        /// The decoder could not be run or answered nothing readable: the server's fault, not the image's.
        case unavailable(detail: String)
        /// Another decode of this user's is running.
        case userBusy
        /// The instance's decoders are all busy.
        case instanceBusy
    }

    package init(config: ImageToolConfig, stagingDirectory: String) {
        self.config = config
        self.stagingDirectory = stagingDirectory
    }

    /// Holds a decoder slot while `body` runs — with `user`, also that user's one upload slot: session
    /// advisory locks on `db`, tried, never waited for (they end with the connection if the process dies).
    /// Not inside a transaction: a session lock would outlive its rollback.
    package func withSlot<T>(db: Connection, user: ID<User>?, _ body: () throws -> T) throws -> T {
        if let user {
            let userKey = 0x494D << 48 | user.rawValue  // "IM"
            guard try db.execute("SELECT pg_try_advisory_lock(\(userKey)) AS ok")[0].bool("ok") else {
                throw Failure.userBusy
            }
            defer { unlock(db, userKey) }
            return try withSlot(db: db, user: nil, body)
        }
        for slot in 0..<Int64(config.maxConcurrent) {
            let key = 0x4953 << 48 | slot  // "IS"
            guard try db.execute("SELECT pg_try_advisory_lock(\(key)) AS ok")[0].bool("ok") else { continue }
            defer { unlock(db, key) }
            return try body()
        }
        throw Failure.instanceBusy
    }

    /// An unlock fails only on a broken connection, whose locks the server drops with it.
    private func unlock(_ db: Connection, _ key: Int64) {
        do { try db.execute("SELECT pg_advisory_unlock(\(key))") } catch {
            Log.error("image decoder: could not release slot \(key): \(error)")
        }
    }

    /// Decodes every pixel of the file once (at a shrink where the format allows): the format and full size.
    package func validate(file input: String) throws(Failure) -> ImageInfo {
        let answer = try run(["validate", "--in", input])
        guard let format = answer["format"]?.stringValue.flatMap(ImageFormat.init(rawValue:)),
            let width = answer["width"]?.intValue, let height = answer["height"]?.intValue
        else { throw .unavailable(detail: "unexpected answer \(answer.serialized)") }
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
            throw .unavailable(detail: "no output file")
        }
        return Array(bytes)
    }

    /// Runs one `image-tool` operation; its answer is the JSON it writes to a file of its own (its stdout and
    /// stderr carry only libraries' chatter, kept for the log).
    private func run(_ arguments: [String]) throws(Failure) -> JSON {
        let answerPath = stagingPath()
        defer { unlink(answerPath) }
        let limits = ["--memory-mb", String(config.memoryMB), "--cpu-seconds", String(config.cpuSeconds)]
        let outcome = Subprocess.run(
            config.executable, ["image-tool"] + arguments + ["--answer", answerPath] + limits,
            timeoutSeconds: Double(config.cpuSeconds) * 2 + 5, maxOutput: 4096)
        switch outcome {
        case let .exited(0, output):
            guard let text = FileManager.default.contents(atPath: answerPath),
                let answer = try? JSONParser.parse(Array(text)).root
            else { throw .unavailable(detail: "no readable answer; output: \(output.prefix(300))") }
            if let error = answer["error"]?.stringValue {
                let width = answer["width"]?.intValue ?? 0, height = answer["height"]?.intValue ?? 0
                let detail = answer["detail"]?.stringValue ?? error
                switch error {
                case "over_limits": throw .overLimits(detail: detail)
                case "not_an_image": throw .image(.notAnImage)
                case "too_small": throw .image(.tooSmall(width: width, height: height))
                case "too_large": throw .image(.tooLarge(width: width, height: height))
                case "unreadable": throw .image(.unreadable(detail: detail))
                default: throw .unavailable(detail: detail)
                }
            }
            return answer
        // Ended by a signal (128 + n): the CPU cap's SIGXCPU, an allocation abort, a crash inside the decoder.
        case let .exited(status, output) where status > 128:
            throw .overLimits(detail: "ended by signal \(status - 128): \(output.prefix(300))")
        case let .exited(status, output):
            throw .unavailable(detail: "exit \(status): \(output.prefix(300))")
        case .timedOut: throw .overLimits(detail: "past its deadline")
        case let .cannotStart(code): throw .unavailable(detail: "cannot start \(config.executable): errno \(code)")
        }
    }

    private func stagingPath() -> String {
        try? FileManager.default.createDirectory(atPath: stagingDirectory, withIntermediateDirectories: true)
        return stagingDirectory + "/image-" + Crypto.randomToken()
    }

    /// The bytes in a staging file of their own (the caller removes it, or moves it into place).
    package func stage(_ bytes: [UInt8]) throws(Failure) -> String {
        let path = stagingPath()
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw .unavailable(detail: "cannot stage the upload in \(stagingDirectory)")
        }
        return path
    }
}
