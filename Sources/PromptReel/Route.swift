// Every URL PromptReel serves, as one enum that both parses paths and prints them, so links are never
// built by hand. Ids are typed: a path whose id is not a number is simply not a route (404).

public enum Route: Equatable, Sendable {
    case home
    case healthz
    case login
    case signup
    case logout
    case dashboard
    case projects  // POST: create from the dashboard form
    case project(Int64)
    case newVideo(project: Int64)
    case projectVideos(project: Int64)  // POST: create from the new-video form
    case video(Int64)
    case account
    case tokens  // POST: create
    case deleteToken(Int64)

    case apiProjects
    case apiProject(Int64)
    case apiProjectVideos(project: Int64)
    case apiVideo(Int64)
    case apiModels
    case apiEstimate

    public init?(path: String) {
        let s = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        func id(_ text: String) -> Int64? {
            guard !text.isEmpty, text.count <= 18, text.allSatisfy(\.isASCII), let v = Int64(text), v > 0 else { return nil }
            return v
        }
        switch s {
        case [""], []: self = .home
        case ["healthz"]: self = .healthz
        case ["login"]: self = .login
        case ["signup"]: self = .signup
        case ["logout"]: self = .logout
        case ["dashboard"]: self = .dashboard
        case ["dashboard", "projects"]: self = .projects
        case ["account"]: self = .account
        case ["account", "tokens"]: self = .tokens
        case ["api", "projects"]: self = .apiProjects
        case ["api", "models"]: self = .apiModels
        case ["api", "models", "estimate"]: self = .apiEstimate
        default:
            guard s.count >= 3, let value = id(s[2]) else { return nil }
            switch (s[0], s[1], Array(s.dropFirst(3))) {
            case ("dashboard", "projects", []): self = .project(value)
            case ("dashboard", "projects", ["videos", "new"]): self = .newVideo(project: value)
            case ("dashboard", "projects", ["videos"]): self = .projectVideos(project: value)
            case ("dashboard", "videos", []): self = .video(value)
            case ("account", "tokens", ["delete"]): self = .deleteToken(value)
            case ("api", "projects", []): self = .apiProject(value)
            case ("api", "projects", ["videos"]): self = .apiProjectVideos(project: value)
            case ("api", "videos", []): self = .apiVideo(value)
            default: return nil
            }
        }
    }

    public var path: String {
        switch self {
        case .home: "/"
        case .healthz: "/healthz"
        case .login: "/login"
        case .signup: "/signup"
        case .logout: "/logout"
        case .dashboard: "/dashboard"
        case .projects: "/dashboard/projects"
        case let .project(id): "/dashboard/projects/\(id)"
        case let .newVideo(project): "/dashboard/projects/\(project)/videos/new"
        case let .projectVideos(project): "/dashboard/projects/\(project)/videos"
        case let .video(id): "/dashboard/videos/\(id)"
        case .account: "/account"
        case .tokens: "/account/tokens"
        case let .deleteToken(id): "/account/tokens/\(id)/delete"
        case .apiProjects: "/api/projects"
        case let .apiProject(id): "/api/projects/\(id)"
        case let .apiProjectVideos(project): "/api/projects/\(project)/videos"
        case let .apiVideo(id): "/api/videos/\(id)"
        case .apiModels: "/api/models"
        case .apiEstimate: "/api/models/estimate"
        }
    }
}
