// Sends the mail outbox through the SMTP relay (`PROMPTREEL_SMTP_URL`) with libcurl's SMTP: a worker thread of
// its own (never a request thread) claims one due mail, writes it (Core's `MailOutbox.compose`), sends it on a
// new connection and records what the relay said: 2xx sent, 4xx or no answer tried again with backoff until the
// mail expires, 5xx failed.

import Core
import Formats
import Glibc
import HTTPClient
import Postgres
import Telemetry

/// The relay's settings, read once at start-up; the URL's credentials are the engine's alone and never logged.
public struct MailRelay: Sendable {
    /// `smtp://[user:password@]host[:port]` or `smtps://…`.
    let url: String
    let tls: SMTPRequest.TLS
    /// The From header, e.g. `PromptReel <promptreel@example.com>`, and its bare address (the envelope sender).
    let from: String
    let fromAddress: String
    /// The URL without its credentials, for logs and `promptreel mail test`.
    public let redactedURL: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Nil when `PROMPTREEL_SMTP_URL` is unset or empty. `PROMPTREEL_SMTP_TLS` (required, opportunistic or none)
    /// says when a plain `smtp://` connection must turn to TLS with STARTTLS: by default required (the relay's
    /// certificate verified), except for a relay at a loopback address, where it is used when offered without
    /// checking the certificate (RFC 7435's opportunistic TLS: a local relay's is rarely made for `127.0.0.1`).
    /// `PROMPTREEL_PUBLIC_URL` must name the site (the mails' links point there); `PROMPTREEL_MAIL_FROM`: the
    /// sender (default `PromptReel <promptreel@HOST>`, HOST from the public URL).
    public static func fromEnvironment(_ env: [String: String]) throws(Invalid) -> MailRelay? {
        guard let url = env["PROMPTREEL_SMTP_URL"], !url.isEmpty else { return nil }
        guard !Self.hasControlCharacter(url), !url.contains(" ") else {
            throw Invalid(description: "PROMPTREEL_SMTP_URL holds a space or a control character")
        }
        let scheme: String
        if url.hasPrefix("smtp://") {
            scheme = "smtp"
        } else if url.hasPrefix("smtps://") {
            scheme = "smtps"
        } else {
            throw Invalid(description: "PROMPTREEL_SMTP_URL must start with smtp:// or smtps://")
        }
        let rest = url.dropFirst(scheme.count + 3)
        // The credentials end at the last "@"; a "/", "?" or "#" in them must be percent-encoded (else where the
        // host starts is ambiguous, and a redacted URL could show part of the password).
        var afterCredentials = rest[...]
        if let at = rest.lastIndex(of: "@") {
            guard !rest[..<at].contains(where: { "/?#".contains($0) }) else {
                throw Invalid(description: "PROMPTREEL_SMTP_URL: percent-encode /, ? and # in the user and password")
            }
            afterCredentials = rest[rest.index(after: at)...]
        }
        let hostPort = String(afterCredentials.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
        let host = Self.host(of: hostPort)
        guard !host.isEmpty else {
            throw Invalid(description: "PROMPTREEL_SMTP_URL has no host (smtp://[user:password@]host[:port])")
        }
        if let portText = Self.port(of: hostPort) {
            guard let port = Int(portText), (1...65_535).contains(port) else {
                throw Invalid(description: "PROMPTREEL_SMTP_URL's port must be 1-65535")
            }
        }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        let loopback =
            host == "localhost" || host == "::1"
            || (octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil })
        let tls: SMTPRequest.TLS
        switch env["PROMPTREEL_SMTP_TLS"]?.lowercased() {
        case nil, "": tls = loopback ? .opportunistic : .required
        case "required": tls = .required
        case "opportunistic": tls = .opportunistic
        case "none": tls = .none
        default: throw Invalid(description: "PROMPTREEL_SMTP_TLS must be required, opportunistic or none")
        }
        let site = env["PROMPTREEL_PUBLIC_URL"] ?? ""
        let siteRest =
            site.hasPrefix("https://") ? site.dropFirst(8) : site.hasPrefix("http://") ? site.dropFirst(7) : ""
        let publicHost = Self.host(of: String(siteRest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }))
        guard !publicHost.isEmpty, !Self.hasControlCharacter(site), !site.contains(" ") else {
            throw Invalid(
                description:
                    "PROMPTREEL_PUBLIC_URL must be the site's address as users reach it (https://reels.example.com): the mails link there"
            )
        }
        let from =
            env["PROMPTREEL_MAIL_FROM"].flatMap { $0.isEmpty ? nil : $0 } ?? "PromptReel <promptreel@\(publicHost)>"
        let fromAddress = MailMessage.address(in: from)
        guard !Self.hasControlCharacter(from), fromAddress.contains("@"), !fromAddress.contains(" "),
            !fromAddress.contains("<"), !fromAddress.contains(">")
        else { throw Invalid(description: "PROMPTREEL_MAIL_FROM must be an address or Name <address>") }
        return MailRelay(
            url: url, tls: tls, from: from, fromAddress: fromAddress, redactedURL: "\(scheme)://\(hostPort)")
    }

    /// Any C0 control character (tab, CR and LF included) or DEL: none may reach an SMTP command line.
    static func hasControlCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port` → the host (without brackets).
    static func host(of hostPort: String) -> String {
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            return String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
        }
        return hostPort.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            ?? ""
    }

    static func port(of hostPort: String) -> String? {
        let afterHost =
            hostPort.hasPrefix("[") ? hostPort.split(separator: "]").dropFirst().first.map(String.init) ?? "" : hostPort
        guard let colon = afterHost.lastIndex(of: ":") else { return nil }
        return String(afterHost[afterHost.index(after: colon)...])
    }

    /// One mail through the relay, on a connection of its own: the relay's reply code, or why it was not taken.
    func send(to recipient: String, subject: String, body: String) throws(SMTPFailure) -> Int {
        let message = MailMessage(
            from: from, to: recipient, subject: subject, body: body, date: Int64(time(nil)),
            messageID: Crypto.randomToken())
        let client: CurlEasy
        do { client = try CurlEasy() } catch { throw SMTPFailure(curl: error, replyCode: nil) }
        return try client.send(
            mail: SMTPRequest(
                url: url, tls: tls, from: fromAddress, recipients: [recipient], message: message.rendered))
    }

    /// `promptreel mail test`: one mail straight through the relay (no outbox). Nil when the relay took it, else
    /// what went wrong.
    public func sendTest(to recipient: String) -> String? {
        do {
            _ = try send(
                to: recipient, subject: "PromptReel mail test",
                body: "This mail says PromptReel reaches its SMTP relay (\(redactedURL)) and can mail \(recipient).\n")
            return nil
        } catch { return error.description }
    }
}

/// When to try a mail again: the base delay (30 s by default) times 1, 4, 10, 20, then 60 — until it expires.
enum MailRetry {
    static let multiples: [Double] = [1, 4, 10, 20, 60]

    static func delay(afterAttempt attempt: Int64, base: Double) -> Double {
        multiples[Int(min(max(attempt, 1), Int64(multiples.count))) - 1] * base
    }

    /// Replies that say the relay refused *PromptReel* (authentication required or failed), not the mail: an
    /// operator fixes the settings and the mails waiting go out then.
    static let relaySideRefusals: Set<Int> = [530, 534, 535, 538]

    /// What one failed attempt means: the relay's 5xx about the mail (a recipient it will never take, a message
    /// it refuses) is final; a 4xx, an authentication refusal, or no answer at all may pass.
    static func outcome(of failure: SMTPFailure, attempt: Int64, base: Double) -> MailOutcome {
        let error = String(failure.description.prefix(500))
        if let code = failure.replyCode, (500..<600).contains(code), !relaySideRefusals.contains(code),
            failure.curl.code != 67  // CURLE_LOGIN_DENIED
        {
            return .failed(error: error, code: code)
        }
        return .retry(after: delay(afterAttempt: attempt, base: base), error: error, code: failure.replyCode)
    }
}

final class MailSender {
    let db: Connection
    let relay: MailRelay
    let site: String
    let retryBaseSeconds: Double
    /// Longer than a whole SMTP exchange may take (libcurl's timeout is a minute): only then may another
    /// sender claim the mail again.
    static let leaseSeconds = 120.0
    static let pruning = PeriodicChore(intervalSeconds: 3600)

    init(db: Connection, relay: MailRelay, config: AppConfig) {
        self.db = db
        self.relay = relay
        self.site = config.publicURL
        self.retryBaseSeconds = config.mailRetryBaseSeconds
    }

    /// Sends one due mail; false when none is due (then, at most once an hour per process, deletes old rows).
    func runOnce() throws -> Bool {
        let outbox = MailOutbox(db: db)
        guard let due = try outbox.claim(leaseSeconds: Self.leaseSeconds) else {
            if Self.pruning.isDue() {
                let removed = try outbox.prune()
                if removed > 0 { Log.info("mail: deleted \(removed) finished mails past the retention") }
            }
            return false
        }
        let outcome: MailOutcome
        switch try outbox.compose(due, site: site) {
        case let .failure(cancelled):
            outcome = .cancelled(reason: cancelled.reason)
        case let .success(text):
            outcome = send(text, to: due.recipient, attempt: due.attempt)
        }
        let status = try outbox.record(due, outcome)
        var expired = ""
        if case .retry = outcome, status == .failed { expired = ", past the mail's expiry: failed" }
        Log.info("mail \(due.id) (\(due.kind.rawValue)) attempt \(due.attempt): \(Self.describe(outcome))\(expired)")
        // The metric's outcome is where the mail stands now: sent, retry (pending again), failed or cancelled.
        ProcessMetrics.shared.mailAttempt(outcome: status == .pending ? "retry" : status.rawValue)
        return true
    }

    func send(_ text: MailText, to recipient: String, attempt: Int64) -> MailOutcome {
        do {
            return .sent(code: try relay.send(to: recipient, subject: text.subject, body: text.body))
        } catch {
            return MailRetry.outcome(of: error, attempt: attempt, base: retryBaseSeconds)
        }
    }

    static func describe(_ outcome: MailOutcome) -> String {
        switch outcome {
        case let .sent(code): "sent (\(code))"
        case let .retry(after, error, _): "not taken, retry in \(after) s (\(error))"
        case let .failed(error, _): "refused (\(error))"
        case let .cancelled(reason): "not sent: \(reason)"
        }
    }
}
