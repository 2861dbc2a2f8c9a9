// The domain's own errors, apart from HTTP: services and field rules throw these (and each capability its
// `Refusal`), and WebApp's `ErrorMapping` alone turns them into a status, a public message and a log line.
// The command line prints their messages as they are.

/// Input that breaks a rule, named by the field it is about: pages show it beside the form, the API
/// answers it (422), the CLI prints it.
package struct InvalidInput: Error, Sendable, Equatable, CustomStringConvertible {
    /// Machine-readable: `validation_failed`, or a kind of its own (`invalid_cursor`, `invalid_filter`…).
    package var code: String
    /// The input it is about; nil when the rule is about several at once.
    package var field: String?
    package var message: String

    package init(field: String?, _ message: String, code: String = "validation_failed") {
        self.field = field
        self.message = message
        self.code = code
    }

    /// "name: must not be empty": the words every surface shows.
    package var description: String { field.map { "\($0): \(message)" } ?? message }
}

/// Not there, or not the caller's: the same answer either way (someone else's id is a 404).
package struct NotFound: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String = "Not found.") { self.message = message }
    package var description: String { message }
}

/// The server cannot do this now for a reason an operator fixes (a missing package or setting).
package struct Unavailable: Error, Sendable, CustomStringConvertible {
    package var code: String
    package var message: String
    /// For the log only.
    package var logDetail: String?
    package init(code: String, _ message: String, logDetail: String? = nil) {
        self.code = code
        self.message = message
        self.logDetail = logDetail
    }
    package var description: String { message }
}
