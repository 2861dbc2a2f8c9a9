// Issue 22, finding 1: uploads are decoded in a child process under memory and CPU caps, one per user and a
// few per instance, and refused at once (429) past that — through the App, with the real `promptreel
// image-tool` child and a real PostgreSQL. The fixture is the probe's kind of file: a flat 7000×7000 WebP
// of 88 KB that needs ~190 MB to decode.

import Formats
import Foundation
import Postgres
import Testing
import Web

@testable import Core
@testable import WebApp

@Suite(.serialized) struct ImageDecodeLimits {
    static let bomb = Array(
        FileManager.default.contents(
            atPath: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "Fixtures/flat-7000x7000.webp"
            ).path) ?? Data())

    let db: Connection
    let token: String
    let userID: ID<User>
    let video: Int

    init() throws {
        Crypto.initialize()
        db = try Connection(url: TestDatabase.url)
        let email = TestDatabase.uniqueEmail("images")
        userID = ID(try Accounts.createUser(db, email: email, password: "long enough password").id)
        token = try Accounts.createToken(db, email: email, name: "images")
        let client = Client()
        let project = client.send(
            Self.request(token, "POST", "/api/projects", Array(#"{"name":"Stills"}"#.utf8), type: "application/json"))
        let projectID = try #require(JSONParser.parse(project.bodyText)["id"]?.intValue)
        let made = client.send(
            Self.request(
                token, "POST", "/api/projects/\(projectID)/videos", Array(#"{"title":"From a still"}"#.utf8),
                type: "application/json"))
        video = try #require(JSONParser.parse(made.bodyText)["id"]?.intValue)
    }

    func api(_ method: String, _ path: String, _ body: [UInt8], type: String = "application/json") -> Request {
        Self.request(token, method, path, body, type: type)
    }

    static func request(_ token: String, _ method: String, _ path: String, _ body: [UInt8], type: String) -> Request {
        Request(
            method: method, path: path, headers: ["authorization": "Bearer \(token)", "content-type": type], body: body)
    }

    func upload(_ client: Client) -> Response {
        client.send(api("PUT", "/api/videos/\(video)/reference-image", Self.bomb, type: "image/webp"))
    }

    func code(_ response: Response) -> String? {
        (try? JSONParser.parse(response.bodyText))?["error"]?["code"]?.stringValue
    }

    @Test func theFixtureIsTheProbesKind() {
        #expect(Self.bomb.count > 50_000 && Self.bomb.count < 200_000)
    }

    /// Under the default caps it decodes, in the child (this process never loads libvips for it).
    @Test func aLargeImageDecodesInTheChild() throws {
        let response = upload(Client())
        #expect(response.status == 200 || response.status == 201, "\(response.status) \(response.bodyText)")
        let facts = try JSONParser.parse(response.bodyText)
        #expect(facts["width"]?.intValue == 7000 && facts["height"]?.intValue == 7000)
    }

    /// A decode past the memory cap ends the child, not the server: 422, and the next request is answered.
    @Test func aDecodeOverTheMemoryCapIs422AndTheServerStaysUp() {
        var config = AppConfig(databaseURL: TestDatabase.url)
        config.images.memoryMB = 100
        let client = Client(config: config)
        let response = upload(client)
        #expect(response.status == 422 && code(response) == "image_over_limits", "\(response.bodyText)")
        #expect(client.get("/healthz").status == 200)
    }

    /// A decoder that cannot run is the server's fault: 503, not a verdict on the image.
    @Test func aDecoderThatCannotRunIs503() {
        var config = AppConfig(databaseURL: TestDatabase.url)
        config.images.executable = "/nonexistent/promptreel"
        let response = upload(Client(config: config))
        #expect(response.status == 503 && code(response) == "image_decoder_unavailable", "\(response.bodyText)")
    }

    /// A second upload while one of the user's is decoding is refused at once; so is one when every decoder
    /// of the instance is busy. (The decode in progress is stood for by the advisory lock it would hold.)
    @Test func aSecondConcurrentUploadIs429AtOnce() throws {
        let other = try Connection(url: TestDatabase.url)
        try other.execute("SELECT pg_advisory_lock(\(0x494D << 48 | userID.rawValue))")
        let busy = upload(Client())
        #expect(busy.status == 429 && code(busy) == "image_busy" && busy.header("retry-after") == "2")
        try other.execute("SELECT pg_advisory_unlock(\(0x494D << 48 | userID.rawValue))")

        var config = AppConfig(databaseURL: TestDatabase.url)
        config.images.maxConcurrent = 1
        config.images.memoryMB = 100  // refused quickly if it did run: the test is about the slot
        let slot: Int64 = 0x4953 << 48
        try other.execute("SELECT pg_advisory_lock(\(slot))")
        let full = upload(Client(config: config))
        #expect(full.status == 429 && code(full) == "image_busy" && full.bodyText.contains("as many images"))
        try other.execute("SELECT pg_advisory_unlock(\(slot))")
    }
}
