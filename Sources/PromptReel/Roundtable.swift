// A roundtable as the application reads it: its status, the snapshot it was given, its transcript and
// its proposal, and their JSON forms.

import Postgres
import Web

enum RoundtableStatus: String, Sendable, SQLValue {
    case queued, running, completed, failed
    var sqlText: String { rawValue }
    var isActive: Bool { self == .queued || self == .running }

    var label: String {
        switch self {
        case .queued: "Queued"
        case .running: "Discussing"
        case .completed: "Proposal ready"
        case .failed: "Failed"
        }
    }
}

/// A role at the table: its name and what it is told to care about.
struct RoundtableRole: Sendable, Equatable {
    let name: String
    let instructions: String
}

struct RoundtablePreset: Sendable {
    let name: String
    let displayName: String
    let instructions: String
}

struct RoundtableMessage: Sendable {
    /// 1: notes on the brief; 2: answers to the others; 3: the Moderator's proposal.
    let round: Int
    let position: Int
    let role: String
    let content: String
    let finishReason: String?
    /// Nil when the provider sent no usage: unknown, never $0.
    let promptTokens: Int64?
    let completionTokens: Int64?
    let cost: USD?
    let createdAt: String

    static let columns: Query = """
        round, position, role, content, finish_reason, prompt_tokens, completion_tokens, cost::text AS cost, iso(created_at) AS created_at
        """

    init(_ r: Row) {
        round = Int(r.int("round")); position = Int(r.int("position")); role = r.string("role"); content = r.string("content")
        finishReason = r["finish_reason"]; promptTokens = r.optionalInt("prompt_tokens"); completionTokens = r.optionalInt("completion_tokens")
        cost = r["cost"].flatMap { USD(parsing: $0) }; createdAt = r.string("created_at")
    }

    var json: JSON {
        .object([("role", .string(role)), ("round", .int(Int64(round))), ("content", .string(content)),
                 ("promptTokens", promptTokens.map(JSON.int) ?? .null), ("completionTokens", completionTokens.map(JSON.int) ?? .null),
                 ("cost", cost.map { JSON.number($0.jsonText) } ?? .null), ("finishReason", .optional(finishReason)),
                 ("createdAt", .string(createdAt))])
    }
}

struct Roundtable: Sendable {
    let id: Int64
    let videoID: Int64
    let userID: Int64
    let status: RoundtableStatus
    let brief: String
    let currentPrompt: String
    let settings: String  // jsonb text
    let preset: String?
    let presetInstructions: String?
    let roles: [RoundtableRole]
    let feedback: String?
    let previousRoundtableID: Int64?
    let previousProposal: String?
    let chatModel: String
    let proposal: String?
    let rationale: String?
    let errorMessage: String?
    let attempts: Int
    let createdAt: String
    let completedAt: String?
    let acceptedAt: String?
    let elapsedSeconds: Int64
    /// Sum of the calls' known costs (answered, and unanswered at their worst case); `costUnknown` when
    /// some call's cost is not known (no usage, or no price).
    let cost: USD
    let costUnknown: Bool
    /// The part of `cost` from calls that got no answer and may have been billed (`roundtable_unanswered_calls`).
    let possiblyBilled: USD
    let unansweredCalls: Int64

    static let columns: Query = """
        r.id, r.video_id, r.user_id, r.status, r.brief, r.current_prompt, r.settings::text AS settings, r.preset,
        r.preset_instructions, r.roles::text AS roles, r.feedback, r.previous_roundtable_id, r.previous_proposal, r.chat_model,
        r.proposal, r.rationale, r.error_message, r.attempts, iso(r.created_at) AS created_at, iso(r.completed_at) AS completed_at,
        iso(r.accepted_at) AS accepted_at,
        extract(epoch FROM (coalesce(r.completed_at, now()) - r.created_at))::bigint AS elapsed_seconds,
        (SELECT coalesce(sum(k.cost), 0)::text FROM roundtable_calls k WHERE k.roundtable_id = r.id) AS cost,
        EXISTS (SELECT 1 FROM roundtable_calls k WHERE k.roundtable_id = r.id AND k.cost IS NULL) AS cost_unknown,
        (SELECT coalesce(sum(u.cost), 0)::text FROM roundtable_unanswered_calls u WHERE u.roundtable_id = r.id) AS possibly_billed,
        (SELECT count(*) FROM roundtable_unanswered_calls u WHERE u.roundtable_id = r.id) AS unanswered_calls
        """

    init(_ r: Row) {
        id = r.int("id"); videoID = r.int("video_id"); userID = r.int("user_id")
        status = RoundtableStatus(rawValue: r.string("status")) ?? .failed
        brief = r.string("brief"); currentPrompt = r.string("current_prompt"); settings = r.string("settings")
        preset = r["preset"]; presetInstructions = r["preset_instructions"]
        roles = Roundtable.decodeRoles(r.string("roles"))
        feedback = r["feedback"]; previousRoundtableID = r.optionalInt("previous_roundtable_id"); previousProposal = r["previous_proposal"]
        chatModel = r.string("chat_model"); proposal = r["proposal"]; rationale = r["rationale"]; errorMessage = r["error_message"]
        attempts = Int(r.int("attempts")); createdAt = r.string("created_at"); completedAt = r["completed_at"]; acceptedAt = r["accepted_at"]
        elapsedSeconds = r.int("elapsed_seconds")
        cost = USD(parsing: r.string("cost")) ?? .zero; costUnknown = r.bool("cost_unknown")
        possiblyBilled = USD(parsing: r.string("possibly_billed")) ?? .zero; unansweredCalls = r.int("unanswered_calls")
    }

    static func decodeRoles(_ text: String) -> [RoundtableRole] {
        guard case let .array(items)? = try? JSONParser.parse(text) else { return [] }
        return items.compactMap { item in
            guard let name = item["name"]?.stringValue, let instructions = item["instructions"]?.stringValue else { return nil }
            return RoundtableRole(name: name, instructions: instructions)
        }
    }

    static func encodeRoles(_ roles: [RoundtableRole]) -> String {
        JSON.array(roles.map { .object([("name", .string($0.name)), ("instructions", .string($0.instructions))]) }).serialized
    }

    /// The settings the roles write for, e.g. "sora-2 · 8 s · 16:9 · 720p".
    var settingsSummary: String {
        let s = try? JSONParser.parse(settings)
        let duration = s?["duration"].flatMap { value -> String? in
            if case let .number(n) = value { return n } else { return value.stringValue }
        }
        return [s?["model"]?.stringValue, duration.map { "\($0) s" }, s?["aspect_ratio"]?.stringValue, s?["resolution"]?.stringValue]
            .compactMap { $0 }.joined(separator: " · ")
    }

    var costText: String {
        cost.display + (costUnknown ? " (some calls reported no usage: unknown)" : "")
            + (unansweredCalls == 0 ? "" : ", of which \(possiblyBilled.display) possibly billed for \(unansweredCalls) \(unansweredCalls == 1 ? "call" : "calls") that got no answer (counted at their worst case)")
    }

    func json(messages: [RoundtableMessage]) -> JSON {
        .object([
            ("id", .int(id)), ("videoId", .int(videoID)), ("status", .string(status.rawValue)),
            ("settings", (try? JSONParser.parse(settings)) ?? .null), ("preset", .optional(preset)), ("feedback", .optional(feedback)),
            ("previousRoundtableId", previousRoundtableID.map(JSON.int) ?? .null), ("chatModel", .string(chatModel)),
            ("messages", .array(messages.map(\.json))), ("proposal", .optional(proposal)), ("rationale", .optional(rationale)),
            // Some call had no usage: the total is not known, so no number is given (never a partial as if whole).
            ("cost", costUnknown ? .null : .number(cost.jsonText)), ("costUnknown", .bool(costUnknown)),
            ("knownCost", .number(cost.jsonText)),
            ("possiblyBilled", .number(possiblyBilled.jsonText)), ("unansweredCalls", .int(unansweredCalls)),
            ("error", .optional(errorMessage)),
            ("createdAt", .string(createdAt)), ("completedAt", .optional(completedAt)), ("acceptedAt", .optional(acceptedAt)),
        ])
    }
}
