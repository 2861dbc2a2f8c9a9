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
    /// POST: change the password (the current one required).
    case password
    /// POST: end one of the user's sessions.
    case endSession(ID<SessionRow>)
    /// GET: what deleting the account does; POST: delete it (the password required).
    case deleteAccount
    /// GET (`?token=`): the form a one-time link opens; POST: set the password.
    case passwordReset
    /// GET: how to get a reset link.
    case forgotPassword

    init?(_ p: PathParts) {
        switch p.segments {
        case ["login"]: self = .login
        case ["signup"]: self = .signup
        case ["logout"]: self = .logout
        case ["account"]: self = .account
        case ["account", "tokens"]: self = .tokens
        case ["account", "preferences"]: self = .accountPreferences
        case ["account", "password"]: self = .password
        case ["account", "delete"]: self = .deleteAccount
        case ["password-reset"]: self = .passwordReset
        case ["forgot-password"]: self = .forgotPassword
        default:
            guard let (a, b, value, rest) = p.withID else { return nil }
            switch (a, b, rest) {
            case ("account", "tokens", ["delete"]): self = .deleteToken(ID(value))
            case ("account", "sessions", ["end"]): self = .endSession(ID(value))
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
        case .password: "/account/password"
        case let .endSession(id): "/account/sessions/\(id)/end"
        case .deleteAccount: "/account/delete"
        case .passwordReset: "/password-reset"
        case .forgotPassword: "/forgot-password"
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
        case .password: [.post: AccountSecurityPages.changePassword]
        case let .endSession(id): [.post: { try AccountSecurityPages.endSession(&$0, id: id) }]
        case .deleteAccount: [.get: AccountSecurityPages.deleteForm, .post: AccountSecurityPages.delete]
        case .passwordReset: [.get: AccountSecurityPages.resetForm, .post: AccountSecurityPages.reset]
        case .forgotPassword: [.get: AccountSecurityPages.forgotForm, .post: AccountSecurityPages.forgot]
        }
    }
}
