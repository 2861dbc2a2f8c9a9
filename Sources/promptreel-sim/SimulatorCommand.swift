// promptreel-sim: a simulator of OpenAI's Videos API (/v1/videos) and Chat Completions
// (/v1/chat/completions) on its own small HTTP server.

import ArgumentParser
import FlyingFox
import FlyingSocks
import Foundation

@main
struct SimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promptreel-sim",
        abstract: "Simulate OpenAI's Videos API (/v1/videos) and Chat Completions (/v1/chat/completions) on loopback.")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port: UInt16 = 8090
    @Option(help: "Seconds a job takes from queued to completed.") var jobSeconds: Double = 4
    @Option(help: "The openai-poll-after-ms value sent on retrieve.") var pollAfterMs = 1000
    @Option(help: "Only this key is accepted (default: any non-empty bearer token).") var apiKey: String?
    @Option(help: "Video ids: 'openai' (video_ + hex) or 'gateway' (long base64url ids with - _ =).") var idStyle =
        "openai"
    @Option(
        help:
            "Answer as OpenAI does, as LiteLLM's proxy does in front of Veo, Runway or a hosted vLLM (litellm-vllm), or as vLLM-Omni does."
    ) var dialect: Dialect = .openai
    @Option(help: "Write the listening port to this file once ready.") var portFile: String?
    @Option(help: "vLLM-Omni's served model: any other `model` is refused (--dialect vllm-omni).") var servedModel =
        "Wan-AI/Wan2.2-T2V-A14B-Diffusers"
    @Option(help: "Milliseconds added to every /v1 answer (a provider that is slow per call).") var callLatencyMs = 0

    func run() async throws {
        // The simulator keeps nothing worth flushing: stop at once, and say it went fine.
        signal(SIGTERM) { _ in _exit(0) }
        signal(SIGINT) { _ in _exit(0) }
        let fixtures = try Fixtures.load()
        let simulator = Simulator(
            settings: .init(
                jobSeconds: jobSeconds, pollAfterMs: pollAfterMs, apiKey: apiKey,
                gatewayIDs: idStyle == "gateway", dialect: dialect, servedModel: servedModel,
                callLatencyMs: max(0, callLatencyMs)), fixtures: fixtures)
        let server = HTTPServer(
            address: try .inet(ip4: host, port: port), timeout: 120, logger: .disabled,
            handler: SimulatorHandler(simulator: simulator))
        let (host, port, portFile, jobSeconds) = (host, port, portFile, jobSeconds)
        let dialectNote = dialect == .openai ? "" : ", dialect \(dialect.rawValue)"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            group.addTask {
                try await server.waitUntilListening()
                var actualPort = port
                if case let .ip4(_, listening)? = await server.listeningAddress { actualPort = listening }
                if let portFile { try "\(actualPort)\n".write(toFile: portFile, atomically: true, encoding: .utf8) }
                let line =
                    "promptreel-sim listening on http://\(host):\(actualPort)/v1 (jobs take \(jobSeconds)s\(dialectNote))\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
            try await group.waitForAll()
        }
    }
}

struct SimulatorHandler: HTTPHandler {
    let simulator: Simulator
    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        let body = try await request.bodyData
        let incoming = SimRequest(
            method: request.method.rawValue, path: request.path,
            query: Dictionary(request.query.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
            authorization: request.headers[.authorization], contentType: request.headers[.contentType] ?? "", body: body
        )
        let reply = await simulator.handle(incoming)
        if let delay = reply.delaySeconds { try? await Task.sleep(for: .seconds(delay)) }
        if reply.dropConnection {
            // A thrown error would become a 500. A WebSocket answer whose setup fails makes FlyingFox
            // close the connection before it writes a single byte: the client sees no response at all.
            return HTTPResponse(webSocket: DroppedConnection())
        }
        var headers = HTTPHeaders()
        for (name, value) in reply.headers { headers[HTTPHeader(name)] = value }
        return HTTPResponse(
            statusCode: HTTPStatusCode(reply.status, phrase: reply.phrase), headers: headers, body: reply.body)
    }
}

extension Dialect: ExpressibleByArgument {}

/// Never becomes a WebSocket: failing here drops the connection unanswered (see SimulatorHandler).
struct DroppedConnection: WSHandler {
    struct Dropped: Error {}
    func makeFrames(for client: AsyncThrowingStream<WSFrame, any Error>) async throws -> AsyncStream<WSFrame> {
        throw Dropped()
    }
}
