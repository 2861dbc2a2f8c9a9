// The one error vocabulary handlers throw; the app maps it to a status, a public message and a log line.

public import Formats

public struct HTTPError: Error, Sendable {
    public var status: Int
    /// Machine-readable code for JSON clients (`not_found`, `validation_failed`, …).
    public var code: String
    /// Safe to show to the user.
    public var publicMessage: String
    /// For the log only: may hold internals, never secrets.
    public var logDetail: String?
    public var headers: [(String, String)]
    /// Extra string fields of the JSON error object (`remaining` of a budget refusal).
    public var fields: [(String, String)] = []
    /// Extra fields of other JSON types (`videoIds` of a `shots_missing` refusal).
    public var jsonFields: [(String, JSON)] = []

    public init(
        _ status: Int, _ code: String, _ publicMessage: String, logDetail: String? = nil,
        headers: [(String, String)] = []
    ) {
        self.status = status
        self.code = code
        self.publicMessage = publicMessage
        self.logDetail = logDetail
        self.headers = headers
    }

    public static func notFound(_ what: String = "Not found.") -> HTTPError { HTTPError(404, "not_found", what) }
    public static func badRequest(_ message: String) -> HTTPError { HTTPError(400, "bad_request", message) }
    public static func validation(field: String, _ message: String) -> HTTPError {
        HTTPError(422, "validation_failed", "\(field): \(message)")
    }
    public static let unauthorized = HTTPError(401, "unauthorized", "Sign in, or send a valid API token.")
    public static let csrf = HTTPError(
        403, "csrf_failed", "The form expired or was not sent from this site. Reload the page and try again.")
    public static let readOnlyToken = HTTPError(
        403, "read_only_token", "This API token may only read. Create a token with the full scope to make changes.")
    public static let methodNotAllowed = HTTPError(405, "method_not_allowed", "That method is not allowed here.")
    public static let tooLarge = HTTPError(413, "body_too_large", "The request body is too large.")
}
