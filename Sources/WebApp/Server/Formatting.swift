// Plain-text formatting for the views (pages) and the command line: sizes and durations in words.

package enum Formatting {
    /// "45 s", "3 min 05 s".
    package static func duration(seconds: Int64) -> String {
        seconds < 60 ? "\(seconds) s" : "\(seconds / 60) min \(String(format2: seconds % 60)) s"
    }

    /// A length in seconds that may have a fraction: "4 s", "7.5 s", "1 min 02.5 s" (tenths, rounded).
    package static func seconds(_ value: Double) -> String {
        let tenths = Int64((max(0, value) * 10).rounded())
        let whole = tenths / 10, fraction = tenths % 10
        let secs = whole % 60
        let part =
            fraction == 0
            ? "\(whole < 60 ? String(secs) : String(format2: secs))"
            : "\(whole < 60 ? String(secs) : String(format2: secs)).\(fraction)"
        return whole < 60 ? "\(part) s" : "\(whole / 60) min \(part) s"
    }

    /// "41 MB", "4.2 MB", "980 KB", "12 bytes" (decimal units, as disks are sold).
    package static func bytes(_ count: Int64) -> String {
        if count < 1000 { return count == 1 ? "1 byte" : "\(count) bytes" }
        for (unit, name) in [(Int64(1_000_000_000), "GB"), (1_000_000, "MB"), (1000, "KB")]
        where count >= unit || name == "KB" {
            let tenths = (count * 10 + unit / 2) / unit
            return tenths < 100 ? "\(tenths / 10).\(tenths % 10) \(name)" : "\((count + unit / 2) / unit) \(name)"
        }
        return "\(count) bytes"
    }
}

extension String {
    /// Two digits: 7 → "07".
    package init(format2 value: Int64) { self = value < 10 ? "0\(value)" : String(value) }
}
