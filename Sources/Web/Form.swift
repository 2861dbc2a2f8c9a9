// application/x-www-form-urlencoded and query-string decoding.

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
                let hi = hexValue(raw[i + 1]), let lo = hexValue(raw[i + 2])
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

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

public enum URLEncoding {
    /// Percent-encodes everything but unreserved characters (RFC 3986), for query values and path segments.
    public static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(b >> 4)], hex[Int(b & 15)]], as: UTF8.self)
            }
        }
        return out
    }
}

extension URLEncoding {
    /// `name=value&…` for a URL's query.
    public static func query(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }
}
