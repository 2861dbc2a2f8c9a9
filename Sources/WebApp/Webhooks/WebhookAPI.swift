// The webhook JSON API: endpoints (list, create — the secret is in the creation answer only — read,
// delete), an endpoint's deliveries with their attempts, and "send again".

import Core
import Formats
import Telemetry
import Web

enum WebhookAPI {
    /// GET /api/webhooks
    static func list(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        return .json(.object([("webhooks", .array(try c.webhooks.store.endpoints(userID: user.id).map(\.json)))]))
    }

    /// POST /api/webhooks {"url", "events"?: ["generation.completed", "generation.failed"] (default: both)}
    static func create(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        let doc = try Field.jsonObject(Field.jsonBody(c.request))
        let url = try Field.text(Field.json(doc, "url"), name: "url", max: WebhookURL.maxLength, required: true)
        let names: [String]?
        switch doc.root["events"] {
        case nil, .null?: names = nil
        case let .array(items)?:
            names = try items.map { item throws(InvalidInput) -> String in
                guard let name = item.stringValue else {
                    throw InvalidInput(field: "events", "must be a list of event names")
                }
                return name
            }
        default: throw InvalidInput(field: "events", "must be a list of event names")
        }
        let (endpoint, secret) = try c.webhooks.create(user: user, url: url, events: try Webhooks.events(names))
        guard case let .object(pairs) = endpoint.json else { return .json(endpoint.json, status: 201) }
        // The secret is shown this once; later answers never carry it.
        var response = Response.json(.object(pairs + [("secret", .string(secret))]), status: 201)
        response.addHeader("Location", Route.webhooks(.apiWebhook(endpoint.id)).path)
        return response
    }

    /// GET /api/webhooks/{id}
    static func one(_ c: inout Context, id: ID<WebhookEndpoint>) throws -> Response {
        let user = try c.requireUser()
        return .json(try c.webhooks.endpoint(id: id, user: user).json)
    }

    /// DELETE /api/webhooks/{id}: the endpoint and its delivery log.
    static func delete(_ c: inout Context, id: ID<WebhookEndpoint>) throws -> Response {
        let user = try c.requireUser()
        try c.webhooks.delete(id: id, user: user)
        return Response(status: 204)
    }

    /// GET /api/webhooks/{id}/deliveries — the latest 50, newest first, each with its attempts.
    static func deliveries(_ c: inout Context, id: ID<WebhookEndpoint>) throws -> Response {
        let user = try c.requireUser()
        return .json(
            .object([("deliveries", .array(try c.webhooks.deliveryLog(endpointID: id, user: user).1.map(\.json)))]))
    }

    /// POST /api/webhook-deliveries/{id}/redeliver — due again at once (same webhook-id and body).
    static func redeliver(_ c: inout Context, deliveryID: ID<WebhookDelivery>) throws -> Response {
        let user = try c.requireUser()
        return .json(try c.webhooks.redeliver(id: deliveryID, user: user).json, status: 202)
    }
}
