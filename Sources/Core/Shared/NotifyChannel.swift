// The PostgreSQL channels PromptReel's processes wake each other on: one declaration each, used by both the
// side that NOTIFYs and the side that LISTENs.

package import Postgres

package struct NotifyChannel: Sendable {
    /// For `pg_notify(name, payload)`.
    package let name: String
    /// `LISTEN name`: a channel is an identifier, never a parameter, so its statement is a literal here,
    /// beside its name (a test checks that the two agree).
    package let listen: Query

    /// Clicks and state changes: wakes the generation workers (`GenerationStore.wakeWorkers`).
    package static let generations = NotifyChannel(name: "promptreel_work", listen: "LISTEN promptreel_work")
    /// New and retried roundtables: wakes the roundtable workers.
    package static let roundtables = NotifyChannel(
        name: "promptreel_roundtables", listen: "LISTEN promptreel_roundtables")
    /// New deliveries (the 0015 trigger) and "send again": wakes the webhook sender.
    package static let webhooks = NotifyChannel(name: "promptreel_webhooks", listen: "LISTEN promptreel_webhooks")
    /// What changed (Migrations/0007 triggers): every process's cache listener drops what it names.
    package static let cache = NotifyChannel(name: "promptreel_cache", listen: "LISTEN promptreel_cache")

    /// A film asked for: wakes the film makers.
    package static let films = NotifyChannel(name: "promptreel_films", listen: "LISTEN promptreel_films")

    /// A mail queued (the 0038 trigger): wakes the mail sender.
    package static let mail = NotifyChannel(name: "promptreel_mail", listen: "LISTEN promptreel_mail")

    package static let all = [generations, roundtables, webhooks, cache, films, mail]

    /// Wakes whoever listens (inside a transaction: when it commits).
    package func notify(_ db: Connection, payload: String = "") throws {
        try db.execute("SELECT pg_notify(\(name), \(payload))")
    }
}
