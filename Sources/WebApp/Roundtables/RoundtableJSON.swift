// The JSON wire format of roundtables: the API's, beside its handlers.

import Core
import Formats
import Web

extension RoundtableMessage {
    var json: JSON {
        .object([
            ("role", .string(role)), ("round", .int(Int64(round))), ("content", .string(content)),
            ("promptTokens", promptTokens.map(JSON.int) ?? .null),
            ("completionTokens", completionTokens.map(JSON.int) ?? .null),
            ("cost", cost.map { JSON.number($0.jsonText) } ?? .null), ("finishReason", .optional(finishReason)),
            ("createdAt", .string(createdAt.iso)),
        ])
    }
}

extension Roundtable {
    func json(messages: [RoundtableMessage]) -> JSON {
        .object([
            ("id", .id(id)), ("videoId", .id(videoID)), ("status", .string(status.rawValue)),
            ("settings", settings.document), ("preset", .optional(preset)),
            ("feedback", .optional(feedback)),
            ("previousRoundtableId", previousRoundtableID.map(JSON.id) ?? .null), ("chatModel", .string(chatModel)),
            ("messages", .array(messages.map(\.json))), ("proposal", .optional(proposal)),
            ("rationale", .optional(rationale)),
            // Some call had no usage: the total is not known, so no number is given (never a partial as if whole).
            ("cost", costUnknown ? .null : .number(cost.jsonText)), ("costUnknown", .bool(costUnknown)),
            ("knownCost", .number(cost.jsonText)),
            ("possiblyBilled", .number(possiblyBilled.jsonText)), ("unansweredCalls", .int(unansweredCalls)),
            ("error", .optional(errorMessage)),
            ("createdAt", .string(createdAt.iso)), ("completedAt", .optional(completedAt?.iso)),
            ("acceptedAt", .optional(acceptedAt?.iso)),
        ])
    }
}
