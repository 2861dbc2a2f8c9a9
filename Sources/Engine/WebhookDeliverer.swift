// Sends webhook deliveries: a worker thread of its own (never a request thread) claims one due delivery,
// resolves and checks its host (the SSRF rule in WebhookTarget), connects to exactly the checked address
// (CURLOPT_RESOLVE: DNS cannot change between the check and the connection), posts the signed body, and
// records the attempt. 2xx is delivered; anything else is retried with backoff for 24 h.

import Core
import Glibc
import HTTPClient
import Postgres
import Telemetry

/// When to try again after a failed attempt.
enum WebhookRetry {
    /// Multiples of the base delay (5 s by default): 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, then 8 h.
    static let multiples: [Double] = [1, 6, 24, 120, 360, 720, 1440, 2880, 5760]

    /// nil: give up (the next try would fall after the window, counted from the round's first attempt).
    static func delay(afterAttempt attempt: Int64, secondsSinceWindowStart: Double, config: WebhookConfig) -> Double? {
        let index = Int(min(max(attempt, 1), Int64(multiples.count))) - 1
        let delay = multiples[index] * config.retryBaseSeconds
        return secondsSinceWindowStart + delay <= config.retryWindowSeconds ? delay : nil
    }
}

/// Keeps nothing of a response body: counts it, and stops the transfer past the cap.
final class DiscardingSink: ResponseSink {
    static let cap = 64 << 10
    private(set) var count = 0
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        count += bytes.count
        return count <= DiscardingSink.cap
    }
}

final class WebhookDeliverer {
    let db: Connection
    let config: WebhookConfig
    var store: WebhookStore { WebhookStore(db: db) }
    /// Longer than DNS plus the whole request may take: only then may another worker try it again.
    static let leaseSeconds = 120.0

    init(db: Connection, config: WebhookConfig) {
        self.db = db
        self.config = config
    }

    /// What one attempt came to.
    struct Result: Equatable {
        let outcome: WebhookAttemptOutcome
        let statusCode: Int?
        let error: String?
        /// For the log only: what `error` leaves out (the refused address).
        var logDetail: String? = nil
    }

    /// Deleting old deliveries: once an hour per process.
    static let pruning = PeriodicChore(intervalSeconds: 3600)

    /// Delivers one due delivery; false when none is due (then, at most once an hour per process, it
    /// deletes finished deliveries past the retention).
    func runOnce() throws -> Bool {
        guard let due = try store.claim(leaseSeconds: WebhookDeliverer.leaseSeconds) else {
            try pruneIfDue(nowSeconds: Self.monotonicMs() / 1000)
            return false
        }
        let started = Self.monotonicMs()
        let result = send(due, timestamp: Int64(time(nil)))
        let duration = Self.monotonicMs() - started
        let next: WebhookDeliveryStatus
        var retryAfter = 0.0
        switch result.outcome {
        case .delivered: next = .delivered
        case .refused: next = .failed  // the address will not become public by waiting
        case .rejected, .unreachable:
            if let delay = WebhookRetry.delay(
                afterAttempt: due.roundAttempt, secondsSinceWindowStart: due.secondsSinceWindowStart, config: config)
            {
                next = .pending
                retryAfter = delay
            } else {
                next = .failed
            }
        }
        let held = try store.record(
            due, outcome: result.outcome, statusCode: result.statusCode, error: result.error,
            durationMs: duration, next: next, retryAfter: retryAfter,
            holdEndpoint: result.outcome == .rejected || result.outcome == .unreachable)
        let detail = result.logDetail.map { " (\($0))" } ?? ""
        Log.info(
            "webhook delivery \(due.id) attempt \(due.attempt): \(result.outcome.rawValue)\(result.statusCode.map { " \($0)" } ?? "")\(detail)"
                + (held
                    ? (next == .pending ? ", retry in \(retryAfter) s" : ", \(next.rawValue)")
                    : ", superseded meanwhile (not recorded as its state)"))
        return true
    }

    /// Deletes old finished deliveries on the first call in this process, then when the last pruning is an
    /// hour old (`nowSeconds`: monotonic). True when it pruned.
    @discardableResult
    func pruneIfDue(nowSeconds: Int) throws -> Bool {
        guard Self.pruning.isDue(nowSeconds: nowSeconds) else { return false }
        let removed = try store.prune(olderThanSeconds: config.retentionSeconds)
        if removed > 0 { Log.info("webhooks: deleted \(removed) finished deliveries past the retention") }
        return true
    }

    /// One POST: check the address, pin it, sign, send. Never throws: every failure is an outcome.
    func send(_ due: WebhookStore.Due, timestamp: Int64) -> Result {
        let url: WebhookURL
        do { url = try WebhookURL(parsing: due.url) } catch {
            return Result(outcome: .refused, statusCode: nil, error: "the URL is not valid: \(error.message)")
        }
        let addresses: [IPAddress]
        do { addresses = try WebhookResolution.addresses(for: url, allowPrivate: config.allowPrivate) } catch {
            if case .refused = error {
                return Result(outcome: .refused, statusCode: nil, error: error.message, logDetail: error.logDetail)
            }
            return Result(outcome: .unreachable, statusCode: nil, error: error.message)
        }
        let body = Array(due.payload.utf8)
        guard
            let signature = WebhookSignature.sign(
                secret: due.secret, id: due.messageID, timestamp: timestamp, body: body)
        else {
            return Result(outcome: .refused, statusCode: nil, error: "the endpoint's secret is not a whsec_ secret")
        }
        let request = HTTPClientRequest(
            method: "POST", url: url.normalized,
            headers: [
                ("webhook-id", due.messageID), ("webhook-timestamp", String(timestamp)),
                ("webhook-signature", signature),
            ],
            body: .bytes(body, contentType: "application/json"),
            connectTimeoutMs: config.connectTimeoutMs, timeoutMs: config.totalTimeoutMs,
            // A handle of its own already means a new connection, so libcurl has no reused one to resend on;
            // said outright so a shared handle later cannot change it: every copy a receiver gets is a
            // delivery recorded here (with the same webhook-id, for its deduplication).
            connection: .fresh)
        // A name is pinned to the checked addresses, tried in order (an IP literal needs no lookup). Past the
        // body cap the status has arrived: it decides, the rest of the body does not matter.
        let pinned = addresses.map { $0.isV6 ? "[\($0)]" : "\($0)" }.joined(separator: ",")
        let resolve = url.literalAddress == nil ? ["\(url.host):\(url.port):\(pinned)"] : []
        let policy = ConnectionPolicy(resolve: resolve, protocols: "http,https", statusSurvivesSinkCap: true)
        let status: Int
        do {
            let curl = try CurlEasy()  // a fresh handle: no connection or DNS entry from another delivery
            status = try curl.perform(request, into: DiscardingSink(), pinning: policy).status
        } catch {
            return Result(outcome: .unreachable, statusCode: nil, error: String(error.message.prefix(300)))
        }
        if (200..<300).contains(status) { return Result(outcome: .delivered, statusCode: status, error: nil) }
        return Result(outcome: .rejected, statusCode: status, error: "HTTP \(status)")
    }

    static func monotonicMs() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }
}
