// Every SQL statement about roundtables, their roles, presets and chat prices. Claims work like the
// generations': FOR UPDATE SKIP LOCKED plus a per-roundtable session advisory lock that dies with its
// process, so a killed worker's roundtable is resumed (messages already stored are not asked again).

package import Postgres

package struct RoundtableStore {
    package let db: Connection

    package init(db: Connection) {
        self.db = db
    }

    // MARK: Catalog data

    package func roles() throws -> [RoundtableRole] {
        try db.execute("SELECT name, instructions FROM roundtable_roles ORDER BY position, name").map {
            RoundtableRole(name: $0.string("name"), instructions: $0.string("instructions"))
        }
    }

    package func presets() throws -> [RoundtablePreset] {
        try db.execute("SELECT name, display_name, instructions FROM roundtable_presets ORDER BY position, name").map {
            RoundtablePreset(
                name: $0.string("name"), displayName: $0.string("display_name"), instructions: $0.string("instructions")
            )
        }
    }

    package func hasPrice(chatModel: String) throws -> Bool {
        try !db.execute("SELECT 1 FROM chat_models WHERE name = \(chatModel)").isEmpty
    }

    // MARK: Reading

    /// A roundtable of a video of a project the user is a member of. One of a deleted video stays for its costs
    /// (in usage), but is no longer anyone's to see or retry.
    package func roundtable(id: ID<Roundtable>, userID: ID<User>) throws -> Roundtable? {
        try db.execute(
            """
            SELECT \(fragment: Roundtable.columns) FROM roundtables r
            WHERE r.id = \(id) AND \(fragment: Access.memberOfVideo("r.video_id", userID))
            """
        )
        .first.map(Roundtable.init)
    }

    package func byID(_ id: ID<Roundtable>) throws -> Roundtable? {
        try db.execute("SELECT \(fragment: Roundtable.columns) FROM roundtables r WHERE r.id = \(id)").first.map(
            Roundtable.init)
    }

    /// Newest first.
    package func list(videoID: ID<Video>, userID: ID<User>, limit: Int = 50) throws -> [Roundtable] {
        try db.execute(
            """
            SELECT \(fragment: Roundtable.columns) FROM roundtables r
            WHERE r.video_id = \(videoID) AND \(fragment: Access.memberOfVideo("\(videoID)::bigint", userID))
            ORDER BY r.id DESC LIMIT \(limit)
            """
        ).map(Roundtable.init)
    }

    /// In order: round, then the role's place at the table.
    package func messages(roundtableID: ID<Roundtable>) throws -> [RoundtableMessage] {
        try db.execute(
            """
            SELECT \(fragment: RoundtableMessage.columns) FROM roundtable_messages
            WHERE roundtable_id = \(roundtableID) ORDER BY round, position
            """
        ).map(RoundtableMessage.init)
    }

    /// This UTC month's chat spend as the budgets count it (`spend_items`, Migrations/0019 — 0014: roundtables by
    /// the month of the click, a running one at its reservation until its calls cost more), and how many
    /// of those calls had no usage (their cost is unknown: said so, never counted as $0); `possiblyBilled`: the
    /// worst case of the calls that got no answer (Migrations/0022), part of `known`.
    package func monthSpend(userID: ID<User>) throws -> (known: USD, unknownCalls: Int64, possiblyBilled: USD) {
        let month = try Budgets.currentMonth(db)
        let row = try db.execute(
            """
            SELECT coalesce(sum(i.spend), 0)::text AS spend, coalesce(sum(i.possibly_billed), 0)::text AS possibly_billed,
                   (SELECT count(*) FROM roundtable_calls x JOIN roundtables r ON r.id = x.roundtable_id
                    WHERE r.user_id = \(userID) AND x.cost IS NULL
                      AND r.created_at >= \(month.start)::timestamptz AND r.created_at < \(month.end)::timestamptz) AS unknown
            FROM spend_items i
            WHERE i.kind = 'roundtable' AND i.user_id = \(userID)
              AND i.created_at >= \(month.start)::timestamptz AND i.created_at < \(month.end)::timestamptz
            """)[0]
        return (
            USD(parsing: row.string("spend")) ?? .zero, row.int("unknown"),
            USD(parsing: row.string("possibly_billed")) ?? .zero
        )
    }

    /// The video's latest completed roundtable (what feedback without a named run is about).
    package func latestCompleted(videoID: ID<Video>, userID: ID<User>) throws -> Roundtable? {
        try db.execute(
            """
            SELECT \(fragment: Roundtable.columns) FROM roundtables r
            WHERE r.video_id = \(videoID) AND \(fragment: Access.memberOfVideo("\(videoID)::bigint", userID))
              AND r.status = \(RoundtableStatus.completed) ORDER BY r.id DESC LIMIT 1
            """
        ).first.map(Roundtable.init)
    }

    // MARK: Starting

    package struct NewRoundtable {
        package let videoID: ID<Video>
        package let userID: ID<User>
        package let brief: String
        package let currentPrompt: String
        package let settings: String
        package let preset: RoundtablePreset?
        package let roles: [RoundtableRole]
        package let feedback: String?
        package let previous: Roundtable?
        package let chatModel: String
    }

    /// Records a queued roundtable, reserves its worst case under the budgets (`BudgetExceeded` when it
    /// does not fit) and wakes the roundtable workers, in one transaction.
    package func insert(_ new: NewRoundtable) throws -> ID<Roundtable> {
        let contextBytes =
            [
                new.brief, new.currentPrompt, new.feedback ?? "", new.previous?.proposal ?? "",
                new.preset?.instructions ?? "",
            ]
            .reduce(0) { $0 + $1.utf8.count }
            + new.roles.reduce(0) { $0 + $1.instructions.utf8.count + $1.name.utf8.count }
        let tokens = RoundtableReserve.worstCaseTokens(roles: new.roles.count, contextBytes: contextBytes)
        return try db.transaction {
            // Never a $0 reservation for a price the catalog lost meanwhile: that would let it past any budget.
            guard
                let priced = try db.execute(
                    """
                    SELECT chat_call_cost(\(tokens.input), \(tokens.output), \(new.chatModel))::text AS cost
                    """)[0]["cost"], let reserve = USD(parsing: priced)
            else { throw Roundtables.Refusal.noChatPrice(new.chatModel) }
            try Budgets(db: db).reserve(userID: new.userID, amount: reserve)
            let id: ID<Roundtable> = try db.execute(
                """
                INSERT INTO roundtables (video_id, user_id, brief, current_prompt, settings, preset, preset_instructions, roles,
                                         feedback, previous_roundtable_id, previous_proposal, chat_model, reserved_cost)
                VALUES (\(new.videoID), \(new.userID), \(new.brief), \(new.currentPrompt), \(new.settings)::jsonb, \(new.preset?.name),
                        \(new.preset?.instructions), \(Roundtable.encodeRoles(new.roles))::jsonb, \(new.feedback), \(new.previous?.id),
                        \(new.previous?.proposal), \(new.chatModel), \(reserve)::numeric)
                RETURNING id
                """)[0].id("id")
            try NotifyChannel.roundtables.notify(db)
            return id
        }
    }

    /// A failed roundtable goes back to the queue; the messages it has are kept and not asked again. Its
    /// reservation is taken again, so what it has not spent yet must fit the budgets (`BudgetExceeded`). Only
    /// the user who started it retries it (its cost is theirs), while they edit its video's project.
    package func retry(id: ID<Roundtable>, userID: ID<User>) throws -> Bool {
        try db.transaction {
            let open = try db.execute(
                """
                SELECT greatest(r.reserved_cost - coalesce((SELECT sum(cost) FROM roundtable_messages WHERE roundtable_id = r.id), 0), 0)::text AS open
                FROM roundtables r WHERE r.id = \(id) AND r.user_id = \(userID) AND r.status = \(RoundtableStatus.failed)
                  AND \(fragment: Access.memberOfVideo("r.video_id", userID, atLeast: .editor))
                """
            ).first.flatMap { USD(parsing: $0.string("open")) }
            if let open { try Budgets(db: db).reserve(userID: userID, amount: open) }
            let retried = try !db.execute(
                """
                UPDATE roundtables SET status = \(RoundtableStatus.queued), error_message = NULL, next_attempt_at = now(), completed_at = NULL
                WHERE id = \(id) AND user_id = \(userID) AND status = \(RoundtableStatus.failed)
                  AND \(fragment: Access.memberOfVideo("video_id", userID, atLeast: .editor))
                RETURNING id
                """
            ).isEmpty
            if retried { try NotifyChannel.roundtables.notify(db) }
            return retried
        }
    }

    // MARK: Claiming and running

    package static func lockKey(_ id: ID<Roundtable>) -> Int64 { 0x5254 << 48 | id.rawValue }  // "RT"

    package func unlock(_ id: ID<Roundtable>) {
        _ = try? db.execute("SELECT pg_advisory_unlock(\(RoundtableStore.lockKey(id)))")
    }

    /// Claims one due queued (or abandoned running) roundtable that no live process holds, marks it
    /// running and pushes its lease forward. The caller must `unlock` it when done.
    package func claim(leaseSeconds: Double) throws -> Roundtable? {
        try db.transaction {
            let candidates: [ID<Roundtable>] = try db.execute(
                """
                SELECT id FROM roundtables WHERE status IN (\(RoundtableStatus.queued), \(RoundtableStatus.running)) AND next_attempt_at <= now()
                ORDER BY next_attempt_at, id LIMIT 16 FOR UPDATE SKIP LOCKED
                """
            ).map { $0.id("id") }
            for candidate in candidates {
                guard
                    try db.execute("SELECT pg_try_advisory_lock(\(RoundtableStore.lockKey(candidate))) AS ok")[0].bool(
                        "ok")
                else { continue }
                do {
                    try db.execute(
                        """
                        UPDATE roundtables SET status = \(RoundtableStatus.running), attempts = attempts + 1,
                               started_at = coalesce(started_at, now()), next_attempt_at = now() + make_interval(secs => \(leaseSeconds))
                        WHERE id = \(candidate)
                        """)
                    if let claimed = try byID(candidate) { return claimed }
                } catch {
                    unlock(candidate)
                    throw error
                }
                unlock(candidate)
            }
            return nil
        }
    }

    /// Keeps the lease while a long round runs.
    package func extendLease(_ id: ID<Roundtable>, seconds: Double) throws {
        try db.execute(
            "UPDATE roundtables SET next_attempt_at = now() + make_interval(secs => \(seconds)) WHERE id = \(id)")
    }

    /// Stores one message with its cost from the catalog (nil tokens: the provider sent no usage).
    package func addMessage(
        _ roundtableID: ID<Roundtable>, round: Int, position: Int, role: String, content: String, finishReason: String?,
        promptTokens: Int?, completionTokens: Int?, chatModel: String, startedAt: Double
    ) throws {
        try db.execute(
            """
            INSERT INTO roundtable_messages (roundtable_id, round, position, role, content, finish_reason, prompt_tokens,
                                             completion_tokens, cost, started_at)
            VALUES (\(roundtableID), \(round), \(position), \(role), \(content), \(finishReason), \(promptTokens), \(completionTokens),
                    chat_call_cost(\(promptTokens), \(completionTokens), \(chatModel)), to_timestamp(\(startedAt)))
            ON CONFLICT (roundtable_id, round, role) DO NOTHING
            """)
    }

    /// Records a call that reached the provider and brought back no answer (it may have been billed), at
    /// its worst case: every prompt token the messages can be and every completion token it allowed.
    /// `errorKind` and `status` say how it failed (a timeout, a dropped connection, a 5xx).
    package func addUnansweredCall(
        _ roundtableID: ID<Roundtable>, round: Int, role: String, errorKind: String, status: Int?,
        promptTokens: Int, completionTokens: Int, chatModel: String, startedAt: Double
    ) throws {
        let promptTokens = min(max(promptTokens, 0), Int(Int32.max))
        let completionTokens = min(max(completionTokens, 0), Int(Int32.max))
        try db.execute(
            """
            INSERT INTO roundtable_unanswered_calls (roundtable_id, round, role, error_kind, http_status, prompt_tokens,
                                                     completion_tokens, cost, started_at)
            VALUES (\(roundtableID), \(round), \(role), \(errorKind), \(status), \(promptTokens), \(completionTokens),
                    chat_call_cost(\(promptTokens), \(completionTokens), \(chatModel)), to_timestamp(\(startedAt)))
            """)
    }

    /// Renames a stored answer (kept, with its cost) so the role can be asked again.
    package func setAside(_ id: ID<Roundtable>, round: Int, role: String, as newName: String) throws {
        try db.execute(
            """
            UPDATE roundtable_messages SET role = \(newName), position = position + 100
            WHERE roundtable_id = \(id) AND round = \(round) AND role = \(role)
            """)
    }

    package func complete(_ id: ID<Roundtable>, proposal: String, rationale: String) throws {
        try db.execute(
            """
            UPDATE roundtables SET status = \(RoundtableStatus.completed), proposal = \(proposal), rationale = \(rationale),
                   error_message = NULL, completed_at = now()
            WHERE id = \(id) AND status = \(RoundtableStatus.running)
            """)
    }

    package func fail(_ id: ID<Roundtable>, message: String) throws {
        try db.execute(
            """
            UPDATE roundtables SET status = \(RoundtableStatus.failed), error_message = \(message), completed_at = now()
            WHERE id = \(id) AND status = \(RoundtableStatus.running)
            """)
    }

    /// Marks the proposal accepted (the video's prompt is set by the caller in the same transaction).
    package func markAccepted(_ id: ID<Roundtable>) throws {
        try db.execute("UPDATE roundtables SET accepted_at = now() WHERE id = \(id)")
    }

    // MARK: Roles (the `promptreel roundtable roles` commands)

    package func addRole(_ role: RoundtableRole, position: Int) throws {
        try db.execute(
            "INSERT INTO roundtable_roles (name, position, instructions) VALUES (\(role.name), \(position), \(role.instructions))"
        )
    }

    package func setRole(name: String, instructions: String?, position: Int?) throws -> Bool {
        try !db.execute(
            """
            UPDATE roundtable_roles SET instructions = coalesce(\(instructions), instructions), position = coalesce(\(position), position)
            WHERE name = \(name) RETURNING name
            """
        ).isEmpty
    }

    package func removeRole(name: String) throws -> Bool {
        try !db.execute("DELETE FROM roundtable_roles WHERE name = \(name) RETURNING name").isEmpty
    }

    package func setChatPrice(model: String, input: USD, output: USD) throws {
        try db.execute(
            """
            INSERT INTO chat_models (name, usd_per_million_input, usd_per_million_output) VALUES (\(model), \(input)::numeric, \(output)::numeric)
            ON CONFLICT (name) DO UPDATE SET usd_per_million_input = excluded.usd_per_million_input,
                                             usd_per_million_output = excluded.usd_per_million_output
            """)
    }

    package func chatPrices() throws -> [(model: String, input: String, output: String)] {
        try db.execute(
            "SELECT name, usd_per_million_input::text AS i, usd_per_million_output::text AS o FROM chat_models ORDER BY name"
        )
        .map { ($0.string("name"), $0.string("i"), $0.string("o")) }
    }
}
