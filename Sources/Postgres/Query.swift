// A SQL query whose text comes only from string literals: every interpolated value becomes a `$n`
// parameter, so there is no way to splice a runtime string into SQL.

public struct Query: Sendable, ExpressibleByStringInterpolation {
    public private(set) var sql: String
    public private(set) var parameters: [String?]

    public init(stringLiteral value: StaticString) {
        sql = value.description
        parameters = []
    }

    public init(stringInterpolation: Interpolation) {
        sql = stringInterpolation.sql
        parameters = stringInterpolation.parameters
    }

    /// The parts one after another with `separator` between them (e.g. conditions joined by " AND ").
    public static func joined(_ parts: [Query], separator: StaticString) -> Query {
        var joined = Interpolation(literalCapacity: 0, interpolationCount: parts.count)
        for (index, part) in parts.enumerated() {
            if index > 0 { joined.appendLiteral(separator) }
            joined.appendInterpolation(fragment: part)
        }
        return Query(stringInterpolation: joined)
    }

    public struct Interpolation: StringInterpolationProtocol {
        var sql = ""
        var parameters: [String?] = []
        public init(literalCapacity: Int, interpolationCount: Int) {}
        public mutating func appendLiteral(_ literal: StaticString) { sql += literal.description }
        public mutating func appendInterpolation(_ value: some SQLValue) {
            parameters.append(value.sqlText)
            sql += "$\(parameters.count)"
        }
        public mutating func appendInterpolation(_ value: (some SQLValue)?) {
            parameters.append(value?.sqlText)
            sql += "$\(parameters.count)"
        }
        /// Splices another Query (its literal text and its parameters, renumbered).
        public mutating func appendInterpolation(fragment: Query) {
            var text = fragment.sql
            for index in stride(from: fragment.parameters.count, through: 1, by: -1) {
                text = text.replacingAll("$\(index)", with: "$\(parameters.count + index)")
            }
            sql += text
            parameters += fragment.parameters
        }
    }
}

/// Values that travel as text-format libpq parameters.
public protocol SQLValue: Sendable {
    var sqlText: String { get }
}

extension String: SQLValue { public var sqlText: String { self } }
extension Int: SQLValue { public var sqlText: String { String(self) } }
extension Int64: SQLValue { public var sqlText: String { String(self) } }
extension Int32: SQLValue { public var sqlText: String { String(self) } }
extension Bool: SQLValue { public var sqlText: String { self ? "t" : "f" } }
extension Double: SQLValue { public var sqlText: String { String(self) } }

/// bytea in hex form.
public struct Bytes: SQLValue {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var sqlText: String {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = Array("\\x".utf8)
        for b in bytes {
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            // Don't rewrite $1 inside $12: only replace when no digit follows.
            let after = rest[range.upperBound...].first
            result += rest[..<range.lowerBound]
            if let after, after.isNumber {
                result += rest[range]
            } else {
                result += replacement
            }
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
