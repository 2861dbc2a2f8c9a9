// The shared page layout and small building blocks. All text goes through HTML interpolation,
// which escapes it; every form carries the CSRF token.

import Web

enum Views {
    static func layout(_ title: String, _ context: Context, body: HTML) -> HTML {
        let nav: HTML
        if let user = context.user {
            nav = """
                <nav aria-label="Main"><a href="\(Route.dashboard.path)">Dashboard</a>\
                <a href="\(Route.account.path)">Account</a>\
                <form method="post" action="\(Route.logout.path)" class="inline">\(csrfField(context))\
                <button type="submit" class="link">Log out <span class="muted">(\(user.email))</span></button></form></nav>
                """
        } else {
            nav = """
                <nav aria-label="Main"><a href="\(Route.login.path)">Log in</a><a href="\(Route.signup.path)">Sign up</a></nav>
                """
        }
        let flash: HTML = context.flash.map { "<p class=\"flash\" role=\"status\">\($0)</p>" } ?? .empty
        return document(title, header: nav, main: flash + body)
    }

    static func document(_ title: String, header: HTML, main: HTML) -> HTML {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
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

    static func errorPage(_ error: HTTPError) -> HTML {
        let title = Response(status: error.status).reasonPhrase
        return document(title, header: .empty, main: """
            <h1>\(title)</h1><p>\(error.publicMessage)</p><p><a href="\(Route.dashboard.path)">Back to your dashboard</a></p>
            """)
    }

    static func csrfField(_ context: Context) -> HTML {
        "<input type=\"hidden\" name=\"_csrf\" value=\"\(context.csrfToken)\">"
    }

    static func errorBox(_ message: String?) -> HTML {
        guard let message else { return .empty }
        return "<p class=\"error\" role=\"alert\">\(message)</p>"
    }

    static func textField(_ label: String, name: String, value: String = "", type: String = "text",
                          required: Bool = false, maxLength: Int? = nil, autocomplete: String? = nil) -> HTML {
        let req: HTML = required ? " required" : .empty
        let max: HTML = maxLength.map { " maxlength=\"\($0)\"" } ?? .empty
        let auto: HTML = autocomplete.map { " autocomplete=\"\($0)\"" } ?? .empty
        return """
            <label for="\(name)">\(label)</label>
            <input id="\(name)" name="\(name)" type="\(type)" value="\(value)"\(req)\(max)\(auto)>
            """
    }

    static func textArea(_ label: String, name: String, value: String = "", rows: Int = 4, maxLength: Int, hint: String? = nil) -> HTML {
        let hintHTML: HTML = hint.map { "<small id=\"\(name)-hint\">\($0)</small>" } ?? .empty
        return """
            <label for="\(name)">\(label)</label>\(hintHTML)
            <textarea id="\(name)" name="\(name)" rows="\(rows)" maxlength="\(maxLength)">\(value)</textarea>
            """
    }
}
