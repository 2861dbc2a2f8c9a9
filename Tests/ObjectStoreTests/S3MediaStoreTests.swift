// The S3 media store against a real S3 server (OpenStack Swift's S3 API, started by scripts/test): objects written
// whole and in parts and read back byte for byte, refreshed, listed page by page, served by presigned URL (Range
// too), removed; and its failures told apart — a missing object, refused credentials, an unreachable store.

import Core
import Foundation
import Glibc
import HTTPClient
import Testing

@testable import ObjectStore

@Suite(.serialized) struct S3MediaStoreAgainstARealServer {
    let endpoint: String
    let scratch: String
    let store: S3MediaStore

    static func config(endpoint: String, bucket: String = "media-tests", secret: String = "testing") throws -> S3Config
    {
        try #require(
            try S3Config.fromEnvironment([
                "PROMPTREEL_MEDIA_STORE": "s3://\(bucket)/run-\(getpid())", "AWS_ACCESS_KEY_ID": "test:tester",
                "AWS_SECRET_ACCESS_KEY": secret, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
                "PROMPTREEL_S3_MULTIPART_BYTES": String(5 << 20),
            ]))
    }

    init() throws {
        let url = ProcessInfo.processInfo.environment["PROMPTREEL_TEST_S3_URL"]
        if url == nil { Issue.record("PROMPTREEL_TEST_S3_URL is not set: run the tests with scripts/test") }
        endpoint = url ?? "http://127.0.0.1:1"
        scratch = NSTemporaryDirectory() + "promptreel-s3-\(UUID().uuidString)"
        store = S3MediaStore(config: try Self.config(endpoint: endpoint), scratchDirectory: scratch)
        try store.createBucket()
    }

    static func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

    func file(_ bytes: [UInt8]) throws -> String {
        MediaFiles.makeFolder(scratch)
        let path = scratch + "/upload-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func bytesGoUpAndComeBackWhole() throws {
        let key = "1/thumbnail-\(UUID().uuidString).webp"
        let bytes = Self.random(70_000)
        #expect(try !store.refresh(key))
        try store.put(bytes: bytes, key: key, contentType: "image/webp")
        #expect(try store.read(key, maxBytes: 1 << 20) == bytes)
        #expect(try store.refresh(key))
        let copied = try store.withLocalFile(key) { path in try Data(contentsOf: URL(fileURLWithPath: path)) }
        #expect(Array(copied) == bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty)  // the copy is gone
        // A read past its cap is refused, not truncated.
        #expect(throws: MediaStoreError.self) { try store.read(key, maxBytes: 1000) }
        try store.remove(key)
        #expect(try !store.refresh(key))
        try store.remove(key)  // no such object: not an error
    }

    @Test func aLargeFileGoesUpInPartsAndTheStagedFileGoes() throws {
        let bytes = Self.random((11 << 20) + 12345)  // over the 5 MiB threshold: 8 MiB + the rest
        let path = try file(bytes)
        let key = "2/video-\(UUID().uuidString).mp4"
        try store.put(file: path, key: key, contentType: "video/mp4")
        #expect(!FileManager.default.fileExists(atPath: path))
        let back = try store.read(key, maxBytes: 64 << 20)
        #expect(back.count == bytes.count && back == bytes)
        // The store's own ETag is that of a two-part upload.
        let head = try #require(try store.client.head(key))
        #expect(head.bytes == Int64(bytes.count))
        try store.remove(key)
    }

    @Test func aFileUnderTheThresholdGoesUpWhole() throws {
        let bytes = Self.random(300_000)
        let path = try file(bytes)
        try store.put(file: path, key: "3/video.mp4", contentType: "video/mp4")
        #expect(try store.read("3/video.mp4", maxBytes: 1 << 20) == bytes)
        try store.remove("3/video.mp4")
    }

    @Test func listingsComePageByPageUnderThePrefix() throws {
        var client = store.client
        client.pageSize = 3
        let folder = "list-\(UUID().uuidString)/"
        let keys = (0..<7).map { folder + "k\($0)" }
        for key in keys { try store.put(bytes: [1, 2, 3], key: key, contentType: "application/octet-stream") }
        let listed = try client.list(prefix: folder)
        #expect(listed.map(\.key) == keys)
        #expect(listed.allSatisfy { $0.bytes == 3 && abs($0.modified.timeIntervalSinceNow) < 600 })
        try store.removeAll(prefix: folder)
        #expect(try store.list(prefix: folder).isEmpty)
    }

    /// The URL nginx proxies: no credentials needed, Range answered with 206, and useless once tampered with.
    @Test func presignedReadsWorkWithRange() throws {
        let bytes = Self.random(10_000)
        try store.put(bytes: bytes, key: "4/video.mp4", contentType: "video/mp4")
        guard
            case let .internalRedirect(location) = store.delivery("4/video.mp4", audience: .signedIn, disposition: nil)
        else {
            Issue.record("a proxied delivery")
            return
        }
        #expect(location.hasPrefix("/_s3/media-tests/run-\(getpid())/4/video.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"))
        let url = endpoint + location.dropFirst("/_s3".count)
        let sink = MemorySink()
        let ranged = try CurlEasy().perform(
            HTTPClientRequest(method: "GET", url: url, headers: [("Range", "bytes=100-199")]), into: sink)
        #expect(ranged.status == 206 && sink.bytes == Array(bytes[100...199]))
        #expect(try CurlEasy().get(url.replacingOccurrences(of: "4/video", with: "5/video")).status == 403)
        guard
            case let .internalRedirect(shared) = store.delivery("4/video.mp4", audience: .sharedLink, disposition: nil)
        else { return }
        #expect(shared.hasPrefix("/_s3-shared/"))
        try store.remove("4/video.mp4")
    }

    @Test func failuresAreToldApart() throws {
        #expect {
            try store.read("no/such/object", maxBytes: 10)
        } throws: { ($0 as? MediaStoreError)?.kind == .notFound }
        let wrong = S3MediaStore(
            config: try Self.config(endpoint: endpoint, secret: "not the secret"), scratchDirectory: scratch)
        #expect {
            try wrong.put(bytes: [1], key: "x", contentType: "text/plain")
        } throws: {
            let error = $0 as? MediaStoreError
            return error?.kind == .refused && error?.code == "SignatureDoesNotMatch"
        }
        let closed = S3MediaStore(config: try Self.config(endpoint: "http://127.0.0.1:9"), scratchDirectory: scratch)
        #expect {
            try closed.list(prefix: "")
        } throws: { ($0 as? MediaStoreError)?.kind == .transient }
        // The secret is in no error and no description.
        #expect(!"\(wrong.config)".contains("not the secret") && !wrong.summary.contains("not the secret"))
    }

    @Test func aWrongETagIsCaughtWithoutReadingBack() throws {
        let md5 = MD5.digest(Array("what was sent".utf8))
        let answer = S3Client.Answer(status: 200, headers: ["etag": "\"0123\""], body: [], uploaded: 13)
        #expect {
            try S3Client.verify(answer, md5: md5, length: 13, key: "k")
        } throws: { ($0 as? MediaStoreError)?.code == "BadDigest" }
        let right = S3Client.Answer(status: 200, headers: ["etag": "\"\(SigV4.hex(md5))\""], body: [], uploaded: 12)
        #expect {
            try S3Client.verify(right, md5: md5, length: 13, key: "k")
        } throws: { ($0 as? MediaStoreError)?.code == "IncompleteBody" }
    }
}

@Test func md5MatchesRFC1321() {
    let vectors = [
        ("", "d41d8cd98f00b204e9800998ecf8427e"), ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"), ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        (
            "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "57edf4a22be3c955ac49da2e2107b67a"
        ),
    ]
    for (text, digest) in vectors { #expect(SigV4.hex(MD5.digest(Array(text.utf8))) == digest) }
    // Fed in pieces of every size, the same digest.
    let long = Array(String(repeating: "The quick brown fox ", count: 100).utf8)
    for step in [1, 7, 63, 64, 65, 1000] {
        var md5 = MD5()
        var i = 0
        while i < long.count {
            md5.update(Array(long[i..<min(i + step, long.count)]))
            i += step
        }
        #expect(md5.finish() == MD5.digest(long))
    }
}

@Test func xmlTextReadsWhatS3Writes() {
    let xml = """
        <ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a &amp; b/&#233;.mp4</Key><Size>12</Size>
        <LastModified>2026-12-07T11:00:00.000Z</LastModified></Contents><NextContinuationToken>t&lt;1</NextContinuationToken>
        </ListBucketResult>
        """[...]
    #expect(XMLText.value("Key", in: xml) == "a & b/é.mp4")
    #expect(XMLText.value("NextContinuationToken", in: xml) == "t<1")
    #expect(XMLText.blocks("Contents", in: xml).count == 1)
    #expect(HTTPDate.parseISO("2026-12-07T11:00:00.000Z") == HTTPDate.parse("Mon, 07 Dec 2026 11:00:00 GMT"))
    #expect(HTTPDate.parse("Mon, 07 Dec 2026 11:00:00 GMT")?.timeIntervalSince1970 == 1_796_641_200)
}

@Test func s3SettingsFollowTheEcosystemsConventions() throws {
    let base = ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t"]
    #expect(try S3Config.fromEnvironment(base) == nil)
    let aws = try #require(
        try S3Config.fromEnvironment(
            base.merging(["PROMPTREEL_MEDIA_STORE": "s3://my-bucket/videos/prod/", "AWS_REGION": "eu-west-1"]) { $1 }))
    #expect(aws.addressing == .virtual && aws.requestHost == "my-bucket.s3.eu-west-1.amazonaws.com")
    #expect(
        aws.prefix == "videos/prod/" && aws.storeName == "s3://my-bucket/videos/prod"
            && aws.path("videos/prod/1/video.mp4") == "/videos/prod/1/video.mp4")
    let minio = try #require(
        try S3Config.fromEnvironment(
            base.merging(["PROMPTREEL_MEDIA_STORE": "s3://media", "AWS_ENDPOINT_URL": "http://minio:9000/"]) { $1 }))
    #expect(
        minio.addressing == .path && minio.requestHost == "minio:9000"
            && minio.path("1/video.mp4") == "/media/1/video.mp4")
    #expect(minio.storeName == "s3://media")
    for bad in [
        ["PROMPTREEL_MEDIA_STORE": "s3://Bad_Bucket"], ["PROMPTREEL_MEDIA_STORE": "gs://media"],
        ["PROMPTREEL_MEDIA_STORE": "s3://media", "AWS_ENDPOINT_URL": "minio:9000"],
        ["PROMPTREEL_MEDIA_STORE": "s3://media", "PROMPTREEL_S3_ADDRESSING": "sideways"],
        ["PROMPTREEL_MEDIA_STORE": "s3://media", "PROMPTREEL_S3_MULTIPART_BYTES": "1024"],
    ] {
        #expect(throws: S3Config.Invalid.self) { try S3Config.fromEnvironment(base.merging(bad) { $1 }) }
    }
    #expect(throws: S3Config.Invalid.self) { try S3Config.fromEnvironment(["PROMPTREEL_MEDIA_STORE": "s3://media"]) }
    #expect(!"\(aws)".contains("s3cr3t"))
}
