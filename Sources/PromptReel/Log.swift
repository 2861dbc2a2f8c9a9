// A tiny line logger to stderr. Callers pass already-safe text: never bodies, cookies or tokens.

import Glibc

public enum Log {
    public static func info(_ message: @autoclosure () -> String) { write("info", message()) }
    public static func error(_ message: @autoclosure () -> String) { write("error", message()) }

    static func write(_ level: String, _ message: String) {
        let line = "[\(level)] " + message.map { $0 == "\n" ? " " : $0 } + "\n"
        // write(2) on fd 2: one call per line, so lines from worker threads do not interleave.
        var bytes = Array(String(line).utf8)
        _ = Glibc.write(2, &bytes, bytes.count)
    }
}
