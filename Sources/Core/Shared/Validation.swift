// Field rules shared by pages, the JSON API and the CLI, so all refuse the same input with the same words
// (`InvalidInput`, mapped to HTTP in WebApp's ErrorMapping).

import Formats

package enum Field {
    /// Trims surrounding whitespace; refuses empty (when required), over-long and control-character text.
    package static func text(_ value: String?, name: String, max: Int, required: Bool) throws(InvalidInput) -> String {
        let trimmed = (value ?? "").trimmingWhitespace
        if required && trimmed.isEmpty { throw InvalidInput(field: name, "must not be empty") }
        if trimmed.unicodeScalars.count > max { throw InvalidInput(field: name, "must be at most \(max) characters") }
        try plainText(trimmed, name: name)
        return trimmed
    }

    /// The one text rule, kept at every door (form fields, JSON strings and keys, query values) and by `text`:
    /// no control characters but tab and newline. NUL included: libpq would cut the value there silently.
    package static func plainText(_ value: some StringProtocol, name: String) throws(InvalidInput) {
        if let scalar = value.forbiddenControlCharacter {
            let hex = String(scalar.value, radix: 16, uppercase: true)
            let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            throw InvalidInput(
                field: name, "must not contain control characters (found \(code); tab and newline are fine)")
        }
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
