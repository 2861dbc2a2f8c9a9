// Finding a saved video again: full-text search over title, brief and final prompt, filters by the latest
// generation's status and model, and four orders — in one project or across the user's projects, the same
// for the API and the pages. The database keeps what this reads on each video row (Migrations/0019), so
// every list is one index walk however many videos and generations there are.

import Formats
import Postgres

/// What a video list asks for besides its page: `?q=`, `?status=`, `?model=`, `?sort=`.
package struct VideoQuery: Sendable, Equatable {
    /// The latest generation's status, as a filter.
    package enum LatestStatus: String, Sendable, CaseIterable {
        case never, active, completed, failed

        package var label: String {
            switch self {
            case .never: "Never generated"
            case .active: "In progress"
            case .completed: "Completed"
            case .failed: "Failed"
            }
        }
    }

    package enum Sort: String, Sendable, CaseIterable {
        /// Newest first (the lists' order before there were others).
        case created
        /// Last edited first.
        case edited
        /// Last generated first; never generated last.
        case generated
        /// A to Z, ignoring case.
        case title

        package var label: String {
            switch self {
            case .created: "Newest"
            case .edited: "Last edited"
            case .generated: "Last generated"
            case .title: "Title"
            }
        }
    }

    package static let maxWords = 200
    package static let maxModel = 100

    /// Web search syntax: words, "a phrase", -excluded, or.
    package var words: String?
    package var status: LatestStatus?
    package var model: String?
    package var sort = Sort.created

    package var isFiltered: Bool { words != nil || status != nil || model != nil }

    /// Empty fields count as absent (a submitted form sends them); anything else unknown is a 422 `invalid_filter`.
    package static func parse(_ query: [String: String]) throws(InvalidInput) -> VideoQuery {
        func given(_ name: String) -> String? {
            query[name].map { $0.trimmingWhitespace }.flatMap { $0.isEmpty ? nil : $0 }
        }
        func text(_ name: String, max: Int) throws(InvalidInput) -> String? {
            guard let value = given(name) else { return nil }
            guard value.unicodeScalars.count <= max, !value.unicodeScalars.contains("\0") else {
                throw InvalidInput(field: name, "at most \(max) characters", code: "invalid_filter")
            }
            return value
        }
        func choice<Choice: RawRepresentable & CaseIterable>(_ name: String) throws(InvalidInput) -> Choice?
        where Choice.RawValue == String {
            guard let value = given(name) else { return nil }
            guard let choice = Choice(rawValue: value) else {
                throw InvalidInput(
                    field: name, "one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))",
                    code: "invalid_filter")
            }
            return choice
        }
        return VideoQuery(
            words: try text("q", max: maxWords), status: try choice("status"), model: try text("model", max: maxModel),
            sort: try choice("sort") ?? .created)
    }

    /// The filter as a URL query ("q=cat&sort=title"), to keep it in paging links. The sort is always there:
    /// on the dashboard it is what says the page lists videos, not projects.
    package var urlQuery: String {
        var pairs: [(String, String)] = []
        if let words { pairs.append(("q", words)) }
        if let status { pairs.append(("status", status.rawValue)) }
        if let model { pairs.append(("model", model)) }
        pairs.append(("sort", sort.rawValue))
        return URLEncoding.query(pairs)
    }

    /// The names of the fields above: any of them in a URL means the search form was used.
    package static let fieldNames = ["q", "status", "model", "sort"]

    /// The page request for this list: a cursor must come from the same list and order, and its key must
    /// be one this order makes.
    package func pageRequest(_ query: [String: String], scope: Int64, userID: ID<User>, forPage: Bool) throws
        -> PageRequest
    {
        let request =
            forPage
            ? try PageRequest.forPage(query, list: .videos, order: sort.rawValue, scope: scope, userID: userID)
            : try PageRequest.parse(query, list: .videos, order: sort.rawValue, scope: scope, userID: userID)
        guard request.position == .first || sort.acceptsKey(request.key) else {
            throw InvalidInput(field: nil, "not a position in this list and order", code: "invalid_cursor")
        }
        return request
    }
}

/// A video in a list, with its position and, for a search, its title and excerpt with the matches marked.
package struct ListedVideo: Sendable {
    package let video: Video
    package let cursor: Cursor
    package let markedTitle: String?
    package let markedExcerpt: String?
}

extension VideoQuery.Sort {
    /// The row's sort key as text, for its cursor.
    fileprivate var keyColumn: Query {
        switch self {
        case .created: "''"
        case .edited: "(extract(epoch FROM v.updated_at) * 1000000)::bigint::text"
        case .generated: "v.last_generation_id::text"
        case .title: "lower(v.title)"
        }
    }

    fileprivate func acceptsKey(_ key: String) -> Bool {
        switch self {
        case .created: key.isEmpty
        // Microseconds since 1970 stay far below 10^16 for the next two centuries (and a bigger key would
        // overflow the timestamp arithmetic); generation ids are positive.
        case .edited:
            key.utf8.count <= 20
                && Int64(key).map { (-9_999_999_999_999_999...9_999_999_999_999_999).contains($0) } == true
        case .generated: key.utf8.count <= 20 && Int64(key).map { $0 >= 0 } == true
        case .title: key.unicodeScalars.count <= 400
        }
    }

    /// The keyset condition and order: rows strictly beyond (`after`) or before the position, in the
    /// index's order (each order has an index in Migrations/0019; the id breaks ties).
    fileprivate func keyset(_ page: PageRequest) -> (condition: Query, order: Query) {
        let limit = Int64(page.limit + 1)
        // (sort expression, the key as a value of its type, ascending for the list's forward direction)
        let column: Query, key: Query, ascending: Bool
        switch self {
        case .created: return page.keyset("v.id")
        case .edited:
            column = "v.updated_at"
            key = "timestamptz 'epoch' + \(Int64(page.key) ?? 0)::bigint * interval '1 microsecond'"
            ascending = false
        case .generated:
            column = "v.last_generation_id"
            key = "\(Int64(page.key) ?? 0)::bigint"
            ascending = false
        case .title:
            column = "lower(v.title)"
            key = "\(page.key)::text"
            ascending = true
        }
        let forward: Query = ascending ? ">" : "<", backward: Query = ascending ? "<" : ">"
        let forwardOrder: Query = ascending ? "ASC" : "DESC", backwardOrder: Query = ascending ? "DESC" : "ASC"
        switch page.position {
        case .first:
            return (
                "TRUE", "\(fragment: column) \(fragment: forwardOrder), v.id \(fragment: forwardOrder) LIMIT \(limit)"
            )
        case let .after(id):
            return (
                "(\(fragment: column), v.id) \(fragment: forward) (\(fragment: key), \(id))",
                "\(fragment: column) \(fragment: forwardOrder), v.id \(fragment: forwardOrder) LIMIT \(limit)"
            )
        case let .before(id):
            return (
                "(\(fragment: column), v.id) \(fragment: backward) (\(fragment: key), \(id))",
                "\(fragment: column) \(fragment: backwardOrder), v.id \(fragment: backwardOrder) LIMIT \(limit)"
            )
        }
    }
}

extension Store {
    /// One page of the videos the user may see, in one project (`projectID`) or across every project they are a
    /// member of.
    package func videos(userID: ID<User>, projectID: ID<Project>?, query: VideoQuery, page: PageRequest) throws -> Page<
        ListedVideo
    > {
        // Which videos: one project's (the membership test on a constant runs once), or across projects: those
        // of the projects the user holds (`v.user_id`, the project's holder kept on each video by the database,
        // Migrations/0019 and 0037, so the planner starts from the video indexes as before sharing) and, as a
        // second branch merged by the same order, those of the projects shared with them.
        var scopes: [Query]
        if let projectID {
            scopes = ["v.project_id = \(projectID) AND \(fragment: Access.member("\(projectID)::bigint", userID))"]
        } else {
            scopes = ["v.user_id = \(userID)"]
            let shared = try sharedProjectIDs(userID: userID)
            if !shared.isEmpty {
                scopes.append(
                    "v.project_id = ANY(\("{" + shared.map(\.description).joined(separator: ",") + "}")::bigint[])")
            }
        }
        var conditions: [Query] = []
        switch query.status {
        case nil: break
        case .never?: conditions.append("v.last_generation_status IS NULL")
        case .active?:
            conditions.append(
                "v.last_generation_status IN (\(GenerationStatus.queued), \(GenerationStatus.inProgress))")
        case .completed?: conditions.append("v.last_generation_status = \(GenerationStatus.completed)")
        case .failed?: conditions.append("v.last_generation_status = \(GenerationStatus.failed)")
        }
        if let model = query.model { conditions.append("v.last_generation_model = \(model)") }
        var marked: Query = "NULL AS marked_title, NULL AS marked_excerpt"
        if let words = query.words {
            // The language as a value, not a subquery: the planner then estimates how many rows the words
            // match (from the index's statistics) and picks the search index or an order's index accordingly.
            let language: Query = "\(try SearchLanguage.current(db))::regconfig"
            let tsquery: Query = "websearch_to_tsquery(\(fragment: language), \(words))"
            conditions.append("v.search @@ \(fragment: tsquery)")
            // Computed for the page's rows only (the planner runs costly output columns after the LIMIT).
            // ts_headline reads text as HTML and would drop what looks like a tag: it gets the text with its
            // markup characters as entities (and without the two mark characters, should anyone type
            // them), and `Highlight.html` turns the entities back before escaping.
            func entities(_ column: Query) -> Query {
                "replace(replace(replace(translate(\(fragment: column), \(String(Highlight.start) + String(Highlight.stop)), ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"
            }
            marked = """
                ts_headline(\(fragment: language), \(fragment: entities("v.title")), \(fragment: tsquery), \(Highlight.options("HighlightAll=true"))) AS marked_title,
                ts_headline(\(fragment: language), \(fragment: entities("CASE WHEN v.final_prompt <> '' THEN v.final_prompt ELSE v.brief END")),
                            \(fragment: tsquery), \(Highlight.options("MaxWords=35, MinWords=15"))) AS marked_excerpt
                """
        }
        let keyset = query.sort.keyset(page)
        conditions.append(keyset.condition)
        let list = PagedList.videos, order = query.sort.rawValue, scope = projectID?.rawValue ?? 0
        let filter = Query.joined(conditions, separator: " AND ")
        let source: Query
        if scopes.count == 1 {
            source = "videos v WHERE \(fragment: scopes[0]) AND \(fragment: filter)"
        } else {
            let branches = scopes.map { scope -> Query in
                "(SELECT v.* FROM videos v WHERE \(fragment: scope) AND \(fragment: filter) ORDER BY \(fragment: keyset.order))"
            }
            source = "(\(fragment: Query.joined(branches, separator: " UNION ALL "))) v"
        }
        let rows = try db.execute(
            """
            SELECT \(fragment: Store.videoColumns(userID)), \(fragment: query.sort.keyColumn) AS sort_key, \(fragment: marked)
            FROM \(fragment: source)
            ORDER BY \(fragment: keyset.order)
            """)
        return Page(
            rows: rows.map { row in
                ListedVideo(
                    video: Video(row),
                    cursor: Cursor(
                        list: list, scope: scope, userID: userID, id: row.int("id"), order: order,
                        key: row.string("sort_key")),
                    markedTitle: row["marked_title"], markedExcerpt: row["marked_excerpt"])
            }, request: page)
    }

    /// The projects the user is a member of but does not hold (`projects.user_id`): those shared with them.
    package func sharedProjectIDs(userID: ID<User>) throws -> [ID<Project>] {
        try db.execute(
            """
            SELECT m.project_id FROM project_members m JOIN projects p ON p.id = m.project_id
            WHERE m.user_id = \(userID) AND p.user_id <> \(userID) ORDER BY m.project_id
            """
        ).map { $0.id("project_id") }
    }

    /// Every model a generation may have used (disabled ones too), for the model filter.
    package func modelNames() throws -> [(name: String, displayName: String)] {
        try db.execute("SELECT name, display_name FROM video_models ORDER BY position, name").map {
            ($0.string("name"), $0.string("display_name"))
        }
    }
}

/// Marks around the matched words in `ts_headline` output: private-use characters, so no text a user can
/// type with a keyboard collides, and the text between them is escaped like any other.
package enum Highlight {
    package static let start: Unicode.Scalar = "\u{E000}"
    package static let stop: Unicode.Scalar = "\u{E001}"

    package static func options(_ rest: String) -> String {
        "StartSel=\(start), StopSel=\(stop), \(rest)"
    }

    /// Undoes exactly the three entities the query made (any other `&` stays as written).
    package static func plain(_ text: String) -> String {
        var out = "", rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            rest = rest[amp...]
            if let (entity, character) = [("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")].first(where: {
                rest.hasPrefix($0.0)
            }) {
                out += character
                rest = rest.dropFirst(entity.count)
            } else {
                out += "&"
                rest = rest.dropFirst()
            }
        }
        return out + rest
    }
}
