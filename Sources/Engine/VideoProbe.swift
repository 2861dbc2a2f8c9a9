// What a stored video really holds: its duration and frame size, recorded so a delivery shorter or smaller than
// ordered is shown, never charged extra. Read from the MP4's own header in-process (`MP4Header`), else with
// ffprobe (Debian's ffmpeg package).

import Core
import Foundation
import Telemetry

struct VideoProbe: Sendable, Equatable {
    /// Seconds as plain decimal text with two places ("4.00"), ready for a numeric column.
    let seconds: String?
    let width: Int?
    let height: Int?

    /// The MP4's header, else ffprobe.
    static func run(_ path: String) -> VideoProbe? {
        MP4Header.probe(path) ?? ffprobe(path)
    }

    /// Runs ffprobe on `path`; nil when ffprobe is missing or cannot read the file (the video is kept).
    static func ffprobe(_ path: String) -> VideoProbe? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        process.arguments = [
            "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height:format=duration",
            "-of", "default=noprint_wrappers=1", path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            Log.error("ffprobe could not run (\(error)); delivered duration and size not recorded")
            return nil
        }
        // A worker thread and the row's claim are held meanwhile: give up after 30 s. The output is a few
        // short lines, so it fits the pipe's buffer while we wait.
        var waited = 0.0
        while process.isRunning && waited < 30 {
            usleep(20_000)
            waited += 0.02
        }
        if process.isRunning {
            process.terminate()
            Log.error("ffprobe took longer than 30 s on \(path); delivered duration and size not recorded")
            return nil
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        guard process.terminationStatus == 0 else { return nil }
        return parse(String(decoding: data, as: UTF8.self))
    }

    /// Reads `key=value` lines; values outside sane ranges are dropped, never trusted.
    static func parse(_ text: String) -> VideoProbe? {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2, values[parts[0]] == nil { values[parts[0]] = parts[1] }
        }
        func dimension(_ key: String) -> Int? {
            values[key].flatMap { Int($0) }.flatMap { (1...100_000).contains($0) ? $0 : nil }
        }
        let seconds = values["duration"].flatMap(Double.init).flatMap {
            $0.isFinite && $0 >= 0 && $0 < 1_000_000 ? $0 : nil
        }
        .map { value -> String in
            let hundredths = Int((value * 100).rounded())
            let fraction = hundredths % 100
            return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
        }
        let probe = VideoProbe(seconds: seconds, width: dimension("width"), height: dimension("height"))
        return probe.seconds == nil && probe.width == nil && probe.height == nil ? nil : probe
    }
}
