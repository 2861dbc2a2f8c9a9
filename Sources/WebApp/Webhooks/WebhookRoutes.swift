// The webhooks area's routes: each path parsed and printed in one place, and the handlers that answer it.

package import Core
import Web

package enum WebhookRoute: Equatable, Sendable {
    /// GET: the user's webhook endpoints and the add form; POST: add one (its secret shown once).
    case webhooks
    /// GET: an endpoint's delivery log.
    case webhook(ID<WebhookEndpoint>)
    case deleteWebhook(ID<WebhookEndpoint>)
    /// POST: "send again".
    case redeliverWebhook(delivery: ID<WebhookDelivery>)
    case apiWebhooks  // GET: list; POST: create
    case apiWebhook(ID<WebhookEndpoint>)  // GET, DELETE
    case apiWebhookDeliveries(ID<WebhookEndpoint>)
    case apiRedeliverWebhook(delivery: ID<WebhookDelivery>)

    init?(_ p: PathParts) {
        switch p.segments {
        case ["account", "webhooks"]: self = .webhooks
        case ["api", "webhooks"]: self = .apiWebhooks
        default:
            guard let (a, b, value, rest) = p.withID else { return nil }
            switch (a, b, rest) {
            case ("account", "webhooks", []): self = .webhook(ID(value))
            case ("account", "webhooks", ["delete"]): self = .deleteWebhook(ID(value))
            case ("account", "webhook-deliveries", ["redeliver"]): self = .redeliverWebhook(delivery: ID(value))
            case ("api", "webhooks", []): self = .apiWebhook(ID(value))
            case ("api", "webhooks", ["deliveries"]): self = .apiWebhookDeliveries(ID(value))
            case ("api", "webhook-deliveries", ["redeliver"]): self = .apiRedeliverWebhook(delivery: ID(value))
            default: return nil
            }
        }
    }

    var path: String {
        switch self {
        case .webhooks: "/account/webhooks"
        case let .webhook(id): "/account/webhooks/\(id)"
        case let .deleteWebhook(id): "/account/webhooks/\(id)/delete"
        case let .redeliverWebhook(delivery): "/account/webhook-deliveries/\(delivery)/redeliver"
        case .apiWebhooks: "/api/webhooks"
        case let .apiWebhook(id): "/api/webhooks/\(id)"
        case let .apiWebhookDeliveries(id): "/api/webhooks/\(id)/deliveries"
        case let .apiRedeliverWebhook(delivery): "/api/webhook-deliveries/\(delivery)/redeliver"
        }
    }

    /// Which methods each route answers, and with what.
    var handlers: [HTTPMethod: App.Handler] {
        switch self {
        case .webhooks: [.get: WebhookPages.list, .post: WebhookPages.create]
        case let .webhook(id): [.get: { try WebhookPages.show(&$0, id: id) }]
        case let .deleteWebhook(id): [.post: { try WebhookPages.delete(&$0, id: id) }]
        case let .redeliverWebhook(delivery): [.post: { try WebhookPages.redeliver(&$0, deliveryID: delivery) }]
        case .apiWebhooks: [.get: WebhookAPI.list, .post: WebhookAPI.create]
        case let .apiWebhook(id):
            [.get: { try WebhookAPI.one(&$0, id: id) }, .delete: { try WebhookAPI.delete(&$0, id: id) }]
        case let .apiWebhookDeliveries(id): [.get: { try WebhookAPI.deliveries(&$0, id: id) }]
        case let .apiRedeliverWebhook(delivery): [.post: { try WebhookAPI.redeliver(&$0, deliveryID: delivery) }]
        }
    }
}
