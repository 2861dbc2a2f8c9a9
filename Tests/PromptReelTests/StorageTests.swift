// Issue 22, finding 2: identical uploads are one file (a copied video's image is not copied), files no row
// names are swept by a worker task, and each user's uploads have a storage quota — through the App, with the
// image decoder child and a real PostgreSQL, in a media directory of the test's own.

import Formats
import Foundation
import Images
import Postgres
import Testing
import Web

@testable import Core
@testable import Engine
@testable import WebApp

@Suite(.serialized) final class UploadStorage {
    let db: Connection
    let email: String
    let token: String
    let media: String
    let client: Client

    init() throws {
        Crypto.initialize()
        db = try Connection(url: TestDatabase.url)
        email = TestDatabase.uniqueEmail("storage")
        _ = try Accounts.createUser(db, email: email, password: "long enough password")
        token = try Accounts.createToken(db, email: email, name: "storage")
        media =
            FileManager.default.temporaryDirectory.appendingPathComponent("promptreel-storage-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: true)
        var config = AppConfig(databaseURL: TestDatabase.url)
        config.engine.mediaDirectory = media
        client = Client(config: config)
    }

    deinit { try? FileManager.default.removeItem(atPath: media) }

    func call(_ method: String, _ path: String, _ body: [UInt8] = [], type: String = "application/json") -> Response {
        client.send(
            Request(
                method: method, path: path, headers: ["authorization": "Bearer \(token)", "content-type": type],
                body: body))
    }

    func newVideo() throws -> Int {
        let project = call("POST", "/api/projects", Array(#"{"name":"Stills"}"#.utf8))
        let projectID = try #require(JSONParser.parse(project.bodyText)["id"]?.intValue)
        let video = call("POST", "/api/projects/\(projectID)/videos", Array(#"{"title":"From a still"}"#.utf8))
        return try #require(JSONParser.parse(video.bodyText)["id"]?.intValue)
    }

    /// A PNG no other test (or earlier run) uploads: the fixture fitted to a size of its own.
    let image: [UInt8] = {
        (try? Images.fit(
            ImageDecodeLimits.bomb, width: Int.random(in: 200...1800), height: Int.random(in: 200...1800), mode: .crop))
            ?? []
    }()

    func upload(_ video: Int) -> Response {
        call("PUT", "/api/videos/\(video)/reference-image", image, type: "image/png")
    }

    /// Every file under references/, relative to the media directory.
    func files() -> [String] {
        let root = media + "/references"
        return (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter {
            var directory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + $0, isDirectory: &directory)
                && !directory.boolValue
        }.map { "references/" + $0 }.sorted()
    }

    @Test func copiesShareOneFileAndTheSweepRemovesItOnceNothingUsesIt() throws {
        let video = try newVideo()
        #expect(upload(video).status == 200)
        var copies: [Int] = []
        for _ in 0..<3 {
            let copy = call("POST", "/api/videos/\(video)/copy")
            copies.append(try #require(JSONParser.parse(copy.bodyText)["id"]?.intValue))
        }
        let stored = files()
        #expect(stored.count == 1, "\(stored)")  // four videos, one file (before: one per copy)
        let paths = try db.execute(
            "SELECT DISTINCT path FROM video_reference_images WHERE video_id = ANY(\("{\(([video] + copies).map(String.init).joined(separator: ","))}")::bigint[])"
        ).map { $0.string("path") }
        #expect(paths == stored)

        // Still named by the copies: the sweep keeps it, however old it is.
        let path = media + "/" + stored[0]
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: path)
        let sweeper = MediaSweeper(db: db, mediaDirectory: media, intervalSeconds: 0)
        _ = try sweeper.sweepIfDue(nowSeconds: Int(Date().timeIntervalSince1970))
        #expect(FileManager.default.fileExists(atPath: path))

        // Removed from every video: the worker's sweep removes it (no operator command).
        for id in [video] + copies { #expect(call("DELETE", "/api/videos/\(id)/reference-image").status == 200) }
        let removed = try #require(try sweeper.sweepIfDue(nowSeconds: Int(Date().timeIntervalSince1970) + 1))
        #expect(removed.map(\.path) == [path])
        #expect(files().isEmpty)
    }

    @Test func uploadsCountAgainstTheUsersQuota() throws {
        let video = try newVideo()
        try Accounts.setStorageQuota(db, email: email, bytes: Int64(image.count) - 1)
        let over = upload(video)
        #expect(over.status == 422)
        #expect(
            (try? JSONParser.parse(over.bodyText))?["error"]?["code"]?.stringValue == "storage_quota_exceeded",
            "\(over.bodyText)")
        #expect(files().isEmpty)  // refused before it was decoded or stored

        try Accounts.setStorageQuota(db, email: email, bytes: Int64(image.count))
        #expect(upload(video).status == 200)
        // The same bytes again, on a copy: no more room taken, so it fits.
        let copy = try #require(JSONParser.parse(call("POST", "/api/videos/\(video)/copy").bodyText)["id"]?.intValue)
        #expect(upload(copy).status == 200)
        let use = try ReferenceImages(
            db: db, mediaDirectory: media, images: ImageToolConfig(), defaultQuotaBytes: 0
        ).storageUse(userID: ID(Int64(try #require(try Store(db: db).userID(email: email)).rawValue)))
        #expect(use.usedBytes == Int64(image.count) && use.quotaBytes == Int64(image.count))
        try Accounts.setStorageQuota(db, email: email, bytes: nil)
    }
}
