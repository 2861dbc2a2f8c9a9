// A tiny HTTP/1.1 server for this process's metrics (`--metrics-listen`): one thread of its own, POSIX
// sockets, one connection at a time, `GET /metrics` answered in Prometheus text, 404 otherwise. It never
// touches the FastCGI threads. A request head is read up to 8 KiB within 2 seconds of the connection
// (one deadline for the whole head, not per read), so a slow or hostile client holds the thread at most
// that long (and only the scrape waits), and shutdown is never held up longer. Loopback unless explicitly allowed.

import Dispatch
import Foundation
import Glibc
import Synchronization

public final class MetricsListener: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    package static let maxHead = 8 << 10

    public enum Failure: Error, CustomStringConvertible {
        case badAddress(String), notLoopback(String), cannotListen(String, Int32)
        public var description: String {
            switch self {
            case let .badAddress(a):
                "--metrics-listen \(a): give HOST:PORT with a numeric address (127.0.0.1:9464, [::1]:9464) or a port"
            case let .notLoopback(a):
                "--metrics-listen \(a) is not a loopback address; add --metrics-allow-remote to expose metrics beyond this machine"
            case let .cannotListen(a, e): "--metrics-listen \(a): \(String(cString: strerror(e)))"
            }
        }
    }

    private let fd: Int32
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchGroup()
    /// The port actually bound (useful with port 0).
    public let port: Int

    /// Binds at once (so a taken port fails the command, not a thread later) and serves `body()` on a thread.
    public init(address: String, allowRemote: Bool, body: @escaping @Sendable () -> [UInt8]) throws(Failure) {
        let (host, portText) = Self.split(address)
        guard let portNumber = UInt16(portText) else { throw .badAddress(address) }
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(portNumber), &hints, &found) == 0, let info = found else {
            throw .badAddress(address)
        }
        defer { freeaddrinfo(found) }
        guard allowRemote || Self.isLoopback(info.pointee.ai_addr) else { throw .notLoopback(address) }

        let socketFD = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else { throw .cannotListen(address, errno) }
        var one: Int32 = 1
        setsockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(socketFD, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, listen(socketFD, 16) == 0 else {
            let failure = errno
            close(socketFD)
            throw .cannotListen(address, failure)
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        port = withUnsafeMutablePointer(to: &bound) { p in
            _ = p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                Int(UInt16(bigEndian: $0.pointee.sin_port))
            }
        }
        fd = socketFD

        done.enter()
        let thread = Thread { [self] in
            serve(body)
            done.leave()
        }
        thread.name = "metrics-listener"
        thread.start()
    }

    /// Stops accepting and waits for the thread.
    public func stopAndWait() {
        stopped.store(true, ordering: .releasing)
        shutdown(fd, Int32(SHUT_RDWR))  // wakes the blocked accept()
        done.wait()
        close(fd)
    }

    private func serve(_ body: () -> [UInt8]) {
        while !stopped.load(ordering: .acquiring) {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if stopped.load(ordering: .acquiring) { return }
                if errno != EINTR { usleep(50_000) }  // e.g. out of descriptors: try again shortly
                continue
            }
            // not inherited by ffprobe and other children (accept4 is not in Glibc's module)
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            answer(client, body)
            close(client)
        }
    }

    private func answer(_ client: Int32, _ body: () -> [UInt8]) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let head = readHead(client) else {
            send(client, status: "400 Bad Request", body: Array("Bad request\n".utf8))
            return
        }
        let line = head.split(separator: 13, maxSplits: 1, omittingEmptySubsequences: false).first ?? []
        let parts = line.split(separator: 32)
        guard parts.count == 3, parts[2].starts(with: Array("HTTP/1.".utf8)) else {
            send(client, status: "400 Bad Request", body: Array("Bad request\n".utf8))
            return
        }
        let method = String(decoding: parts[0], as: UTF8.self)
        let target = String(decoding: parts[1], as: UTF8.self)
        let path =
            target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            ?? target
        guard path == "/metrics" else {
            send(client, status: "404 Not Found", body: Array("Not found: metrics are at /metrics\n".utf8))
            return
        }
        guard method == "GET" || method == "HEAD" else {
            send(
                client, status: "405 Method Not Allowed", extra: "Allow: GET, HEAD\r\n",
                body: Array("Method not allowed\n".utf8))
            return
        }
        send(client, status: "200 OK", contentType: Self.contentType, body: body(), headOnly: method == "HEAD")
    }

    package static let headSeconds = 2

    /// The bytes up to the blank line ending the head; nil on close, over `maxHead`, or when the head is
    /// not complete `headSeconds` after the connection (a client trickling a byte at a time included).
    private func readHead(_ client: Int32) -> [UInt8]? {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(Self.headSeconds) * 1_000_000_000
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        let end: [UInt8] = [13, 10, 13, 10]
        while head.count < Self.maxHead, !stopped.load(ordering: .acquiring) {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return nil }
            var ready = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            let polled = poll(&ready, 1, Int32((deadline - now) / 1_000_000) + 1)
            if polled < 0, errno == EINTR { continue }
            guard polled > 0 else { return nil }
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            head += buffer[0..<n]
            if let range = head.firstRange(of: end) { return Array(head[..<range.lowerBound]) }
        }
        return nil
    }

    private func send(
        _ client: Int32, status: String, contentType: String = "text/plain; charset=utf-8", extra: String = "",
        body: [UInt8], headOnly: Bool = false
    ) {
        var out = Array(
            "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\(extra)Connection: close\r\n\r\n"
                .utf8)
        if !headOnly { out += body }
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { p -> Int in
                guard let base = p.baseAddress else { return -1 }
                return Glibc.send(client, base + sent, p.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { return }
            sent += n
        }
    }

    /// "127.0.0.1:9464" → ("127.0.0.1", "9464"); "[::1]:9464" → ("::1", "9464"); "9464" → ("127.0.0.1", "9464").
    package static func split(_ address: String) -> (host: String, port: String) {
        if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
            let host = String(address[address.index(after: address.startIndex)..<close])
            let rest = address[address.index(after: close)...]
            return (host, rest.hasPrefix(":") ? String(rest.dropFirst()) : "")
        }
        guard let colon = address.lastIndex(of: ":") else { return ("127.0.0.1", address) }
        let host = String(address[..<colon])
        return (host.isEmpty ? "127.0.0.1" : host, String(address[address.index(after: colon)...]))
    }

    private static func isLoopback(_ address: UnsafeMutablePointer<sockaddr>?) -> Bool {
        guard let address else { return false }
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let ip = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                UInt32(bigEndian: $0.pointee.sin_addr.s_addr)
            }
            return ip >> 24 == 127
        case AF_INET6:
            let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                withUnsafeBytes(of: p.pointee.sin6_addr) { Array($0) }
            }
            return bytes == [UInt8](repeating: 0, count: 15) + [1]
        default:
            return false
        }
    }
}
