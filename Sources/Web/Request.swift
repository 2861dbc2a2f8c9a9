// A transport-free HTTP request: what any handler sees, whatever carried it (FastCGI, a test).

public import Formats

public struct Request: Sendable {
    public var method: String
    /// The path without the query string, percent-decoded segments are left to the router.
    public var path: String
    public var query: [String: String]
    /// Header names are lowercased (`content-type`, `authorization`, …).
    public var headers: [String: String]
    public var body: [UInt8]
    public var remoteAddress: String
    /// True when the client reached nginx over https (decides the cookie `Secure` flag).
    public var isHTTPS: Bool
    /// nginx's `$request_id` (the REQUEST_ID param), or one made by the edge: in every log line about
    /// this request and in the `X-Request-Id` answer header.
    public var requestID = ""

    public init(
        method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
        body: [UInt8] = [], remoteAddress: String = "127.0.0.1", isHTTPS: Bool = false
    ) {
        self.method = method.uppercased()
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.isHTTPS = isHTTPS
    }

    /// Builds a request from a target such as `/a/b?x=1`.
    public init(method: String, target: String, headers: [String: String] = [:], body: [UInt8] = []) {
        let (path, queryString) = Request.split(target: target)
        self.init(method: method, path: path, query: FormDecoder.lenient(queryString), headers: headers, body: body)
    }

    static func split(target: String) -> (String, String) {
        guard let mark = target.firstIndex(of: "?") else { return (target, "") }
        return (String(target[..<mark]), String(target[target.index(after: mark)...]))
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    public var cookies: [String: String] { Cookies.parse(header("cookie") ?? "") }

    public var contentType: String {
        (header("content-type") ?? "").split(separator: ";").first.map {
            $0.trimmingWhitespace.lowercased()
        } ?? ""
    }

    /// The bearer token of an `Authorization: Bearer …` header, if any.
    public var bearerToken: String? {
        guard let value = header("authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingWhitespace
        return token.isEmpty ? nil : token
    }

    /// The body as an url-encoded form; invalid encodings surface as `FormError` naming the field.
    public func form() throws(FormError) -> Form {
        try FormDecoder.strict(body)
    }

    /// The body as JSON; anything else is a 400 or 415 the caller can report.
    public func json() throws(JSONError) -> JSONDocument {
        guard contentType == "application/json" || contentType.hasSuffix("+json") else {
            throw JSONError.wrongContentType
        }
        return try JSONParser.parse(body)
    }
}

/// The methods PromptReel answers (HEAD is answered as GET). A route's handlers are keyed by these, never by
/// method strings.
public enum HTTPMethod: String, Sendable, CaseIterable, Comparable {
    case get = "GET", post = "POST", put = "PUT", patch = "PATCH", delete = "DELETE"

    /// The request's method as one of these (HEAD as GET); nil for any other.
    public init?(of request: Request) {
        self.init(rawValue: request.method == "HEAD" ? "GET" : request.method)
    }

    public static func < (a: HTTPMethod, b: HTTPMethod) -> Bool { a.rawValue < b.rawValue }
}
