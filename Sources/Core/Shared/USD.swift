// An exact amount of US dollars. Stored as whole millionths of a dollar ("micros") because chat
// calls cost fractions of a cent and binary floating point cannot hold 0.4 exactly. Everything
// here is checked integer arithmetic: overflow is reported as nil, nothing traps.

package struct USD: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Millionths of a dollar. Equality and ordering compare this, so 0.4 == 0.40 == 0.400000.
    package let micros: Int64

    package static let zero = USD(micros: 0)

    private static let microsPerDollar: Int64 = 1_000_000
    private static let microsPerCent: Int64 = 10_000

    package init(micros: Int64) { self.micros = micros }

    /// nil when `cents` is too large to hold in micros (beyond about ±92 trillion dollars).
    package init?(cents: Int64) {
        let (value, overflow) = cents.multipliedReportingOverflow(by: Self.microsPerCent)
        guard !overflow else { return nil }
        micros = value
    }

    /// Plain non-negative decimal text only: 1–12 integer digits, optionally "." and 1+ fraction
    /// digits, of which only the first 6 may be non-zero; at most 40 characters. No sign, exponent,
    /// spaces or non-ASCII digits. The bounds keep the value ≤ 999999999999.999999, far inside Int64,
    /// so the accumulation below cannot overflow; the work is bounded by the 40-byte cap.
    package init?(parsing text: some StringProtocol) {
        var dollars: Int64 = 0, integerDigits = 0
        var fraction: Int64 = 0, fractionDigits = 0
        var scale: Int64 = 100_000  // place value, in micros, of the next fraction digit
        var sawPoint = false, length = 0
        for byte in text.utf8 {
            length += 1
            guard length <= 40 else { return nil }
            if byte == UInt8(ascii: ".") {
                guard !sawPoint, integerDigits > 0 else { return nil }  // rejects ".5" and "1.2.3"
                sawPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int64(byte - UInt8(ascii: "0"))
            if !sawPoint {
                integerDigits += 1
                guard integerDigits <= 12 else { return nil }
                dollars = dollars * 10 + digit
            } else {
                fractionDigits += 1
                if scale > 0 {
                    fraction += digit * scale
                    scale /= 10
                } else if digit != 0 {
                    return nil  // a 7th+ significant fraction digit cannot be represented exactly
                }
            }
        }
        guard integerDigits > 0, !sawPoint || fractionDigits > 0 else { return nil }  // "", "5."
        micros = dollars * Self.microsPerDollar + fraction
    }

    // MARK: Arithmetic (nil on overflow, never traps)

    package func adding(_ other: USD) -> USD? {
        let (value, overflow) = micros.addingReportingOverflow(other.micros)
        return overflow ? nil : USD(micros: value)
    }

    package func subtracting(_ other: USD) -> USD? {
        let (value, overflow) = micros.subtractingReportingOverflow(other.micros)
        return overflow ? nil : USD(micros: value)
    }

    package func times(_ n: Int) -> USD? {
        guard let factor = Int64(exactly: n) else { return nil }
        let (value, overflow) = micros.multipliedReportingOverflow(by: factor)
        return overflow ? nil : USD(micros: value)
    }

    package static func < (a: USD, b: USD) -> Bool { a.micros < b.micros }

    // MARK: Cents

    package var isWholeCents: Bool { micros % Self.microsPerCent == 0 }

    /// Half-up on the magnitude (so -0.005 → -0.01). At the very ends of Int64, where rounding away
    /// from zero would overflow, it rounds toward zero instead so the result is always whole cents.
    package var roundedToCents: USD {
        let remainder = micros % Self.microsPerCent  // same sign as micros
        let towardZero = micros - remainder  // cannot overflow: moves toward zero
        guard remainder.magnitude >= 5_000 else { return USD(micros: towardZero) }
        let step = micros < 0 ? -Self.microsPerCent : Self.microsPerCent
        let (away, overflow) = towardZero.addingReportingOverflow(step)
        return USD(micros: overflow ? towardZero : away)
    }

    // MARK: Text

    /// Exact, always 6 decimals ("0.400000"): for binding to PostgreSQL numeric parameters.
    package var decimalText: String {
        let m = micros.magnitude  // UInt64, so Int64.min has a magnitude too
        return sign + String(m / 1_000_000) + "." + Self.zeroPadded(m % 1_000_000, width: 6)
    }

    /// Shortest exact decimal with at least 2 decimals ("0.40", "12.00", "0.0042"): a JSON number.
    package var jsonText: String {
        let m = micros.magnitude
        var fraction = Self.zeroPadded(m % 1_000_000, width: 6)
        while fraction.count > 2, fraction.last == "0" { fraction.removeLast() }
        return sign + String(m / 1_000_000) + "." + fraction
    }

    /// For people: whole cents with thousands separators ("$1,234.50"), rounded half-up. Non-zero
    /// amounts under a cent show four decimals ("$0.0042") so small chat costs are not shown as
    /// free; those that would still read "$0.0000" show "<$0.0001". Negatives get a leading "-".
    package var display: String {
        let m = micros.magnitude  // UInt64 math: m + 5_000 cannot overflow
        if m == 0 { return "$0.00" }
        if m < 10_000 {
            let tenThousandths = (m + 50) / 100
            if tenThousandths == 0 { return sign + "<$0.0001" }
            return sign + "$0." + Self.zeroPadded(tenThousandths, width: 4)
        }
        let cents = (m + 5_000) / 10_000
        return sign + "$" + Self.grouped(cents / 100) + "." + Self.zeroPadded(cents % 100, width: 2)
    }

    package var description: String { display }

    private var sign: String { micros < 0 ? "-" : "" }

    private static func zeroPadded(_ value: UInt64, width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// "1234567" → "1,234,567".
    private static func grouped(_ value: UInt64) -> String {
        let digits = Array(String(value))
        var out = ""
        for (i, digit) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }
}
