// `promptreel image-tool …`: one image decode in a process of its own (see Core's ImageTool). It caps its
// address space and CPU time and lowers its priority before libvips starts, decodes, and answers one JSON
// line on stdout; an image the limits cannot hold ends this process, never the server.

import ArgumentParser
import Formats
import Foundation
import Glibc
import Images

struct ImageToolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image-tool", abstract: "Decode one image under memory and CPU limits (used by the server).",
        shouldDisplay: false)

    enum Operation: String, ExpressibleByArgument { case validate, fit, preview }

    @Argument var operation: Operation
    @Option(name: .customLong("in")) var input: String
    @Option(name: .customLong("out")) var output: String?
    /// Where the one-line JSON answer goes (stdout and stderr are left to the libraries' chatter).
    @Option var answer: String
    @Option var width = 0
    @Option var height = 0
    @Option var mode = FitMode.crop.rawValue
    @Option var memoryMb = 1024
    @Option var cpuSeconds = 20

    func run() throws {
        // RLIMIT_DATA caps what the decode allocates (heap, anonymous maps), not the shared libraries mapped.
        var memory = rlimit(rlim_cur: rlim_t(memoryMb) << 20, rlim_max: rlim_t(memoryMb) << 20)
        var cpu = rlimit(rlim_cur: rlim_t(cpuSeconds), rlim_max: rlim_t(cpuSeconds) + 1)
        guard setrlimit(__rlimit_resource_t(RLIMIT_DATA.rawValue), &memory) == 0,
            setrlimit(__rlimit_resource_t(RLIMIT_CPU.rawValue), &cpu) == 0
        else {
            throw ValidationError("could not set the limits")
        }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        // A decode ended by its CPU cap (SIGXCPU) or an allocation abort leaves no core file behind.
        var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
        guard let data = FileManager.default.contents(atPath: input), data.count <= 32 << 20 else {
            return reply([("error", .string("unavailable")), ("detail", .string("no input"))])
        }
        let bytes = [UInt8](data)
        do throws(ImageError) {
            switch operation {
            case .validate:
                let info = try Images.validate(bytes)
                reply([
                    ("format", .string(info.format.rawValue)), ("width", .int(info.width)),
                    ("height", .int(info.height)),
                ])
            case .fit, .preview:
                guard let output, let fit = FitMode(rawValue: mode) else { throw ImageError.notAnImage }
                let image =
                    operation == .fit
                    ? try Images.fit(bytes, width: width, height: height, mode: fit)
                    : try Images.preview(bytes, width: width, height: height, mode: fit)
                guard FileManager.default.createFile(atPath: output, contents: Data(image)) else {
                    return reply([("error", .string("unavailable")), ("detail", .string("cannot write the output"))])
                }
                reply([("bytes", .int(image.count))])
            }
        } catch {
            switch error {
            case .notAnImage: reply([("error", .string("not_an_image"))])
            case let .tooSmall(width, height):
                reply([("error", .string("too_small")), ("width", .int(width)), ("height", .int(height))])
            case let .tooLarge(width, height):
                reply([("error", .string("too_large")), ("width", .int(width)), ("height", .int(height))])
            case let .unreadable(detail):
                // libvips and its loaders say so when an allocation failed: this process's cap, not the image.
                let capped = ["out of memory", "Insufficient memory", "did not start", "Error creating thread"]
                    .contains { detail.contains($0) }
                reply([("error", .string(capped ? "over_limits" : "unreadable")), ("detail", .string(detail))])
            }
        }
    }

    /// The JSON answer, written to `--answer`.
    private func reply(_ fields: [(String, JSON)]) {
        _ = FileManager.default.createFile(atPath: answer, contents: Data(JSON.object(fields).serialized.utf8))
    }
}
