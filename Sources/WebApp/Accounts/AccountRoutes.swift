// The accounts area's routes: each path parsed and printed in one place, and the handlers that answer it.

package import Core
import Web

package enum AccountRoute: Equatable, Sendable {
    case login
    case signup
    case logout
    case account
    case tokens  // POST: create
    /// POST: the account's preferences (refresh pages automatically).
    case accountPreferences
    case deleteToken(ID<APIToken>)

    init?(_ p: PathParts) {
        switch p.segments {
        case ["login"]: self = .login
        case ["signup"]: self = .signup
        case ["logout"]: self = .logout
        case ["account"]: self = .account
        case ["account", "tokens"]: self = .tokens
        case ["account", "preferences"]: self = .accountPreferences
        default:
            guard let (a, b, value, rest) = p.withID else { return nil }
            switch (a, b, rest) {
            case ("account", "tokens", ["delete"]): self = .deleteToken(ID(value))
            default: return nil
            }
        }
    }

    var path: String {
        switch self {
        case .login: "/login"
        case .signup: "/signup"
        case .logout: "/logout"
        case .account: "/account"
        case .tokens: "/account/tokens"
        case .accountPreferences: "/account/preferences"
        case let .deleteToken(id): "/account/tokens/\(id)/delete"
        }
    }

    /// Which methods each route answers, and with what.
    var handlers: [HTTPMethod: App.Handler] {
        switch self {
        case .login: [.get: AccountPages.loginForm, .post: AccountPages.login]
        case .signup: [.get: AccountPages.signupForm, .post: AccountPages.signup]
        case .logout: [.post: AccountPages.logout]
        case .account: [.get: AccountPages.account]
        case .tokens: [.post: AccountPages.createToken]
        case .accountPreferences: [.post: AccountPages.savePreferences]
        case let .deleteToken(id): [.post: { try AccountPages.deleteToken(&$0, id: id) }]
        }
    }
}
