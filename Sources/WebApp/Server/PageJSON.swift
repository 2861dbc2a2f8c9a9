// A page of a list as the API answers it: items and the cursor of the next page.

import Core
import Formats
import Web

extension Page {
    /// The API's shape: the page under `key` (the list's old key) and `data`, `has_more` and `next`.
    func json(key: String, next cursor: Cursor?, _ item: (Item) -> JSON) -> JSON {
        let array = JSON.array(items.map(item))
        return .object([
            (key, array), ("data", array), ("has_more", .bool(hasOlder)),
            ("next", cursor.map { .string($0.encoded) } ?? .null),
        ])
    }
}
