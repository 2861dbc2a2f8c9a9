// Account operations shared by the command line and the pages.

public import Postgres
import Web

public enum Accounts {
    public struct Created: Sendable {
        public let id: Int64
        public let email: String
    }

    public enum Failure: Error, CustomStringConvertible {
        case invalid(String)
        case noSuchUser
        public var description: String {
            switch self {
            case let .invalid(m): m
            case .noSuchUser: "no user with that email"
            }
        }
    }

    public static func createUser(_ db: Connection, email: String, password: String) throws -> Created {
        do {
            let email = try Field.email(email)
            let password = try Field.newPassword(password)
            guard let hash = Crypto.hashPassword(password) else { throw Failure.invalid("could not hash the password") }
            let user = try Store(db: db).createUser(email: email, passwordHash: hash)
            return Created(id: user.id, email: user.email)
        } catch let error as HTTPError {
            throw Failure.invalid(error.publicMessage)
        }
    }

    /// Creates a personal API token and returns it; only its hash is stored.
    public static func createToken(_ db: Connection, email: String, name: String) throws -> String {
        let store = Store(db: db)
        guard let (user, _) = try store.userWithPassword(email: email) else { throw Failure.noSuchUser }
        let token = "pr_" + Crypto.randomToken()
        try store.createAPIToken(userID: user.id, name: name, tokenHash: Crypto.sha256(token))
        return token
    }
}
