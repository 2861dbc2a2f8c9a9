// The webhook pages in the account area: endpoints with the add form (a new endpoint's secret is shown on
// that answer only), an endpoint's delivery log with "Send again", and delete.

import Core
import Formats
import Telemetry
import Web

enum WebhookPages {
    static func list(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        return try listPage(&c, user: user, created: nil, url: "", error: nil, status: 200)
    }

    static func create(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        let form = try c.form()
        let url = form["url"] ?? ""
        do {
            let text = try Field.text(url, name: "url", max: WebhookURL.maxLength, required: true)
            var events: [WebhookEvent] = []
            if form["event_completed"] != nil { events.append(.generationCompleted) }
            if form["event_failed"] != nil { events.append(.generationFailed) }
            if form["event_film_completed"] != nil { events.append(.filmCompleted) }
            if form["event_film_failed"] != nil { events.append(.filmFailed) }
            let created = try c.webhooks.create(user: user, url: text, events: events)
            return try listPage(&c, user: user, created: created, url: "", error: nil, status: 201)
        } catch let refusal as Webhooks.Refusal {  // every refusal of a create is about what was typed
            return try listPage(
                &c, user: user, created: nil, url: url, error: refusal.httpError.publicMessage,
                status: refusal.httpError.status)
        } catch let error as InvalidInput {
            return try listPage(&c, user: user, created: nil, url: url, error: error.description, status: 422)
        }
    }

    static func delete(_ c: inout Context, id: ID<WebhookEndpoint>) throws -> Response {
        let user = try c.requireUser()
        try c.webhooks.delete(id: id, user: user)
        c.setFlash("Webhook endpoint deleted.")
        return .redirect(to: Route.webhooks(.webhooks).path)
    }

    static func redeliver(_ c: inout Context, deliveryID: ID<WebhookDelivery>) throws -> Response {
        let user = try c.requireUser()
        do {
            let delivery = try c.webhooks.redeliver(id: deliveryID, user: user)
            c.setFlash("Delivery \(delivery.messageID) will be sent again in a moment.")
            return .redirect(to: Route.webhooks(.webhook(delivery.endpointID)).path)
        } catch let refusal as Webhooks.Refusal {
            // An attempt in progress: back to the log, which says so.
            guard case let .attemptInProgress(endpointID) = refusal else { throw refusal }
            c.setFlash(refusal.httpError.publicMessage)
            return .redirect(to: Route.webhooks(.webhook(endpointID)).path)
        }
    }

    static func listPage(
        _ c: inout Context, user: User, created: (WebhookEndpoint, secret: String)?, url: String,
        error: String?, status: Int
    ) throws -> Response {
        let endpoints = try c.webhooks.store.endpoints(userID: user.id)
        let shown: HTML =
            created.map { endpoint, secret in
                """
                <div class="notice" role="status"><p>Endpoint added for <code>\(endpoint.url)</code>. Its signing secret — copy it now: it will not be shown again.</p>
                <p><code class="token">\(secret)</code></p></div>
                """
            } ?? .empty
        let rows: [HTML] = endpoints.map { e in
            """
            <tr><td><a href="\(Route.webhooks(.webhook(e.id)).path)"><code>\(e.url)</code></a></td><td>\(e.events.map(\.rawValue).joined(separator: ", "))</td>
            <td>\(Views.when(e.createdAt))</td><td>\(e.delivered) delivered, \(e.pending) pending, \(e.failed) failed</td>
            <td><form method="post" action="\(Route.webhooks(.deleteWebhook(e.id)).path)">\(Views.csrfField(c))<button type="submit" class="danger">Delete</button></form></td></tr>
            """
        }
        let table: HTML =
            endpoints.isEmpty
            ? "<p class=\"muted\">No webhook endpoints yet.</p>"
            : """
            <table><thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Added</th><th scope="col">Deliveries</th>\
            <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
        let body: HTML = """
            \(Breadcrumbs.account.html)
            <h1>Webhooks</h1>
            <p>PromptReel POSTs a signed JSON event (<a href="https://www.standardwebhooks.com/">Standard Webhooks</a>) to each endpoint
            when one of your generations completes or fails, and retries for 24 hours until it answers 2xx.</p>\(shown)\(Views.errorBox(error))
            \(table)
            <h2>Add an endpoint</h2>
            <form method="post" action="\(Route.webhooks(.webhooks).path)">\(Views.csrfField(c))
            \(Views.textField("URL (https recommended)", name: "url", value: url, type: "url", required: true, maxLength: WebhookURL.maxLength))
            <fieldset><legend>Events</legend>
            <label><input type="checkbox" name="event_completed" checked> generation.completed</label>
            <label><input type="checkbox" name="event_failed" checked> generation.failed</label>
            <label><input type="checkbox" name="event_film_completed"> film.completed</label>
            <label><input type="checkbox" name="event_film_failed"> film.failed</label>
            </fieldset>
            <button type="submit">Add endpoint</button></form>
            """
        return .html(Views.layout("Webhooks", c, body: body), status: status)
    }

    static func show(_ c: inout Context, id: ID<WebhookEndpoint>) throws -> Response {
        let user = try c.requireUser()
        let (endpoint, deliveries) = try c.webhooks.deliveryLog(endpointID: id, user: user)
        let rows: [HTML] = deliveries.map { d in
            let attempts: [HTML] = d.attemptLog.map { a in
                "<li>\(Views.when(a.at)): \(a.outcome.rawValue)\(a.statusCode.map { " (\($0))" } ?? "")\(a.error.map { " — \($0)" } ?? "")</li>"
            }
            let generation: HTML =
                d.generationID.map { "<a href=\"\(Route.generations(.generation($0)).path)\">#\($0)</a>" } ?? "—"
            let next: HTML =
                d.nextAttemptAt.map { " <span class=\"muted\">next try \(Views.when($0))</span>" } ?? .empty
            return """
                <tr><td>\(Views.when(d.createdAt))</td><td>\(d.event.rawValue)<br><code>\(d.messageID)</code></td><td>\(generation)</td>
                <td>\(d.status.rawValue)\(next)</td><td>\(d.attempts)</td><td>\(d.lastStatusCode.map { String($0) } ?? "—")</td>
                <td>\(d.lastError ?? "—")\(attempts.isEmpty ? HTML.empty : "<ol class=\"attempts\">\(attempts)</ol>")</td>
                <td><form method="post" action="\(Route.webhooks(.redeliverWebhook(delivery: d.id)).path)">\(Views.csrfField(c))<button type="submit">Send again</button></form></td></tr>
                """
        }
        let table: HTML =
            deliveries.isEmpty
            ? "<p class=\"muted\">No deliveries yet: one is sent when a generation completes or fails.</p>"
            : """
            <table><thead><tr><th scope="col">Event time</th><th scope="col">Event</th><th scope="col">Generation</th><th scope="col">Status</th>\
            <th scope="col">Attempts</th><th scope="col">Last code</th><th scope="col">Last error and attempts</th>\
            <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
        // While something is pending the log refreshes itself; the status region says how much is pending.
        let pending = deliveries.filter { $0.status == .pending }.count
        let refresh = AutoRefresh(c, page: .webhooks(.webhook(endpoint.id)), every: 5, while: pending > 0)
        let status: HTML =
            refresh.map {
                "<p role=\"status\">\(pending == 1 ? "1 delivery is" : "\(pending) deliveries are") pending.</p>\(Views.refreshControl($0))"
            } ?? .empty
        let body: HTML = """
            \(Breadcrumbs.account.then("Webhooks", .webhooks(.webhooks)).html)
            <h1>Deliveries to <code>\(endpoint.url)</code></h1>
            <p>Events: \(endpoint.events.map(\.rawValue).joined(separator: ", ")). The latest 50 deliveries, newest first.</p>
            \(status)
            \(table)
            """
        return .html(Views.layout("Webhook deliveries", c, body: body, refresh: refresh), status: 200)
    }
}
