// The shared page layout and small building blocks. All text goes through HTML interpolation,
// which escapes it; every form carries the CSRF token.

import Core
import Telemetry
import Web

enum Views {
    /// `refresh`: the page follows something running (see `AutoRefresh`); then the page's own status region
    /// is its only `role="status"`, so the flash is plain text.
    static func layout(_ title: String, _ context: Context, body: HTML, refresh: AutoRefresh? = nil) -> HTML {
        let nav: HTML
        if let user = context.user {
            nav = """
                <nav aria-label="Main"><a href="\(Route.library(.dashboard).path)">Dashboard</a>\
                <a href="\(Route.usage(.usage).path)">Usage</a>\
                <a href="\(Route.accounts(.account).path)">Account</a>\
                <form method="post" action="\(Route.accounts(.logout).path)" class="inline">\(csrfField(context))\
                <button type="submit" class="link">Log out <span class="muted">(\(user.email))</span></button></form></nav>
                """
        } else {
            nav = """
                <nav aria-label="Main"><a href="\(Route.accounts(.login).path)">Log in</a><a href="\(Route.accounts(.signup).path)">Sign up</a></nav>
                """
        }
        let flashRole: HTML = refresh == nil ? " role=\"status\"" : .empty
        let flash: HTML = context.flash.map { "<p class=\"flash\"\(flashRole)>\($0)</p>" } ?? .empty
        // Signed-in pages say when the provider breaker holds new generations back.
        let degraded = context.user != nil ? context.degradedProviders() : []
        let others = degraded.filter { $0 != Provider.defaultName }
        let banner: HTML =
            degraded.isEmpty
            ? .empty
            : others.isEmpty
                ? "<p class=\"banner-provider\" role=\"alert\">The video provider is not answering; your generation is queued and will start when it is back.</p>"
                : "<p class=\"banner-provider\" role=\"alert\">Not answering: \(degraded.map { $0 == Provider.defaultName ? "the default video provider" : "provider \($0)" }.joined(separator: ", ")). Generations on its models are queued and start when it is back; other models are not affected.</p>"
        let badge: HTML =
            context.config.providerIsSimulator
            ? "<p class=\"badge-sim\" role=\"note\"><strong>Simulator</strong>: videos come from PromptReel's built-in simulator, not a real video model, and nothing is billed.</p>"
            : .empty
        return document(title, header: nav, main: badge + banner + flash + body, refreshSeconds: refresh?.metaSeconds)
    }

    /// A page for someone outside the app (a film's read-only link): no navigation, not even the brand link.
    static func sharedDocument(_ title: String, main: HTML) -> HTML {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>\(title) · PromptReel</title>
        <link rel="stylesheet" href="/static/style.css">
        </head>
        <body>
        <header class="top"><span class="brand">PromptReel</span></header>
        <main>
        \(main)
        </main>
        </body>
        </html>

        """
    }

    static func document(_ title: String, header: HTML, main: HTML, refreshSeconds: Int? = nil) -> HTML {
        let refresh: HTML = refreshSeconds.map { "\n<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? .empty
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">\(refresh)
            <title>\(title) · PromptReel</title>
            <link rel="stylesheet" href="/static/style.css">
            </head>
            <body>
            <header class="top"><a class="brand" href="/">PromptReel</a>\(header)</header>
            <main>
            \(main)
            </main>
            </body>
            </html>

            """
    }

    /// The refresh notice of a page that follows something running: "Stop updating" while it refreshes
    /// itself; "Check again" (a GET form to the same page that keeps `?refresh=off`) once it does not.
    static func refreshControl(_ refresh: AutoRefresh) -> HTML {
        let off = "\(refresh.path)?\(AutoRefresh.parameter)=\(AutoRefresh.off)"
        let checkAgain: HTML = """
            <form method="get" action="\(refresh.path)" class="inline"><input type="hidden" name="\(AutoRefresh.parameter)" value="\(AutoRefresh.off)">\
            <button type="submit" class="secondary">Check again</button></form>
            """
        return switch refresh.stopped {
        case nil:
            """
            <p class="notice refresh-control">This page updates itself every \(refresh.seconds) seconds. \
            <a href="\(off)">Stop updating</a></p>
            """
        case .byLink?:
            """
            <div class="notice refresh-control"><p>This page does not update itself now. \
            <a href="\(refresh.path)">Update automatically again</a></p>\(checkAgain)</div>
            """
        case .byPreference?:
            """
            <div class="notice refresh-control"><p>This page does not update itself: automatic updates are off in your \
            <a href="\(Route.accounts(.account).path)#preferences">account</a>.</p>\(checkAgain)</div>
            """
        }
    }

    /// "$0.40" from numeric text; always two decimals.
    static func dollars(_ amount: String) -> String {
        let parts = amount.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts.first.map(String.init) ?? "0"
        var cents = parts.count > 1 ? String(parts[1]) : ""
        while cents.count > 2 && cents.hasSuffix("0") { cents.removeLast() }
        while cents.count < 2 { cents += "0" }
        return "$\(whole.isEmpty ? "0" : whole).\(cents)"
    }

    /// "$0.10/s" from a per-second price such as "0.1000" (more decimals only when they matter).
    static func perSecond(_ price: String) -> String { dollars(price) + "/s" }

    /// `<time>` with a readable UTC date: "6 Dec 2026, 23:38 UTC".
    static func when(_ t: Timestamp) -> HTML {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return
            "<time datetime=\"\(t.iso)\">\(t.day) \(months[t.month - 1]) \(String(t.year)), \(t.clockText) UTC</time>"
    }

    static func statusBadge(_ status: GenerationStatus) -> HTML {
        "<span class=\"status status-\(status.rawValue)\">\(status.label)</span>"
    }

    /// A video card's badge: its latest generation's status, or "Not generated".
    static func latestBadge(_ video: Video) -> HTML {
        video.latest.map { statusBadge($0.status) } ?? "<span class=\"status\">Not generated</span>"
    }

    /// A card's small poster of `generation` (nil: the empty frame).
    static func thumbnail(_ generation: ID<Generation>?) -> HTML {
        guard let generation else { return "<span class=\"thumb-empty\" aria-hidden=\"true\"></span>" }
        return "<img src=\"\(Generation.mediaURL(generation, .thumbnail))\" alt=\"\" width=\"96\" height=\"54\">"
    }

    static func errorPage(_ error: HTTPError) -> HTML {
        let title = Response(status: error.status).reasonPhrase
        return document(
            title, header: .empty,
            main: """
                <h1>\(title)</h1><p>\(error.publicMessage)</p>\(ErrorPages.codeLine(error))<p><a href="\(Route.library(.dashboard).path)">Back to your dashboard</a></p>
                """)
    }

    static func csrfField(_ context: Context) -> HTML {
        "<input type=\"hidden\" name=\"_csrf\" value=\"\(context.csrfToken)\">"
    }

    static func errorBox(_ message: String?) -> HTML {
        guard let message else { return .empty }
        return "<p class=\"error\" role=\"alert\">\(message)</p>"
    }

    static func textField(
        _ label: String, name: String, value: String = "", type: String = "text",
        required: Bool = false, maxLength: Int? = nil, autocomplete: String? = nil
    ) -> HTML {
        let req: HTML = required ? " required" : .empty
        let max: HTML = maxLength.map { " maxlength=\"\($0)\"" } ?? .empty
        let auto: HTML = autocomplete.map { " autocomplete=\"\($0)\"" } ?? .empty
        return """
            <label for="\(name)">\(label)</label>
            <input id="\(name)" name="\(name)" type="\(type)" value="\(value)"\(req)\(max)\(auto)>
            """
    }

    static func textArea(
        _ label: String, name: String, value: String = "", rows: Int = 4, maxLength: Int, hint: String? = nil
    ) -> HTML {
        let hintHTML: HTML = hint.map { "<small id=\"\(name)-hint\">\($0)</small>" } ?? .empty
        return """
            <label for="\(name)">\(label)</label>\(hintHTML)
            <textarea id="\(name)" name="\(name)" rows="\(rows)" maxlength="\(maxLength)">\(value)</textarea>
            """
    }

    /// The confirmation step of a delete: what goes, and the button — or, while something is in flight,
    /// why it cannot go now (`refusal`) and no button.
    static func deletionPage(
        _ c: Context, thing: String, name: String, crumbs: Breadcrumbs, goes: String, summary: String,
        action: String, back: String, refusal: String?, status: Int
    ) -> Response {
        let form: HTML =
            if let refusal {
                """
                <p class="error" role="alert">This \(thing) cannot be deleted now. \(refusal)</p>
                <p><a href="\(back)">Back to the \(thing)</a></p>
                """
            } else {
                """
                <form method="post" action="\(action)">\(csrfField(c))
                <button type="submit" class="danger">Delete this \(thing)</button> <a href="\(back)">Cancel</a></form>
                """
            }
        let body: HTML = """
            \(crumbs.html)
            <h1>Delete “\(name)”?</h1>
            <p>This deletes \(goes): <strong>\(summary)</strong>. It cannot be undone.</p>
            <p class="muted">What its generations and roundtables cost stays in your spend: that record is never deleted.</p>
            \(form)
            """
        return .html(layout("Delete \(thing)", c, body: body), status: status)
    }
}

/// A page that refreshes itself (meta refresh) while something it shows is running. WCAG 2.2.1 asks that a
/// user can turn a timed refresh off: the account preference does so on every such page, and "Stop updating"
/// (`?refresh=off`) on this one; either way the page offers "Check again" instead.
struct AutoRefresh: Equatable {
    static let parameter = "refresh"
    static let off = "off"

    enum Stop: Equatable { case byLink, byPreference }

    let seconds: Int
    /// The page's path, without a query: where "Check again" and "Stop updating" lead.
    let path: String
    /// Why the page does not refresh itself; nil while it does.
    let stopped: Stop?

    /// nil when nothing on the page is running (nothing to follow, no notice).
    init?(_ context: Context, page: Route, every seconds: Int, while running: Bool) {
        guard running else { return nil }
        self.seconds = seconds
        path = page.path
        if context.user?.refreshPages == false {
            stopped = .byPreference
        } else if context.request.query[AutoRefresh.parameter] == AutoRefresh.off {
            stopped = .byLink
        } else {
            stopped = nil
        }
    }

    /// The meta refresh's interval, nil once stopped.
    var metaSeconds: Int? { stopped == nil ? seconds : nil }
}
