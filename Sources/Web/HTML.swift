// HTML built by interpolation: interpolated text is escaped; only HTML values pass through raw.
// Raw markup from a plain String needs `HTML(unsafeRaw:)`, which is rare and easy to grep.

public struct HTML: Sendable, ExpressibleByStringInterpolation {
    public private(set) var rendered: String

    public init(unsafeRaw: String) { rendered = unsafeRaw }
    public init(stringLiteral value: StaticString) { rendered = value.description }
    public init(stringInterpolation: Interpolation) { rendered = stringInterpolation.out }

    public static let empty = HTML(unsafeRaw: "")

    public struct Interpolation: StringInterpolationProtocol {
        var out = ""
        public init(literalCapacity: Int, interpolationCount: Int) { out.reserveCapacity(literalCapacity * 2) }
        public mutating func appendLiteral(_ literal: StaticString) { out += literal.description }
        /// Text: escaped for both element content and quoted attribute values.
        public mutating func appendInterpolation(_ text: String) { out += HTML.escape(text) }
        public mutating func appendInterpolation<T: BinaryInteger>(_ number: T) { out += String(number) }
        public mutating func appendInterpolation(_ html: HTML) { out += html.rendered }
        public mutating func appendInterpolation(_ parts: [HTML]) { for p in parts { out += p.rendered } }
        public mutating func appendInterpolation(_ html: HTML?) { if let html { out += html.rendered } }
    }

    /// Escapes all of `& < > " '`, so the same text is safe in content and in any quoted attribute.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    public static func + (a: HTML, b: HTML) -> HTML { HTML(unsafeRaw: a.rendered + b.rendered) }
}

extension Array where Element == HTML {
    public func joined() -> HTML { HTML(unsafeRaw: map(\.rendered).joined()) }
    /// The separator is text, escaped like any interpolation.
    public func joined(separator: String) -> HTML {
        HTML(unsafeRaw: map(\.rendered).joined(separator: HTML.escape(separator)))
    }
}
