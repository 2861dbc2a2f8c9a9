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
        Route.home, .healthz, .login, .signup, .logout, .dashboard, .projects, .project(7), .newVideo(project: 7),
        .projectVideos(project: 7), .video(42), .account, .tokens, .accountPreferences, .deleteToken(3), .apiProjects,
        .apiProject(9),
        .apiProjectVideos(project: 9), .apiVideo(9), .apiModels, .apiEstimate,
        .generateVideo(video: 3), .latestGeneration(video: 3), .generation(5), .apiGenerate(video: 2),
        .apiStatus(video: 2),
        .apiVideoGenerations(video: 2), .apiGeneration(8), .media(generation: 8, file: "video.mp4"),
        .videoReferenceImage(video: 4), .videoReferenceImageDelete(video: 4), .videoReferencePreview(video: 4),
        .apiReferenceImage(video: 4), .media(generation: 8, file: "reference.webp"),
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
    .home, .healthz, .metrics, .login, .signup, .logout, .dashboard, .projects, .project(7), .editProject(7),
    .deleteProject(7),
    .newVideo(project: 7), .projectVideos(project: 7), .video(42), .editVideo(42), .deleteVideo(42), .copyVideo(42),
    .generateVideo(video: 3), .latestGeneration(video: 3), .generation(5), .cancelGeneration(5), .remixGeneration(5),
    .videoTakes(video: 3), .videoRoundtables(video: 3), .roundtable(6), .roundtableAccept(6), .roundtableEdit(6),
    .roundtableRetry(6), .videoReferenceImage(video: 4), .videoReferenceImageDelete(video: 4),
    .videoReferencePreview(video: 4),
    .account, .tokens, .accountPreferences, .deleteToken(3), .webhooks, .webhook(2), .deleteWebhook(2),
    .redeliverWebhook(delivery: 12), .adminUsers, .adminUser(5), .adminBudgets, .usage, .usageCSV,
    .apiProjects, .apiProject(9), .apiProjectVideos(project: 9), .apiVideos, .apiVideo(9), .apiVideoCopy(9), .apiModels,
    .apiEstimate, .apiGenerate(video: 2), .apiStatus(video: 2), .apiVideoGenerations(video: 2), .apiGeneration(8),
    .apiCancelGeneration(8), .apiReferenceImage(video: 4), .apiRemixGeneration(8), .apiVideoRoundtable(video: 2),
    .apiVideoRoundtables(video: 2), .apiRoundtable(6), .apiRoundtableAccept(6), .apiRoundtableRetry(6), .apiWebhooks,
    .apiWebhook(2), .apiWebhookDeliveries(2), .apiRedeliverWebhook(delivery: 12), .apiUsage,
    .media(generation: 8, file: "video.mp4"),
]

@Suite struct EveryRoute {
    /// The case names declared in Route.swift (the enum's `case` lines), read from the source.
    static func declaredCases() throws -> Set<String> {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/WebApp/Server/Route.swift")
        let text = try String(contentsOf: source, encoding: .utf8)
        let start = try #require(text.range(of: "public enum Route"))
        let end = try #require(text.range(of: "public static let openAPIDocumentPath"))
        return Set(
            text[start.upperBound..<end.lowerBound].split(separator: "\n").compactMap { line -> String? in
                let t = line.trimmingCharacters(in: .whitespaces)
                guard t.hasPrefix("case ") else { return nil }
                return String(t.dropFirst(5).prefix { $0.isLetter || $0.isNumber })
            })
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

    /// Each route answers at least one method (health and metrics before the table), and every other
    /// method gets 405 with `Allow` naming exactly the table's methods, before any sign-in is asked for.
    @Test func everyRouteHasHandlersAndRefusesOtherMethods() throws {
        let client = Client()
        for route in everyRoute where route != .healthz && route != .metrics {
            let table = client.app.handlers(for: route)
            #expect(!table.isEmpty, "\(route) has no handler")
            for method in HTTPMethod.allCases where table[method] == nil {
                let response = client.send(Request(method: method.rawValue, target: route.path))
                #expect(response.status == 405, "\(method) \(route.path)")
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
                "videoReferencePreview", "account", "tokens", "accountPreferences", "deleteToken", "webhooks",
                "webhook", "deleteWebhook",
                "redeliverWebhook", "adminUsers", "adminUser", "adminBudgets", "usage", "usageCSV", "apiProjects",
                "apiProject",
                "apiProjectVideos", "apiVideos", "apiVideo", "apiVideoCopy", "apiModels", "apiEstimate", "apiGenerate",
                "apiStatus",
                "apiVideoGenerations", "apiGeneration", "apiCancelGeneration", "apiReferenceImage",
                "apiRemixGeneration",
                "apiVideoRoundtable", "apiVideoRoundtables", "apiRoundtable", "apiRoundtableAccept",
                "apiRoundtableRetry", "apiWebhooks",
                "apiWebhook", "apiWebhookDeliveries", "apiRedeliverWebhook", "apiUsage", "media",
            ])
    }
}
