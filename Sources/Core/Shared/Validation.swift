// Field rules shared by pages and the JSON API, so both refuse the same input with the same words.

package import Web

package enum Field {
    /// Trims surrounding whitespace; refuses empty (when required), over-long and NUL-containing text.
    package static func text(_ value: String?, name: String, max: Int, required: Bool) throws(HTTPError) -> String {
        let trimmed = (value ?? "").trimmingWhitespace
        if required && trimmed.isEmpty { throw .validation(field: name, "must not be empty") }
        if trimmed.unicodeScalars.count > max { throw .validation(field: name, "must be at most \(max) characters") }
        if trimmed.unicodeScalars.contains("\0") { throw .validation(field: name, "must not contain NUL characters") }
        return trimmed
    }

    /// A structural check: one `@`, a non-empty local part, a domain of two or more non-empty labels,
    /// and no whitespace or control characters anywhere (a newline would end up in headers and logs).
    package static func email(_ value: String?) throws(HTTPError) -> String {
        let email = try text(value, name: "email", max: 254, required: true)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        let labels = parts.count == 2 ? parts[1].split(separator: ".", omittingEmptySubsequences: false) : []
        let clean = email.unicodeScalars.allSatisfy { !$0.properties.isWhitespace && !($0.properties.generalCategory == .control) }
        guard clean, parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64, labels.count >= 2,
              labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 && !$0.hasPrefix("-") && !$0.hasSuffix("-") }) else {
            throw .validation(field: "email", "must be an email address")
        }
        return email
    }

    /// At least 10 characters, then cracklib's verdict.
    package static func newPassword(_ value: String?) throws(HTTPError) -> String {
        let password = value ?? ""
        guard password.utf8.count <= 1024 else { throw .validation(field: "password", "must be at most 1024 bytes") }
        switch PasswordStrength.check(password) {
        case .strong: return password
        case let .weak(why): throw .validation(field: "password", why)
        case .uncheckable:
            throw HTTPError(503, "password_check_unavailable", "Passwords cannot be checked right now: the server's password dictionary is missing.",
                            logDetail: "cracklib dictionary missing: install cracklib-runtime")
        }
    }

    /// Reads a string member of a JSON object, refusing other types and invalid UTF-8 by name.
    package static func json(_ doc: JSONDocument, _ key: String) throws(HTTPError) -> String? {
        if doc.invalidUTF8Keys.contains(key) { throw .validation(field: key, "must be valid UTF-8 text") }
        guard let value = doc.root[key], !value.isNull else { return nil }
        guard let s = value.stringValue else { throw .validation(field: key, "must be a string") }
        return s
    }

    /// A PATCH body: a JSON object naming at least one of `allowed` and nothing else (422 naming the
    /// field otherwise; an empty body is a 422 too).
    package static func patch(_ request: Request, allowed: [String]) throws -> JSONDocument {
        let list = allowed.joined(separator: ", ")
        let blank = request.body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard !blank else { throw HTTPError.validation(field: "body", "send a JSON object with at least one of: \(list)") }
        let doc = try jsonObject(request.json())
        guard case let .object(pairs) = doc.root, !pairs.isEmpty else {
            throw HTTPError.validation(field: "body", "send at least one of: \(list)")
        }
        if let unknown = pairs.first(where: { !allowed.contains($0.0) }) {
            throw HTTPError.validation(field: unknown.0, "cannot be changed here (send any of: \(list))")
        }
        return doc
    }

    /// A PATCH member: nil when absent; when present it must be a string (null is refused, by name).
    package static func patchText(_ doc: JSONDocument, _ key: String, max: Int, required: Bool) throws(HTTPError) -> String? {
        guard doc.root[key] != nil || doc.invalidUTF8Keys.contains(key) else { return nil }
        if doc.root[key]?.isNull == true { throw .validation(field: key, "must be a string") }
        return try text(json(doc, key), name: key, max: max, required: required)
    }

    package static func jsonObject(_ doc: JSONDocument) throws(HTTPError) -> JSONDocument {
        guard case .object = doc.root else { throw HTTPError(400, "invalid_json", "The body must be a JSON object.") }
        return doc
    }
}
