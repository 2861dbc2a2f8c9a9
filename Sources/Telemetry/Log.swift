// Logging through swift-log: one line per event on stderr, in logfmt (`key=value`), with the event's
// metadata (request id, user id, generation id, provider request id). Values are quoted and escaped, so
// no message or value can start a forged line. Callers pass only safe text: never bodies, cookies or tokens.

import Glibc
public import Logging
package import Synchronization

public enum Log {
    /// The logger every call site uses; lines are written by `LineLogHandler` whether or not the
    /// process bootstrapped swift-log (tests don't).
    package static let logger = Logger(label: "promptreel") { LineLogHandler(label: $0) }

    public static func info(_ message: @autoclosure () -> String, _ metadata: Logger.Metadata = [:]) {
        logger.info("\(message())", metadata: metadata.isEmpty ? nil : metadata)
    }

    public static func error(_ message: @autoclosure () -> String, _ metadata: Logger.Metadata = [:]) {
        logger.error("\(message())", metadata: metadata.isEmpty ? nil : metadata)
    }

    /// Names the process in every line (`process=serve`) and routes any other swift-log user
    /// through the same handler. Call once, first thing.
    public static func start(process: String) {
        LineLogHandler.process.withLock { $0 = process }
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
    }
}

/// `ts=… level=… process=… msg="…" key=value …`, written with one write(2), so lines of
/// up to PIPE_BUF (4 KiB) never interleave between threads.
public struct LineLogHandler: LogHandler {
    package static let process = Mutex("promptreel")

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    package let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "ts=" + Self.timestamp() + " level=" + event.level.rawValue
        line += " process=" + Self.value(Self.process.withLock { $0 })
        line += " msg=" + Self.quoted(event.message.description)
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        for key in all.keys.sorted() {
            guard let value = all[key] else { continue }
            line += " " + Self.key(key) + "=" + Self.value(value.description)
        }
        line += "\n"
        var bytes = Array(line.utf8)
        _ = Glibc.write(2, &bytes, bytes.count)
    }

    /// Keys are reduced to `[A-Za-z0-9_.]`, so a key cannot carry `=`, spaces or line breaks either.
    package static func key(_ raw: String) -> String {
        let kept = String(decoding: raw.utf8.map { isWordByte($0) || $0 == 46 ? $0 : 95 }, as: UTF8.self)
        return kept.isEmpty ? "_" : kept
    }

    /// ASCII letters, digits and `_`.
    package static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95
    }

    /// Bare when it is plain (letters, digits, `-_.:/@+`), quoted otherwise.
    package static func value(_ raw: String) -> String {
        let plain = !raw.isEmpty && raw.utf8.allSatisfy { isWordByte($0) || "-.:/@+,".utf8.contains($0) }
        return plain ? raw : quoted(raw)
    }

    /// Double-quoted; `"` and `\` escaped, control characters (line breaks among them) as escapes.
    package static func quoted(_ raw: String) -> String {
        var out = "\""
        for scalar in raw.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _
            where scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{2028}" || scalar == "\u{2029}"
                || scalar == "\u{85}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// UTC, milliseconds: 2026-11-26T20:41:02.123Z.
    package static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let ms = Int(now.tv_nsec / 1_000_000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(msText)Z"
    }
}
