// Field rules shared by pages, the JSON API and the CLI, so all refuse the same input with the same words
// (`InvalidInput`, mapped to HTTP in WebApp's ErrorMapping).

import Formats

package enum Field {
    /// Trims surrounding whitespace; refuses empty (when required), over-long and NUL-containing text.
    package static func text(_ value: String?, name: String, max: Int, required: Bool) throws(InvalidInput) -> String {
        let trimmed = (value ?? "").trimmingWhitespace
        if required && trimmed.isEmpty { throw InvalidInput(field: name, "must not be empty") }
        if trimmed.unicodeScalars.count > max { throw InvalidInput(field: name, "must be at most \(max) characters") }
        if trimmed.unicodeScalars.contains("\0") { throw InvalidInput(field: name, "must not contain NUL characters") }
        return trimmed
    }

    /// A structural check: one `@`, a non-empty local part, a domain of two or more non-empty labels,
    /// and no whitespace or control characters anywhere (a newline would end up in headers and logs).
    package static func email(_ value: String?) throws(InvalidInput) -> String {
        let email = try text(value, name: "email", max: 254, required: true)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        let labels = parts.count == 2 ? parts[1].split(separator: ".", omittingEmptySubsequences: false) : []
        let clean = email.unicodeScalars.allSatisfy {
            !$0.properties.isWhitespace && !($0.properties.generalCategory == .control)
        }
        guard clean, parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64, labels.count >= 2,
            labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 && !$0.hasPrefix("-") && !$0.hasSuffix("-") })
        else {
            throw InvalidInput(field: "email", "must be an email address")
        }
        return email
    }

    /// At least 10 characters, then cracklib's verdict (`Unavailable` without its dictionary).
    package static func newPassword(_ value: String?) throws -> String {
        let password = value ?? ""
        guard password.utf8.count <= 1024 else { throw InvalidInput(field: "password", "must be at most 1024 bytes") }
        switch PasswordStrength.check(password) {
        case .strong: return password
        case let .weak(why): throw InvalidInput(field: "password", why)
        case .uncheckable:
            throw Unavailable(
                code: "password_check_unavailable",
                "Passwords cannot be checked right now: the server's password dictionary is missing.",
                logDetail: "cracklib dictionary missing: install cracklib-runtime")
        }
    }
}
