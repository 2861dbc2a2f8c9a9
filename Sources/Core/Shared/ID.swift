// A row's id typed by what it names: a video's id cannot be passed where a project's is expected.
// It travels to SQL as its number and prints as its number (paths, logs), and nothing else.

package import Postgres

package struct ID<Entity>: Hashable, Comparable, Sendable, CustomStringConvertible, SQLValue {
    package let rawValue: Int64

    package init(_ rawValue: Int64) { self.rawValue = rawValue }

    package var description: String { String(rawValue) }
    package var sqlText: String { String(rawValue) }

    package static func < (lhs: ID, rhs: ID) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension Row {
    /// The id in `column`, typed by where it is stored (`let id: ID<Video> = row.id("id")`).
    package func id<Entity>(_ column: String) -> ID<Entity> { ID(int(column)) }

    package func optionalID<Entity>(_ column: String) -> ID<Entity>? { optionalInt(column).map(ID.init) }
}
