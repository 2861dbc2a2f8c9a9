// What PromptReel's mails say: the subject and plain text of a password-reset mail and of an invitation.
// The links point at the site's configured address (`PROMPTREEL_PUBLIC_URL`), never at a request's Host header:
// a forged Host would otherwise send someone's reset link to its author's server.

package struct MailText: Sendable, Equatable {
    package let subject: String
    package let body: String

    /// The app's paths the mails link to (RouteTests checks them against the route table).
    package static let resetPath = "/password-reset"
    package static let dashboardPath = "/dashboard"
    package static let signupPath = "/signup"

    /// The site's address without a trailing slash.
    package static func base(_ site: String) -> String {
        var base = site
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    package static func reset(email: String, token: String, site: String) -> MailText {
        let link = base(site) + resetPath + "?token=" + token
        return MailText(
            subject: "Choose a new PromptReel password",
            body: """
                Someone (we hope you) asked for a new password for the PromptReel account \(email).

                Choose it here:
                \(link)

                The link works once, for an hour; it replaces any link mailed before. If you did not ask, ignore \
                this mail: your password stays as it is.

                """)
    }

    package static func invitation(
        email: String, project: String, role: ProjectRole, inviter: String?, expires: Timestamp, site: String
    ) -> MailText {
        let who = inviter ?? "A PromptReel user"
        let can =
            switch role {
            case .viewer: "see its videos, prompts and films, play and download them"
            case .editor: "edit its videos and generate them (on your own budget)"
            case .owner: "edit, generate and manage its members"
            }
        return MailText(
            subject: "\(who) shared the project \u{201C}\(project)\u{201D} with you on PromptReel",
            body: """
                \(who) invited \(email) to the PromptReel project \u{201C}\(project)\u{201D} as \(role.rawValue): you \
                could \(can).

                Log in with this address and accept it on your dashboard:
                \(base(site) + dashboardPath)

                No account yet? Sign up with this address first:
                \(base(site) + signupPath)

                The invitation expires on \(expires.minuteText). If you do not know the sender, ignore this mail.

                """)
    }
}
