// Routing: paths parse to typed routes and print back; anything else is not a route.

import Foundation
import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct Routing {
    @Test(arguments: [
        Route.home, .healthz, .accounts(.login), .accounts(.signup), .accounts(.logout), .library(.dashboard),
        .library(.projects), .library(.project(7)), .library(.newVideo(project: 7)),
        .library(.projectVideos(project: 7)), .library(.video(42)), .accounts(.account), .accounts(.tokens),
        .accounts(.accountPreferences), .accounts(.deleteToken(3)), .library(.apiProjects),
        .library(.apiProject(9)),
        .library(.apiProjectVideos(project: 9)), .library(.apiVideo(9)), .generations(.apiModels),
        .generations(.apiEstimate),
        .generations(.generateVideo(video: 3)), .generations(.latestGeneration(video: 3)), .generations(.generation(5)),
        .generations(.apiGenerate(video: 2)),
        .generations(.apiStatus(video: 2)),
        .generations(.apiVideoGenerations(video: 2)), .generations(.apiGeneration(8)),
        .media(generation: 8, file: "video.mp4"),
        .references(.videoReferenceImage(video: 4)), .references(.videoReferenceImageDelete(video: 4)),
        .references(.videoReferencePreview(video: 4)),
        .references(.apiReferenceImage(video: 4)), .media(generation: 8, file: "reference.webp"),
        .media(generation: 8, file: "reference-fitted.png"),
    ])
    func pathsRoundTrip(_ route: Route) {
        #expect(Route(path: route.path) == route)
    }

    @Test(arguments: [
        "/nope", "/dashboard/projects/abc", "/dashboard/projects/0", "/dashboard/projects/-1",
        "/dashboard/projects/99999999999999999999", "/api/videos/1/x", "/dashboard/videos/", "//",
        "/api/videos/%31", "/dashboard/projects/1/videos/old", "/api/videos/٣",
        "/media/generations/1/../../etc/passwd", "/media/generations/1/other.mp4", "/media/generations/1",
        "/media/generations/1/reference.gif", "/media/generations/1/reference-fitted.jpg",
        "/dashboard/videos/1/reference-image/x",
    ])
    func unknownPathsAreNotRoutes(_ path: String) {
        #expect(Route(path: path) == nil)
    }

    /// Only the two image upload routes take 20 MiB; every other request keeps the standard limit.
    @Test func bodyLimitsArePerRoute() {
        let standard = 1 << 20
        #expect(
            Route.maxBodyBytes(method: "PUT", path: "/api/videos/3/reference-image", standard: standard) == 20 << 20)
        #expect(
            Route.maxBodyBytes(method: "POST", path: "/dashboard/videos/3/reference-image", standard: standard)
                == (20 << 20) + (64 << 10))
        #expect(
            Route.maxBodyBytes(method: "POST", path: "/api/videos/3/reference-image", standard: standard) == standard)
        #expect(
            Route.maxBodyBytes(method: "PUT", path: "/api/videos/x/reference-image", standard: standard) == standard)
        #expect(Route.maxBodyBytes(method: "POST", path: "/api/projects", standard: standard) == standard)
        #expect(
            Route.maxBodyBytes(method: "POST", path: "/dashboard/videos/3/reference-image/delete", standard: standard)
                == standard)
    }
}

/// Every route, once: the list the exhaustive tests walk. `everyCaseIsListed` checks it against the cases
/// declared in Route.swift, so a new route cannot ship without its parse, print, handler and metric name.
let everyRoute: [Route] = [
    .home, .healthz, .metrics, .accounts(.login), .accounts(.signup), .accounts(.logout), .library(.dashboard),
    .library(.projects), .library(.project(7)), .library(.editProject(7)),
    .library(.deleteProject(7)),
    .library(.newVideo(project: 7)), .library(.projectVideos(project: 7)), .library(.video(42)),
    .library(.editVideo(42)), .library(.deleteVideo(42)), .library(.copyVideo(42)),
    .generations(.generateVideo(video: 3)), .generations(.latestGeneration(video: 3)), .generations(.generation(5)),
    .generations(.cancelGeneration(5)), .generations(.remixGeneration(5)),
    .generations(.videoTakes(video: 3)), .roundtables(.videoRoundtables(video: 3)), .roundtables(.roundtable(6)),
    .roundtables(.roundtableAccept(6)), .roundtables(.roundtableEdit(6)),
    .roundtables(.roundtableRetry(6)), .references(.videoReferenceImage(video: 4)),
    .references(.videoReferenceImageDelete(video: 4)),
    .references(.videoReferencePreview(video: 4)),
    .accounts(.account), .accounts(.tokens), .accounts(.accountPreferences), .accounts(.deleteToken(3)),
    .accounts(.password), .accounts(.endSession(4)), .accounts(.deleteAccount), .accounts(.passwordReset),
    .accounts(.forgotPassword),
    .webhooks(.webhooks), .webhooks(.webhook(2)), .webhooks(.deleteWebhook(2)),
    .webhooks(.redeliverWebhook(delivery: 12)), .admin(.adminUsers), .admin(.adminUser(5)), .admin(.adminBudgets),
    .usage(.usage), .usage(.usageCSV),
    .library(.apiProjects), .library(.apiProject(9)), .library(.apiProjectVideos(project: 9)), .library(.apiVideos),
    .library(.apiVideo(9)), .library(.apiVideoCopy(9)), .storyboards(.apiVideoChosenTake(9)),
    .storyboards(.moveVideo(9)),
    .storyboards(.storyboard(9)),
    .storyboards(.chooseTake(9)), .storyboards(.generateShots(9)), .storyboards(.batch(11)),
    .storyboards(.apiGenerateShots(9)), .storyboards(.apiBatch(11)), .films(.makeFilm(project: 9)), .films(.film(4)),
    .films(.deleteFilm(4)), .films(.filmLinks(4)), .films(.revokeFilmLink(6)), .films(.filmMedia(4, file: "film.mp4")),
    .films(.sharedFilm(token: String(repeating: "a", count: 43))),
    .films(.sharedFilmMedia(token: String(repeating: "b", count: 43), file: "poster.webp")),
    .films(.apiProjectFilms(project: 9)), .films(.apiFilm(4)), .films(.apiFilmLinks(4)), .films(.apiFilmLink(6)),
    .sharing(.apiProjectMembers(project: 9)), .sharing(.apiProjectMember(project: 9, user: 3)),
    .sharing(.apiProjectInvitation(project: 9, invitation: 5)), .sharing(.apiInvitations),
    .sharing(.apiAcceptInvitation(5)), .sharing(.apiDeclineInvitation(5)), .sharing(.members(project: 9)),
    .sharing(.memberRole(project: 9, user: 4)), .sharing(.removeMember(project: 9, user: 4)),
    .sharing(.revokeInvitation(project: 9, invitation: 5)), .sharing(.acceptInvitation(5)),
    .sharing(.declineInvitation(5)),
    .generations(.apiModels),
    .generations(.apiEstimate), .generations(.apiGenerate(video: 2)), .generations(.apiStatus(video: 2)),
    .generations(.apiVideoGenerations(video: 2)), .generations(.apiGeneration(8)),
    .generations(.apiCancelGeneration(8)), .references(.apiReferenceImage(video: 4)),
    .generations(.apiRemixGeneration(8)), .roundtables(.apiVideoRoundtable(video: 2)),
    .roundtables(.apiVideoRoundtables(video: 2)), .roundtables(.apiRoundtable(6)),
    .roundtables(.apiRoundtableAccept(6)), .roundtables(.apiRoundtableRetry(6)), .webhooks(.apiWebhooks),
    .webhooks(.apiWebhook(2)), .webhooks(.apiWebhookDeliveries(2)), .webhooks(.apiRedeliverWebhook(delivery: 12)),
    .usage(.apiUsage),
    .media(generation: 8, file: "video.mp4"),
]

/// The mails link to these pages by path (Core cannot see the route table).
@Test func theMailsLinkToRoutesThatExist() {
    #expect(Route.accounts(.passwordReset).path == MailText.resetPath)
    #expect(Route.library(.dashboard).path == MailText.dashboardPath)
    #expect(Route.accounts(.signup).path == MailText.signupPath)
}

@Test func filmLinkTokensAreLeftOutOfLoggedPaths() {
    let token = String(repeating: "k", count: 43)
    #expect(Route.loggable("/shared/films/\(token)/film.mp4") == "/shared/films/[token]/film.mp4")
    #expect(Route.loggable("/shared/films/\(token)") == "/shared/films/[token]")
    #expect(Route.loggable("/api/films/3") == "/api/films/3")
}

/// A shared film's files go through nginx's location that logs nothing (its request line holds the secret).
@Test func sharedFilmMediaGoesThroughTheUnloggedLocation() throws {
    let store = LocalMediaStore(directory: "/srv/media")
    #expect(
        store.delivery("films/3/film.mp4", audience: .sharedLink, disposition: nil)
            == .internalRedirect("/_shared-media/films/3/film.mp4"))
    #expect(
        store.delivery("films/3/film.mp4", audience: .signedIn, disposition: nil)
            == .internalRedirect("/_media/films/3/film.mp4"))
    let conf = try String(
        contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("nginx/promptreel.conf"), encoding: .utf8)
    let location = try #require(conf.range(of: "location /_shared-media/ {"))
    let block = conf[location.upperBound...].prefix { $0 != "}" }
    #expect(block.contains("internal;") && block.contains("access_log off;"))
}

@Suite struct EveryRoute {
    /// The route cases declared in the sources: Route's own (not its areas) and every area enum's.
    static func declaredCases() throws -> Set<String> {
        let webApp = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/WebApp")
        let areas: Set<String> = [
            "accounts", "admin", "library", "generations", "roundtables", "references", "webhooks", "usage",
            "storyboards", "films", "sharing",
        ]
        var names: Set<String> = []
        let files = try FileManager.default.subpathsOfDirectory(atPath: webApp.path)
            .filter { $0.hasSuffix("Routes.swift") || $0 == "Server/Route.swift" }
        #expect(files.count == 12)
        for file in files {
            let text = try String(contentsOf: webApp.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("    case ") {
                let name = String(line.dropFirst(9).prefix { $0.isLetter || $0.isNumber })
                if !(file == "Server/Route.swift" && areas.contains(name)) { names.insert(name) }
            }
        }
        return names
    }

    @Test func everyCaseIsListed() throws {
        let listed = everyRoute.map(\.metricName)
        #expect(Set(listed).count == listed.count)
        #expect(Set(listed) == (try Self.declaredCases()))
    }

    /// parse ∘ print and print ∘ parse are the identity on every route and its canonical path.
    @Test(arguments: everyRoute) func printsAndParsesBack(_ route: Route) {
        #expect(Route(path: route.path) == route)
        #expect(Route(path: route.path)?.path == route.path)
    }

    /// Ids only as the route prints them: a leading zero, a sign or a space is another path, and not a route.
    @Test(arguments: everyRoute) func nonCanonicalIDsAreNotRoutes(_ route: Route) {
        let path = route.path
        guard let match = path.range(of: #"/[1-9][0-9]*(/|$)"#, options: .regularExpression) else { return }
        let digits = path[match].trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        for variant in ["0" + digits, "+" + digits, digits + ".0", " " + digits, digits + "0000000000000000000"] {
            #expect(
                Route(
                    path: path.replacingCharacters(
                        in: match, with: "/\(variant)" + (path[match].hasSuffix("/") ? "/" : ""))) == nil,
                "\(variant) in \(path)")
        }
    }

    /// Each route answers at least one method (health and metrics before the table), and every other method gets
    /// `Allow` naming exactly the table's methods: with a 405 on a public route, and on the others with the answer
    /// to a missing account, which comes first (401 on the API, the log-in page elsewhere).
    @Test func everyRouteHasHandlersAndRefusesOtherMethods() throws {
        let client = Client()
        for route in everyRoute where route != .healthz && route != .metrics {
            let table = client.app.handlers(for: route)
            #expect(!table.isEmpty, "\(route) has no handler")
            for method in HTTPMethod.allCases where table[method] == nil {
                let response = client.send(Request(method: method.rawValue, target: route.path))
                let expected = route.isPublic ? 405 : route.path.hasPrefix("/api/") ? 401 : 303
                #expect(response.status == expected, "\(method) \(route.path)")
                let allow = response.headers.first { $0.0 == "Allow" }?.1
                #expect(allow == table.keys.sorted().map(\.rawValue).joined(separator: ", "), "\(route.path)")
            }
        }
    }

    /// The `route` label of the request metrics: docs/operations.md documents these names.
    @Test func metricNamesArePinned() {
        #expect(
            everyRoute.map(\.metricName) == [
                "home", "healthz", "metrics", "login", "signup", "logout", "dashboard", "projects", "project",
                "editProject",
                "deleteProject", "newVideo", "projectVideos", "video", "editVideo", "deleteVideo", "copyVideo",
                "generateVideo",
                "latestGeneration", "generation", "cancelGeneration", "remixGeneration", "videoTakes",
                "videoRoundtables", "roundtable",
                "roundtableAccept", "roundtableEdit", "roundtableRetry", "videoReferenceImage",
                "videoReferenceImageDelete",
                "videoReferencePreview", "account", "tokens", "accountPreferences", "deleteToken", "password",
                "endSession", "deleteAccount", "passwordReset", "forgotPassword", "webhooks",
                "webhook", "deleteWebhook",
                "redeliverWebhook", "adminUsers", "adminUser", "adminBudgets", "usage", "usageCSV", "apiProjects",
                "apiProject",
                "apiProjectVideos", "apiVideos", "apiVideo", "apiVideoCopy", "apiVideoChosenTake", "moveVideo",
                "storyboard",
                "chooseTake", "generateShots", "batch", "apiGenerateShots", "apiBatch", "makeFilm", "film",
                "deleteFilm", "filmLinks", "revokeFilmLink", "filmMedia",
                "sharedFilm", "sharedFilmMedia", "apiProjectFilms", "apiFilm", "apiFilmLinks", "apiFilmLink",
                "apiProjectMembers", "apiProjectMember", "apiProjectInvitation", "apiInvitations",
                "apiAcceptInvitation",
                "apiDeclineInvitation", "members", "memberRole", "removeMember", "revokeInvitation", "acceptInvitation",
                "declineInvitation",
                "apiModels", "apiEstimate",
                "apiGenerate",
                "apiStatus",
                "apiVideoGenerations", "apiGeneration", "apiCancelGeneration", "apiReferenceImage",
                "apiRemixGeneration",
                "apiVideoRoundtable", "apiVideoRoundtables", "apiRoundtable", "apiRoundtableAccept",
                "apiRoundtableRetry", "apiWebhooks",
                "apiWebhook", "apiWebhookDeliveries", "apiRedeliverWebhook", "apiUsage", "media",
            ])
    }
}
