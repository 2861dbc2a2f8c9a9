// The pages' side of search and of the roundtable's proposal: marked words and word diffs as escaped HTML.

import Core
import Web

extension Highlight {
    /// `marked` (with `&`, `<`, `>` as entities, as the query hands text to ts_headline) as escaped HTML,
    /// each marked run in `<mark>`; stray marks are dropped.
    static func html(_ marked: String) -> HTML {
        var out = HTML.empty, run = "", inMark = false
        func flush() {
            guard !run.isEmpty else { return }
            let text = plain(run)
            out = out + (inMark ? "<mark>\(text)</mark>" : "\(text)")
            run = ""
        }
        for scalar in marked.unicodeScalars {
            switch scalar {
            case start:
                flush()
                inMark = true
            case stop:
                flush()
                inMark = false
            default: run.unicodeScalars.append(scalar)
            }
        }
        flush()
        return out
    }
}

extension WordDiff {
    /// Words as HTML: removed in `<del>`, added in `<ins>` (text escaped like all interpolation).
    static func html(_ old: String, _ new: String) -> HTML {
        let parts: [HTML] = diff(old, new).map { piece in
            switch piece {
            case let .same(w): "\(w) "
            case let .removed(w): "<del>\(w)</del> "
            case let .added(w): "<ins>\(w)</ins> "
            }
        }
        return "\(parts)"
    }
}
