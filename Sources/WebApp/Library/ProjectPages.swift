// The dashboard (your projects, those shared with you, invitations, create one) and a project's page (its
// videos; the actions the caller's role allows).

import Core
import Telemetry
import Web

enum ProjectPages {
    static func dashboard(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        return try dashboardPage(c, user: user, name: "", description: "", error: nil, status: 200)
    }

    static func create(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        let form = try c.form()
        do {
            let name = try Field.text(form["name"], name: "name", max: 200, required: true)
            let description = try Field.text(form["description"], name: "description", max: 10000, required: false)
            let project = try c.store.createProject(userID: user.id, name: name, description: description)
            c.setFlash("Project created.")
            return .redirect(to: Route.library(.project(project.id)).path)
        } catch let error as InvalidInput {
            return try dashboardPage(
                c, user: user, name: form["name"] ?? "", description: form["description"] ?? "",
                error: error.description, status: 422)
        }
    }

    static func show(_ c: inout Context, id: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        guard let project = try c.store.project(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such project.")
        }
        let query = try VideoQuery.parse(c.request.query)
        let page = try c.store.videos(
            userID: user.id, projectID: id, query: query,
            page: query.pageRequest(c.request.query, scope: id.rawValue, userID: user.id, forPage: true))
        let description: HTML = project.description.isEmpty ? .empty : "<p>\(project.description)</p>"
        var actions: [HTML] = []
        if project.role.canEdit {
            actions.append("<a class=\"button\" href=\"\(Route.library(.newVideo(project: id)).path)\">New video</a>")
        }
        if project.role.canManage {
            actions.append(
                "<a href=\"\(Route.library(.editProject(id)).path)\">Edit project</a> <a href=\"\(Route.library(.deleteProject(id)).path)\">Delete project…</a> <a href=\"\(Route.usage(.usage).path)?project=\(id)\">Spend by member</a>"
            )
        }
        actions.append("<a href=\"\(Route.sharing(.members(project: id)).path)\">Members</a>")
        let generate: HTML =
            project.role.canEdit
            ? " · <a href=\"\(Route.storyboards(.generateShots(id)).path)\">Generate shots</a>" : .empty
        let body: HTML = """
            \(Breadcrumbs.dashboard.html)
            <h1>\(project.name)</h1>\(description)
            <p class="muted">Your role: \(project.role.rawValue)\(project.role == .viewer ? " (you can watch and download; editors change and generate)" : "").</p>
            <div class="actions">\(actions.joined(separator: " "))</div>
            <p><a href="\(Route.storyboards(.storyboard(id)).path)">Storyboard: the shots in order</a>\(generate)</p>
            <h2>Videos</h2>\(try searchForm(c, path: Route.library(.project(id)).path, query: query, label: "Search this project",
                                             used: searchUsed(c)))
            \(videoList(page, query: query, path: Route.library(.project(id)).path, showProject: false))
            """
        return .html(Views.layout(project.name, c, body: body))
    }

    // MARK: Finding videos

    /// A GET form (it changes nothing, so it carries no CSRF token: a token in a URL would leak).
    static func searchForm(_ c: Context, path: String, query: VideoQuery, label: String, used: Bool) throws -> HTML {
        func option(_ value: String, _ text: String, selected: Bool) -> HTML {
            "<option value=\"\(value)\"\(selected ? " selected" : HTML.empty)>\(text)</option>"
        }
        let statuses: [HTML] =
            [option("", "Any", selected: query.status == nil)]
            + VideoQuery.LatestStatus.allCases.map { option($0.rawValue, $0.label, selected: query.status == $0) }
        var models: [HTML] = [option("", "Any", selected: query.model == nil)]
        let known = try c.store.modelNames()
        models += known.map { option($0.name, $0.displayName, selected: query.model == $0.name) }
        if let model = query.model, !known.contains(where: { $0.name == model }) {
            models.append(option(model, model, selected: true))
        }
        let sorts: [HTML] = VideoQuery.Sort.allCases.map { option($0.rawValue, $0.label, selected: query.sort == $0) }
        let clear: HTML = used ? " <a href=\"\(path)\">Clear</a>" : .empty
        return """
            <form method="get" action="\(path)" class="video-search" role="search">
            <div class="grow"><label for="q">\(label)</label><input id="q" name="q" type="search" value="\(query.words ?? "")" maxlength="\(VideoQuery.maxWords)" placeholder="words, &quot;a phrase&quot;, -without"></div>
            <div><label for="status">Latest status</label><select id="status" name="status">\(statuses)</select></div>
            <div><label for="model">Model</label><select id="model" name="model">\(models)</select></div>
            <div><label for="sort">Sort by</label><select id="sort" name="sort">\(sorts)</select></div>
            <div><button type="submit">Show</button>\(clear)</div>
            </form>
            """
    }

    /// Whether the URL holds any of the search form's fields.
    static func searchUsed(_ c: Context) -> Bool {
        VideoQuery.fieldNames.contains { c.request.query[$0] != nil }
    }

    /// Video cards (search matches marked), the pager keeping the filter, or why the list is empty.
    static func videoList(_ page: Page<ListedVideo>, query: VideoQuery, path: String, showProject: Bool) -> HTML {
        let labels = query.sort == .created ? ("Newer", "Older") : ("Previous", "Next")
        let pager = page.links(path: path, query: query.urlQuery, labels: labels, \.cursor)
        guard !page.items.isEmpty else {
            let why: HTML =
                !query.isFiltered
                ? (showProject ? "You have no videos yet." : "No videos yet.")
                : query.words != nil
                    ? "No videos match. Very common words (like “the”) are not searched; try others."
                    : "No videos match these filters."
            return "<p class=\"muted\">\(why)</p>" + pager
        }
        let items: [HTML] = page.items.map { item in
            let v = item.video
            let title = item.markedTitle.map(Highlight.html) ?? "\(v.title)"
            let prompt: HTML =
                item.markedExcerpt.map { "\(Highlight.html($0))" }
                ?? (v.finalPrompt.isEmpty
                    ? "<span class=\"muted\">No final prompt yet</span>" : "\(excerpt(v.finalPrompt))")
            let thumb = Views.thumbnail(v.latest.flatMap { $0.hasThumbnail ? $0.id : nil })
            let status = Views.latestBadge(v)
            let project: HTML =
                showProject
                ? " <span class=\"muted\">in <a href=\"\(Route.library(.project(v.projectID)).path)\">\(v.projectName)</a></span>"
                : .empty
            return
                "<li class=\"video-card\">\(thumb)<div><a href=\"\(Route.library(.video(v.id)).path)\">\(title)</a> \(status)\(project)<br><small>\(prompt)</small></div></li>"
        }
        return "<ul class=\"cards\">\(items)</ul>" + pager
    }

    // MARK: Editing and deleting

    /// GET /dashboard/projects/{id}/edit: rename, describe.
    static func editForm(_ c: inout Context, id: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        guard let project = try c.store.project(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such project.")
        }
        return editPage(
            c, project: project, name: project.name, description: project.description, error: nil, status: 200)
    }

    /// POST /dashboard/projects/{id}/edit
    static func update(_ c: inout Context, id: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        guard let project = try c.store.project(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such project.")
        }
        let form = try c.form()
        do {
            let changes = Library.ProjectChanges(
                name: try Field.text(form["name"], name: "name", max: 200, required: true),
                description: try Field.text(
                    (form["description"] ?? "").unifiedNewlines, name: "description", max: 10000, required: false))
            _ = try c.library.updateProject(id: id, user: user, changes: changes)
            c.setFlash("Saved.")
            return .redirect(to: Route.library(.project(id)).path)
        } catch let error as InvalidInput {
            return editPage(
                c, project: project, name: form["name"] ?? "", description: form["description"] ?? "",
                error: error.description, status: 422)
        }
    }

    static func editPage(_ c: Context, project: Project, name: String, description: String, error: String?, status: Int)
        -> Response
    {
        let body: HTML = """
            \(Breadcrumbs.project(id: project.id, name: project.name).html)
            <h1>Edit project</h1>\(Views.errorBox(error))
            <form method="post" action="\(Route.library(.editProject(project.id)).path)">\(Views.csrfField(c))
            \(Views.textField("Name", name: "name", value: name, required: true, maxLength: 200))
            \(Views.textArea("Description (optional)", name: "description", value: description, rows: 3, maxLength: 10000))
            <button type="submit">Save</button> <a href="\(Route.library(.project(project.id)).path)">Cancel</a></form>
            """
        return .html(Views.layout("Edit project", c, body: body), status: status)
    }

    /// GET /dashboard/projects/{id}/delete: what goes, and the button (or why it cannot go now).
    static func confirmDelete(_ c: inout Context, id: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        guard let project = try c.store.project(id: id, userID: user.id),
            let summary = try c.store.deletionSummary(projectID: id, userID: user.id)
        else { throw HTTPError.notFound("No such project.") }
        return deletePage(c, project: project, summary: summary, refusal: summary.blocker, status: 200)
    }

    /// POST /dashboard/projects/{id}/delete: then back to the dashboard, saying what went.
    static func delete(_ c: inout Context, id: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        do {
            let deleted = try c.library.deleteProject(id: id, user: user)
            c.setFlash(
                "Deleted “\(deleted.name)”: \(deleted.summary.sentence(withVideos: true)). What it cost stays in your spend."
            )
            return .redirect(to: Route.library(.dashboard).path)
        } catch let refusal as Library.Refusal where refusal != .noSuchProject {
            guard let project = try c.store.project(id: id, userID: user.id),
                let summary = try c.store.deletionSummary(projectID: id, userID: user.id)
            else { throw HTTPError.notFound("No such project.") }
            return deletePage(c, project: project, summary: summary, refusal: refusal, status: refusal.httpError.status)
        }
    }

    static func deletePage(
        _ c: Context, project: Project, summary: DeletionSummary, refusal: Library.Refusal?, status: Int
    ) -> Response {
        Views.deletionPage(
            c, thing: "project", name: project.name,
            crumbs: Breadcrumbs.project(id: project.id, name: project.name),
            goes: "the project, its videos with their prompts, and the media files of their generations",
            summary: summary.sentence(withVideos: true), action: Route.library(.deleteProject(project.id)).path,
            back: Route.library(.project(project.id)).path,
            refusal: refusal?.httpError.publicMessage, status: status)
    }

    static func excerpt(_ text: String, length: Int = 140) -> String {
        text.count <= length ? text : String(text.prefix(length)) + "…"
    }

    static func dashboardPage(_ c: Context, user: User, name: String, description: String, error: String?, status: Int)
        throws -> Response
    {
        let list = try dashboardList(c, user: user)
        let spend = try c.generations.store.monthSpend(userID: user.id)
        let chatSpend = try c.roundtables.store.monthSpend(userID: user.id)
        let chat = chatSpend.known
        let chatBilled: HTML =
            chatSpend.possiblyBilled > .zero
            ? " <span class=\"muted\">(of which \(chatSpend.possiblyBilled.display) possibly billed: chat calls that got no answer, at their worst case)</span>"
            : .empty
        let unknown: HTML =
            chatSpend.unknownCalls > 0
            ? " <span class=\"muted\">(plus \(chatSpend.unknownCalls) chat call\(chatSpend.unknownCalls == 1 ? "" : "s") whose provider reported no usage: cost unknown)</span>"
            : .empty
        var parts: [HTML] = []
        if spend.reserved > .zero { parts.append("\(spend.reserved.display) reserved by generations still running") }
        if spend.possiblyBilled > .zero {
            parts.append(
                "\(spend.possiblyBilled.display) possibly billed: generations whose outcome the provider did not confirm"
            )
        }
        let detail: HTML =
            parts.isEmpty ? .empty : " <span class=\"muted\">(of which \(parts.joined(separator: "; ")))</span>"
        let body: HTML = """
            <h1>Dashboard</h1>\(try SharingPages.invitationsSection(c, user: user))
            <p class="spend">Spent this month: <strong>\((spend.total.adding(chat) ?? spend.total).display)</strong> — videos \(spend.total.display)\(detail), roundtables \(chat.display)\(chatBilled)\(unknown) <span class="muted">(by the UTC month of each click, as budgets count)</span></p>
            \(try searchForm(c, path: Route.library(.dashboard).path, query: VideoQuery.parse(c.request.query), label: "Search all your videos",
                              used: searchUsed(c)))\(list)
            <h2>New project</h2>\(Views.errorBox(error))
            <form method="post" action="\(Route.library(.projects).path)">\(Views.csrfField(c))
            \(Views.textField("Name", name: "name", value: name, required: true, maxLength: 200))
            \(Views.textArea("Description (optional)", name: "description", value: description, rows: 3, maxLength: 10000))
            <button type="submit">Create project</button></form>
            """
        return .html(Views.layout("Dashboard", c, body: body), status: status)
    }

    /// The projects the user owns and those shared with them (`?show=shared`: those alone, paged); or, once the
    /// search form was used (any of its fields in the URL), the videos across all their projects that match it.
    static func dashboardList(_ c: Context, user: User) throws -> HTML {
        let query = try VideoQuery.parse(c.request.query)
        if searchUsed(c) {
            let page = try c.store.videos(
                userID: user.id, projectID: nil, query: query,
                page: query.pageRequest(c.request.query, scope: 0, userID: user.id, forPage: true))
            return "<h2>Videos found</h2>"
                + videoList(page, query: query, path: Route.library(.dashboard).path, showProject: true)
        }
        let path = Route.library(.dashboard).path
        func items(_ projects: [Project]) -> HTML {
            let items: [HTML] = projects.map { p in
                let role: HTML = p.role == .owner ? .empty : " · \(p.role.rawValue)"
                return
                    "<li><a href=\"\(Route.library(.project(p.id)).path)\">\(p.name)</a> <span class=\"muted\">\(p.videoCount) video\(p.videoCount == 1 ? "" : "s")\(role)</span></li>"
            }
            return "<ul class=\"cards\">\(items.joined())</ul>"
        }
        func page(_ scope: Store.ProjectScope) throws -> Page<Project> {
            try c.store.projects(
                userID: user.id, scope: scope,
                page: PageRequest.forPage(
                    c.request.query, list: .projects, scope: scope.cursorScope, userID: user.id))
        }
        func pager(_ page: Page<Project>, _ scope: Store.ProjectScope) -> HTML {
            page.links(path: path, query: scope == .shared ? "show=shared" : "") {
                Cursor(list: .projects, scope: scope.cursorScope, userID: user.id, id: $0.id.rawValue)
            }
        }
        if c.request.query["show"] == "shared" {
            let shared = try page(.shared)
            return "<h2>Shared with you</h2><p><a href=\"\(path)\">Back to your projects</a></p>"
                + (shared.items.isEmpty
                    ? "<p class=\"muted\">No projects are shared with you.</p>" : items(shared.items))
                + pager(shared, .shared)
        }
        let mine = try page(.mine)
        let minePager = pager(mine, .mine)
        let own: HTML =
            mine.items.isEmpty && minePager.rendered.isEmpty
            ? "<p class=\"muted\">No projects yet. Create one to start saving video prompts.</p>"
            : items(mine.items) + minePager
        // The first page of the shared ones; the rest one click away (each list pages on its own).
        let shared = try c.store.projects(userID: user.id, scope: .shared, page: PageRequest(firstOf: 20))
        let sharedHTML: HTML =
            shared.items.isEmpty
            ? "<p class=\"muted\">No projects are shared with you yet. When an owner invites you, the invitation shows here.</p>"
            : items(shared.items)
                + (shared.hasOlder ? "<p><a href=\"\(path)?show=shared\">All projects shared with you</a></p>" : .empty)
        return "<h2>Your projects</h2>\(own)<h2>Shared with you</h2>\(sharedHTML)"
    }
}
