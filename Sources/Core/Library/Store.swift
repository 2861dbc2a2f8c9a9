// Every SQL statement the application runs, as small typed functions. Membership is part of each query
// (`Access.member(…)`: any role to read, an editor's or owner's to change), so a record of a project the user is not a
// member of is indistinguishable from a missing one.

package import Postgres

package struct Project: Sendable {
    package let id: ID<Project>
    package let name: String
    package let description: String
    package let videoCount: Int64
    package let createdAt: Timestamp
    package let updatedAt: Timestamp
    /// The reader's role in it.
    package let role: ProjectRole

    package init(_ row: Row) {
        id = row.id("id")
        name = row.string("name")
        description = row.string("description")
        videoCount = row.int("video_count")
        createdAt = row.timestamp("created_at")
        updatedAt = row.timestamp("updated_at")
        role = row["role"].flatMap(ProjectRole.init(rawValue:)) ?? .viewer
    }
}

package struct Video: Sendable {
    package let id: ID<Video>
    package let projectID: ID<Project>
    package let projectName: String
    package let title: String
    package let brief: String
    package let finalPrompt: String
    /// The style preset chosen with the brief (roundtable_presets.name), if any.
    package let preset: String?
    package let createdAt: Timestamp
    package let updatedAt: Timestamp
    /// Nil until the first generation.
    package let latest: LatestGeneration?
    /// The shot's place in its project's storyboard, from 1.
    package let position: Int
    /// The take the film uses: the one the user chose, else the latest completed one (nil: none yet).
    package let chosenGenerationID: ID<Generation>?
    /// The reader's role in its project.
    package let role: ProjectRole

    package init(_ row: Row) {
        id = row.id("id")
        projectID = row.id("project_id")
        projectName = row.string("project_name")
        title = row.string("title")
        brief = row.string("brief")
        finalPrompt = row.string("final_prompt")
        preset = row["preset"]
        createdAt = row.timestamp("created_at")
        updatedAt = row.timestamp("updated_at")
        latest = LatestGeneration(row)
        position = Int(row.int("position"))
        chosenGenerationID = row.optionalID("chosen_generation_id")
        role = row["role"].flatMap(ProjectRole.init(rawValue:)) ?? .viewer
    }
}

/// A video's latest generation as the database keeps it on the video row (Migrations/0019).
package struct LatestGeneration: Sendable {
    package let id: ID<Generation>
    package let status: GenerationStatus
    package let model: String
    package let createdAt: Timestamp
    package let hasThumbnail: Bool

    package init?(_ row: Row) {
        guard let id: ID<Generation> = row.optionalID("last_generation_id"), id.rawValue > 0,
            let status = row["last_generation_status"].flatMap(GenerationStatus.init(rawValue:))
        else { return nil }
        self.id = id
        self.status = status
        model = row.string("last_generation_model")
        createdAt = row.timestamp("last_generated_at")
        hasThumbnail = row.bool("latest_thumbnail")
    }
}

package struct APIToken: Sendable {
    package let id: ID<APIToken>
    package let name: String
    package let scope: TokenScope
    package let createdAt: Timestamp
    package let lastUsedAt: Timestamp?
}

package struct Store {
    package let db: Connection

    package init(db: Connection) {
        self.db = db
    }

    // MARK: Users and sessions

    /// The first account of an instance is an admin (unless `role` says otherwise); the advisory lock
    /// makes "first" hold when two sign-ups race on an empty instance.
    package func createUser(email: String, passwordHash: String, role: Role? = nil) throws -> User {
        try db.transaction {
            try db.execute("SELECT pg_advisory_xact_lock(12001)")
            let row = try db.execute(
                """
                INSERT INTO users (email, password_hash, role)
                SELECT \(email), \(passwordHash),
                       COALESCE(\(role?.rawValue), CASE WHEN EXISTS (SELECT 1 FROM users) THEN 'member' ELSE 'admin' END)
                RETURNING id, email, role
                """)[0]
            return Store.user(row)
        }
    }

    /// A sign-up's account: nil when the email already has one (nothing is changed, and the caller answers
    /// as if it had been made). `createUser`'s transaction is a savepoint inside a caller's, so the refused
    /// insert undoes only itself.
    package func createUserIfNew(email: String, passwordHash: String) throws -> User? {
        do {
            return try createUser(email: email, passwordHash: passwordHash)
        } catch let error as DatabaseError where error.isUniqueViolation {
            return nil
        }
    }

    package static func user(_ row: Row) -> User {
        User(id: row.id("id"), email: row.string("email"), role: Role(rawValue: row.string("role")) ?? .member)
    }

    /// The user, their password hash, and whether an admin disabled them.
    package func userWithPassword(email: String) throws -> (User, String, disabled: Bool)? {
        try db.execute(
            """
            SELECT id, email, role, password_hash, disabled_at IS NOT NULL AS disabled FROM users WHERE lower(email) = lower(\(email))
            """
        ).first.map { (Store.user($0), $0.string("password_hash"), $0.bool("disabled")) }
    }

    package func createSession(tokenHash: [UInt8], userID: ID<User>, seconds: Int, address: String) throws {
        try db.execute(
            """
            INSERT INTO sessions (token_hash, user_id, expires_at, address)
            VALUES (\(Bytes(tokenHash)), \(userID), now() + make_interval(secs => \(seconds)), \(address))
            """)
    }

    /// The session's user and how many seconds it has left (by the database's clock: the sooner of its absolute
    /// expiry and `idleSeconds` from now), if it is live — seen within `idleSeconds` — and its user is not
    /// disabled. Seeing it is recorded (time and address) at most once a minute: not a write per request.
    package func session(hash: [UInt8], idleSeconds: Int, address: String) throws -> (user: User, secondsLeft: Double)?
    {
        guard
            let row = try db.execute(
                """
                SELECT u.id, u.email, u.role, u.refresh_pages, s.id AS session_id,
                       extract(epoch FROM least(s.expires_at - now(), make_interval(secs => \(idleSeconds))))::float8 AS left,
                       s.last_seen_at < now() - interval '1 minute' AS stale
                FROM sessions s JOIN users u ON u.id = s.user_id
                WHERE s.token_hash = \(Bytes(hash)) AND s.expires_at > now()
                  AND s.last_seen_at > now() - make_interval(secs => \(idleSeconds)) AND u.disabled_at IS NULL
                """
            ).first
        else { return nil }
        if row.bool("stale") {
            try db.execute(
                "UPDATE sessions SET last_seen_at = now(), address = \(address) WHERE id = \(row.int("session_id"))")
        }
        var user = Store.user(row)
        user.refreshPages = row.bool("refresh_pages")
        return (user, Double(row.string("left")) ?? 0)
    }

    /// The account preference "Refresh pages automatically". An UPDATE on users: the 0007 trigger drops
    /// every process's cached sessions, which carry it. False when there is no such user.
    package func setRefreshPages(userID: ID<User>, _ on: Bool) throws -> Bool {
        try !db.execute("UPDATE users SET refresh_pages = \(on) WHERE id = \(userID) RETURNING id").isEmpty
    }

    package func deleteSession(tokenHash: [UInt8]) throws {
        try db.execute("DELETE FROM sessions WHERE token_hash = \(Bytes(tokenHash)) OR expires_at < now()")
    }

    // MARK: Administration

    package struct UserRow {
        package let user: User
        package let disabled: Bool
        package let deleted: Bool
        package let createdAt: Timestamp
    }

    package func users() throws -> [UserRow] {
        try db.execute(
            """
            SELECT id, email, role, disabled_at IS NOT NULL AS disabled, deleted_at IS NOT NULL AS deleted,
                   iso(created_at) AS created_at
            FROM users ORDER BY id
            """
        ).map {
            UserRow(
                user: Store.user($0), disabled: $0.bool("disabled"), deleted: $0.bool("deleted"),
                createdAt: $0.timestamp("created_at"))
        }
    }

    /// Changes a user's role; nil when there is no such user. The users trigger drops cached sessions and tokens.
    package func setRole(userID: ID<User>, _ role: Role) throws -> User? {
        try keepingAnAdmin {
            try db.execute(
                "UPDATE users SET role = \(role.rawValue) WHERE id = \(userID) AND deleted_at IS NULL RETURNING id, email, role"
            )
            .first.map(Store.user)
        }
    }

    /// Disabling also ends the user's sessions (enabling does not bring them back) and cancels their clicks
    /// not yet sent to the provider; tokens stay but answer nothing while the user is disabled. False when
    /// there is no such user.
    package func setDisabled(userID: ID<User>, _ disabled: Bool) throws -> Bool {
        try keepingAnAdmin {
            let found = try !db.execute(
                """
                UPDATE users SET disabled_at = CASE WHEN \(disabled) THEN COALESCE(disabled_at, now()) END
                WHERE id = \(userID) AND deleted_at IS NULL RETURNING id
                """
            ).isEmpty
            if found, disabled {
                try db.execute("DELETE FROM sessions WHERE user_id = \(userID)")
                try GenerationStore(db: db).cancelAllWaiting(userID: userID)
            }
            return found
        }
    }

    /// Runs a role or disabled-flag change in a transaction that is undone if no enabled admin would be
    /// left. The advisory lock serialises such changes, so two admins demoting each other at the same
    /// instant cannot both pass the check.
    private func keepingAnAdmin<T>(_ change: () throws -> T) throws -> T {
        try db.transaction {
            try db.execute("SELECT pg_advisory_xact_lock(12004)")
            let result = try change()
            guard
                try db.execute("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL")[0].int(
                    "n") > 0
            else {
                throw Accounts.Failure.lastAdmin
            }
            return result
        }
    }

    package func userID(email: String) throws -> ID<User>? {
        try db.execute("SELECT id FROM users WHERE lower(email) = lower(\(email))").first?.id("id")
    }

    // MARK: Log-in throttling

    /// The failures of one (account, address) pair and of one address within the window, each with
    /// the time since its latest failure (by the database's clock).
    package struct LoginFailures {
        package let pair: Int64
        package let pairSecondsSinceLast: Double
        package let address: Int64
        package let addressSecondsSinceLast: Double
    }

    package func recentLoginFailures(email: String, address: String, minutes: Int) throws -> LoginFailures {
        let row = try db.execute(
            """
            WITH pair AS (SELECT count(*) AS n, extract(epoch FROM now() - max(at))::float8 AS since FROM login_failures
                          WHERE lower(email) = lower(\(email)) AND address = \(address) AND at > now() - make_interval(mins => \(minutes))),
                 addr AS (SELECT count(*) AS n, extract(epoch FROM now() - max(at))::float8 AS since FROM login_failures
                          WHERE address = \(address) AND at > now() - make_interval(mins => \(minutes)))
            SELECT pair.n AS pair, pair.since AS pair_since, addr.n AS address, addr.since AS address_since FROM pair, addr
            """)[0]
        return LoginFailures(
            pair: row.int("pair"), pairSecondsSinceLast: row["pair_since"].flatMap(Double.init) ?? 0,
            address: row.int("address"), addressSecondsSinceLast: row["address_since"].flatMap(Double.init) ?? 0)
    }

    /// Counts this attempt before its password is checked, so parallel guesses cannot all slip under the
    /// limit: under a per-address lock, `wait` decides from the failures so far; when it allows the try, a
    /// failure row is recorded at once (a right password then clears it). Returns the wait (0: go on).
    package func admitLoginAttempt(email: String, address: String, minutes: Int, wait: (LoginFailures) -> Int) throws
        -> Int
    {
        try db.transaction {
            try db.execute("SELECT pg_advisory_xact_lock(12002, hashtext(\(address)))")
            let seconds = wait(try recentLoginFailures(email: email, address: address, minutes: minutes))
            if seconds == 0 { try recordLoginFailure(email: email, address: address) }
            return seconds
        }
    }

    package func recordLoginFailure(email: String, address: String) throws {
        try db.execute("INSERT INTO login_failures (email, address) VALUES (\(email), \(address))")
        try db.execute("DELETE FROM login_failures WHERE at < now() - interval '1 day'")
    }

    /// A right password clears only its own address's failures for the account.
    package func clearLoginFailures(email: String, address: String) throws {
        try db.execute("DELETE FROM login_failures WHERE lower(email) = lower(\(email)) AND address = \(address)")
    }

    // MARK: Per-address throttling (sign-ups, password-reset requests)

    /// Attempts of `action` from this address in the last hour, and seconds until the oldest leaves the hour.
    package func recentAttempts(_ action: AddressAction, address: String) throws
        -> (count: Int64, secondsUntilFree: Double)
    {
        let row = try db.execute(
            """
            SELECT count(*) AS n, COALESCE(extract(epoch FROM min(at) + interval '1 hour' - now())::float8, 0) AS free
            FROM address_attempts WHERE action = \(action.rawValue) AND address = \(address) AND at > now() - interval '1 hour'
            """)[0]
        return (row.int("n"), Double(row.string("free")) ?? 0)
    }

    /// Counts one attempt of `action` from `address` (whatever its outcome), under a per-address lock so that
    /// parallel attempts cannot pass the limit; refused (`AddressThrottled`) past `limit` in the last hour.
    package func countAttempt(_ action: AddressAction, address: String, limit: Int) throws {
        try db.transaction {
            try db.execute("SELECT pg_advisory_xact_lock(12003, hashtext(\(action.rawValue + " " + address)))")
            let recent = try recentAttempts(action, address: address)
            if recent.count >= Int64(limit) { throw AddressThrottled(secondsUntilFree: recent.secondsUntilFree) }
            try db.execute("INSERT INTO address_attempts (action, address) VALUES (\(action.rawValue), \(address))")
            try db.execute("DELETE FROM address_attempts WHERE at < now() - interval '1 day'")
        }
    }

    // MARK: API tokens

    package func createAPIToken(userID: ID<User>, name: String, tokenHash: [UInt8], scope: TokenScope) throws {
        try db.execute(
            """
            INSERT INTO api_tokens (user_id, name, token_hash, scope) VALUES (\(userID), \(name), \(Bytes(tokenHash)), \(scope.rawValue))
            """)
    }

    package func userForAPIToken(_ token: String) throws -> User? {
        let hash = Bytes(Crypto.sha256(token))
        guard
            let row = try db.execute(
                """
                SELECT u.id, u.email, u.role, t.id AS token_id, t.scope,
                       (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute') AS stale
                FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = \(hash) AND u.disabled_at IS NULL
                """
            ).first
        else { return nil }
        // Record use at most once a minute: a write (and a commit) on every API call would serialize them.
        if row.bool("stale") {
            try db.execute("UPDATE api_tokens SET last_used_at = now() WHERE id = \(row.int("token_id"))")
        }
        var user = Store.user(row)
        user.scope = TokenScope(rawValue: row.string("scope")) ?? .read
        return user
    }

    /// One page of the user's tokens, newest first.
    package func apiTokens(userID: ID<User>, page: PageRequest) throws -> Page<APIToken> {
        let keyset = page.keyset("id")
        return Page(
            rows: try db.execute(
                """
                SELECT id, name, scope, iso(created_at) AS created_at, iso(last_used_at) AS last_used_at
                FROM api_tokens WHERE user_id = \(userID) AND \(fragment: keyset.condition) ORDER BY \(fragment: keyset.order)
                """
            ).map {
                APIToken(
                    id: $0.id("id"), name: $0.string("name"), scope: TokenScope(rawValue: $0.string("scope")) ?? .read,
                    createdAt: $0.timestamp("created_at"),
                    lastUsedAt: $0.optionalTimestamp("last_used_at"))
            },
            request: page)
    }

    /// True when a token of this user's was deleted.
    package func deleteAPIToken(id: ID<APIToken>, userID: ID<User>) throws -> Bool {
        try !db.execute("DELETE FROM api_tokens WHERE id = \(id) AND user_id = \(userID) RETURNING id").isEmpty
    }

    // MARK: Projects

    /// A project's columns with `user`'s role in it.
    package static func projectColumns(_ user: ID<User>) -> Query {
        """
        p.id, p.name, p.description, iso(p.created_at) AS created_at, iso(p.updated_at) AS updated_at, p.video_count,
        \(fragment: Access.role("p.id", user)) AS role
        """
    }

    package func createProject(userID: ID<User>, name: String, description: String) throws -> Project {
        let id: ID<Project> = try db.execute(
            """
            INSERT INTO projects (user_id, name, description) VALUES (\(userID), \(name), \(description)) RETURNING id
            """)[0].id("id")
        guard let project = try project(id: id, userID: userID) else {
            throw DatabaseError.other(sqlState: "", message: "inserted project vanished")
        }
        return project
    }

    /// Which of a user's projects a list shows: the ones they own, the ones shared with them (editor or viewer),
    /// or both.
    package enum ProjectScope: String, Sendable, CaseIterable {
        case mine, shared, all

        /// Binds a page's cursor to the list it came from.
        package var cursorScope: Int64 {
            switch self {
            case .all: 0
            case .mine: 1
            case .shared: 2
            }
        }
    }

    /// One page of the projects the user is a member of, newest first.
    package func projects(userID: ID<User>, scope: ProjectScope = .all, page: PageRequest) throws -> Page<Project> {
        let keyset = page.keyset("p.id")
        let roles: Query =
            switch scope {
            case .mine: "m.role = 'owner'"
            case .shared: "m.role <> 'owner'"
            case .all: "true"
            }
        return Page(
            rows: try db.execute(
                """
                SELECT \(fragment: Store.projectColumns(userID)) FROM project_members m JOIN projects p ON p.id = m.project_id
                WHERE m.user_id = \(userID) AND \(fragment: roles) AND \(fragment: keyset.condition)
                ORDER BY \(fragment: keyset.order)
                """
            ).map(Project.init), request: page)
    }

    package func project(id: ID<Project>, userID: ID<User>) throws -> Project? {
        try db.execute(
            """
            SELECT \(fragment: Store.projectColumns(userID)) FROM projects p
            WHERE p.id = \(id) AND \(fragment: Access.member("p.id", userID))
            """
        ).first.map(Project.init)
    }

    // MARK: Videos

    /// Read from `videos v` alone (the project's name and `user`'s role in it are looked up for the rows returned
    /// only).
    package static func videoColumns(_ user: ID<User>) -> Query {
        """
        \(fragment: Access.role("v.project_id", user)) AS role, v.id, v.project_id, (SELECT p.name FROM projects p WHERE p.id = v.project_id) AS project_name, v.title, v.brief, v.final_prompt, v.preset,
        iso(v.created_at) AS created_at, iso(v.updated_at) AS updated_at,
        v.last_generation_id, v.last_generation_status, v.last_generation_model, iso(v.last_generated_at) AS last_generated_at,
        (SELECT g.thumbnail_path IS NOT NULL FROM generations g WHERE g.id = v.last_generation_id) AS latest_thumbnail,
        v.position, coalesce(v.chosen_generation_id, (SELECT g.id FROM generations g WHERE g.video_id = v.id AND g.status = 'completed'
                                                       ORDER BY g.completed_at DESC NULLS LAST, g.id DESC LIMIT 1)) AS chosen_generation_id
        """
    }

    /// `preset` must name a preset (the caller checks; the foreign key refuses anything else).
    package func createVideo(
        projectID: ID<Project>, userID: ID<User>, title: String, brief: String, finalPrompt: String,
        preset: String? = nil
    ) throws -> Video? {
        try db.transaction {
            // The INSERT … SELECT only inserts when the user is one of the project's editors or owners.
            guard
                let id: ID<Video> = try db.execute(
                    """
                    INSERT INTO videos (project_id, title, brief, final_prompt, preset)
                    SELECT p.id, \(title), \(brief), \(finalPrompt), \(preset) FROM projects p
                    WHERE p.id = \(projectID) AND \(fragment: Access.member("p.id", userID, atLeast: .editor))
                    RETURNING id
                    """
                ).first?.id("id")
            else { return nil }
            try db.execute("UPDATE projects SET updated_at = now() WHERE id = \(projectID)")
            if !finalPrompt.isEmpty {
                try addPromptVersion(
                    videoID: id, userID: userID, prompt: finalPrompt, source: .written, roundtableID: nil)
            }
            return try video(id: id, userID: userID)
        }
    }

    // MARK: Storyboard order and chosen takes (Migrations/0026)

    /// A shot of the storyboard as the project page shows it: the video, and its chosen take's length
    /// (delivered, else asked) and whether it has a poster.
    package struct Shot: Sendable {
        package let video: Video
        package let seconds: Double?
        package let hasThumbnail: Bool
    }

    /// The project's first `limit` shots in order (none when the user is not a member).
    package func storyboard(projectID: ID<Project>, userID: ID<User>, limit: Int) throws -> [Shot] {
        let videos = try db.execute(
            """
            SELECT \(fragment: Store.videoColumns(userID)) FROM videos v
            WHERE v.project_id = \(projectID) AND \(fragment: Access.member("v.project_id", userID))
            ORDER BY v.position LIMIT \(Int64(limit))
            """
        ).map(Video.init)
        let chosen = videos.compactMap(\.chosenGenerationID)
        guard !chosen.isEmpty else { return videos.map { Shot(video: $0, seconds: nil, hasThumbnail: false) } }
        let list = "{" + chosen.map(\.description).joined(separator: ",") + "}"
        var facts: [ID<Generation>: (Double, Bool)] = [:]
        for row in try db.execute(
            """
            SELECT id, coalesce(delivered_seconds, seconds)::float8 AS s, thumbnail_path IS NOT NULL AS thumb
            FROM generations WHERE id = ANY(\(list)::bigint[]) AND video_id IN (SELECT id FROM videos WHERE project_id = \(projectID))
            """)
        {
            facts[row.id("id")] = (Double(row.string("s")) ?? 0, row.bool("thumb"))
        }
        return videos.map { video in
            let fact = video.chosenGenerationID.flatMap { facts[$0] }
            return Shot(video: video, seconds: fact?.0, hasThumbnail: fact?.1 ?? false)
        }
    }

    /// The number of shots in the video's project (nil: not a video the user may see).
    package func shotCount(videoID: ID<Video>, userID: ID<User>) throws -> Int? {
        try db.execute(
            """
            SELECT (SELECT count(*) FROM videos o WHERE o.project_id = v.project_id) AS n
            FROM videos v WHERE v.id = \(videoID) AND \(fragment: Access.member("v.project_id", userID))
            """
        ).first.map { Int($0.int("n")) }
    }

    /// Moves the video to `position` (clamped to the storyboard) and returns the place it took; nil when the
    /// user is not one of its project's editors.
    package func moveVideo(id: ID<Video>, userID: ID<User>, to position: Int) throws -> Int? {
        try db.execute(
            "SELECT move_video(v.id, \(Int32(clamping: position))) AS p FROM videos v WHERE v.id = \(id) AND \(fragment: Access.member("v.project_id", userID, atLeast: .editor))"
        ).first?.optionalInt("p").map { Int($0) }
    }

    /// Makes a completed generation of the video its chosen take; false when it is not one (or the user is not an
    /// editor of its project).
    package func chooseTake(videoID: ID<Video>, userID: ID<User>, generationID: ID<Generation>) throws -> Bool {
        try !db.execute(
            """
            UPDATE videos v SET chosen_generation_id = g.id
            FROM generations g
            WHERE v.id = \(videoID) AND \(fragment: Access.member("v.project_id", userID, atLeast: .editor))
              AND g.id = \(generationID) AND g.video_id = v.id
              AND g.status = \(GenerationStatus.completed)
            RETURNING v.id
            """
        ).isEmpty
    }

    // MARK: Prompt versions

    package enum PromptSource: String, SQLValue {
        case written, roundtable, edited
        package var sqlText: String { rawValue }
    }

    package struct PromptVersion: Sendable {
        package let id: Int64
        package let prompt: String
        package let source: PromptSource
        package let roundtableID: ID<Roundtable>?
        package let createdAt: Timestamp
        /// Who wrote it (nil: a deleted account).
        package let author: String?
    }

    package func addPromptVersion(
        videoID: ID<Video>, userID: ID<User>, prompt: String, source: PromptSource, roundtableID: ID<Roundtable>?
    ) throws {
        try db.execute(
            """
            INSERT INTO video_prompt_versions (video_id, user_id, prompt, source, roundtable_id)
            VALUES (\(videoID), \(userID), \(prompt), \(source), \(roundtableID))
            """)
    }

    /// Newest first.
    package func promptVersions(videoID: ID<Video>, userID: ID<User>) throws -> [PromptVersion] {
        try db.execute(
            """
            SELECT pv.id, pv.prompt, pv.source, pv.roundtable_id, iso(pv.created_at) AS created_at,
                   CASE WHEN u.deleted_at IS NULL THEN u.email END AS author
            FROM video_prompt_versions pv JOIN videos v ON v.id = pv.video_id LEFT JOIN users u ON u.id = pv.user_id
            WHERE pv.video_id = \(videoID) AND \(fragment: Access.member("v.project_id", userID))
            ORDER BY pv.id DESC LIMIT 50
            """
        ).map {
            PromptVersion(
                id: $0.int("id"), prompt: $0.string("prompt"),
                source: PromptSource(rawValue: $0.string("source")) ?? .written,
                roundtableID: $0.optionalID("roundtable_id"), createdAt: $0.timestamp("created_at"),
                author: $0["author"])
        }
    }

    /// Sets a video's final prompt and keeps the version; call it inside the caller's transaction.
    /// False when the user is not one of the video's project's editors.
    package func setFinalPrompt(
        videoID: ID<Video>, userID: ID<User>, prompt: String, source: PromptSource, roundtableID: ID<Roundtable>?
    ) throws -> Bool {
        guard
            try !db.execute(
                """
                UPDATE videos v SET final_prompt = \(prompt), updated_at = now()
                WHERE v.id = \(videoID) AND \(fragment: Access.member("v.project_id", userID, atLeast: .editor))
                RETURNING v.id
                """
            ).isEmpty
        else { return false }
        try addPromptVersion(
            videoID: videoID, userID: userID, prompt: prompt, source: source, roundtableID: roundtableID)
        return true
    }

    package func video(id: ID<Video>, userID: ID<User>) throws -> Video? {
        try db.execute(
            """
            SELECT \(fragment: Store.videoColumns(userID)) FROM videos v
            WHERE v.id = \(id) AND \(fragment: Access.member("v.project_id", userID))
            """
        ).first.map(Video.init)
    }

    /// The original design's eight `sora_*` fields for a video (its latest generation), from the view.
    package func soraFields(videoID: ID<Video>) throws -> [(String, String?)] {
        guard
            let row = try db.execute(
                """
                SELECT sora_job_id, sora_generation_status, sora_video_url, sora_generation_settings::text AS sora_generation_settings,
                       sora_generation_cost::text AS sora_generation_cost, sora_error_message,
                       iso(sora_started_at) AS sora_started_at, iso(sora_completed_at) AS sora_completed_at
                FROM video_sora_fields WHERE video_id = \(videoID)
                """
            ).first
        else { return [] }
        return [
            "sora_job_id", "sora_generation_status", "sora_video_url", "sora_generation_settings",
            "sora_generation_cost",
            "sora_error_message", "sora_started_at", "sora_completed_at",
        ].map { ($0, row[$0]) }
    }
}

/// What is counted per client address per hour.
package enum AddressAction: String, Sendable {
    case signup
    case passwordReset = "password_reset"
}

/// Too many attempts (sign-ups, reset requests) from one address in the last hour.
package struct AddressThrottled: Error {
    package let secondsUntilFree: Double

    package init(secondsUntilFree: Double) {
        self.secondsUntilFree = secondsUntilFree
    }
}
