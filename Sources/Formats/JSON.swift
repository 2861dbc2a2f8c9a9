// A small JSON value with a byte-level parser and a serializer. Hand-written so that invalid UTF-8
// can be reported per field (Foundation rejects the whole document) and numbers keep their text.

public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's literal text, so money and big ids pass through unrounded.
    case number(String)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case let (.bool(x), .bool(y)): x == y
        case let (.number(x), .number(y)): x == y
        case let (.string(x), .string(y)): x == y
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public static func int<T: BinaryInteger>(_ v: T) -> JSON { .number(String(v)) }
    public static func optional(_ s: String?) -> JSON { s.map(JSON.string) ?? .null }

    public subscript(key: String) -> JSON? {
        guard case let .object(pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    public var stringValue: String? { if case let .string(s) = self { s } else { nil } }
    public var intValue: Int? { if case let .number(n) = self { Int(n) } else { nil } }
    public var boolValue: Bool? { if case let .bool(b) = self { b } else { nil } }
    public var isNull: Bool { self == .null }

    public var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .number(n): out += n
        case let .string(s): JSON.writeString(s, to: &out)
        case let .array(items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case let .object(pairs):
            out += "{"
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += "," }
                JSON.writeString(k, to: &out)
                out += ":"
                v.write(to: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            // < > & escaped so JSON can never be read as markup if a browser sniffs it.
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            default:
                if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// A parsed document plus the top-level keys whose strings were not valid UTF-8 (replaced by U+FFFD).
public struct JSONDocument: Sendable {
    public var root: JSON
    public var invalidUTF8Keys: Set<String>
}

public enum JSONError: Error, Equatable, Sendable {
    case wrongContentType
    case syntax(offset: Int)
    case tooDeep
}

public struct JSONParser {
    let bytes: [UInt8]
    var i = 0
    var depth = 0
    var currentTopKey: String?
    var invalidKeys = Set<String>()
    static let maxDepth = 64

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONDocument {
        var p = JSONParser(bytes: bytes)
        p.skipSpace()
        let root = try p.value()
        p.skipSpace()
        guard p.i == bytes.count else { throw .syntax(offset: p.i) }
        return JSONDocument(root: root, invalidUTF8Keys: p.invalidKeys)
    }

    public static func parse(_ text: String) throws(JSONError) -> JSON { try parse(Array(text.utf8)).root }

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
    }

    mutating func value() throws(JSONError) -> JSON {
        guard i < bytes.count else { throw .syntax(offset: i) }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default: return try number()
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONError) {
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == Array(w) else { throw .syntax(offset: i) }
        i += w.count
    }

    mutating func object() throws(JSONError) -> JSON {
        depth += 1
        guard depth <= JSONParser.maxDepth else { throw .tooDeep }
        defer { depth -= 1 }
        i += 1
        var pairs: [(String, JSON)] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object(pairs)
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw .syntax(offset: i) }
            let key = try string()
            if depth == 1 { currentTopKey = key }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw .syntax(offset: i) }
            i += 1
            skipSpace()
            pairs.append((key, try value()))
            skipSpace()
            guard i < bytes.count else { throw .syntax(offset: i) }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if bytes[i] == UInt8(ascii: "}") {
                i += 1
                break
            }
            throw .syntax(offset: i)
        }
        if depth == 1 { currentTopKey = nil }
        return .object(pairs)
    }

    mutating func array() throws(JSONError) -> JSON {
        depth += 1
        guard depth <= JSONParser.maxDepth else { throw .tooDeep }
        defer { depth -= 1 }
        i += 1
        var items: [JSON] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value())
            skipSpace()
            guard i < bytes.count else { throw .syntax(offset: i) }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if bytes[i] == UInt8(ascii: "]") {
                i += 1
                break
            }
            throw .syntax(offset: i)
        }
        return .array(items)
    }

    mutating func number() throws(JSONError) -> JSON {
        let start = i
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let digitsStart = i
        while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
        guard i > digitsStart else { throw .syntax(offset: start) }
        if bytes[digitsStart] == UInt8(ascii: "0"), i - digitsStart > 1 { throw .syntax(offset: start) }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let f = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            guard i > f else { throw .syntax(offset: i) }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            let e = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            guard i > e else { throw .syntax(offset: i) }
        }
        return .number(String(decoding: bytes[start..<i], as: UTF8.self))
    }

    /// Reads a string; invalid UTF-8 or lone surrogates mark the current top-level key as invalid.
    mutating func string() throws(JSONError) -> String {
        i += 1
        var out: [UInt8] = []
        var valid = true
        while true {
            guard i < bytes.count else { throw .syntax(offset: i) }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                break
            }
            if b < 0x20 { throw .syntax(offset: i) }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                i += 1
                continue
            }
            i += 1
            guard i < bytes.count else { throw .syntax(offset: i) }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code) {
                    if i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        if (0xDC00...0xDFFF).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            valid = false
                            code = 0xFFFD
                        }
                    } else {
                        valid = false
                        code = 0xFFFD
                    }
                } else if (0xDC00...0xDFFF).contains(code) {
                    valid = false
                    code = 0xFFFD
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(code) ?? "\u{FFFD}")).utf8))
            default: throw .syntax(offset: i - 1)
            }
        }
        if let s = String(validating: out, as: UTF8.self), valid { return s }
        invalidKeys.insert(currentTopKey ?? "")
        return String(decoding: out, as: UTF8.self)
    }

    mutating func hex4() throws(JSONError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw .syntax(offset: i) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let h = URLEncoding.hexValue(bytes[i]) else { throw .syntax(offset: i) }
            v = v << 4 | UInt32(h)
            i += 1
        }
        return v
    }
}
