// Issue 22, finding 2: identical uploads are one file (a copied video's image is not copied), files no row
// names are swept by a worker task, and each user's uploads have a storage quota — through the App, with the
// image decoder child and a real PostgreSQL, in a media directory of the test's own.

import Formats
import Foundation
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

    /// A PNG no other test (or earlier run) uploads: a random colour at a random size, written here (libvips is
    /// not used in this process: the Images tests count its live objects).
    let image = UploadStorage.png(
        width: Int.random(in: 200...1800), height: 16, rgb: (.random(in: 0...255), .random(in: 0...255), 9))

    static func png(width: Int, height: Int, rgb: (UInt8, UInt8, UInt8)) -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
        func crc32(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return ~crc
        }
        func chunk(_ kind: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(kind.utf8) + data
            return be32(UInt32(data.count)) + body + be32(crc32(body))
        }
        var raw: [UInt8] = []
        let row = [UInt8(0)] + Array(repeating: [rgb.0, rgb.1, rgb.2], count: width).flatMap { $0 }
        for _ in 0..<height { raw += row }
        // zlib with stored (uncompressed) deflate blocks, and its Adler-32.
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let count = min(65_535, raw.count - offset)
            let last: UInt8 = offset + count == raw.count ? 1 : 0
            zlib += [last, UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
            zlib += raw[offset..<offset + count]
            offset += count
        } while offset < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        zlib += be32(b << 16 | a)
        let header = be32(UInt32(width)) + be32(UInt32(height)) + [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib)
            + chunk("IEND", [])
    }

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
        let sweeper = MediaSweeper(db: db, stores: .local(media), intervalSeconds: 0)
        _ = try sweeper.sweepIfDue(nowSeconds: Int(Date().timeIntervalSince1970))
        #expect(FileManager.default.fileExists(atPath: path))

        // Removed from every video: the worker's sweep removes it (no operator command).
        for id in [video] + copies { #expect(call("DELETE", "/api/videos/\(id)/reference-image").status == 200) }
        let removed = try #require(try sweeper.sweepIfDue(nowSeconds: Int(Date().timeIntervalSince1970) + 1))
        #expect(removed.map(\.path) == ["local: " + stored[0]])
        #expect(files().isEmpty)
    }

    /// An image of the per-video layout of older installs, copied: the copy names a shared file, so deleting
    /// the original video (which removes its folder) leaves the copy its image.
    @Test func aCopyOfAnOlderLayoutImageSurvivesTheOriginalsDeletion() throws {
        let video = try newVideo()
        let sha = Crypto.sha256(image).map { String(format: "%02x", $0) }.joined()
        let legacy = "references/\(video)/\(sha).png"
        try MediaFiles.write(image, to: legacy, in: media)
        try db.execute(
            """
            INSERT INTO video_reference_images (video_id, path, content_type, width, height, bytes, sha256)
            VALUES (\(Int64(video)), \(legacy), 'image/png', 200, 16, \(Int64(image.count)), \(sha))
            """)
        let copy = try #require(JSONParser.parse(call("POST", "/api/videos/\(video)/copy").bodyText)["id"]?.intValue)
        let path = try db.execute("SELECT path FROM video_reference_images WHERE video_id = \(Int64(copy))")[0]
            .string("path")
        #expect(path.hasPrefix("references/shared/"))
        #expect(call("DELETE", "/api/videos/\(video)").status == 204)
        #expect(FileManager.default.fileExists(atPath: media + "/" + legacy))  // a worker removes it, not the request
        #expect(
            try !db.execute("SELECT 1 FROM media_deletions WHERE prefix = \("references/\(video)/")").isEmpty)
        try LocalMediaStore(directory: media).removeAll(prefix: "references/\(video)/")
        #expect(!FileManager.default.fileExists(atPath: media + "/" + legacy))
        #expect(FileManager.default.contents(atPath: media + "/" + path).map(Array.init) == image)
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
            db: db, stores: .local(media), images: ImageToolConfig(), defaultQuotaBytes: 0
        ).storageUse(userID: ID(Int64(try #require(try Store(db: db).userID(email: email)).rawValue)))
        #expect(use.usedBytes == Int64(image.count) && use.quotaBytes == Int64(image.count))
        try Accounts.setStorageQuota(db, email: email, bytes: nil)
    }
}
