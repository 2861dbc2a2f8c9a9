// application/x-www-form-urlencoded and query-string decoding.

import Formats

public struct Form: Sendable {
    public var fields: [String: String]
    public init(_ fields: [String: String] = [:]) { self.fields = fields }
    public subscript(name: String) -> String? { fields[name] }
}

public enum FormError: Error, Equatable, Sendable {
    /// A field's bytes (after percent-decoding) are not UTF-8; carries the field name when it is readable.
    case invalidUTF8(field: String)
}

public enum FormDecoder {
    /// Strict decoding for bodies: invalid UTF-8 names the field so the user hears which one.
    public static func strict(_ bytes: [UInt8]) throws(FormError) -> Form {
        var fields: [String: String] = [:]
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let eq = pair.firstIndex(of: UInt8(ascii: "="))
            let rawName = eq.map { pair[pair.startIndex..<$0] } ?? pair[...]
            let rawValue = eq.map { pair[pair.index(after: $0)...] } ?? []
            guard let name = decodeComponent(rawName) else {
                throw .invalidUTF8(field: String(decoding: percentDecode(rawName), as: UTF8.self))
            }
            guard let value = decodeComponent(rawValue) else { throw .invalidUTF8(field: name) }
            if fields[name] == nil { fields[name] = value }
        }
        return Form(fields)
    }

    /// Lenient decoding for query strings: undecodable pairs are dropped.
    public static func lenient(_ query: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in Array(query.utf8).split(separator: UInt8(ascii: "&")) {
            let eq = pair.firstIndex(of: UInt8(ascii: "="))
            let rawName = eq.map { pair[pair.startIndex..<$0] } ?? pair[...]
            let rawValue = eq.map { pair[pair.index(after: $0)...] } ?? []
            if let name = decodeComponent(rawName), let value = decodeComponent(rawValue), result[name] == nil {
                result[name] = value
            }
        }
        return result
    }

    static func decodeComponent(_ raw: ArraySlice<UInt8>) -> String? {
        String(validating: percentDecode(raw), as: UTF8.self)
    }

    /// `+` is a space; `%XY` a byte; a malformed escape is kept literally, as browsers do.
    static func percentDecode(_ raw: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            let b = raw[i]
            if b == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if b == UInt8(ascii: "%"), i + 2 < raw.endIndex,
                let hi = URLEncoding.hexValue(raw[i + 1]), let lo = URLEncoding.hexValue(raw[i + 2])
            {
                out.append(hi << 4 | lo)
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        return out
    }
}
