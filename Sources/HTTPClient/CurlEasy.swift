// One CURL easy handle, owned and freed by this class. Not Sendable: use it on one thread at a time.
// The video provider client (next issue) builds its calls on this.

import CCurl

public enum Curl {
    /// curl_global_init is not thread-safe: run it once, before any thread makes a handle.
    public static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}

public struct CurlError: Error, Sendable, CustomStringConvertible {
    public let code: Int
    public let message: String
    public var description: String { "curl error \(code): \(message)" }
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
        _ = pr_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// A bodiless GET returning the status and body; enough to prove the wiring, extended by the client.
    public func get(_ url: String, timeoutMs: Int = 5000) throws(CurlError) -> (status: Int, body: [UInt8]) {
        let sink = ByteSink()
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        try check(pr_curl_setopt_string(handle, CURLOPT_URL, url))
        try check(pr_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMs))
        try check(pr_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        try check(pr_curl_setopt_write(handle) { data, size, count, context in
            guard let data, let context else { return 0 }
            let sink = Unmanaged<ByteSink>.fromOpaque(context).takeUnretainedValue()
            sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        })
        try check(pr_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
        errorBuffer[0] = 0
        try check(curl_easy_perform(handle))
        var status = 0
        try check(pr_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status))
        return (status, sink.bytes)
    }

    private func check(_ code: CURLcode) throws(CurlError) {
        guard code != CURLE_OK else { return }
        let detail = String(cString: errorBuffer)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        throw CurlError(code: Int(code.rawValue), message: message)
    }
}

final class ByteSink {
    var bytes: [UInt8] = []
}
