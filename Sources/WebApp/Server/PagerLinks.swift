// The pages' side of paging: the Newer/Older links of a page of a list.

import Core
import Web

extension Page {
    /// The pages' "Newer" / "Older" links to `path`, the position in `?before=` / `?after=`; empty for a single page.
    func links<Entity>(
        path: String, _ id: (Item) -> ID<Entity>, list: PagedList, scope: Int64, userID: ID<User>
    ) -> HTML {
        links(path: path) { Cursor(list: list, scope: scope, userID: userID, id: id($0).rawValue) }
    }

    /// The same for any order; `query` (already form-encoded, e.g. "q=cat&sort=title") is kept in both links,
    /// `labels` name the directions ("Newer"/"Older" by default; "Previous"/"Next" suit other orders).
    func links(
        path: String, query: String = "", labels: (back: String, forward: String) = ("Newer", "Older"),
        _ cursor: (Item) -> Cursor
    ) -> HTML {
        let prefix = query.isEmpty ? "" : query + "&"
        let newer = previous(cursor).map { cursor -> HTML in
            "<a rel=\"prev\" href=\"\(path)?\(prefix)before=\(cursor.encoded)\">← \(labels.back)</a>"
        }
        let older = next(cursor).map { cursor -> HTML in
            "<a rel=\"next\" href=\"\(path)?\(prefix)after=\(cursor.encoded)\">\(labels.forward) →</a>"
        }
        let links = [newer, older].compactMap { $0 }
        return links.isEmpty
            ? .empty : "<nav class=\"pager\" aria-label=\"Pages\">\(links.joined(separator: " "))</nav>"
    }
}
