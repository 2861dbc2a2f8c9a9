// The FastCGI edge: one FCGX_Request per worker thread, owned by this class. Params and body are
// copied into a Web.Request before the handler runs, so nothing points into libfcgi afterwards.

import CFastCGI
import Glibc
import Web

final class FastCGIRequest {
    /// Heap-allocated because libfcgi keeps pointers to the request struct inside its streams.
    private let raw: UnsafeMutablePointer<FCGX_Request>

    init(listenSocket: Int32) {
        raw = .allocate(capacity: 1)
        raw.initialize(to: FCGX_Request())
        FCGX_InitRequest(raw, listenSocket, 0)
    }

    deinit {
        FCGX_Free(raw, 1)
        raw.deallocate()
    }

    /// Blocks for the next request; false once the listening socket is shut down.
    func accept() -> Bool { FCGX_Accept_r(raw) >= 0 }

    func finish() { FCGX_Finish_r(raw) }

    /// Copies the CGI params; bodies over `maxBody(method, path)` are drained and reported as too large.
    /// Scans each `NAME=value` entry as bytes and keeps only what a Request carries: this runs on every
    /// request, and the Character-level version was a fifth of a cached status answer's time.
    func readRequest(maxBody: (String, String) -> Int) -> (Request, tooLarge: Bool) {
        var cgi = CGIParams()
        var headers: [String: String] = [:]
        if var env = raw.pointee.envp {
            while let entry = env.pointee {
                cgi.take(entry, headers: &headers)
                env += 1
            }
        }
        if !cgi.contentType.isEmpty { headers["content-type"] = cgi.contentType }
        if !cgi.contentLength.isEmpty { headers["content-length"] = cgi.contentLength }

        let uri = cgi.requestURI.isEmpty ? "/" : cgi.requestURI
        let path = uri.firstIndex(of: "?").map { String(uri[..<$0]) } ?? uri
        let method = cgi.method.isEmpty ? "GET" : cgi.method
        let (body, tooLarge) = readBody(
            declaredLength: Int(cgi.contentLength) ?? 0, maxBody: maxBody(method.uppercased(), path))
        var request = Request(
            method: method, path: path, query: FormDecoder.lenient(cgi.queryString),
            headers: headers, body: body, remoteAddress: cgi.remoteAddress,
            isHTTPS: cgi.https == "on" || cgi.scheme == "https")
        request.requestID = RequestID.isValid(cgi.requestID) ? cgi.requestID : RequestID.make()
        return (request, tooLarge)
    }

    private func readBody(declaredLength: Int, maxBody: Int) -> ([UInt8], Bool) {
        guard declaredLength > 0 else { return ([], false) }
        var body: [UInt8] = []
        var tooLarge = declaredLength > maxBody
        if !tooLarge { body.reserveCapacity(declaredLength) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // Read (or drain) everything nginx sends, so it never sees a reset mid-upload.
        while true {
            let n = buffer.withUnsafeMutableBufferPointer { p -> Int32 in
                guard let base = p.baseAddress else { return 0 }
                return base.withMemoryRebound(to: CChar.self, capacity: p.count) {
                    FCGX_GetStr($0, Int32(p.count), raw.pointee.in)
                }
            }
            if n <= 0 { break }
            if !tooLarge {
                body += buffer[0..<Int(n)]
                if body.count > maxBody {
                    tooLarge = true
                    body = []
                }
            }
        }
        return (tooLarge ? [] : body, tooLarge)
    }

    func write(_ response: Response) {
        var head: [UInt8] = []
        head.reserveCapacity(256)
        head += "Status: \(response.status) \(response.reasonPhrase)\r\n".utf8
        for (name, value) in response.headers
        where !name.utf8.contains(where: Self.isLineBreak) && !value.utf8.contains(where: Self.isLineBreak) {
            head += name.utf8
            head += ": ".utf8
            head += value.utf8
            head += "\r\n".utf8
        }
        if response.header("content-length") == nil && response.header("x-accel-redirect") == nil {
            head += "Content-Length: \(response.body.count)\r\n".utf8
        }
        head += "\r\n".utf8
        put(head)
        put(response.body)
    }

    /// A header line break would let a value forge headers: such a header is dropped.
    private static func isLineBreak(_ byte: UInt8) -> Bool { byte == 10 || byte == 13 }

    private func put(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return }
            base.withMemoryRebound(to: CChar.self, capacity: p.count) {
                _ = FCGX_PutStr($0, Int32(p.count), raw.pointee.out)
            }
        }
    }
}

/// The CGI params a Request needs, read from libfcgi's `NAME=value` C strings.
struct CGIParams {
    var method = "", requestURI = "", queryString = "", contentType = "", contentLength = ""
    var remoteAddress = "", https = "", scheme = "", requestID = ""

    /// Keeps a known param, or adds an `HTTP_FOO_BAR` param to `headers` as `foo-bar`.
    mutating func take(_ entry: UnsafePointer<CChar>, headers: inout [String: String]) {
        guard let eq = strchr(entry, 61) else { return }  // 61: "="
        let nameLength = UnsafePointer(eq) - entry
        let value = String(cString: eq + 1)
        entry.withMemoryRebound(to: UInt8.self, capacity: nameLength) { p in
            let name = UnsafeBufferPointer(start: p, count: nameLength)
            if name.count > Self.httpPrefix.count, name.starts(with: Self.httpPrefix) {
                // HTTP_ACCEPT_LANGUAGE -> accept-language
                let header = String(decoding: name.dropFirst(5).lazy.map(Self.headerByte), as: UTF8.self)
                headers[header] = value
                return
            }
            switch String(decoding: name, as: UTF8.self) {
            case "REQUEST_METHOD": method = value
            case "REQUEST_URI": requestURI = value
            case "QUERY_STRING": queryString = value
            case "CONTENT_TYPE": contentType = value
            case "CONTENT_LENGTH": contentLength = value
            case "REMOTE_ADDR": remoteAddress = value
            case "HTTPS": https = value
            case "REQUEST_SCHEME": scheme = value
            case "REQUEST_ID": requestID = value
            default: break
            }
        }
    }

    private static let httpPrefix = Array("HTTP_".utf8)

    private static func headerByte(_ byte: UInt8) -> UInt8 {
        switch byte {
        case 95: 45  // _ -> -
        case 65...90: byte + 32  // A-Z -> a-z
        default: byte
        }
    }
}

/// Request ids: nginx's `$request_id` (32 hex digits) when it sends a usable one, else 32 random hex digits.
enum RequestID {
    /// 1–64 characters of `[A-Za-z0-9_-]`: safe in a header and in a log line as it is.
    static func isValid(_ id: String) -> Bool {
        let bytes = id.utf8
        return !bytes.isEmpty && bytes.count <= 64
            && bytes.allSatisfy {
                ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95
            }
    }

    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex(generator.next()) + hex(generator.next())
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
