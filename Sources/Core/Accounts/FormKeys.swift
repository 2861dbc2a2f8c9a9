// The keys of the CSRF tokens forms carry: HMAC-SHA256 under a server secret kept in the database
// (Migrations/0023), so someone who can plant a cookie (a sibling subdomain, plain http) still cannot
// compute the token that goes with it. Every host reads the same secrets; rotation keeps the retired one
// accepted for an hour.

package import Postgres

package struct FormKeys: Sendable, Equatable {
    /// Signs new tokens.
    package let current: String
    /// Verify tokens: the current secret first, then those retired less than `graceSeconds` ago.
    package let accepted: [String]
    package static let graceSeconds = 3600

    /// The token for a browser's CSRF cookie (`seed`) and its session, under `key`.
    package static func token(key: String, seed: String, session: String?) -> String {
        Crypto.base64url(Crypto.hmacSHA256(key: Array(key.utf8), message: Array("csrf:\(seed):\(session ?? "")".utf8)))
    }

    package func token(seed: String, session: String?) -> String {
        Self.token(key: current, seed: seed, session: session)
    }

    /// Whether `sent` is the token of this seed and session under any accepted key (constant time per key).
    package func accepts(_ sent: String, seed: String, session: String?) -> Bool {
        accepted.contains { Crypto.constantTimeEqual(sent, Self.token(key: $0, seed: seed, session: session)) }
    }

    /// The secrets in force, making the first one when there is none yet (the first start, on any host).
    package static func load(_ db: Connection) throws -> FormKeys {
        if let keys = try read(db) { return keys }
        try db.execute(
            """
            INSERT INTO form_secrets (secret) VALUES (\(Crypto.randomToken()))
            ON CONFLICT ((retired_at IS NULL)) WHERE retired_at IS NULL DO NOTHING
            """)
        guard let keys = try read(db) else { throw DatabaseError.other(sqlState: "", message: "no form secret") }
        return keys
    }

    private static func read(_ db: Connection) throws -> FormKeys? {
        let secrets = try db.execute(
            """
            SELECT secret, retired_at IS NULL AS current FROM form_secrets
            WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => \(graceSeconds))
            ORDER BY retired_at DESC NULLS FIRST, id DESC
            """)
        guard let first = secrets.first, first.bool("current") else { return nil }
        return FormKeys(current: first.string("secret"), accepted: secrets.map { $0.string("secret") })
    }

    /// Retires the current secret (accepted for `graceSeconds` more; `revoke`: no longer, for a leaked one,
    /// together with every other still accepted) and makes a new one; secrets retired more than a day ago are
    /// deleted.
    package static func rotate(_ db: Connection, revoke: Bool = false) throws {
        try db.transaction {
            try db.execute("LOCK TABLE form_secrets IN SHARE ROW EXCLUSIVE MODE")
            try db.execute("UPDATE form_secrets SET retired_at = now() WHERE retired_at IS NULL")
            if revoke {
                try db.execute(
                    """
                    UPDATE form_secrets SET retired_at = now() - make_interval(secs => \(graceSeconds + 1))
                    WHERE retired_at > now() - make_interval(secs => \(graceSeconds + 1))
                    """)
            }
            try db.execute("INSERT INTO form_secrets (secret) VALUES (\(Crypto.randomToken()))")
            try db.execute("DELETE FROM form_secrets WHERE retired_at < now() - interval '1 day'")
        }
    }
}
