// SigV4 against AWS's worked examples in "Authenticating Requests (AWS Signature Version 4)" for S3 — the header
// form ("GET Object" with a Range) and the query-string form ("presigned URL", 86,400 s) — whose signatures
// botocore's S3SigV4Auth / S3SigV4QueryAuth also give for the same inputs.

import Core
import Foundation
import Testing

@testable import ObjectStore

@Suite struct SigV4Examples {
    let signer = SigV4(
        credentials: S3Credentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    /// 2013-05-24T00:00:00Z.
    let may24 = 1_369_353_600

    @Test func getObjectWithARange() {
        let headers = signer.authorization(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt",
            headers: [("Range", "bytes=0-9")], payloadSHA256: SigV4.emptyPayload, at: may24)
        #expect(headers.first { $0.0 == "x-amz-date" }?.1 == "20130524T000000Z")
        #expect(
            headers.first { $0.0 == "Authorization" }?.1
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func presignedGet() {
        let query = signer.presignedQuery(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", at: may24, expiresSeconds: 86_400)
        #expect(
            query
                == "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func encodingAndTheSecretStaysOut() {
        #expect(SigV4.canonicalPath("/my bucket/a+b/ü.mp4") == "/my%20bucket/a%2Bb/%C3%BC.mp4")
        #expect(SigV4.canonicalQuery([("b", "2"), ("a", "x/y"), ("a", "1")]) == "a=1&a=x%2Fy&b=2")
        #expect(!"\(signer.credentials)".contains("EXAMPLEKEY"))
    }
}

/// Random requests signed by PromptReel and by botocore (the AWS SDK for Python's signer, in the test venv):
/// keys with spaces, Unicode and `+ = ' ( ) ~ ! *`, query strings, signed headers, bodies, session tokens and regions.
@Test func signaturesMatchBotocores() throws {
    guard let python = ProcessInfo.processInfo.environment["PROMPTREEL_TEST_PYTHON"] else {
        Issue.record("PROMPTREEL_TEST_PYTHON is not set: run the tests with scripts/test")
        return
    }
    let alphabet = Array("abcXYZ019 +=&'()~!*-_.ü字")
    func text(_ n: Int) -> String { String((0..<n).map { _ in alphabet.randomElement() ?? "a" }) }
    struct Case {
        let signer: SigV4
        let method: String, host: String, path: String
        let query: [(String, String)], headers: [(String, String)], body: [UInt8], time: Int, expires: Int
    }
    var cases: [Case] = []
    for i in 0..<40 {
        let token = i % 3 == 0 ? "session/" + text(8) : nil
        let region = ["us-east-1", "eu-west-1", "ap-southeast-2"][i % 3]
        let signer = SigV4(
            credentials: S3Credentials(
                accessKeyID: "AKID\(i)", secretAccessKey: "secret/" + text(12), sessionToken: token),
            region: region)
        let query: [(String, String)] = (0..<(i % 4)).map { _ in ("q" + text(3), text(5)) }
        var headers: [(String, String)] = []
        if i % 2 == 0 { headers.append(("Range", "bytes=\(i)-\(i * 100)")) }
        if i % 5 == 0 { headers.append(("Content-Type", "video/mp4")) }
        cases.append(
            Case(
                signer: signer, method: ["GET", "PUT", "DELETE", "HEAD"][i % 4],
                host: i % 2 == 0 ? "127.0.0.1:\(9000 + i)" : "bucket-\(i).s3.\(region).amazonaws.com",
                path: "/bucket-\(i)/k" + text(1 + i % 20) + (i % 3 == 1 ? "/k" + text(4) : ""),
                query: query, headers: headers, body: (0..<(i * 7)).map { UInt8(truncatingIfNeeded: $0 * 31) },
                time: 1_700_000_000 + i * 86_399, expires: 60 + i * 1000))
    }
    let input = try JSONSerialization.data(
        withJSONObject: cases.map { c -> [String: Any] in
            var object: [String: Any] = [
                "key": c.signer.credentials.accessKeyID, "secret": c.signer.credentials.secretAccessKey,
                "method": c.method, "headers": c.headers.map { [$0.0, $0.1] }, "body": c.body.map(Int.init),
                "time": c.time, "region": c.signer.region, "expires": c.expires,
                "url": "http://\(c.host)\(SigV4.canonicalPath(c.path))"
                    + (c.query.isEmpty ? "" : "?" + SigV4.canonicalQuery(c.query)),
            ]
            object["token"] = c.signer.credentials.sessionToken
            return object
        })
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("botocore_sign.py")
    let folder = NSTemporaryDirectory() + "promptreel-botocore-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try input.write(to: URL(fileURLWithPath: folder + "/cases.json"))
    let outcome = Subprocess.run(
        python, [script.path, folder + "/cases.json", folder + "/answers.json"], timeoutSeconds: 60)
    #expect(outcome.failure(python, timeoutSeconds: 60) == nil)
    let output = try Data(contentsOf: URL(fileURLWithPath: folder + "/answers.json"))
    let answers = try #require(try JSONSerialization.jsonObject(with: output) as? [[String: String]])
    try #require(answers.count == cases.count)
    for (c, answer) in zip(cases, answers) {
        let ours = c.signer.authorization(
            method: c.method, host: c.host, path: c.path, query: c.query, headers: c.headers,
            payloadSHA256: SigV4.hex(SigV4.sha256(c.body)), at: c.time)
        #expect(ours.first { $0.0 == "Authorization" }?.1 == answer["authorization"], "\(c.method) \(c.path)")
        let presigned = c.signer.presignedQuery(
            method: c.method, host: c.host, path: c.path, query: c.query, at: c.time, expiresSeconds: c.expires)
        let signature = { (url: String) in url.components(separatedBy: "X-Amz-Signature=").last ?? "" }
        #expect(signature(presigned) == signature(answer["presigned"] ?? ""), "presigned \(c.method) \(c.path)")
    }
}
