// The JSON API for automation: same rules as the pages, bearer-token authentication.

import Core
import Formats
import Telemetry
import Web

enum API {
    /// GET /api/projects — the projects the caller is a member of, newest first, paged (`?limit=`, `?after=`);
    /// `?scope=mine` (owned), `shared` (shared with them as editor or viewer) or `all` (the default).
    static func listProjects(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        let scope = try projectScope(c.request.query["scope"])
        let request = try PageRequest.parse(c.request.query, list: .projects, scope: scope.cursorScope, userID: user.id)
        let page = try c.store.projects(userID: user.id, scope: scope, page: request)
        return .json(
            page.json(
                key: "projects", next: page.next(\.id, list: .projects, scope: scope.cursorScope, userID: user.id),
                json))
    }

    static func projectScope(_ text: String?) throws -> Store.ProjectScope {
        guard let text else { return .all }
        guard let scope = Store.ProjectScope(rawValue: text) else {
            throw InvalidInput(field: "scope", "must be mine, shared or all")
        }
        return scope
    }

    static func createProject(_ c: inout Context) throws -> Response {
        let user = try c.requireUser()
        let doc = try Field.jsonObject(Field.jsonBody(c.request))
        let name = try Field.text(Field.json(doc, "name"), name: "name", max: 200, required: true)
        let description = try Field.text(
            Field.json(doc, "description"), name: "description", max: 10000, required: false)
        let project = try c.store.createProject(userID: user.id, name: name, description: description)
        var response = Response.json(json(project), status: 201)
        response.addHeader("Location", Route.library(.apiProject(project.id)).path)
        return response
    }

    static func project(_ c: inout Context, id: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        guard let project = try c.store.project(id: id, userID: user.id) else {
            throw HTTPError.notFound("No such project.")
        }
        return .json(json(project))
    }

    /// GET /api/projects/{id}/videos — paged; `?q=`, `?status=`, `?model=`, `?sort=` as `VideoQuery` reads them.
    static func listVideos(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.project(id: project, userID: user.id) != nil else {
            throw HTTPError.notFound("No such project.")
        }
        return try videoList(c, user: user, projectID: project)
    }

    /// GET /api/videos — the same across all the user's projects.
    static func listAllVideos(_ c: inout Context) throws -> Response {
        try videoList(c, user: c.requireUser(), projectID: nil)
    }

    private static func videoList(_ c: Context, user: User, projectID: ID<Project>?) throws -> Response {
        let query = try VideoQuery.parse(c.request.query)
        let request = try query.pageRequest(
            c.request.query, scope: projectID?.rawValue ?? 0, userID: user.id, forPage: false)
        let page = try c.store.videos(userID: user.id, projectID: projectID, query: query, page: request)
        return .json(page.json(key: "videos", next: page.next(\.cursor)) { json($0.video) })
    }

    static func createVideo(_ c: inout Context, project: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        let doc = try Field.jsonObject(Field.jsonBody(c.request))
        let draft = try VideoPages.validated(
            title: Field.json(doc, "title"), brief: Field.json(doc, "brief"),
            finalPrompt: Field.json(doc, "final_prompt"))
        let preset = try VideoPages.checkedPreset(Field.json(doc, "preset"), db: c.db)
        guard
            let video = try c.store.createVideo(
                projectID: project, userID: user.id, title: draft.title,
                brief: draft.brief, finalPrompt: draft.finalPrompt, preset: preset)
        else {
            throw HTTPError.notFound("No such project.")
        }
        var response = Response.json(json(video), status: 201)
        response.addHeader("Location", Route.library(.apiVideo(video.id)).path)
        return response
    }

    /// GET /api/videos/{id}, with the `ETag` an edit sends back in `If-Match`.
    static func video(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let video = try c.store.video(id: id, userID: user.id) else { throw HTTPError.notFound("No such video.") }
        var response = Response.json(try videoWithSoraFields(c, video))
        response.addHeader("ETag", video.etag)
        return response
    }

    private static func videoWithSoraFields(_ c: Context, _ video: Video) throws -> JSON {
        guard case var .object(pairs) = json(video) else { return json(video) }
        for (name, value) in try c.store.soraFields(videoID: video.id) {
            switch (name, value) {
            case (_, nil): pairs.append((name, .null))
            case ("sora_generation_settings", let text?): pairs.append((name, (try? JSONParser.parse(text)) ?? .null))
            case ("sora_generation_cost", let amount?): pairs.append((name, .number(amount)))
            case (_, let text?): pairs.append((name, .string(text)))
            }
        }
        return .object(pairs)
    }

    // MARK: Editing and deleting

    /// PATCH /api/projects/{id}: any of `name`, `description`.
    static func updateProject(_ c: inout Context, id: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        let doc = try Field.patch(c.request, allowed: ["name", "description"])
        let changes = Library.ProjectChanges(
            name: try Field.patchText(doc, "name", max: 200, required: true),
            description: try Field.patchText(doc, "description", max: 10000, required: false))
        return .json(json(try c.library.updateProject(id: id, user: user, changes: changes)))
    }

    /// DELETE /api/projects/{id}: the project, its videos and their media; generation rows stay (spend).
    static func deleteProject(_ c: inout Context, id: ID<Project>) throws -> Response {
        let user = try c.requireUser()
        _ = try c.library.deleteProject(id: id, user: user)
        return Response(status: 204)
    }

    /// PATCH /api/videos/{id}: any of `title`, `brief`, `final_prompt`, `preset` (null clears the preset),
    /// `position` (the shot's place in its project's storyboard, 1 to the number of shots). With `If-Match` (the
    /// `ETag` of GET), a video someone else changed since is refused with 412 and nothing is changed.
    static func updateVideo(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        let doc = try Field.patch(c.request, allowed: ["title", "brief", "final_prompt", "preset", "position"])
        let ifMatch = c.request.header("If-Match")
        if let ifMatch, let current = try c.store.video(id: id, userID: user.id), !current.matches(ifMatch) {
            throw StaleVideo(current: current)
        }
        if let position = doc.root["position"] {
            guard let place = position.intValue else { throw InvalidInput(field: "position", "must be a whole number") }
            _ = try c.library.moveVideo(id: id, user: user, to: place)
        }
        guard case let .object(pairs) = doc.root, pairs.contains(where: { $0.0 != "position" }) else {
            return try video(&c, id: id)
        }
        var changes = Library.VideoChanges(
            title: try Field.patchText(doc, "title", max: 200, required: true),
            brief: try Field.patchText(doc, "brief", max: 10000, required: false),
            finalPrompt: try Field.patchText(doc, "final_prompt", max: 32000, required: false))
        if let preset = doc.root["preset"] {
            changes.preset = .some(
                try VideoPages.checkedPreset(preset.isNull ? nil : Field.json(doc, "preset"), db: c.db))
        }
        _ = try c.library.updateVideo(id: id, user: user, changes: changes, ifMatch: ifMatch)
        return try video(&c, id: id)
    }

    /// DELETE /api/videos/{id}: the video, its prompt versions and its media; generation rows stay (spend).
    static func deleteVideo(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        _ = try c.library.deleteVideo(id: id, user: user)
        return Response(status: 204)
    }

    /// POST /api/videos/{id}/copy: a new video with the same brief, prompt and preset, in the same project.
    static func copyVideo(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        let copy = try c.library.copyVideo(id: id, user: user)
        var response = Response.json(json(copy), status: 201)
        response.addHeader("Location", Route.library(.apiVideo(copy.id)).path)
        return response
    }

    /// The catalog: models, durations, sizes and prices.
    static func models(_ c: inout Context) throws -> Response {
        _ = try c.requireUser()
        return .json(try Catalog.load(c.db).json)
    }

    /// The price of settings before generating: `?model=&duration=&aspect_ratio=&resolution=`.
    static func estimate(_ c: inout Context) throws -> Response {
        _ = try c.requireUser()
        let requested = try Catalog.requested(fromFields: c.request.query)
        let settings = try Catalog.load(c.db).resolve(requested, db: c.db)
        // A total, like generate-sora's `estimatedCost` and `expectedCost`: what a click of `takes` costs.
        let takes = requested.takes ?? 1
        guard let total = settings.estimatedCost.times(takes) else {
            throw InvalidInput(field: "takes", "is too many for this price")
        }
        return .json(
            .object([
                ("settings", settings.userJSON), ("size", .string(settings.size)),
                ("seconds", .string(settings.apiSeconds)), ("takes", .int(takes)),
                ("costPerTake", .number(settings.estimatedCost.jsonText)), ("estimatedCost", .number(total.jsonText)),
                (
                    "gpuPricing",
                    settings.gpuPricing.map {
                        .object([
                            ("usdPerGpuSecond", .number($0.usdPerGPUSecond)),
                            ("maxGpuSecondsPerSecond", .number($0.maxGPUSecondsPerSecond)),
                        ])
                    } ?? .null
                ),
            ]))
    }

    static func json(_ p: Project) -> JSON {
        .object([
            ("id", .id(p.id)), ("name", .string(p.name)), ("description", .string(p.description)),
            ("video_count", .int(p.videoCount)), ("created_at", .string(p.createdAt.iso)),
            ("updated_at", .string(p.updatedAt.iso)), ("role", .string(p.role.rawValue)),
        ])
    }

    /// PUT /api/videos/{id}/chosen-take `{"generationId"}`: the take the film uses for this shot.
    static func chooseTake(_ c: inout Context, id: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        let doc = try Field.jsonObject(Field.jsonBody(c.request))
        guard let generation = doc.root["generationId"]?.intValue, generation > 0 else {
            throw InvalidInput(field: "generationId", "must be the id of a completed generation of this video")
        }
        return .json(json(try c.library.chooseTake(videoID: id, user: user, generationID: ID(Int64(generation)))))
    }

    static func json(_ v: Video) -> JSON {
        .object([
            ("id", .id(v.id)), ("project_id", .id(v.projectID)), ("title", .string(v.title)),
            ("position", .int(v.position)), ("chosenGenerationId", v.chosenGenerationID.map(JSON.id) ?? .null),
            ("brief", .string(v.brief)), ("final_prompt", .string(v.finalPrompt)), ("preset", .optional(v.preset)),
            ("created_at", .string(v.createdAt.iso)), ("updated_at", .string(v.updatedAt.iso)),
            ("role", .string(v.role.rawValue)),
            (
                "latest_generation",
                v.latest.map { latest in
                    .object([
                        ("id", .id(latest.id)), ("status", .string(latest.status.rawValue)),
                        ("model", .string(latest.model)),
                        ("created_at", .string(latest.createdAt.iso)),
                    ])
                } ?? .null
            ),
        ])
    }
}
