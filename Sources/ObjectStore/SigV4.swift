// AWS Signature Version 4 for S3-compatible stores (AWS S3, MinIO, R2, Ceph, Swift's S3 API): the Authorization
// header of a request, and presigned URLs (the query-string form) that nginx can proxy or a client can follow.
// Pure: the time is passed in, nothing is sent. The first piece of the S3 media store (issue 25), checked against
// AWS's worked examples and botocore's signer.

import Core
import Glibc

/// An access key and its secret (and a session token for temporary credentials). Never printed.
public struct S3Credentials: Sendable, CustomStringConvertible {
    public let accessKeyID: String
    let secretAccessKey: String
    public let sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "S3Credentials(\(accessKeyID), secret hidden)" }
}

public struct SigV4: Sendable {
    public let credentials: S3Credentials
    public let region: String
    public let service: String

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// SHA-256 of an empty body, and what a presigned URL says of its body.
    public static let emptyPayload = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The headers to send with a request: `x-amz-date`, `x-amz-content-sha256`, the session token if any, and
    /// `Authorization`. `headers` are the request's own that are signed too (e.g. `Range`, `Content-Type`,
    /// `Content-MD5`); `host` is always signed. `path` is the object's path, not yet encoded.
    public func authorization(
        method: String, host: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        payloadSHA256: String, at epochSeconds: Int
    ) -> [(String, String)] {
        let date = AmzDate(epochSeconds)
        var signed = headers.map { ($0.0.lowercased(), $0.1) }
        signed += [("host", host), ("x-amz-content-sha256", payloadSHA256), ("x-amz-date", date.stamp)]
        if let token = credentials.sessionToken { signed.append(("x-amz-security-token", token)) }
        let (names, signature) = sign(
            method: method, path: path, query: query, headers: signed, payload: payloadSHA256, date: date)
        var out = [("x-amz-date", date.stamp), ("x-amz-content-sha256", payloadSHA256)]
        if let token = credentials.sessionToken { out.append(("x-amz-security-token", token)) }
        out.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(date)), SignedHeaders=\(names), Signature=\(signature)"
            ))
        return out
    }

    /// The query string of a presigned URL for `method` on `path` (only `host` signed, the body unsigned), valid
    /// for `expiresSeconds` (1 s to 7 days, as S3 allows).
    public func presignedQuery(
        method: String, host: String, path: String, query: [(String, String)] = [], at epochSeconds: Int,
        expiresSeconds: Int
    ) -> String {
        let date = AmzDate(epochSeconds)
        var items =
            query + [
                ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(date))"),
                ("X-Amz-Date", date.stamp), ("X-Amz-Expires", String(min(max(expiresSeconds, 1), 604_800))),
                ("X-Amz-SignedHeaders", "host"),
            ]
        if let token = credentials.sessionToken { items.append(("X-Amz-Security-Token", token)) }
        let (_, signature) = sign(
            method: method, path: path, query: items, headers: [("host", host)], payload: SigV4.unsignedPayload,
            date: date)
        return SigV4.canonicalQuery(items) + "&X-Amz-Signature=" + signature
    }

    // MARK: The algorithm

    func scope(_ date: AmzDate) -> String { "\(date.day)/\(region)/\(service)/aws4_request" }

    /// The signed header names and the signature.
    func sign(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payload: String,
        date: AmzDate
    ) -> (String, String) {
        let sorted = headers.map { ($0.0, SigV4.trimmed($0.1)) }.sorted { $0.0 < $1.0 }
        let names = sorted.map(\.0).joined(separator: ";")
        let canonical = [
            method, SigV4.canonicalPath(path), SigV4.canonicalQuery(query),
            sorted.map { "\($0.0):\($0.1)\n" }.joined(), names, payload,
        ].joined(separator: "\n")
        let toSign = [
            "AWS4-HMAC-SHA256", date.stamp, scope(date), SigV4.hex(SigV4.sha256(Array(canonical.utf8))),
        ].joined(separator: "\n")
        var key = Array("AWS4\(credentials.secretAccessKey)".utf8)
        for part in [date.day, region, service, "aws4_request"] { key = SigV4.hmac(key, Array(part.utf8)) }
        return (names, SigV4.hex(SigV4.hmac(key, Array(toSign.utf8))))
    }

    /// Each segment URI-encoded once (S3 does not encode twice), the slashes kept.
    static func canonicalPath(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : "/" + path
        return absolute.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0)) }
            .joined(separator: "/")
    }

    /// Encoded names and values, sorted by name then value, `=` and `&` between.
    static func canonicalQuery(_ items: [(String, String)]) -> String {
        items.map { (encode($0.0), encode($0.1)) }.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 unreserved characters as they are, every other byte as %XX (upper case).
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    /// Leading and trailing spaces off, inner runs of spaces as one.
    static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] { Crypto.sha256(bytes) }

    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] { Crypto.hmacSHA256(key: key, message: message) }

    static func hex(_ bytes: [UInt8]) -> String { Crypto.hex(bytes) }

    static func base64(_ bytes: [UInt8]) -> String { Crypto.base64(bytes) }
}

/// `20130524T000000Z` and its day `20130524`, in UTC.
struct AmzDate: Sendable {
    let stamp: String
    var day: String { String(stamp.prefix(8)) }

    init(_ epochSeconds: Int) {
        var seconds = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        stamp =
            "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }
}
