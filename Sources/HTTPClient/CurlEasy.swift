// libcurl, wrapped: one class per C resource (CURL handle, header list, MIME form), each freed in
// deinit. None is Sendable: a CurlEasy belongs to one thread at a time.

import CCurl
import Glibc

public enum Curl {
    /// curl_global_init is not thread-safe: it runs once, the first time any handle is made.
    public static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}

public struct CurlError: Error, Sendable, CustomStringConvertible {
    public let code: Int
    public let message: String
    /// No byte of the request was written (curl's CURLINFO_REQUEST_SIZE was 0 when it failed).
    public var requestUnsent = false
    public var description: String { "curl error \(code): \(message)" }

    public init(code: Int, message: String, requestUnsent: Bool = false) {
        self.code = code
        self.message = message
        self.requestUnsent = requestUnsent
    }

    /// The request surely never reached the server (name resolution, refused connection, TLS
    /// handshake, or a timeout before any byte was written, e.g. while connecting), so even a
    /// non-idempotent call may be sent again.
    public var nothingWasSent: Bool {
        [5, 6, 7, 35, 60].contains(code) || (code == 28 && requestUnsent)
    }
    public var isTimeout: Bool { code == 28 }
    /// The response sink refused more bytes (a size cap).
    public var isWriteAborted: Bool { code == 23 }
}

/// Where response bytes go. Returning false aborts the transfer.
public protocol ResponseSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool
}

/// Keeps the body in memory, up to a limit.
public final class MemorySink: ResponseSink {
    public private(set) var bytes: [UInt8] = []
    let limit: Int
    public init(limit: Int = 16 << 20) { self.limit = limit }
    public func write(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count + chunk.count <= limit else { return false }
        bytes.append(contentsOf: chunk)
        return true
    }
}

public struct HTTPClientRequest {
    public enum Body {
        case none
        case bytes([UInt8], contentType: String)
        /// multipart/form-data text fields, as curl's MIME API builds them.
        case multipart([(String, String)])
        /// Text fields and file parts.
        case multipartWithFiles([(String, String)], files: [MimeFile])
        /// `length` bytes of a local file from `offset`, streamed (an object store's upload or one of its parts).
        case file(path: String, offset: Int64, length: Int64, contentType: String)
    }

    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: Body
    public var connectTimeoutMs: Int
    public var timeoutMs: Int
    /// Which connection the request may travel on.
    public var connection: ConnectionUse

    public init(
        method: String, url: String, headers: [(String, String)] = [], body: Body = .none,
        connectTimeoutMs: Int = 5000, timeoutMs: Int = 30000, connection: ConnectionUse = .reused
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeoutMs = connectTimeoutMs
        self.timeoutMs = timeoutMs
        self.connection = connection
    }
}

/// Whether a request may go out on a kept-alive connection.
///
/// libcurl sends a request again, on a new connection and without telling the caller, when a *reused*
/// connection dies before the first byte of the answer ("Connection died, retrying a fresh connect") —
/// a POST too: it rewinds the body. For a call that starts paid work the first copy may already have
/// been handled, so such a call must never travel on a reused connection: then libcurl has nothing to
/// retry and the failure reaches the caller, who alone decides what was sent.
public enum ConnectionUse: Sendable {
    /// A kept-alive connection from the handle's cache (reads: sending one twice is harmless).
    case reused
    /// A new connection, closed after the call (CURLOPT_FRESH_CONNECT and CURLOPT_FORBID_REUSE): the
    /// request leaves at most once.
    case fresh
}

/// A file part of a multipart body: its bytes, the filename and Content-Type sent with them.
public struct MimeFile: Sendable {
    public var name: String
    public var filename: String
    public var contentType: String
    public var data: [UInt8]
    public init(name: String, filename: String, contentType: String, data: [UInt8]) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
        self.data = data
    }
}

/// Where a request may connect, for URLs chosen by users (webhooks): the address is fixed in advance
/// (CURLOPT_RESOLVE "host:port:address", so no DNS lookup can change it), only the given protocols are
/// allowed, and proxy variables are ignored (a proxy would connect somewhere else).
public struct ConnectionPolicy: Sendable {
    public var resolve: [String]
    /// CURLOPT_PROTOCOLS_STR, e.g. "http,https".
    public var protocols: String
    /// When the sink stops the transfer after the status line arrived, answer with that status instead
    /// of an error (a capped body that is read only for its status).
    public var statusSurvivesSinkCap: Bool

    public init(resolve: [String], protocols: String = "http,https", statusSurvivesSinkCap: Bool = true) {
        self.resolve = resolve
        self.protocols = protocols
        self.statusSurvivesSinkCap = statusSurvivesSinkCap
    }
}

public struct HTTPClientResponse: Sendable {
    public let status: Int
    /// Lowercased names; the last value wins.
    public let headers: [String: String]
    /// Body bytes sent (a `.file` body: all of them, or the transfer failed).
    public var uploaded: Int64 = 0
}

public final class CurlEasy {
    private let handle: UnsafeMutableRawPointer
    /// curl writes its detailed message here; it must outlive every call on the handle.
    private let errorBuffer: UnsafeMutablePointer<CChar>

    public init() throws(CurlError) {
        precondition(Curl.initialized, "curl_global_init failed")
        guard let h = curl_easy_init() else { throw CurlError(code: -1, message: "curl_easy_init failed") }
        handle = h
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// Performs one request, streaming the body into `sink`. Reuses the handle's connection cache unless
    /// the request asks for a fresh connection (see `ConnectionUse`).
    public func perform(_ request: HTTPClientRequest, into sink: any ResponseSink) throws(CurlError)
        -> HTTPClientResponse
    {
        try perform(request, into: sink, policy: nil)
    }

    /// Performs one request under a connection policy (see `ConnectionPolicy`). Redirects are never followed.
    public func perform(_ request: HTTPClientRequest, into sink: any ResponseSink, pinning policy: ConnectionPolicy)
        throws(CurlError) -> HTTPClientResponse
    {
        try perform(request, into: sink, policy: policy)
    }

    private func perform(_ request: HTTPClientRequest, into sink: any ResponseSink, policy: ConnectionPolicy?)
        throws(CurlError) -> HTTPClientResponse
    {
        curl_easy_reset(handle)
        errorBuffer[0] = 0
        let context = TransferContext(sink: sink)
        if case let .file(path, offset, length, _) = request.body {
            context.upload = try UploadSource(path: path, offset: offset, length: length)
        }
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }
        let headerList = HeaderList(request.headers + [("Expect", "")])
        var mime: MimeForm?

        try check(pr_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        try check(pr_curl_setopt_string(handle, CURLOPT_URL, request.url))
        try check(pr_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        try check(pr_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMs))
        try check(pr_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, request.timeoutMs))
        try check(pr_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        if request.connection == .fresh {
            try check(pr_curl_setopt_long(handle, CURLOPT_FRESH_CONNECT, 1))
            try check(pr_curl_setopt_long(handle, CURLOPT_FORBID_REUSE, 1))
        }
        let resolveList = HeaderList(lines: policy?.resolve ?? [])
        if let policy {
            try check(pr_curl_setopt_slist(handle, CURLOPT_RESOLVE, resolveList.raw))
            try check(pr_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, policy.protocols))
            try check(pr_curl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, policy.protocols))
            try check(pr_curl_setopt_string(handle, CURLOPT_NOPROXY, "*"))
        }
        try check(pr_curl_setopt_string(handle, CURLOPT_USERAGENT, "PromptReel/1.0"))
        try check(pr_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList.raw))
        try check(
            pr_curl_setopt_write(handle) { data, size, count, context in
                guard let data, let context else { return 0 }
                let transfer = Unmanaged<TransferContext>.fromOpaque(context).takeUnretainedValue()
                return transfer.sink.write(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
            })
        try check(pr_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
        try check(
            pr_curl_setopt_header(handle) { data, size, count, context in
                guard let data, let context else { return 0 }
                let transfer = Unmanaged<TransferContext>.fromOpaque(context).takeUnretainedValue()
                transfer.addHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
                return size * count
            })
        try check(pr_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, unmanaged.toOpaque()))

        switch request.body {
        case .none:
            if request.method == "GET" { try check(pr_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)) }
            // A HEAD answer has no body whatever its Content-Length says: curl must not wait for one.
            if request.method == "HEAD" { try check(pr_curl_setopt_long(handle, CURLOPT_NOBODY, 1)) }
        case let .bytes(bytes, contentType):
            let withType = HeaderList(request.headers + [("Expect", ""), ("Content-Type", contentType)])
            try check(pr_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, withType.raw))
            try check(pr_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, bytes.count))
            // COPYPOSTFIELDS: curl keeps its own copy of POSTFIELDSIZE bytes, so the array may go away.
            // A one-byte buffer stands in for an empty body, which has no base address.
            let buffer = bytes.isEmpty ? [0] : bytes
            let rc = buffer.withUnsafeBytes { p in
                pr_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: p.baseAddress))
            }
            try check(rc)
            headerListKeepAlive = withType
        case let .multipart(fields):
            let form = try MimeForm(handle: handle, fields: fields, files: [])
            try check(pr_curl_setopt_pointer(handle, CURLOPT_MIMEPOST, UnsafeMutableRawPointer(form.raw)))
            mime = form
        case let .multipartWithFiles(fields, files):
            let form = try MimeForm(handle: handle, fields: fields, files: files)
            try check(pr_curl_setopt_pointer(handle, CURLOPT_MIMEPOST, UnsafeMutableRawPointer(form.raw)))
            mime = form
        case let .file(_, _, length, contentType):
            let withType = HeaderList(request.headers + [("Expect", ""), ("Content-Type", contentType)])
            try check(pr_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, withType.raw))
            headerListKeepAlive = withType
            try uploadFromContext(length: length, context: unmanaged)
        }
        if !["GET", "POST", "HEAD"].contains(request.method) && !(request.method == "PUT" && isUpload(request.body)) {
            try check(pr_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method))
        }

        let result = curl_easy_perform(handle)
        headerListKeepAlive = nil
        withExtendedLifetime((headerList, mime, resolveList)) {}
        var status = 0
        if result == CURLE_WRITE_ERROR, policy?.statusSurvivesSinkCap == true,
            pr_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK, status > 0
        {
            return HTTPClientResponse(status: status, headers: context.headers)
        }
        if result != CURLE_OK {
            var sent = 0
            let known = pr_curl_getinfo_long(handle, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK
            do { try check(result) } catch {
                var failure = error
                failure.requestUnsent = known && sent == 0
                throw failure
            }
        }
        try check(pr_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status))
        var uploaded: curl_off_t = 0
        _ = pr_curl_getinfo_offset(handle, CURLINFO_SIZE_UPLOAD_T, &uploaded)
        return HTTPClientResponse(status: status, headers: context.headers, uploaded: Int64(uploaded))
    }

    private func isUpload(_ body: HTTPClientRequest.Body) -> Bool {
        if case .file = body { return true }
        return false
    }

    /// An upload of `length` bytes read from the transfer context's `upload`.
    private func uploadFromContext(length: Int64, context: Unmanaged<TransferContext>) throws(CurlError) {
        try check(pr_curl_setopt_long(handle, CURLOPT_UPLOAD, 1))
        try check(pr_curl_setopt_offset(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(length)))
        try check(
            pr_curl_setopt_read(handle) { buffer, size, count, context in
                guard let buffer, let context else { return Int(CURL_READFUNC_ABORT) }
                let transfer = Unmanaged<TransferContext>.fromOpaque(context).takeUnretainedValue()
                return transfer.upload?.read(into: buffer, capacity: size * count) ?? Int(CURL_READFUNC_ABORT)
            })
        try check(pr_curl_setopt_pointer(handle, CURLOPT_READDATA, context.toOpaque()))
    }

    /// A second header list (with Content-Type) must live until perform returns.
    private var headerListKeepAlive: HeaderList?

    /// Sends one mail to an SMTP relay on a new connection, closed after it (so libcurl never sends it twice).
    /// Returns the relay's last reply (250). A refusal throws `SMTPFailure` with the relay's reply code, when one came.
    public func send(mail: SMTPRequest) throws(SMTPFailure) -> Int {
        curl_easy_reset(handle)
        errorBuffer[0] = 0
        let context = TransferContext(sink: MemorySink(limit: 64 << 10))
        context.upload = BytesUpload(mail.message)
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }
        let recipients = HeaderList(lines: mail.recipients.map { "<\($0)>" })
        do {
            try check(pr_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
            try check(pr_curl_setopt_string(handle, CURLOPT_URL, mail.url))
            try check(pr_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps"))
            try check(pr_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
            try check(pr_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, mail.connectTimeoutMs))
            try check(pr_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, mail.timeoutMs))
            try check(pr_curl_setopt_long(handle, CURLOPT_FRESH_CONNECT, 1))
            try check(pr_curl_setopt_long(handle, CURLOPT_FORBID_REUSE, 1))
            try check(pr_curl_setopt_long(handle, CURLOPT_USE_SSL, Int(mail.tls.curlValue.rawValue)))
            if mail.tls == .opportunistic {  // RFC 7435: encryption against listeners, no authentication
                try check(pr_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 0))
                try check(pr_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 0))
            }
            try check(pr_curl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(mail.from)>"))
            try check(pr_curl_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipients.raw))
            try uploadFromContext(length: Int64(mail.message.count), context: unmanaged)
            try check(
                pr_curl_setopt_write(handle) { _, size, count, _ in size * count })
        } catch {
            throw SMTPFailure(curl: error, replyCode: nil)
        }
        let result = curl_easy_perform(handle)
        withExtendedLifetime(recipients) {}
        var reply = 0
        // Only a refusal (4xx, 5xx) is the relay's answer to the mail; after a TLS or connection failure the last
        // reply is an earlier positive one.
        let refused = pr_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &reply) == CURLE_OK && reply >= 400
        do { try check(result) } catch { throw SMTPFailure(curl: error, replyCode: refused ? reply : nil) }
        return reply
    }

    /// Convenience for simple GETs into memory.
    public func get(_ url: String, timeoutMs: Int = 5000) throws(CurlError) -> (status: Int, body: [UInt8]) {
        let sink = MemorySink()
        let response = try perform(HTTPClientRequest(method: "GET", url: url, timeoutMs: timeoutMs), into: sink)
        return (response.status, sink.bytes)
    }

    private func check(_ code: CURLcode) throws(CurlError) {
        guard code != CURLE_OK else { return }
        let detail = String(cString: errorBuffer)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        throw CurlError(code: Int(code.rawValue), message: message)
    }
}

/// One mail for an SMTP relay: its envelope and the message's bytes (`Formats.MailMessage.rendered`).
public struct SMTPRequest: Sendable {
    /// When a plain `smtp://` connection must turn to TLS (STARTTLS) before the mail and the credentials go out.
    public enum TLS: Sendable {
        /// STARTTLS or nothing is sent.
        case required
        /// STARTTLS when the relay offers it, its certificate not checked (encryption without authentication).
        case opportunistic
        /// Never (a relay on this machine without TLS).
        case none

        var curlValue: curl_usessl {
            switch self {
            case .required: CURLUSESSL_ALL
            case .opportunistic: CURLUSESSL_TRY
            case .none: CURLUSESSL_NONE
            }
        }
    }

    /// `smtp://[user:password@]host[:port]` or `smtps://…` (TLS from the start); the credentials, when there are
    /// some, are used for AUTH.
    public var url: String
    public var tls: TLS
    /// The envelope sender and recipients (bare addresses).
    public var from: String
    public var recipients: [String]
    public var message: [UInt8]
    public var connectTimeoutMs = 10_000
    public var timeoutMs = 60_000

    public init(url: String, tls: TLS, from: String, recipients: [String], message: [UInt8]) {
        self.url = url
        self.tls = tls
        self.from = from
        self.recipients = recipients
        self.message = message
    }
}

/// A mail the relay did not take: the relay's last reply code when it answered (4xx: it may take it later;
/// 5xx: it will not), nil when no answer came (a connection or TLS failure).
public struct SMTPFailure: Error, Sendable, CustomStringConvertible {
    public let curl: CurlError
    public let replyCode: Int?
    public init(curl: CurlError, replyCode: Int?) {
        self.curl = curl
        self.replyCode = replyCode
    }
    public var description: String { replyCode.map { "SMTP \($0): \(curl.message)" } ?? curl.description }
}

/// State the C callbacks reach through their context pointer.
final class TransferContext {
    let sink: any ResponseSink
    var headers: [String: String] = [:]
    var upload: (any UploadReader)?
    init(sink: any ResponseSink) { self.sink = sink }

    func addHeaderLine(_ raw: UnsafeRawBufferPointer) {
        let line = String(decoding: raw, as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            headers = [:]
            return
        }  // a new response (after 100 Continue or a redirect)
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = String(
            line[line.index(after: colon)...].drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace)
                .reversed())
        headers[name] = value
    }
}

/// What curl's read callback reads an upload from.
protocol UploadReader: AnyObject {
    /// Bytes copied into `buffer`, 0 at the end, or CURL_READFUNC_ABORT.
    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int
}

/// An upload from memory (a mail).
final class BytesUpload: UploadReader {
    private let bytes: [UInt8]
    private var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let n = min(capacity, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            guard let base = source.baseAddress else { return }
            UnsafeMutableRawPointer(buffer).copyMemory(from: base + offset, byteCount: n)
        }
        offset += n
        return n
    }
}

/// Owns the file descriptor an upload body is read from: `length` bytes from `offset`.
final class UploadSource: UploadReader {
    private let fd: Int32
    private var remaining: Int64

    init(path: String, offset: Int64, length: Int64) throws(CurlError) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CurlError(code: -1, message: "cannot open \(path): errno \(errno)", requestUnsent: true)
        }
        remaining = length
        guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
            close(fd)
            throw CurlError(code: -1, message: "cannot seek \(path) to \(offset)", requestUnsent: true)
        }
    }

    deinit { close(fd) }

    /// What curl's read callback returns: bytes read, 0 at the end, or abort when the file ends early or fails.
    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        guard remaining > 0 else { return 0 }
        while true {
            let n = Glibc.read(fd, buffer, min(capacity, Int(min(remaining, Int64(Int.max)))))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return Int(CURL_READFUNC_ABORT) }
            remaining -= Int64(n)
            return n
        }
    }
}

/// Owns a curl_slist of request headers.
final class HeaderList {
    private(set) var raw: UnsafeMutablePointer<curl_slist>?
    init(_ headers: [(String, String)]) {
        for (name, value) in headers where !name.contains("\n") && !value.contains("\n") && !value.contains("\r") {
            // "Name;" sends an empty header, "Name:" removes one of curl's defaults.
            raw = curl_slist_append(raw, value.isEmpty ? "\(name):" : "\(name): \(value)")
        }
    }
    /// Lines as they are (CURLOPT_RESOLVE entries), without any with a line break.
    init(lines: [String]) {
        for line in lines where !line.contains("\n") && !line.contains("\r") { raw = curl_slist_append(raw, line) }
    }
    deinit { curl_slist_free_all(raw) }
}

/// Owns a curl_mime form.
final class MimeForm {
    let raw: OpaquePointer
    init(handle: UnsafeMutableRawPointer, fields: [(String, String)], files: [MimeFile]) throws(CurlError) {
        guard let mime = curl_mime_init(handle) else { throw CurlError(code: -1, message: "curl_mime_init failed") }
        raw = mime
        for (name, value) in fields {
            guard let part = curl_mime_addpart(mime) else {
                throw CurlError(code: -1, message: "curl_mime_addpart failed")
            }
            curl_mime_name(part, name)
            let length = value.utf8.count
            value.withCString { _ = curl_mime_data(part, $0, length) }
        }
        // curl_mime_data copies the bytes, so the arrays may go away before the transfer.
        for file in files {
            guard let part = curl_mime_addpart(mime) else {
                throw CurlError(code: -1, message: "curl_mime_addpart failed")
            }
            curl_mime_name(part, file.name)
            curl_mime_filename(part, file.filename)
            curl_mime_type(part, file.contentType)
            let rc = file.data.withUnsafeBytes { p in
                curl_mime_data(part, p.baseAddress?.assumingMemoryBound(to: CChar.self), p.count)
            }
            guard rc == CURLE_OK else { throw CurlError(code: Int(rc.rawValue), message: "curl_mime_data failed") }
        }
    }
    deinit { curl_mime_free(raw) }
}
