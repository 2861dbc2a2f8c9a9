// A threaded FastCGI responder: N threads, each with its own FCGX_Request and its own handler state
// (a database connection), accepting behind one lock as libfcgi's threaded example does.

import CFastCGI
import Foundation
public import Web

/// What each worker thread owns: built on that thread, used only there.
public protocol RequestHandler: AnyObject {
    func respond(to request: Request) -> Response
}

public struct FastCGIServer: Sendable {
    public enum Address: Sendable {
        case socket(path: String)
        case tcp(String)  // "host:port" or ":port"
    }

    public var address: Address
    public var threads: Int
    /// The largest body accepted for a request, by method and path (known before the body is read):
    /// most routes take small forms, a few take image uploads.
    public var maxBodyBytes: @Sendable (_ method: String, _ path: String) -> Int

    public init(
        address: Address, threads: Int, maxBodyBytes: @escaping @Sendable (_ method: String, _ path: String) -> Int
    ) {
        self.address = address
        self.threads = threads
        self.maxBodyBytes = maxBodyBytes
    }

    /// Serves until SIGTERM or SIGINT, then lets requests in flight finish and returns.
    /// `makeHandler` runs once on each worker thread.
    public func run(makeHandler: @escaping @Sendable () -> any RequestHandler) throws {
        FCGX_Init()
        signal(SIGPIPE, SIG_IGN)
        let listenSocket: Int32
        switch address {
        case let .socket(path):
            unlink(path)
            listenSocket = FCGX_OpenSocket(path, 128)
            if listenSocket >= 0 { chmod(path, 0o660) }
        case let .tcp(hostPort):
            listenSocket = FCGX_OpenSocket(hostPort, 128)
        }
        guard listenSocket >= 0 else { throw ServerError.cannotListen("\(address)") }

        // Block the stop signals in every thread; the main thread waits for them with sigwait.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        let acceptLock = NSLock()
        let finished = DispatchGroup()
        let maxBody = maxBodyBytes
        for index in 0..<threads {
            finished.enter()
            let thread = Thread {
                let handler = makeHandler()
                let request = FastCGIRequest(listenSocket: listenSocket)
                while true {
                    acceptLock.lock()
                    let accepted = request.accept()
                    acceptLock.unlock()
                    if !accepted { break }
                    let (incoming, tooLarge) = request.readRequest(maxBody: maxBody)
                    var response = tooLarge ? handler.respondTooLarge(to: incoming) : handler.respond(to: incoming)
                    response.addHeader("X-Request-Id", incoming.requestID)
                    request.write(response)
                    request.finish()
                }
                finished.leave()
            }
            thread.name = "fcgi-\(index)"
            thread.stackSize = 4 << 20
            thread.start()
        }

        var received: Int32 = 0
        sigwait(&stopSignals, &received)
        // Stop accepting: shutting the listener wakes every blocked accept(); requests in flight finish.
        FCGX_ShutdownPending()
        shutdown(listenSocket, Int32(SHUT_RDWR))
        finished.wait()
        close(listenSocket)
        if case let .socket(path) = address { unlink(path) }
    }
}

extension RequestHandler {
    func respondTooLarge(to request: Request) -> Response {
        var limited = request
        limited.body = []
        return respondToError(HTTPError.tooLarge, for: limited)
    }

    func respondToError(_ error: HTTPError, for request: Request) -> Response {
        ErrorPages.response(for: error, request: request)
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case cannotListen(String)
    public var description: String {
        switch self {
        case let .cannotListen(a): "cannot listen on \(a)"
        }
    }
}
