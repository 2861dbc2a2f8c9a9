// The signer against a real S3 server (OpenStack Swift's S3 API, started by scripts/test: ../shared/s3/): a bucket
// and an object made with header-signed requests, the object read back through a presigned URL (a key with a
// space, a plus and Unicode), and a tampered or expired signature, or a wrong secret, refused with 403.

import Foundation
import Glibc
import HTTPClient
import Testing

@testable import ObjectStore

@Suite(.serialized) struct SigV4AgainstARealS3Server {
    let base: String
    let host: String
    let signer = SigV4(
        credentials: S3Credentials(accessKeyID: "test:tester", secretAccessKey: "testing"), region: "us-east-1")

    init() throws {
        guard let url = ProcessInfo.processInfo.environment["PROMPTREEL_TEST_S3_URL"] else {
            Issue.record("PROMPTREEL_TEST_S3_URL is not set: run the tests with scripts/test")
            base = "http://127.0.0.1:1"
            host = "127.0.0.1:1"
            return
        }
        base = url
        host = String(url.dropFirst("http://".count))
    }

    func send(_ method: String, _ path: String, body: [UInt8] = [], with signer: SigV4? = nil) throws -> (Int, [UInt8])
    {
        // Content-Type is signed only where it is sent: with a PUT's body.
        let writes = method == "PUT"
        let headers = (signer ?? self.signer).authorization(
            method: method, host: host, path: path,
            headers: writes ? [("Content-Type", "application/octet-stream")] : [],
            payloadSHA256: SigV4.hex(SigV4.sha256(body)), at: Int(time(nil)))
        let sink = MemorySink()
        let response = try CurlEasy().perform(
            HTTPClientRequest(
                method: method, url: base + SigV4.canonicalPath(path), headers: headers,
                body: writes ? .bytes(body, contentType: "application/octet-stream") : .none),
            into: sink)
        return (response.status, sink.bytes)
    }

    func get(_ url: String) throws -> (Int, [UInt8]) {
        let sink = MemorySink()
        let response = try CurlEasy().perform(HTTPClientRequest(method: "GET", url: url, body: .none), into: sink)
        return (response.status, sink.bytes)
    }

    @Test func headerSignedWritesAndPresignedReads() throws {
        let bucket = "promptreel-sigv4-\(UInt32.random(in: 0...UInt32.max))"
        let key = "/\(bucket)/films/a b+ü.mp4"
        #expect(try send("PUT", "/\(bucket)").0 == 200)
        let body = Array("the bytes of a film".utf8)
        #expect(try send("PUT", key, body: body).0 == 200)
        let query = signer.presignedQuery(method: "GET", host: host, path: key, at: Int(time(nil)), expiresSeconds: 60)
        let url = base + SigV4.canonicalPath(key) + "?" + query
        let (status, read) = try get(url)
        #expect(status == 200 && read == body)
        // A changed signature, an expired URL, a wrong secret: refused.
        let tampered = String(url.dropLast()) + (url.hasSuffix("0") ? "1" : "0")
        #expect(try get(tampered).0 == 403)
        let expired = signer.presignedQuery(
            method: "GET", host: host, path: key, at: Int(time(nil)) - 3600, expiresSeconds: 60)
        #expect(try get(base + SigV4.canonicalPath(key) + "?" + expired).0 == 403)
        let wrong = SigV4(
            credentials: S3Credentials(accessKeyID: "test:tester", secretAccessKey: "nope"), region: "us-east-1")
        #expect(try send("GET", key) == (200, body))
        #expect(try send("GET", key, with: wrong).0 == 403)
        #expect(try send("DELETE", key).0 == 204)
        #expect(try send("DELETE", "/\(bucket)").0 == 204)
    }
}
