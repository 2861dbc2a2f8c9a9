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

    /// Copies the CGI params; bodies over `maxBody` are drained and reported as too large.
    func readRequest(maxBody: Int) -> (Request, tooLarge: Bool) {
        var params: [String: String] = [:]
        if var env = raw.pointee.envp {
            while let entry = env.pointee {
                let pair = String(cString: entry)
                if let eq = pair.firstIndex(of: "=") {
                    params[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
                }
                env += 1
            }
        }
        var headers: [String: String] = [:]
        for (key, value) in params where key.hasPrefix("HTTP_") {
            headers[key.dropFirst(5).lowercased().replacingUnderscores()] = value
        }
        if let t = params["CONTENT_TYPE"], !t.isEmpty { headers["content-type"] = t }
        if let l = params["CONTENT_LENGTH"], !l.isEmpty { headers["content-length"] = l }

        let (body, tooLarge) = readBody(declaredLength: Int(params["CONTENT_LENGTH"] ?? "") ?? 0, maxBody: maxBody)
        let uri = params["REQUEST_URI"] ?? "/"
        let queryString = params["QUERY_STRING"] ?? ""
        let path = String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "/")
        let request = Request(
            method: params["REQUEST_METHOD"] ?? "GET", path: path, query: FormDecoder.lenient(queryString),
            headers: headers, body: body, remoteAddress: params["REMOTE_ADDR"] ?? "",
            isHTTPS: params["HTTPS"] == "on" || params["REQUEST_SCHEME"] == "https")
        return (request, tooLarge)
    }

    private func readBody(declaredLength: Int, maxBody: Int) -> ([UInt8], Bool) {
        guard declaredLength > 0 else { return ([], false) }
        var body: [UInt8] = []
        var tooLarge = declaredLength > maxBody
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
                if body.count > maxBody { tooLarge = true; body = [] }
            }
        }
        return (tooLarge ? [] : body, tooLarge)
    }

    func write(_ response: Response) {
        var head = "Status: \(response.status) \(response.reasonPhrase)\r\n"
        for (name, value) in response.headers where !name.contains("\n") && !value.contains("\n") && !value.contains("\r") {
            head += "\(name): \(value)\r\n"
        }
        if response.header("content-length") == nil && response.header("x-accel-redirect") == nil {
            head += "Content-Length: \(response.body.count)\r\n"
        }
        head += "\r\n"
        put(Array(head.utf8))
        put(response.body)
    }

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

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
