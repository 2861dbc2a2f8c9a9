// Routing: paths parse to typed routes and print back; anything else is not a route.

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp
import Testing

@Suite struct Routing {
    @Test(arguments: [
        Route.home, .healthz, .login, .signup, .logout, .dashboard, .projects, .project(7), .newVideo(project: 7),
        .projectVideos(project: 7), .video(42), .account, .tokens, .accountPreferences, .deleteToken(3), .apiProjects, .apiProject(9),
        .apiProjectVideos(project: 9), .apiVideo(9), .apiModels, .apiEstimate,
        .generateVideo(video: 3), .latestGeneration(video: 3), .generation(5), .apiGenerate(video: 2), .apiStatus(video: 2),
        .apiVideoGenerations(video: 2), .apiGeneration(8), .media(generation: 8, file: "video.mp4"),
        .videoReferenceImage(video: 4), .videoReferenceImageDelete(video: 4), .videoReferencePreview(video: 4),
        .apiReferenceImage(video: 4), .media(generation: 8, file: "reference.webp"), .media(generation: 8, file: "reference-fitted.png"),
    ])
    func pathsRoundTrip(_ route: Route) {
        #expect(Route(path: route.path) == route)
    }

    @Test(arguments: ["/nope", "/dashboard/projects/abc", "/dashboard/projects/0", "/dashboard/projects/-1",
                      "/dashboard/projects/99999999999999999999", "/api/videos/1/x", "/dashboard/videos/", "//",
                      "/api/videos/%31", "/dashboard/projects/1/videos/old", "/api/videos/٣",
                      "/media/generations/1/../../etc/passwd", "/media/generations/1/other.mp4", "/media/generations/1",
                      "/media/generations/1/reference.gif", "/media/generations/1/reference-fitted.jpg", "/dashboard/videos/1/reference-image/x"])
    func unknownPathsAreNotRoutes(_ path: String) {
        #expect(Route(path: path) == nil)
    }

    /// Only the two image upload routes take 20 MiB; every other request keeps the standard limit.
    @Test func bodyLimitsArePerRoute() {
        let standard = 1 << 20
        #expect(Route.maxBodyBytes(method: "PUT", path: "/api/videos/3/reference-image", standard: standard) == 20 << 20)
        #expect(Route.maxBodyBytes(method: "POST", path: "/dashboard/videos/3/reference-image", standard: standard) == (20 << 20) + (64 << 10))
        #expect(Route.maxBodyBytes(method: "POST", path: "/api/videos/3/reference-image", standard: standard) == standard)
        #expect(Route.maxBodyBytes(method: "PUT", path: "/api/videos/x/reference-image", standard: standard) == standard)
        #expect(Route.maxBodyBytes(method: "POST", path: "/api/projects", standard: standard) == standard)
        #expect(Route.maxBodyBytes(method: "POST", path: "/dashboard/videos/3/reference-image/delete", standard: standard) == standard)
    }
}
