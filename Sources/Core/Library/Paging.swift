// Keyset pagination shared by the API and the pages: lists are newest first by id (ids only grow, so a
// page boundary never moves when rows are inserted) or, for videos, in another order with the id breaking
// ties; a position is an opaque cursor naming the list, its order and the sort key of the row it is at.

import Formats
package import Postgres

/// Which list a cursor belongs to; a cursor of one list (or one user, or one project) is refused by another.
package enum PagedList: String, Sendable {
    case projects, videos, generations, tokens, films
}

/// An opaque position in one user's list: base64url of `v2|list|order|scope|user|id|key` and a check digest.
/// The digest is not a secret signature: it only makes a tampered or truncated cursor a clear refusal,
/// and the binding to list, scope and user makes a foreign cursor one. The queries check ownership anyway,
/// so a forged cursor can only name a position in the caller's own list.
package struct Cursor: Sendable, Equatable {
    package let list: PagedList
    /// The parent the list is of (the project of a video list, the video of a generation list; 0 for projects).
    package let scope: Int64
    package let userID: ID<User>
    /// The id of the row the position is at (the page continues strictly beyond it).
    package let id: Int64
    /// The list's order ("" for newest first by id) and the row's sort key in it (text; "" for id order).
    package var order = ""
    package var key = ""

    package init(list: PagedList, scope: Int64, userID: ID<User>, id: Int64, order: String = "", key: String = "") {
        self.list = list
        self.scope = scope
        self.userID = userID
        self.id = id
        self.order = order
        self.key = key
    }

    private static let version = "v2"
    private static let digestBytes = 12
    /// Room for a title key (200 characters, up to 4 bytes each) in base64.
    private static let maxEncoded = 1400

    package var encoded: String {
        let payload = Array("\(Cursor.version)|\(list.rawValue)|\(order)|\(scope)|\(userID)|\(id)|\(key)".utf8)
        return Crypto.base64url(payload + Array(Crypto.sha256(payload).prefix(Cursor.digestBytes)))
    }

    /// Nil unless `text` is an intact cursor of exactly this list, order, scope and user.
    package static func decode(_ text: String, list: PagedList, order: String = "", scope: Int64, userID: ID<User>)
        -> Cursor?
    {
        guard text.utf8.count <= maxEncoded, text.utf8.allSatisfy({ $0.isBase64URL }),
            let bytes = Crypto.base64urlDecode(text),
            bytes.count > digestBytes
        else { return nil }
        let payload = Array(bytes.dropLast(digestBytes))
        guard Array(Crypto.sha256(payload).prefix(digestBytes)) == Array(bytes.suffix(digestBytes)) else { return nil }
        // The key comes last and may itself hold "|".
        let parts = String(decoding: payload, as: UTF8.self).split(
            separator: "|", maxSplits: 6, omittingEmptySubsequences: false)
        guard parts.count == 7, parts[0] == Substring(version), parts[1] == Substring(list.rawValue),
            parts[2] == Substring(order),
            Int64(parts[3]) == scope, Int64(parts[4]) == userID.rawValue, let id = Int64(parts[5]), id > 0
        else { return nil }
        return Cursor(list: list, scope: scope, userID: userID, id: id, order: order, key: String(parts[6]))
    }
}

private extension UInt8 {
    var isBase64URL: Bool {
        (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) || (0x30...0x39).contains(self) || self == 0x2D
            || self == 0x5F
    }
}

/// What a list request asks for: how many, and from where (`after`: older than it; `before`: newer than it).
package struct PageRequest: Sendable, Equatable {
    package static let defaultLimit = 50
    package static let maxLimit = 200

    package enum Position: Sendable, Equatable {
        case first
        /// Rows with a smaller id (older), newest first.
        case after(Int64)
        /// Rows with a bigger id (newer); the page is still shown newest first.
        case before(Int64)
    }

    package var limit = defaultLimit
    package var position = Position.first
    /// The sort key of the row the position is at ("" at the first page and in id order).
    package var key = ""

    /// The first page of `limit` rows.
    package init(firstOf limit: Int = defaultLimit) {
        self.limit = limit
    }

    /// From `?limit=`, `?after=`, `?before=`; 422 `invalid_limit` / `invalid_cursor` on anything else.
    /// `order` names a list order other than newest first: a cursor must have been made in the same one.
    package static func parse(
        _ query: [String: String], list: PagedList, order: String = "", scope: Int64, userID: ID<User>
    ) throws -> PageRequest {
        var request = PageRequest()
        if let raw = query["limit"] {
            guard raw.count <= 4, let limit = Int(raw), (1...maxLimit).contains(limit) else {
                throw InvalidInput(field: "limit", "a whole number from 1 to \(maxLimit)", code: "invalid_limit")
            }
            request.limit = limit
        }
        let after = query["after"], before = query["before"]
        if after != nil && before != nil {
            throw InvalidInput(field: nil, "give either after or before, not both", code: "invalid_cursor")
        }
        if let text = after ?? before {
            guard let cursor = Cursor.decode(text, list: list, order: order, scope: scope, userID: userID) else {
                throw InvalidInput(
                    field: after != nil ? "after" : "before", "not a position in this list and order",
                    code: "invalid_cursor")
            }
            request.position = after != nil ? .after(cursor.id) : .before(cursor.id)
            request.key = cursor.key
        }
        return request
    }
}

/// One page of a newest-first list, and whether there are rows on either side of it.
package struct Page<Item: Sendable>: Sendable {
    package let items: [Item]
    /// Rows older than the last item exist.
    package let hasOlder: Bool
    /// Rows newer than the first item exist (known exactly only when the page was asked `before` or `after`).
    package let hasNewer: Bool

    /// `rows` came from a query with `LIMIT limit + 1` in the position's direction (ascending ids for `before`).
    package init(rows: [Item], request: PageRequest) {
        let extra = rows.count > request.limit
        let kept = Array(rows.prefix(request.limit))
        switch request.position {
        case .first:
            items = kept
            hasOlder = extra
            hasNewer = false
        case .after:
            items = kept
            hasOlder = extra
            hasNewer = true
        case .before:
            items = kept.reversed()
            hasOlder = true
            hasNewer = extra
        }
    }

    /// The `?after=` cursor continuing past the last item, when there are older rows.
    package func next(_ cursor: (Item) -> Cursor) -> Cursor? {
        guard hasOlder, let last = items.last else { return nil }
        return cursor(last)
    }

    /// The `?before=` cursor for the newer page, when there are newer rows.
    package func previous(_ cursor: (Item) -> Cursor) -> Cursor? {
        guard hasNewer, let first = items.first else { return nil }
        return cursor(first)
    }

    /// `next` for a list newest first by id.
    package func next<Entity>(_ id: (Item) -> ID<Entity>, list: PagedList, scope: Int64, userID: ID<User>) -> Cursor? {
        next { Cursor(list: list, scope: scope, userID: userID, id: id($0).rawValue) }
    }

}

extension Page {

}

extension PageRequest {
    /// A page's position from its URL (`?after=` / `?before=`); the pages always show `defaultLimit` rows.
    package static func forPage(
        _ query: [String: String], list: PagedList, order: String = "", scope: Int64, userID: ID<User>
    ) throws -> PageRequest {
        try parse(
            query.filter { $0.key == "after" || $0.key == "before" }, list: list, order: order, scope: scope,
            userID: userID)
    }

    /// The keyset condition and order for a list keyed by `column` (an id column, newest first).
    package func keyset(_ column: Query) -> (condition: Query, order: Query) {
        switch position {
        case .first: ("TRUE", "\(fragment: column) DESC LIMIT \(Int64(limit + 1))")
        case let .after(id): ("\(fragment: column) < \(id)", "\(fragment: column) DESC LIMIT \(Int64(limit + 1))")
        case let .before(id): ("\(fragment: column) > \(id)", "\(fragment: column) ASC LIMIT \(Int64(limit + 1))")
        }
    }
}
