// The libcurl wrapper's wiring: errors carry curl's own message; a handle can be made and freed.

import HTTPClient
import Testing

@Test func refusedConnectionIsATypedError() throws {
    let curl = try CurlEasy()
    // Port 9 (discard) on loopback is closed on these machines: the connect is refused at once.
    #expect(throws: CurlError.self) { try curl.get("http://127.0.0.1:9/", timeoutMs: 2000) }
}

@Test func unsupportedSchemeNamesTheProblem() throws {
    let curl = try CurlEasy()
    do {
        _ = try curl.get("nosuch://x/")
        Issue.record("expected an error")
    } catch {
        #expect(error.code == 1)  // CURLE_UNSUPPORTED_PROTOCOL
        #expect(!error.message.isEmpty)
    }
}
