// An OpenAI-compatible Chat Completions client (POST {base}/chat/completions) on the same plumbing as
// the video client: one libcurl handle, typed VideoAPIError failures, the retry rule of reads (a chat
// call makes nothing that lasts) on a fresh connection per attempt, and every attempt that may have been
// billed without an answer reported to the caller. Not Sendable: each thread makes its own.

import Formats
import HTTPClient

public struct ChatMessage: Sendable, Equatable {
    /// `system` (or `developer`), `user` or `assistant`.
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

public struct ChatRequest: Sendable {
    public var model: String
    public var messages: [ChatMessage]
    /// Sent only when set.
    public var temperature: Double?
    /// Sent as `max_completion_tokens`, only when set.
    public var maxCompletionTokens: Int?
    public init(model: String, messages: [ChatMessage], temperature: Double? = nil, maxCompletionTokens: Int? = nil) {
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.maxCompletionTokens = maxCompletionTokens
    }

    /// At most how many tokens the messages can be: a token covers at least one byte of text, and each
    /// message adds a few tokens of framing (4, and 3 to prime the answer, in OpenAI's counting).
    public var worstCasePromptTokens: Int {
        messages.reduce(3) { $0 + $1.role.utf8.count + $1.content.utf8.count + 4 }
    }
}

public struct ChatCompletion: Sendable {
    public var id: String?
    /// The model that answered, as the provider names it (often a dated snapshot).
    public var model: String?
    public var content: String
    /// `stop`, `length` (cut at the token limit: the text is incomplete), `content_filter`, …
    public var finishReason: String?
    /// `usage.prompt_tokens`. Servers that send no `usage` (some local ones) leave both counts at 0:
    /// check `usageReported` before pricing a call, so unknown is never shown as $0.
    public var promptTokens: Int
    /// `usage.completion_tokens`; 0 when the provider sent no usage (see `usageReported`).
    public var completionTokens: Int
    /// False when the answer had no `usage` object, so the token counts are unknown rather than 0.
    public var usageReported: Bool
    /// Optional parameters the provider refused by name (400 with `param`) and that were left out of a
    /// second attempt, e.g. `temperature` for models that accept only their default.
    public var droppedParameters: [String]
    public var requestID: String?

    public init(
        id: String? = nil, model: String? = nil, content: String, finishReason: String? = nil, promptTokens: Int = 0,
        completionTokens: Int = 0, usageReported: Bool = true, droppedParameters: [String] = [],
        requestID: String? = nil
    ) {
        self.id = id
        self.model = model
        self.content = content
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.usageReported = usageReported
        self.droppedParameters = droppedParameters
        self.requestID = requestID
    }

    /// More tokens than any model reads or writes in one call: a count above it is a broken answer.
    public static let maxTokenCount = 10_000_000
}

/// One chat completion as it went: the answer (or why there is none) and the attempts on the way that
/// may have been billed without bringing an answer back.
public struct ChatCall: Sendable {
    public var result: Result<ChatCompletion, VideoAPIError>
    /// Attempts that reached the provider and brought back no usable answer (timed out, dropped, 500,
    /// 502, 504, unreadable, refused by the model): each may be billed, so each is recorded at its worst case. When the call
    /// failed that way in the end, its last failure is the last of these.
    public var unanswered: [VideoAPIError]

    public init(_ result: Result<ChatCompletion, VideoAPIError>, unanswered: [VideoAPIError] = []) {
        self.result = result
        self.unanswered = unanswered
    }

    /// The answer, or the final failure.
    public func get() throws(VideoAPIError) -> ChatCompletion { try result.get() }
}

/// What the roundtable needs from a chat model. `ChatAPIClient` speaks it over HTTP; tests script it.
public protocol ChatProvider {
    /// One completion. Implementations may retry on their own, but must report every attempt that may
    /// have been billed (`ChatCall.unanswered`): a chat call is paid per attempt.
    func complete(_ request: ChatRequest) -> ChatCall
}

public final class ChatAPIClient: ChatProvider {
    public let config: ChatConfig
    private let transport: ProviderTransport

    public init(config: ChatConfig, wait: @escaping (Double) -> Void = VideoAPIClient.sleep) throws(VideoAPIError) {
        self.config = config
        transport = try ProviderTransport(.init(config), service: .chat, wait: wait)
    }

    /// Optional parameters a model or gateway may refuse by name; such a 400 is answered by sending the
    /// call again without it (the roundtable matters more than a temperature).
    static let droppable: Set<String> = ["temperature", "max_completion_tokens"]

    /// POST /chat/completions with the retry rule of reads; a 400 naming `temperature` or
    /// `max_completion_tokens` drops that parameter once and tries again (see `droppedParameters`).
    public func complete(_ request: ChatRequest) -> ChatCall {
        var failures: [VideoAPIError] = []
        let result = Result { () throws(VideoAPIError) in try complete(request, failures: &failures) }
        // A refusal is an answer the provider billed, but PromptReel reads no usage from it: counted at its worst case too.
        return ChatCall(result, unanswered: failures.filter { $0.possiblyBilled || $0.kind == .refused })
    }

    private func complete(_ request: ChatRequest, failures: inout [VideoAPIError]) throws(VideoAPIError)
        -> ChatCompletion
    {
        if let t = request.temperature, !t.isFinite {
            // Would not even be JSON: refuse before sending.
            throw VideoAPIError(
                .invalidRequest, detail: "temperature must be a finite number", param: "temperature",
                nothingWasSent: true
            ).of(.chat)
        }
        var dropped: [String] = []
        while true {
            let body = HTTPClientRequest.Body.bytes(
                Array(ChatAPIClient.body(request, omitting: dropped).serialized.utf8),
                contentType: "application/json")
            do throws(VideoAPIError) {
                let (response, bytes) = try transport.send(
                    "POST", "/chat/completions", body: body, rule: .chat, failures: &failures)
                do throws(VideoAPIError) {
                    var completion = try decode(
                        bytes, status: response.status, requestID: response.headers["x-request-id"])
                    completion.droppedParameters = dropped
                    return completion
                } catch {
                    failures.append(error)  // answered, but unreadable: billed, and no usage to price it by
                    throw error
                }
            } catch {
                guard error.kind == .invalidRequest, error.status == 400, let param = error.param,
                    ChatAPIClient.droppable.contains(param), !dropped.contains(param),
                    param == "temperature" ? request.temperature != nil : request.maxCompletionTokens != nil
                else { throw error }
                dropped.append(param)
            }
        }
    }

    /// The request body: only the fields set, minus those the provider refused.
    static func body(_ request: ChatRequest, omitting dropped: [String] = []) -> JSON {
        var fields: [(String, JSON)] = [
            ("model", .string(request.model)),
            (
                "messages",
                .array(
                    request.messages.map { .object([("role", .string($0.role)), ("content", .string($0.content))]) })
            ),
        ]
        if let t = request.temperature, !dropped.contains("temperature") {
            fields.append(("temperature", .number(String(t))))
        }
        if let n = request.maxCompletionTokens, !dropped.contains("max_completion_tokens") {
            fields.append(("max_completion_tokens", .int(n)))
        }
        return .object(fields)
    }

    /// Reads `choices[0].message`, `finish_reason` and `usage`; anything else unreadable is malformed.
    func decode(_ bytes: [UInt8], status: Int, requestID: String?) throws(VideoAPIError) -> ChatCompletion {
        func malformed(_ detail: String) -> VideoAPIError {
            VideoAPIError(.malformedResponse, status: status, detail: detail, requestID: requestID).of(.chat)
        }
        guard let json = try? JSONParser.parse(bytes).root, case .object = json else {
            throw malformed("the body is not a JSON object")
        }
        guard case let .array(choices)? = json["choices"], let choice = choices.first, case .object = choice else {
            throw malformed("the answer has no choices")
        }
        guard let message = choice["message"], case .object = message else {
            throw malformed("the first choice has no message")
        }
        let finishReason = choice["finish_reason"]?.stringValue
        let content: String
        switch message["content"] {
        case let .string(text)?: content = text
        case .null?, nil:
            if let refusal = message["refusal"]?.stringValue {
                throw VideoAPIError(.refused, status: status, detail: refusal, requestID: requestID).of(.chat)
            }
            if finishReason == "content_filter" {
                throw VideoAPIError(
                    .refused, status: status, detail: "the provider's content filter withheld the answer",
                    requestID: requestID
                ).of(.chat)
            }
            throw malformed("the message has no content")
        default: throw malformed("the message content is not a string")
        }
        var prompt = 0, completion = 0, reported = false
        switch json["usage"] {
        case .null?, nil: break
        case let usage? where usage.isObject:
            guard let p = ChatAPIClient.tokenCount(usage["prompt_tokens"]),
                let c = ChatAPIClient.tokenCount(usage["completion_tokens"])
            else {
                throw malformed("the usage counts are not token counts")
            }
            // Only both counts make a price: `{}` or `{"total_tokens": 812}` is unknown, never $0.
            reported =
                ChatAPIClient.isCount(usage["prompt_tokens"]) && ChatAPIClient.isCount(usage["completion_tokens"])
            (prompt, completion) = reported ? (p, c) : (0, 0)
        default: throw malformed("usage is not an object")
        }
        return ChatCompletion(
            id: json["id"]?.stringValue, model: json["model"]?.stringValue, content: content,
            finishReason: finishReason, promptTokens: prompt, completionTokens: completion,
            usageReported: reported, requestID: requestID)
    }

    static func isCount(_ value: JSON?) -> Bool {
        if case .number? = value { true } else { false }
    }

    /// A count of tokens: absent or null is 0; a whole number (also written 12.0) from 0 to
    /// `maxTokenCount`; nil for anything else (negative, fractional, absurd, not a number).
    static func tokenCount(_ value: JSON?) -> Int? {
        switch value {
        case nil, .null?: return 0
        case let .number(text)?:
            guard let n = Double(text), n.isFinite, n >= 0, n <= Double(ChatCompletion.maxTokenCount), n == n.rounded()
            else { return nil }
            return Int(n)
        default: return nil
        }
    }
}

extension JSON {
    fileprivate var isObject: Bool { if case .object = self { true } else { false } }
}
