// ConnectionPolicy against the running simulator (scripts/test starts it): a pinned name connects to the
// given address without any DNS lookup, other protocols are refused, and a capped body still answers
// its status.

import Foundation
import HTTPClient
import Testing

@Suite struct ConnectionPolicyPinning {
    let port: String

    init() throws {
        let sim = try #require(
            ProcessInfo.processInfo.environment["PROMPTREEL_SIM_URL"], "run the tests with scripts/test")
        port = String(sim.split(separator: ":").last ?? "")
    }

    @Test func aPinnedNameConnectsToTheGivenAddressWithoutDNS() throws {
        // .invalid never resolves (RFC 6761): only the pin can make this work.
        let request = HTTPClientRequest(
            method: "GET", url: "http://hooks.invalid:\(port)/_sim/stats", connectTimeoutMs: 2000, timeoutMs: 3000)
        let curl = try CurlEasy()
        #expect(throws: CurlError.self) { try curl.perform(request, into: MemorySink()) }
        let sink = MemorySink()
        let response = try curl.perform(
            request, into: sink, pinning: ConnectionPolicy(resolve: ["hooks.invalid:\(port):127.0.0.1"]))
        #expect(response.status == 200 && !sink.bytes.isEmpty)
        // Several checked addresses, IPv6 in brackets: tried in turn (the simulator listens on IPv4 only).
        let both = ConnectionPolicy(resolve: ["hooks.invalid:\(port):[::1],127.0.0.1"])
        #expect(try curl.perform(request, into: MemorySink(), pinning: both).status == 200)
    }

    @Test func onlyTheAllowedProtocols() throws {
        let curl = try CurlEasy()
        do {
            _ = try curl.perform(
                HTTPClientRequest(method: "GET", url: "ftp://127.0.0.1:\(port)/"), into: MemorySink(),
                pinning: ConnectionPolicy(resolve: []))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == 1)  // CURLE_UNSUPPORTED_PROTOCOL
        }
    }

    @Test func aCappedBodyStillAnswersItsStatus() throws {
        let request = HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(port)/_sim/stats")
        let curl = try CurlEasy()
        #expect(throws: CurlError.self) { try curl.perform(request, into: MemorySink(limit: 1)) }
        #expect(
            try curl.perform(request, into: MemorySink(limit: 1), pinning: ConnectionPolicy(resolve: [])).status == 200)
    }
}
