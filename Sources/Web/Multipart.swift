// A small, strict multipart/form-data reader (RFC 7578) for the few forms that upload a file. Anything
// malformed is an error, never a guess: the boundary must be declared and well formed, every part needs
// `Content-Disposition: form-data; name="…"`, the body must end with the closing delimiter, and the
// number of parts and the size of each part's headers are bounded.

import Formats

public struct MultipartPart: Sendable {
    public let name: String
    /// Present for file inputs (may be empty when no file was chosen).
    public let filename: String?
    /// The part's declared Content-Type (lowercased, without parameters); informational only.
    public let contentType: String?
    public let data: [UInt8]
}

public enum MultipartError: Error, Equatable, Sendable {
    case noBoundary
    case malformed(String)
    case tooManyParts
}

public enum Multipart {
    public static let maxParts = 16
    static let maxHeaderBytes = 8 * 1024

    /// The boundary of a `multipart/form-data; boundary=…` Content-Type (1–70 characters, RFC 2046).
    public static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";")
        guard let kind = pieces.first, kind.trimmingWhitespace.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() {
            let pair = piece.trimmingWhitespace
            guard let eq = pair.firstIndex(of: "="), pair[..<eq].trimmingWhitespace.lowercased() == "boundary" else {
                continue
            }
            var value = pair[pair.index(after: eq)...].trimmingWhitespace
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            let allowed = value.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                    || Array("'()+_,-./:=? ".utf8).contains(b)
            }
            guard (1...70).contains(value.utf8.count), allowed, value.utf8.last != 0x20 else { return nil }
            return value
        }
        return nil
    }

    public static func parse(_ body: [UInt8], contentType: String) throws(MultipartError) -> [MultipartPart] {
        guard let boundary = boundary(contentType: contentType) else { throw .noBoundary }
        let dash = Array("--".utf8), crlf = Array("\r\n".utf8)
        let delimiter = dash + Array(boundary.utf8)
        let innerDelimiter = crlf + delimiter
        guard body.starts(with: delimiter) else { throw .malformed("the body does not start with the boundary") }
        var cursor = delimiter.count
        var parts: [MultipartPart] = []
        while true {
            // After a delimiter: "--" closes the body; otherwise CRLF and a part follow.
            if body[cursor...].starts(with: dash) { return parts }
            guard body[cursor...].starts(with: crlf) else {
                throw .malformed("a boundary is not followed by a line break")
            }
            cursor += 2
            guard parts.count < maxParts else { throw .tooManyParts }
            guard let headerEnd = find(Array("\r\n\r\n".utf8), in: body, from: cursor, limit: cursor + maxHeaderBytes)
            else {
                throw .malformed("a part's headers do not end (or are too long)")
            }
            guard let next = find(innerDelimiter, in: body, from: headerEnd + 4, limit: body.count) else {
                throw .malformed("the body ends without its closing boundary")
            }
            parts.append(try part(headers: Array(body[cursor..<headerEnd]), data: Array(body[(headerEnd + 4)..<next])))
            cursor = next + innerDelimiter.count
        }
    }

    static func part(headers raw: [UInt8], data: [UInt8]) throws(MultipartError) -> MultipartPart {
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw .malformed("a part's headers are not UTF-8")
        }
        var name: String?, filename: String?, contentType: String?
        var sawDisposition = false
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("a part header has no colon") }
            let field = line[..<colon].trimmingWhitespace.lowercased()
            let value = line[line.index(after: colon)...].trimmingWhitespace
            switch field {
            case "content-disposition":
                guard !sawDisposition else { throw .malformed("a part has two Content-Disposition headers") }
                sawDisposition = true
                let params = try dispositionParameters(value)
                name = params["name"]
                filename = params["filename"]
            case "content-type":
                contentType = value.split(separator: ";").first.map { $0.trimmingWhitespace.lowercased() }
            default:
                break
            }
        }
        guard let name, !name.isEmpty else { throw .malformed("a part has no form-data name") }
        return MultipartPart(name: name, filename: filename, contentType: contentType, data: data)
    }

    /// `form-data; name="x"; filename="a.png"` → ["name": "x", "filename": "a.png"].
    static func dispositionParameters(_ value: String) throws(MultipartError) -> [String: String] {
        var result: [String: String] = [:]
        var rest = Substring(value)
        guard
            let semicolon = rest.firstIndex(of: ";")
                ?? (rest.trimmingWhitespace.lowercased() == "form-data" ? rest.endIndex : nil),
            rest[..<semicolon].trimmingWhitespace.lowercased() == "form-data"
        else {
            throw .malformed("a part is not form-data")
        }
        rest = rest[semicolon...]
        while let start = rest.firstIndex(of: ";") {
            rest = rest[rest.index(after: start)...].drop { $0 == " " || $0 == "\t" }
            guard let eq = rest.firstIndex(of: "=") else {
                throw .malformed("a Content-Disposition parameter has no value")
            }
            let key = rest[..<eq].trimmingWhitespace.lowercased()
            rest = rest[rest.index(after: eq)...]
            var parsed = ""
            if rest.first == "\"" {
                // A quoted string: browsers escape `"` as %22 and never use backslashes, so the value
                // runs to the next quote.
                rest = rest.dropFirst()
                guard let close = rest.firstIndex(of: "\"") else {
                    throw .malformed("an unterminated quoted parameter")
                }
                parsed = String(rest[..<close])
                rest = rest[rest.index(after: close)...]
            } else {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                parsed = rest[..<end].trimmingWhitespace
                rest = rest[end...]
            }
            guard result[key] == nil else { throw .malformed("a Content-Disposition parameter is repeated") }
            result[key] = parsed
            rest = rest.drop { $0 == " " || $0 == "\t" }
            guard rest.isEmpty || rest.first == ";" else {
                throw .malformed("junk after a Content-Disposition parameter")
            }
        }
        return result
    }

    /// The first index of `needle` in `haystack[from..<limit]` (limit clamped), or nil.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int, limit: Int) -> Int? {
        let end = min(limit, haystack.count)
        guard let first = needle.first, end - from >= needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { h -> Int? in
            var i = from
            let last = end - needle.count
            while i <= last {
                if h[i] == first {
                    var j = 1
                    while j < needle.count && h[i + j] == needle[j] { j += 1 }
                    if j == needle.count { return i }
                }
                i += 1
            }
            return nil
        }
    }
}
