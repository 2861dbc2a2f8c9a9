// The CGI params nginx sends, turned into what a Request carries.

import Testing

@testable import FastCGIServer

@Suite struct CGIParamsReading {
    private func read(_ entries: [String]) -> (CGIParams, [String: String]) {
        var params = CGIParams()
        var headers: [String: String] = [:]
        for entry in entries { entry.withCString { params.take($0, headers: &headers) } }
        return (params, headers)
    }

    @Test func knownParamsAndHeaders() {
        let (params, headers) = read([
            "REQUEST_METHOD=POST", "REQUEST_URI=/api/x?a=b=c", "QUERY_STRING=a=b=c", "CONTENT_TYPE=application/json",
            "CONTENT_LENGTH=12", "REMOTE_ADDR=10.0.0.7", "HTTPS=on", "REQUEST_SCHEME=https", "SERVER_NAME=ignored",
            "HTTP_ACCEPT_LANGUAGE=en, fr", "HTTP_AUTHORIZATION=Bearer pr_x", "HTTP_X_EMPTY=",
        ])
        #expect(params.method == "POST")
        #expect(params.requestURI == "/api/x?a=b=c")
        #expect(params.queryString == "a=b=c")  // only the first '=' separates name and value
        #expect(params.contentType == "application/json")
        #expect(params.contentLength == "12")
        #expect(params.remoteAddress == "10.0.0.7")
        #expect(params.https == "on" && params.scheme == "https")
        #expect(headers == ["accept-language": "en, fr", "authorization": "Bearer pr_x", "x-empty": ""])
    }

    @Test func entriesWithoutEqualsOrWithOddBytesAreHarmless() {
        let (params, headers) = read(["GARBAGE", "=value", "HTTP_=x", "HTTP_X_BIN=\u{FF}é"])
        #expect(params.method.isEmpty)
        #expect(headers == ["x-bin": "\u{FF}é"])
    }

    @Test func requestIDIsKeptAndCheckedBeforeUse() {
        let (params, headers) = read(["REQUEST_ID=0f1e2d3c4b5a69788796a5b4c3d2e1f0"])
        #expect(params.requestID == "0f1e2d3c4b5a69788796a5b4c3d2e1f0" && headers.isEmpty)
        #expect(RequestID.isValid(params.requestID))
        // Anything that could split a header or a log line is replaced by an id of our own.
        for bad in ["", "a b", "x\ny", "é", String(repeating: "a", count: 65)] { #expect(!RequestID.isValid(bad)) }
        let made = RequestID.make()
        #expect(made.count == 32 && RequestID.isValid(made) && made != RequestID.make())
    }
}
