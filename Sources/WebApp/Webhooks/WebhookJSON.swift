// The JSON wire format of webhook endpoints, deliveries and attempts: the API's, beside its handlers.

import Core
import Formats
import Web

extension WebhookEndpoint {
    var json: JSON {
        .object([
            ("id", .id(id)), ("url", .string(url)), ("events", .array(events.map { .string($0.rawValue) })),
            ("createdAt", .string(createdAt.iso)),
            (
                "deliveries",
                .object([("pending", .int(pending)), ("delivered", .int(delivered)), ("failed", .int(failed))])
            ),
        ])
    }
}

extension WebhookAttempt {
    var json: JSON {
        .object([
            ("at", .string(at.iso)), ("outcome", .string(outcome.rawValue)),
            ("statusCode", statusCode.map { JSON.int($0) } ?? .null),
            ("error", .optional(error)), ("durationMs", .int(durationMs)),
        ])
    }
}

extension WebhookDelivery {
    var json: JSON {
        .object([
            ("id", .id(id)), ("endpointId", .id(endpointID)), ("type", .string(event.rawValue)),
            ("webhookId", .string(messageID)),
            ("generationId", generationID.map(JSON.id) ?? .null), ("status", .string(status.rawValue)),
            ("attempts", .int(attempts)), ("nextAttemptAt", .optional(nextAttemptAt?.iso)),
            ("lastAttemptAt", .optional(lastAttemptAt?.iso)),
            ("lastStatusCode", lastStatusCode.map { JSON.int($0) } ?? .null), ("lastError", .optional(lastError)),
            ("deliveredAt", .optional(deliveredAt?.iso)), ("createdAt", .string(createdAt.iso)),
            ("attemptLog", .array(attemptLog.map(\.json))),
        ])
    }
}
