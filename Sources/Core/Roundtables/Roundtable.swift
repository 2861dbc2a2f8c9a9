// A roundtable as the application reads it: its status, the snapshot it was given, its transcript and
// its proposal, and their JSON forms.

import Formats
package import Postgres

package enum RoundtableStatus: String, Sendable, SQLValue {
    case queued, running, completed, failed
    package var sqlText: String { rawValue }
    package var isActive: Bool { self == .queued || self == .running }

    package var label: String {
        switch self {
        case .queued: "Queued"
        case .running: "Discussing"
        case .completed: "Proposal ready"
        case .failed: "Failed"
        }
    }
}

/// A role at the table: its name and what it is told to care about.
package struct RoundtableRole: Sendable, Equatable {
    package let name: String
    package let instructions: String

    package init(name: String, instructions: String) {
        self.name = name
        self.instructions = instructions
    }
}

package struct RoundtablePreset: Sendable {
    package let name: String
    package let displayName: String
    package let instructions: String
}

package struct RoundtableMessage: Sendable {
    /// 1: notes on the brief; 2: answers to the others; 3: the Moderator's proposal.
    package let round: Int
    package let position: Int
    package let role: String
    package let content: String
    package let finishReason: String?
    /// Nil when the provider sent no usage: unknown, never $0.
    package let promptTokens: Int64?
    package let completionTokens: Int64?
    package let cost: USD?
    package let createdAt: Timestamp

    package static let columns: Query = """
        round, position, role, content, finish_reason, prompt_tokens, completion_tokens, cost::text AS cost, iso(created_at) AS created_at
        """

    package init(_ r: Row) {
        round = Int(r.int("round"))
        position = Int(r.int("position"))
        role = r.string("role")
        content = r.string("content")
        finishReason = r["finish_reason"]
        promptTokens = r.optionalInt("prompt_tokens")
        completionTokens = r.optionalInt("completion_tokens")
        cost = r["cost"].flatMap { USD(parsing: $0) }
        createdAt = r.timestamp("created_at")
    }

}

package struct Roundtable: Sendable {
    /// The longest prompt the Videos API takes (the same limit as the final prompt field).
    package static let promptLimit = 32_000

    package let id: ID<Roundtable>
    package let videoID: ID<Video>
    package let userID: ID<User>
    package let status: RoundtableStatus
    package let brief: String
    package let currentPrompt: String
    package let settings: StoredSettings
    package let preset: String?
    package let presetInstructions: String?
    package let roles: [RoundtableRole]
    package let feedback: String?
    package let previousRoundtableID: ID<Roundtable>?
    package let previousProposal: String?
    package let chatModel: String
    package let proposal: String?
    package let rationale: String?
    package let errorMessage: String?
    package let attempts: Int
    package let createdAt: Timestamp
    package let completedAt: Timestamp?
    package let acceptedAt: Timestamp?
    package let elapsedSeconds: Int64
    /// Sum of the calls' known costs (answered, and unanswered at their worst case); `costUnknown` when
    /// some call's cost is not known (no usage, or no price).
    package let cost: USD
    package let costUnknown: Bool
    /// The part of `cost` from calls that got no answer and may have been billed (`roundtable_unanswered_calls`).
    package let possiblyBilled: USD
    package let unansweredCalls: Int64
    /// The email of who started it ("deleted user" once deleted).
    package let startedBy: String

    package static let columns: Query = """
        r.id, r.video_id, r.user_id, r.status, r.brief, r.current_prompt, r.settings::text AS settings, r.preset,
        r.preset_instructions, r.roles::text AS roles, r.feedback, r.previous_roundtable_id, r.previous_proposal, r.chat_model,
        r.proposal, r.rationale, r.error_message, r.attempts, iso(r.created_at) AS created_at, iso(r.completed_at) AS completed_at,
        iso(r.accepted_at) AS accepted_at,
        extract(epoch FROM (coalesce(r.completed_at, now()) - r.created_at))::bigint AS elapsed_seconds,
        (SELECT coalesce(sum(k.cost), 0)::text FROM roundtable_calls k WHERE k.roundtable_id = r.id) AS cost,
        EXISTS (SELECT 1 FROM roundtable_calls k WHERE k.roundtable_id = r.id AND k.cost IS NULL) AS cost_unknown,
        (SELECT coalesce(sum(u.cost), 0)::text FROM roundtable_unanswered_calls u WHERE u.roundtable_id = r.id) AS possibly_billed,
        (SELECT count(*) FROM roundtable_unanswered_calls u WHERE u.roundtable_id = r.id) AS unanswered_calls,
        \(fragment: Access.starter("r.user_id"))
        """

    package init(_ r: Row) {
        id = r.id("id")
        videoID = r.id("video_id")
        userID = r.id("user_id")
        startedBy = r["started_by"] ?? ""
        status = RoundtableStatus(rawValue: r.string("status")) ?? .failed
        brief = r.string("brief")
        currentPrompt = r.string("current_prompt")
        settings = StoredSettings(jsonText: r.string("settings"))
        preset = r["preset"]
        presetInstructions = r["preset_instructions"]
        roles = Roundtable.decodeRoles(r.string("roles"))
        feedback = r["feedback"]
        previousRoundtableID = r.optionalID("previous_roundtable_id")
        previousProposal = r["previous_proposal"]
        chatModel = r.string("chat_model")
        proposal = r["proposal"]
        rationale = r["rationale"]
        errorMessage = r["error_message"]
        attempts = Int(r.int("attempts"))
        createdAt = r.timestamp("created_at")
        completedAt = r.optionalTimestamp("completed_at")
        acceptedAt = r.optionalTimestamp("accepted_at")
        elapsedSeconds = r.int("elapsed_seconds")
        cost = USD(parsing: r.string("cost")) ?? .zero
        costUnknown = r.bool("cost_unknown")
        possiblyBilled = USD(parsing: r.string("possibly_billed")) ?? .zero
        unansweredCalls = r.int("unanswered_calls")
    }

    package static func decodeRoles(_ text: String) -> [RoundtableRole] {
        guard case let .array(items)? = try? JSONParser.parse(text) else { return [] }
        return items.compactMap { item in
            guard let name = item["name"]?.stringValue, let instructions = item["instructions"]?.stringValue else {
                return nil
            }
            return RoundtableRole(name: name, instructions: instructions)
        }
    }

    package static func encodeRoles(_ roles: [RoundtableRole]) -> String {
        JSON.array(roles.map { .object([("name", .string($0.name)), ("instructions", .string($0.instructions))]) })
            .serialized
    }

    package var costText: String {
        cost.display + (costUnknown ? " (some calls reported no usage: unknown)" : "")
            + (unansweredCalls == 0
                ? ""
                : ", of which \(possiblyBilled.display) possibly billed for \(unansweredCalls) \(unansweredCalls == 1 ? "call" : "calls") that got no answer (counted at their worst case)")
    }

}
