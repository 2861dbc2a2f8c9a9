// SigV4 against AWS's worked examples in "Authenticating Requests (AWS Signature Version 4)" for S3 — the header
// form ("GET Object" with a Range) and the query-string form ("presigned URL", 86,400 s) — whose signatures
// botocore's S3SigV4Auth / S3SigV4QueryAuth also give for the same inputs.

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
