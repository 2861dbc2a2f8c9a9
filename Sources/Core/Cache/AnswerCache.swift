// Answers that rarely change, kept in the process so the hot paths skip the database: who a session or
// an API token belongs to, the pre-rendered `sora-status` of a video, a generation with its video (for
// its page and its media), and the last database health check (at most a second old). A finished
// generation's answers are kept until a NOTIFY says otherwise; an in-flight one's for at most a second
// (its progress changes without a NOTIFY; its state changes do NOTIFY). Bounded in size; emptied by
// `CacheListener` on every NOTIFY that could change an answer (see Migrations/0007), and bypassed
// entirely while that listener is not connected (a NOTIFY missed is a stale answer).

import Glibc
import Postgres
package import Synchronization
import Telemetry

public final class AnswerCache: Sendable {
    /// A status answer ready to send: its bytes, their ETag, and whose it is (checked on every hit).
    package struct Status: Sendable {
        package let userID: ID<User>
        package let body: [UInt8]
        package let etag: String
        /// Monotonic seconds after which it is not used; nil: until invalidated.
        package var expiresAt: Double?

        package init(userID: ID<User>, body: [UInt8], etag: String, expiresAt: Double? = nil) {
            self.userID = userID
            self.body = body
            self.etag = etag
            self.expiresAt = expiresAt
        }
    }

    /// A generation and (once a page needed it) its video, owned by `generation.userID`.
    package struct GenerationEntry: Sendable {
        package let generation: Generation
        package let video: Video?
        package var expiresAt: Double?

        package init(generation: Generation, video: Video? = nil, expiresAt: Double? = nil) {
            self.generation = generation
            self.video = video
            self.expiresAt = expiresAt
        }
    }

    /// How long an in-flight answer may be reused.
    package static let inFlightSeconds = 1.0

    package struct Session: Sendable {
        package let user: User
        /// Monotonic deadline, from the database's own count of seconds left (no clock skew).
        package let expiresAt: Double

        package init(user: User, expiresAt: Double) {
            self.user = user
            self.expiresAt = expiresAt
        }
    }

    package struct State {
        /// False until the listener is connected, and whenever it is not.
        package var enabled = false
        /// When the listener last had an answer from the database (monotonic): a listener that hangs on a
        /// silently dead connection turns the cache off within `heardWithin` seconds.
        package var heardAt = -Double.infinity
        /// Bumped on every invalidation: a reader stores only if nothing changed since it read.
        package var epoch: UInt64 = 0
        package var tokens: [[UInt8]: User] = [:]
        package var sessions: [[UInt8]: Session] = [:]
        package var statuses: [ID<Video>: Status] = [:]
        package var generations: [ID<Generation>: GenerationEntry] = [:]
        package var health: (checkedAt: Double, states: InstanceHealth)?
        /// The CSRF keys, read at most `formKeysSeconds` ago (kept by age alone: a rotation keeps the retired
        /// key accepted for an hour, so an older copy still signs acceptable tokens; a token it cannot check,
        /// signed elsewhere with a newer key, makes the check read the keys again).
        package var formKeys: (readAt: Double, keys: FormKeys)?
    }

    package let state = Mutex(State())
    package let capacity: Int
    /// Generations carry their prompt and video: fewer of them (bounds the memory).
    package let generationCapacity: Int
    package static let heardWithin = 1.5

    public init(capacity: Int = 10_000, generationCapacity: Int = 500) {
        self.capacity = capacity
        self.generationCapacity = generationCapacity
    }

    package static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// On, and its listener heard from the database recently.
    package static func live(_ s: State) -> Bool { s.enabled && now() - s.heardAt < heardWithin }

    // MARK: Reading (nil when disabled or absent)

    package var epoch: UInt64 { state.withLock { $0.epoch } }

    package func user(forToken hash: [UInt8]) -> User? {
        state.withLock { AnswerCache.live($0) ? $0.tokens[hash] : nil }
    }

    package func user(forSession hash: [UInt8], now: Double) -> User? {
        state.withLock { s in
            guard AnswerCache.live(s), let session = s.sessions[hash], session.expiresAt > now else { return nil }
            return session.user
        }
    }

    package func status(videoID: ID<Video>, userID: ID<User>, now: Double) -> Status? {
        state.withLock { s in
            guard AnswerCache.live(s), let entry = s.statuses[videoID], entry.userID == userID,
                (entry.expiresAt ?? .infinity) > now
            else { return nil }
            return entry
        }
    }

    package func generation(id: ID<Generation>, userID: ID<User>, now: Double) -> GenerationEntry? {
        state.withLock { s in
            guard AnswerCache.live(s), let entry = s.generations[id], entry.generation.userID == userID,
                (entry.expiresAt ?? .infinity) > now
            else { return nil }
            return entry
        }
    }

    /// The last health check (each provider's breaker) if it is younger than a second.
    package func health(now: Double) -> InstanceHealth? {
        state.withLock { s in
            guard AnswerCache.live(s), let health = s.health, now - health.checkedAt < 1 else { return nil }
            return health.states
        }
    }

    // MARK: Storing (only if nothing was invalidated since `epoch` was read)

    package func store(token hash: [UInt8], user: User, readAt epoch: UInt64) {
        state.withLock { s in
            guard s.enabled, s.epoch == epoch else { return }
            if s.tokens.count >= capacity { s.tokens = [:] }
            s.tokens[hash] = user
        }
    }

    package func store(session hash: [UInt8], _ session: Session, readAt epoch: UInt64) {
        state.withLock { s in
            guard s.enabled, s.epoch == epoch else { return }
            if s.sessions.count >= capacity { s.sessions = [:] }
            s.sessions[hash] = session
        }
    }

    package func store(status: Status, videoID: ID<Video>, readAt epoch: UInt64) {
        state.withLock { s in
            guard s.enabled, s.epoch == epoch else { return }
            if s.statuses.count >= capacity { s.statuses = [:] }
            s.statuses[videoID] = status
        }
    }

    package func store(generation entry: GenerationEntry, readAt epoch: UInt64) {
        state.withLock { s in
            guard s.enabled, s.epoch == epoch else { return }
            if s.generations.count >= generationCapacity { s.generations = [:] }
            s.generations[entry.generation.id] = entry
        }
    }

    package static let formKeysSeconds = 30.0

    package func formKeys(now: Double) -> FormKeys? {
        state.withLock { s in
            guard let entry = s.formKeys, now - entry.readAt < AnswerCache.formKeysSeconds else { return nil }
            return entry.keys
        }
    }

    package func store(formKeys keys: FormKeys, readAt: Double) {
        state.withLock { $0.formKeys = (readAt, keys) }
    }

    package func store(health states: InstanceHealth, checkedAt: Double) {
        state.withLock { s in
            guard s.enabled else { return }
            s.health = (checkedAt, states)
        }
    }

    // MARK: Invalidation (CacheListener)

    /// Applies one invalidation: a video's drops that video's status and generations; `auth` every session
    /// and token; anything else (a word this version does not know included) everything.
    package func invalidate(_ what: CacheInvalidation) {
        state.withLock { s in
            s.epoch &+= 1
            switch what {
            case let .video(id):
                s.statuses[id] = nil
                s.generations = s.generations.filter { $0.value.generation.videoID != id }
            case .auth:
                s.tokens = [:]
                s.sessions = [:]
            case .everything:
                s.tokens = [:]
                s.sessions = [:]
                s.statuses = [:]
                s.generations = [:]
            }
        }
    }

    /// The listener's heartbeat came back: whatever was NOTIFYed before it has been applied.
    package func heard() {
        state.withLock { $0.heardAt = AnswerCache.now() }
    }

    /// Listener connected (`true`: start from empty) or lost (`false`: bypass until it is back).
    package func setEnabled(_ enabled: Bool) {
        state.withLock { s in
            s.epoch &+= 1
            s.enabled = enabled
            s.tokens = [:]
            s.sessions = [:]
            s.statuses = [:]
            s.generations = [:]
            s.health = nil
        }
    }
}

/// Keeps one connection LISTENing on `promptreel_cache` and applies what it hears to the cache. While it
/// is down the cache is off; when it reconnects the cache starts empty (NOTIFYs sent meanwhile are lost).
public enum CacheListener {
    public static func run(_ cache: AnswerCache, databaseURL: String, until stop: StopFlag) {
        while !stop.isStopped {
            do {
                // Bounded waits: a host that vanished without a word must not keep the cache on.
                let db = try Connection(
                    url: databaseURL,
                    options: [
                        ("connect_timeout", "3"), ("tcp_user_timeout", "2000"),
                        ("keepalives_idle", "2"), ("keepalives_interval", "1"),
                        ("keepalives_count", "2"),
                    ])
                try db.execute(NotifyChannel.cache.listen)
                cache.setEnabled(true)
                while !stop.isStopped {
                    for payload in try db.waitForNotifications(timeoutSeconds: 0.4) {
                        cache.invalidate(CacheInvalidation(payload))
                    }
                    // Heartbeat: an answer proves the connection lives, and NOTIFYs that came before it are
                    // delivered with it; apply them, then mark the cache as heard from.
                    try db.execute("SELECT 1")
                    for payload in try db.waitForNotifications(timeoutSeconds: 0) {
                        cache.invalidate(CacheInvalidation(payload))
                    }
                    cache.heard()
                }
            } catch {
                cache.setEnabled(false)
                Log.error("cache listener: \(error); caches off until it reconnects")
                var left = 0.5
                while left > 0 && !stop.isStopped {
                    usleep(100_000)
                    left -= 0.1
                }
            }
        }
        cache.setEnabled(false)
    }
}

/// What a change makes stale, as the `promptreel_cache` NOTIFYs of Migrations/0007's triggers name it:
/// `video:ID` (one video's answers), `auth` (sign-in: tokens and sessions) or anything else (everything).
package enum CacheInvalidation: Equatable, Sendable {
    case video(ID<Video>)
    case auth
    case everything

    package init(_ payload: String) {
        if payload.hasPrefix("video:"), let id = Int64(payload.dropFirst(6)).map(ID<Video>.init) {
            self = .video(id)
        } else {
            self = payload == "auth" ? .auth : .everything
        }
    }
}
