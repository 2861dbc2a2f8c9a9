// Log lines (one per event, escaped), the per-process metrics exposition and the metrics listener.

import Foundation
import Glibc
import Testing

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct LogLines {
    @Test func valuesAreBareOnlyWhenPlain() {
        #expect(LineLogHandler.value("abc-123_x.y:z/@") == "abc-123_x.y:z/@")
        #expect(LineLogHandler.value("") == "\"\"")
        #expect(LineLogHandler.value("two words") == "\"two words\"")
        #expect(LineLogHandler.value("a=b") == "\"a=b\"")
    }

    @Test func noValueCanStartALineOrCloseItsQuotes() {
        let forged = "ok\nts=2026-01-01T00:00:00.000Z level=error msg=\"forged\"\r\u{2028}\u{0}\\"
        let quoted = LineLogHandler.quoted(forged)
        #expect(
            !quoted.contains("\n") && !quoted.contains("\r") && !quoted.contains("\u{2028}")
                && !quoted.contains("\u{0}"))
        #expect(quoted == #""ok\nts=2026-01-01T00:00:00.000Z level=error msg=\"forged\"\r\u2028\u0000\\""#)
        #expect(LineLogHandler.key("user id\n=x") == "user_id__x")
    }

    @Test func timestampsAreUTCWithMilliseconds() {
        let ts = LineLogHandler.timestamp()
        #expect(ts.count == 24 && ts.hasSuffix("Z") && ts.dropFirst(10).first == "T")
    }
}

@Suite struct ProcessMetricsExposition {
    @Test func requestsProviderCallsAndBytesAreLabelledWithTheProcess() {
        let metrics = ProcessMetrics(process: "test\"proc")
        metrics.requestCounter(route: Route.generations(.apiStatus(video: 7)).metricName, status: 200).increment()
        metrics.requestCounter(route: "apiStatus", status: 200).increment()
        metrics.requestTimer(route: "apiStatus").recordNanoseconds(1_500_000)
        metrics.providerCall(.create, provider: "default", outcome: "ok", nanoseconds: 20_000_000)
        metrics.providerCall(.retrieve, provider: "gpu-box", outcome: "rate_limited", nanoseconds: 5_000_000)
        metrics.mediaStored(bytes: 1234, kind: "video")
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(text.contains("# HELP promptreel_http_requests_total Requests answered"))
        #expect(text.contains("# TYPE promptreel_http_requests_total counter"))
        #expect(
            text.contains(#"promptreel_http_requests_total{process="test\"proc",route="apiStatus",status="200"} 2"#))
        #expect(text.contains("# TYPE promptreel_http_request_duration_seconds histogram"))
        #expect(
            text.contains(
                #"promptreel_http_request_duration_seconds_bucket{process="test\"proc",route="apiStatus",le="0.0025"} 1"#
            ))
        #expect(
            text.contains(
                #"promptreel_provider_calls_total{process="test\"proc",provider="default",endpoint="create",outcome="ok"} 1"#
            ))
        #expect(
            text.contains(
                #"promptreel_provider_calls_total{process="test\"proc",provider="gpu-box",endpoint="retrieve",outcome="rate_limited"} 1"#
            ))
        #expect(text.contains(#"promptreel_media_stored_bytes_total{process="test\"proc",kind="video"} 1234"#))
    }

    @Test func routeLabelsAreCaseNamesNotPaths() {
        #expect(Route(path: "/api/videos/123/sora-status")?.metricName == "apiStatus")
        #expect(Route(path: "/dashboard/generations/9")?.metricName == "generation")
        #expect(Route(path: "/metrics")?.metricName == "metrics")
    }
}

@Suite struct MetricsListening {
    /// One HTTP exchange over a plain socket; the whole answer as text.
    func exchange(port: Int, _ request: String) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return "" }
        var bytes = Array(request.utf8)
        _ = send(fd, &bytes, bytes.count, 0)
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    @Test func servesMetricsAnd404sTheRest() throws {
        let listener = try MetricsListener(address: "127.0.0.1:0", allowRemote: false) { Array("m_total 1\n".utf8) }
        defer { listener.stopAndWait() }
        let ok = exchange(port: listener.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(
            ok.hasPrefix("HTTP/1.1 200 OK\r\n") && ok.contains("text/plain; version=0.0.4")
                && ok.hasSuffix("\r\n\r\nm_total 1\n"))
        #expect(exchange(port: listener.port, "GET /other HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404 "))
        #expect(exchange(port: listener.port, "POST /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 405 "))
        #expect(exchange(port: listener.port, "garbage\r\n\r\n").hasPrefix("HTTP/1.1 400 "))
        // A head that never ends is cut off at 8 KiB, not read forever.
        #expect(
            exchange(port: listener.port, "GET /metrics HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000))
                .hasPrefix("HTTP/1.1 400 "))
    }

    /// A client sending its head a byte at a time is cut off at the head's deadline, not served (or
    /// waited for) while it keeps trickling: the connection is closed within a few seconds.
    @Test func aTricklingClientIsCutOffAtTheHeadDeadline() throws {
        let listener = try MetricsListener(address: "127.0.0.1:0", allowRemote: false) { Array("m_total 1\n".utf8) }
        defer { listener.stopAndWait() }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(listener.port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0)
        // Trickle "GET /metrics HTTP/1.1\r\nX: aaaa…" a byte every 200 ms for up to 8 s (40 bytes), never
        // ending the head. Each read comes well within a per-read timeout; only a deadline stops it.
        var byte: UInt8 = UInt8(ascii: "G")
        var cutOff = false
        for _ in 0..<40 {
            var probe = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&probe, 1, 200) > 0 {  // the server answered (400) or closed: it gave up on us
                cutOff = true
                break
            }
            if send(fd, &byte, 1, Int32(MSG_NOSIGNAL)) != 1 {
                cutOff = true
                break
            }
            byte = UInt8(ascii: "a")
        }
        #expect(cutOff)
        // And the listener still serves the next scrape.
        #expect(exchange(port: listener.port, "GET /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test func refusesAddressesBeyondLoopbackUnlessAllowed() {
        #expect(throws: MetricsListener.Failure.self) {
            try MetricsListener(address: "0.0.0.0:0", allowRemote: false) { [] }
        }
        #expect(throws: MetricsListener.Failure.self) {
            try MetricsListener(address: "localhost:0", allowRemote: false) { [] }
        }
        #expect(throws: MetricsListener.Failure.self) {
            try MetricsListener(address: "127.0.0.1:x", allowRemote: false) { [] }
        }
        #expect(MetricsListener.split("[::1]:9464") == ("::1", "9464"))
        #expect(MetricsListener.split("9464") == ("127.0.0.1", "9464"))
        if let v6 = try? MetricsListener(address: "[::1]:0", allowRemote: false, body: { [] }) { v6.stopAndWait() }
    }
}
