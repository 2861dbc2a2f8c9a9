// The one place an HTTPError becomes a response: JSON under /api, a readable page elsewhere.

import Formats

public enum ErrorPages {
    public static func isAPI(_ request: Request) -> Bool {
        request.path == "/api" || request.path.hasPrefix("/api/")
    }

    public static func response(for error: HTTPError, request: Request, page: ((HTTPError) -> HTML)? = nil) -> Response
    {
        var response: Response
        if isAPI(request) {
            response = .json(
                .object([
                    (
                        "error",
                        .object(
                            [
                                ("code", .string(error.code)), ("message", .string(error.publicMessage)),
                            ] + error.fields.map { ($0.0, JSON.string($0.1)) } + error.jsonFields)
                    )
                ]), status: error.status)
        } else {
            response = .html(page?(error) ?? plainPage(error), status: error.status)
        }
        for (name, value) in error.headers { response.addHeader(name, value) }
        return response
    }

    /// The error's stable code, small, under its message: what to quote when asking for help, and what a
    /// program reading the page matches (the JSON API has it in its envelope).
    public static func codeLine(_ error: HTTPError) -> HTML {
        "<p class=\"error-code muted\">Code: \(error.code)</p>"
    }

    static func plainPage(_ error: HTTPError) -> HTML {
        let title = Response(status: error.status).reasonPhrase
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(title) · PromptReel</title>\
            <link rel="stylesheet" href="/static/style.css"></head><body><main class="narrow"><h1>\(title)</h1>\
            <p>\(error.publicMessage)</p>\(codeLine(error))<p><a href="/dashboard">Back to your dashboard</a></p></main></body></html>
            """
    }
}
