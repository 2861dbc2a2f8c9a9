// The trail of links above a page's heading, written once: each step a link the route table prints, each
// name escaped, "›" between them and after the last (the page's own title follows).

import Core
import Web

struct Breadcrumbs {
    private var steps: [(name: String, route: Route)]

    init(_ steps: [(name: String, route: Route)]) { self.steps = steps }

    static let dashboard = Breadcrumbs([("Dashboard", .library(.dashboard))])
    static let account = Breadcrumbs([("Account", .accounts(.account))])

    /// Dashboard › the project.
    static func project(id: ID<Project>, name: String) -> Breadcrumbs {
        dashboard.then(name, .library(.project(id)))
    }

    /// Dashboard › the video's project › the video.
    static func video(_ video: Video) -> Breadcrumbs {
        project(id: video.projectID, name: video.projectName).then(video.title, .library(.video(video.id)))
    }

    func then(_ name: String, _ route: Route) -> Breadcrumbs { Breadcrumbs(steps + [(name, route)]) }

    /// The links alone (inside a page's own `<p class="crumbs">`).
    var links: HTML {
        let parts: [HTML] = steps.map { "<a href=\"\($0.route.path)\">\($0.name)</a> ›" }
        return parts.joined(separator: " ")
    }

    /// `<p class="crumbs">…</p>`.
    var html: HTML { "<p class=\"crumbs\">\(links)</p>" }
}
