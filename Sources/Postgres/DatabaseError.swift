// SQLSTATE mapped to the few cases the application treats differently.

public enum DatabaseError: Error, Sendable, CustomStringConvertible {
    /// The server cannot be reached or the connection broke (maps to 503).
    case unavailable(String)
    /// 23505: a unique constraint, named so callers can say which value is taken (maps to 409).
    case uniqueViolation(constraint: String?, message: String)
    /// 23503: a referenced row is missing (maps to 409).
    case foreignKeyViolation(constraint: String?, message: String)
    /// 23514 / 23502 / 22xxx: the data broke a rule the database enforces (maps to 422).
    case invalidData(sqlState: String, message: String)
    /// 40001 / 40P01: serialization failure or deadlock; safe to retry the transaction.
    case retryable(sqlState: String, message: String)
    /// 57014: the statement ran past the connection's `statement_timeout` (maps to 503).
    case timedOut(String)
    /// Anything else: a bug or an outage, logged, answered with 500.
    case other(sqlState: String, message: String)

    static func from(sqlState: String, message: String, constraint: String?, connectionBroken: Bool) -> DatabaseError {
        if connectionBroken || sqlState.hasPrefix("08") || sqlState == "57P01" || sqlState == "57P02"
            || sqlState == "57P03"
        {
            return .unavailable(message)
        }
        switch sqlState {
        case "23505": return .uniqueViolation(constraint: constraint, message: message)
        case "23503": return .foreignKeyViolation(constraint: constraint, message: message)
        case "23514", "23502": return .invalidData(sqlState: sqlState, message: message)
        case "40001", "40P01": return .retryable(sqlState: sqlState, message: message)
        case "57014": return .timedOut(message)
        default:
            if sqlState.hasPrefix("22") { return .invalidData(sqlState: sqlState, message: message) }
            return .other(sqlState: sqlState, message: message)
        }
    }

    public var description: String {
        switch self {
        case let .unavailable(m): "database unavailable: \(m)"
        case let .uniqueViolation(c, m): "unique violation (\(c ?? "?")): \(m)"
        case let .foreignKeyViolation(c, m): "foreign key violation (\(c ?? "?")): \(m)"
        case let .invalidData(s, m): "invalid data (\(s)): \(m)"
        case let .retryable(s, m): "retryable (\(s)): \(m)"
        case let .timedOut(m): "statement timed out: \(m)"
        case let .other(s, m): "database error (\(s)): \(m)"
        }
    }
}

extension DatabaseError {
    public var isUniqueViolation: Bool {
        if case .uniqueViolation = self { true } else { false }
    }
    public var isForeignKeyViolation: Bool {
        if case .foreignKeyViolation = self { true } else { false }
    }
}
