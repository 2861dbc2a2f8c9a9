// The HTTP plumbing every OpenAI-style provider call shares: one libcurl handle, the auth and
// organization headers, the retry loop, and the mapping of failures to VideoAPIError. VideoAPIClient
// and ChatAPIClient each own one. Not Sendable: it owns a CurlEasy, which belongs to one thread.
//
// Every retry of a paid call is decided here, in the open, never below: creates, remixes and chat
// completions travel on a fresh connection each (`ConnectionUse.fresh`), because libcurl silently sends
// a request again when a reused connection dies before answering. Reads keep the connection cache.

import Formats
import HTTPClient

/// Which calls may be sent again after a failure.
enum RetryRule {
    /// Reads and deletes: 429, 408/409, 5xx, timeouts and connection failures.
    case read
    /// Calls that start paid jobs: only when nothing can have been created (refused before sending,
    /// or 429 / 503, which say the job was not taken).
    case create
    /// A chat completion makes nothing that lasts, so it retries like a read (except a quota 429: no wait
    /// cures it); but each attempt may be billed, so the caller is told of every failed one.
    case chat

    /// Paid calls are sent at most once per attempt: a new connection each, so libcurl cannot resend them.
    var connection: ConnectionUse { self == .read ? .reused : .fresh }
}

final class ProviderTransport {
    /// Where the provider lives and how patiently to talk to it (from ProviderConfig or ChatConfig).
    struct Settings: Sendable {
        var baseURL: String
        var apiKey: String
        var organization: String?
        var project: String?
        var connectTimeoutMs: Int
        var timeoutMs: Int
        var maxRetries: Int
        var maxBackoffSeconds: Double
        var maxRetryAfterSeconds: Double
    }

    let settings: Settings
    /// Stamped on every error made here, so its public message names the right provider.
    let service: VideoAPIError.Service
    private let curl: CurlEasy
    /// How the client waits between retries; tests may observe it, production sleeps.
    let wait: (Double) -> Void

    init(_ settings: Settings, service: VideoAPIError.Service, wait: @escaping (Double) -> Void) throws(VideoAPIError) {
        self.settings = settings
        self.service = service
        self.wait = wait
        do { curl = try CurlEasy() } catch {
            throw VideoAPIError(.connectionFailed, detail: error.message, nothingWasSent: true).of(service)
        }
    }

    /// One call with the retry rule applied; returns a 2xx response and its body.
    /// `maxRetries` overrides the settings' (nil: theirs).
    /// `answers`: a non-2xx reply the caller reads as an answer (returned as it is, never retried).
    func send(
        _ method: String, _ path: String, body: HTTPClientRequest.Body = .none, headers: [(String, String)] = [],
        rule: RetryRule = .read, maxRetries: Int? = nil,
        answers: ((HTTPClientResponse, [UInt8]) -> Bool)? = nil
    ) throws(VideoAPIError) -> (HTTPClientResponse, [UInt8]) {
        var failures: [VideoAPIError] = []
        return try send(
            method, path, body: body, headers: headers, rule: rule, maxRetries: maxRetries, failures: &failures,
            answers: answers)
    }

    /// The same, appending every failed attempt to `failures` (the last one too, when the call fails):
    /// for a paid call each may have been billed, and only the caller can record it.
    func send(
        _ method: String, _ path: String, body: HTTPClientRequest.Body = .none, headers: [(String, String)] = [],
        rule: RetryRule = .read, maxRetries: Int? = nil,
        failures: inout [VideoAPIError], answers: ((HTTPClientResponse, [UInt8]) -> Bool)? = nil
    ) throws(VideoAPIError) -> (HTTPClientResponse, [UInt8]) {
        let retries = maxRetries ?? settings.maxRetries
        var attempt = 0
        while true {
            let sink = MemorySink(limit: 8 << 20)
            do throws(VideoAPIError) {
                let response = try exchange(
                    method, path, body: body, headers: headers, sink: sink, timeoutMs: settings.timeoutMs,
                    connection: rule.connection)
                guard (200..<300).contains(response.status) || answers?(response, sink.bytes) == true else {
                    throw classify(response, body: sink.bytes)
                }
                return (response, sink.bytes)
            } catch {
                failures.append(error)
                guard shouldRetry(error, rule: rule), attempt < retries else { throw error }
                wait(delay(error, attempt: attempt))
                attempt += 1
            }
        }
    }

    /// One attempt, streaming the body into `sink`; transport failures become typed errors.
    func exchange(
        _ method: String, _ path: String, body: HTTPClientRequest.Body, headers extra: [(String, String)] = [],
        sink: any ResponseSink, timeoutMs: Int, connection: ConnectionUse = .reused
    ) throws(VideoAPIError) -> HTTPClientResponse {
        var headers = [("Authorization", "Bearer \(settings.apiKey)"), ("Accept", "application/json")] + extra
        if let org = settings.organization { headers.append(("OpenAI-Organization", org)) }
        if let project = settings.project { headers.append(("OpenAI-Project", project)) }
        let request = HTTPClientRequest(
            method: method, url: settings.baseURL + path, headers: headers, body: body,
            connectTimeoutMs: settings.connectTimeoutMs, timeoutMs: timeoutMs, connection: connection)
        do {
            return try curl.perform(request, into: sink)
        } catch {
            throw ProviderTransport.failure(error, service: service)
        }
    }

    /// A transport failure as a typed error. A time-out before any byte was written (while connecting) sent
    /// nothing: it is neither a lost answer nor a possibly billed call.
    static func failure(_ error: CurlError, service: VideoAPIError.Service) -> VideoAPIError {
        if error.isTimeout {
            return VideoAPIError(.timeout, detail: error.message, nothingWasSent: error.nothingWasSent).of(service)
        }
        if error.isWriteAborted { return VideoAPIError(.tooLarge, detail: error.message).of(service) }
        return VideoAPIError(.connectionFailed, detail: error.message, nothingWasSent: error.nothingWasSent).of(service)
    }

    func shouldRetry(_ error: VideoAPIError, rule: RetryRule) -> Bool {
        switch rule {
        case .create:
            return error.nothingWasSent || (error.kind == .rateLimited)
                || (error.kind == .upstream && error.status == 503)
        case .chat where error.isQuotaExhausted:
            return false
        case .read, .chat:
            switch error.kind {
            case .rateLimited, .upstream, .timeout, .connectionFailed: return true
            case .invalidRequest: return error.status == 408 || error.status == 409
            default: return false
            }
        }
    }

    /// Retry-After when given (capped), otherwise 0.5 s doubling, with a little jitter.
    func delay(_ error: VideoAPIError, attempt: Int) -> Double {
        if let after = error.retryAfter { return min(after, settings.maxRetryAfterSeconds) }
        let base = min(settings.maxBackoffSeconds, 0.5 * Double(1 << min(attempt, 10)))
        return base * Double.random(in: 0.8...1.0)
    }

    /// Maps a non-2xx answer to a typed error, keeping the provider's message, param and code.
    func classify(_ response: HTTPClientResponse, body: [UInt8]) -> VideoAPIError {
        let requestID = response.headers["x-request-id"]
        let root = try? JSONParser.parse(body).root
        let error = root?["error"]
        // OpenAI's envelope, or FastAPI's `{"detail": "…"}` / `{"detail": [{"msg": "…"}, …]}` (vLLM-Omni).
        let detail: String? =
            switch root?["detail"] {
            case let .string(text)?: text
            case let .array(items)?: items.compactMap { $0["msg"]?.stringValue }.joined(separator: "; ")
            default: nil
            }
        let message =
            error?["message"]?.stringValue ?? detail.flatMap { $0.isEmpty ? nil : $0 } ?? "HTTP \(response.status)"
        let param = error?["param"]?.stringValue
        let code = error?["code"]?.stringValue
        let kind: VideoAPIError.Kind =
            switch response.status {
            case 401: .badKey
            case 403: .notAllowed
            case 404: .notFound
            case 429: .rateLimited
            case 400, 408, 409, 413, 415, 422: .invalidRequest
            default: .upstream
            }
        return VideoAPIError(
            kind, status: response.status, detail: message, param: param, code: code,
            requestID: requestID, retryAfter: ProviderTransport.retryAfter(response.headers)
        ).of(service)
    }

    /// `retry-after-ms`, else `Retry-After` in seconds (an HTTP date is treated as "a while": 60 s).
    static func retryAfter(_ headers: [String: String]) -> Double? {
        // A header is outside input: only finite values, at most an hour ("inf" or 1e400 must not trap later).
        if let ms = headers["retry-after-ms"].flatMap(Double.init), ms.isFinite, ms >= 0 { return min(ms / 1000, 3600) }
        guard let value = headers["retry-after"] else { return nil }
        if let seconds = Double(value), seconds.isFinite, seconds >= 0 { return min(seconds, 3600) }
        return 60
    }
}

extension ProviderTransport.Settings {
    init(_ c: ProviderConfig) {
        self.init(
            baseURL: c.baseURL, apiKey: c.apiKey, organization: c.organization, project: c.project,
            connectTimeoutMs: c.connectTimeoutMs, timeoutMs: c.timeoutMs, maxRetries: c.maxRetries,
            maxBackoffSeconds: c.maxBackoffSeconds, maxRetryAfterSeconds: c.maxRetryAfterSeconds)
    }

    init(_ c: ChatConfig) {
        self.init(
            baseURL: c.baseURL, apiKey: c.apiKey, organization: c.organization, project: c.project,
            connectTimeoutMs: c.connectTimeoutMs, timeoutMs: c.timeoutMs, maxRetries: c.maxRetries,
            maxBackoffSeconds: c.maxBackoffSeconds, maxRetryAfterSeconds: c.maxRetryAfterSeconds)
    }
}
