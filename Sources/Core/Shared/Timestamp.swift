// A moment in UTC to the second, as the database's `iso()` writes it ("2026-12-06T23:38:44Z"): read once from
// the row into its parts, compared as a value, printed back as ISO 8601 for answers and `<time datetime>`.

package import Postgres

package struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible, SQLValue {
    package let year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    /// Only `YYYY-MM-DDTHH:MM:SSZ` with every part in range; nil for anything else.
    package init?(iso text: String) {
        let b = Array(text.utf8)
        guard b.count == 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b[19] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var n = 0
            for i in range {
                guard b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
                n = n * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return n
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (
            year, month, day, hour, minute, second
        )
    }

    /// `2026-12-06T23:38:44Z`.
    package var iso: String {
        "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))Z"
    }

    /// `23:38`.
    package var clockText: String { "\(pad(hour, 2)):\(pad(minute, 2))" }

    /// `2026-12-06 23:38 UTC`.
    package var minuteText: String { "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(clockText) UTC" }

    package var description: String { iso }
    /// Bound as text and cast where compared (`::timestamptz`).
    package var sqlText: String { iso }

    package static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.year, a.month, a.day, a.hour, a.minute, a.second) < (b.year, b.month, b.day, b.hour, b.minute, b.second)
    }

    private func pad(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

extension Row {
    /// A column written by `iso()`; a value it could not have written reads as the epoch, never a crash.
    package func timestamp(_ name: String) -> Timestamp { optionalTimestamp(name) ?? .epoch }

    package func optionalTimestamp(_ name: String) -> Timestamp? { self[name].flatMap { Timestamp(iso: $0) } }
}

extension Timestamp {
    package static let epoch = Timestamp(year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0)

    private init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (
            year, month, day, hour, minute, second
        )
    }
}
