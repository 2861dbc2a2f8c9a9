// Account operations shared by the command line and the pages.

public import Postgres

public enum Accounts {
    public struct Created: Sendable {
        public let id: Int64
        public let email: String
        public let role: Role
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case invalid(String)
        case noSuchUser
        /// The change would leave the instance without an enabled admin.
        case lastAdmin
        public var description: String {
            switch self {
            case let .invalid(m): m
            case .noSuchUser: "no user with that email"
            case .lastAdmin: "refused: this would leave no enabled admin (make another account admin first)"
            }
        }
    }

    /// `admin: true` makes an admin; otherwise the first account of the instance is one and later ones are members.
    public static func createUser(_ db: Connection, email: String, password: String, admin: Bool = false) throws
        -> Created
    {
        do {
            let email = try Field.email(email)
            let password = try Field.newPassword(password)
            guard let hash = Crypto.hashPassword(password) else { throw Failure.invalid("could not hash the password") }
            let user = try Store(db: db).createUser(email: email, passwordHash: hash, role: admin ? .admin : nil)
            return Created(id: user.id.rawValue, email: user.email, role: user.role)
        } catch let error as InvalidInput {
            throw Failure.invalid(error.description)
        } catch let error as Unavailable {
            throw Failure.invalid(error.message)
        }
    }

    /// Creates a personal API token and returns it; only its hash is stored.
    public static func createToken(_ db: Connection, email: String, name: String, scope: TokenScope = .full) throws
        -> String
    {
        let store = Store(db: db)
        guard let (user, _, _) = try store.userWithPassword(email: email) else { throw Failure.noSuchUser }
        let token = "pr_" + Crypto.randomToken()
        try store.createAPIToken(userID: user.id, name: name, tokenHash: Crypto.sha256(token), scope: scope)
        return token
    }

    /// A one-time link (an hour) that sets the user's password; only its hash is kept. Returns the token.
    public static func createResetLink(_ db: Connection, email: String) throws -> String {
        guard let id = try Store(db: db).userID(email: email),
            let token = try AccountStore(db: db, idleSeconds: 0).createReset(userID: id, by: nil)
        else { throw Failure.noSuchUser }
        return token
    }

    public static func setRole(_ db: Connection, email: String, role: Role, cache: AnswerCache? = nil) throws {
        guard let id = try Store(db: db).userID(email: email) else { throw Failure.noSuchUser }
        try setRole(db, userID: id, role: role, cache: cache)
    }

    /// The users trigger tells every process to drop cached sessions and tokens; this process drops its
    /// own at once, so the change holds on its very next request.
    package static func setRole(_ db: Connection, userID: ID<User>, role: Role, cache: AnswerCache?) throws {
        guard try Store(db: db).setRole(userID: userID, role) != nil else { throw Failure.noSuchUser }
        cache?.invalidate(.auth)
    }

    /// A disabled user's sessions end and their tokens answer 401 at once, on every process.
    public static func setDisabled(_ db: Connection, email: String, disabled: Bool, cache: AnswerCache? = nil) throws {
        guard let id = try Store(db: db).userID(email: email) else { throw Failure.noSuchUser }
        try setDisabled(db, userID: id, disabled: disabled, cache: cache)
    }

    /// Sets the user's storage quota for uploads (`nil`: back to the instance's default).
    public static func setStorageQuota(_ db: Connection, email: String, bytes: Int64?) throws {
        guard
            try !db.execute(
                "UPDATE users SET storage_quota_bytes = \(bytes) WHERE lower(email) = lower(\(email)) RETURNING id"
            ).isEmpty
        else { throw Failure.noSuchUser }
    }

    package static func setDisabled(_ db: Connection, userID: ID<User>, disabled: Bool, cache: AnswerCache?) throws {
        guard try Store(db: db).setDisabled(userID: userID, disabled) else { throw Failure.noSuchUser }
        cache?.invalidate(.auth)
    }
}
