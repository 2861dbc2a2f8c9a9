// Field rules for request bodies (JSON members, PATCH documents): HTTP's side of `Field`, which holds
// the rules every surface shares.

import Core
import Formats
import Web

extension Field {
    /// Reads a string member of a JSON object, refusing other types and invalid UTF-8 by name.
    static func json(_ doc: JSONDocument, _ key: String) throws -> String? {
        if doc.invalidUTF8Keys.contains(key) { throw InvalidInput(field: key, "must be valid UTF-8 text") }
        guard let value = doc.root[key], !value.isNull else { return nil }
        guard let s = value.stringValue else { throw InvalidInput(field: key, "must be a string") }
        return s
    }

    /// A PATCH body: a JSON object naming at least one of `allowed` and nothing else (422 naming the
    /// field otherwise; an empty body is a 422 too).
    static func patch(_ request: Request, allowed: [String]) throws -> JSONDocument {
        let list = allowed.joined(separator: ", ")
        let blank = request.body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard !blank else { throw InvalidInput(field: "body", "send a JSON object with at least one of: \(list)") }
        let doc = try jsonObject(jsonBody(request))
        guard case let .object(pairs) = doc.root, !pairs.isEmpty else {
            throw InvalidInput(field: "body", "send at least one of: \(list)")
        }
        if let unknown = pairs.first(where: { !allowed.contains($0.0) }) {
            throw InvalidInput(field: unknown.0, "cannot be changed here (send any of: \(list))")
        }
        return doc
    }

    /// A PATCH member: nil when absent; when present it must be a string (null is refused, by name).
    static func patchText(_ doc: JSONDocument, _ key: String, max: Int, required: Bool) throws -> String? {
        guard doc.root[key] != nil || doc.invalidUTF8Keys.contains(key) else { return nil }
        if doc.root[key]?.isNull == true { throw InvalidInput(field: key, "must be a string") }
        return try text(json(doc, key), name: key, max: max, required: required)
    }

    /// A request's JSON body, parsed and held to the text rule (`plainText`) in every string and key, with
    /// every object's keys distinct (a second `"prompt"` would otherwise silently win or lose).
    static func jsonBody(_ request: Request) throws -> JSONDocument {
        let doc = try request.json()
        try checkText(doc.root, name: "body")
        return doc
    }

    private static func checkText(_ value: JSON, name: String) throws(InvalidInput) {
        switch value {
        case let .string(text): try plainText(text, name: name)
        case let .array(items): for item in items { try checkText(item, name: name) }
        case let .object(pairs):
            var seen = Set<String>()
            for (key, member) in pairs {
                try plainText(key, name: name)
                guard seen.insert(key).inserted else { throw InvalidInput(field: key, "must appear only once") }
                try checkText(member, name: key)
            }
        case .null, .bool, .number: break
        }
    }

    /// Form fields and query values held to the same rule, each by its name.
    static func checkText(_ fields: [String: String]) throws(InvalidInput) {
        for (name, value) in fields {
            try plainText(name, name: "field name")
            try plainText(value, name: name)
        }
    }

    static func jsonObject(_ doc: JSONDocument) throws -> JSONDocument {
        guard case .object = doc.root else { throw HTTPError(400, "invalid_json", "The body must be a JSON object.") }
        return doc
    }
}
