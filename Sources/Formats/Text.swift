// Small text helpers shared by the web layer, the provider clients and the domain.

extension StringProtocol {
    /// Without leading and trailing whitespace (spaces, tabs, newlines). Index-based: it runs on every
    /// request's Authorization header, and reversing the string twice showed up as a fifth of the time.
    public var trimmingWhitespace: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }),
            let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}

extension StringProtocol {
    /// The first control character other than tab, line feed and carriage return (NUL, the other C0 codes,
    /// DEL, the C1 codes), or nil. Text holding one is refused wherever PromptReel accepts text: libpq would
    /// cut a value at its NUL without a word, and the others cannot be shown or typed.
    public var forbiddenControlCharacter: Unicode.Scalar? {
        unicodeScalars.first { scalar in
            switch scalar.value {
            case 0x09, 0x0A, 0x0D: false
            case 0x00..<0x20, 0x7F..<0xA0: true
            default: false
            }
        }
    }
}

/// A day of the proleptic Gregorian calendar from a count of days since 1970-01-01 (Howard Hinnant's
/// days-to-civil algorithm): for dates in mail headers and the usage calendar alike.
public struct CivilDate: Sendable, Equatable {
    public let year: Int64
    public let month: Int64
    public let day: Int64

    public init(daysSince1970 days: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }
}
