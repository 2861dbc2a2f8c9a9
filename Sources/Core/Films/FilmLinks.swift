// Read-only links to one film for someone without an account: a 256-bit random token, only its SHA-256
// kept, an expiry the user chose, revocable. A link plays and downloads that film and nothing else.

import Formats
package import Postgres

package struct FilmLinks {
    package let db: Connection

    package init(db: Connection) { self.db = db }

    package struct Link: Sendable {
        package let id: ID<FilmLink>
        package let filmID: ID<Film>
        package let expiresAt: Timestamp
        package let revoked: Bool
        package let expired: Bool
        package let createdAt: Timestamp

        init(_ r: Row) {
            id = r.id("id")
            filmID = r.id("film_id")
            expiresAt = r.timestamp("expires_at")
            revoked = r["revoked_at"] != nil
            expired = r.bool("expired")
            createdAt = r.timestamp("created_at")
        }
    }

    /// Expiry from one hour to 90 days.
    package static let hoursRange = 1...(90 * 24)

    package static let columns: Query = """
        l.id, l.film_id, iso(l.expires_at) AS expires_at, l.revoked_at::text AS revoked_at, l.expires_at <= now() AS expired,
        iso(l.created_at) AS created_at
        """

    /// A new link to the user's completed film; the token is returned this once. Nil when the film is not
    /// theirs or not completed.
    package func create(filmID: ID<Film>, userID: ID<User>, hours: Int) throws -> (Link, token: String)? {
        let token = Crypto.base64url(Crypto.randomBytes(32))
        guard
            let row = try db.execute(
                """
                INSERT INTO film_links AS l (film_id, token_hash, expires_at)
                SELECT f.id, \(Bytes(Crypto.sha256(token))), now() + make_interval(hours => \(Int32(clamping: hours)))
                FROM films f WHERE f.id = \(filmID) AND \(fragment: Access.member("f.project_id", userID, atLeast: .editor))
                  AND f.status = 'completed'
                RETURNING \(fragment: Self.columns)
                """
            ).first
        else { return nil }
        return (Link(row), token)
    }

    package func list(filmID: ID<Film>, userID: ID<User>) throws -> [Link] {
        try db.execute(
            """
            SELECT \(fragment: Self.columns) FROM film_links l JOIN films f ON f.id = l.film_id
            WHERE l.film_id = \(filmID) AND \(fragment: Access.member("f.project_id", userID)) ORDER BY l.id DESC
            """
        ).map(Link.init)
    }

    /// Revokes a link of a film of a project the user edits; its film (nil: no such link).
    package func revoke(id: ID<FilmLink>, userID: ID<User>) throws -> ID<Film>? {
        try db.execute(
            """
            UPDATE film_links l SET revoked_at = coalesce(l.revoked_at, now())
            FROM films f WHERE f.id = l.film_id AND l.id = \(id) AND \(fragment: Access.member("f.project_id", userID, atLeast: .editor))
            RETURNING l.film_id
            """
        ).first?.id("film_id")
    }

    /// The completed film a live token opens (nil: unknown, expired, revoked, the film is gone, or its
    /// owner's account is disabled).
    package func film(token: String) throws -> Film? {
        guard token.utf8.count == 43, Crypto.base64urlDecode(token)?.count == 32 else { return nil }
        return try db.execute(
            """
            SELECT \(fragment: Film.columns) FROM film_links l JOIN films f ON f.id = l.film_id JOIN projects p ON p.id = f.project_id
              JOIN users u ON u.id = f.user_id
            WHERE l.token_hash = \(Bytes(Crypto.sha256(token))) AND l.revoked_at IS NULL AND l.expires_at > now()
              AND f.status = 'completed' AND u.disabled_at IS NULL
            """
        ).first.map(Film.init)
    }
}

/// A film link's id (typed like the others).
package enum FilmLink {}
