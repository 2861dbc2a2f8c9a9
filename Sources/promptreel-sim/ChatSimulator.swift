// The simulated Chat Completions endpoint (POST /v1/chat/completions; ../shared/openai/CHAT-API.md):
// the spec's answer shape with `usage`, OpenAI's error envelope, and deterministic answers built from
// the roundtable role in the system message and the brief in the user messages, so a roundtable runs
// offline and its tests can predict every word.
//
// Directives, anywhere in the messages: [sim:chat-fail=ROLE] (that role's calls answer 500),
// [sim:chat-refuse=ROLE] (that role gets a refusal), [sim:chat-seconds=N] (every answer waits N s).
// Tokens: prompt = ceil(characters of all contents / 4) + 3 per message; completion = ceil(characters / 4).

import Foundation

extension Simulator {
    /// What a valid request asks for.
    struct ChatCall {
        var model: String
        var messages: [(role: String, content: String)]
        var temperature: Double?
        var maxCompletionTokens: Int?
    }

    enum ChatParsed { case call(ChatCall), rejected(SimReply) }

    static let chatRoles = ["system", "developer", "user", "assistant"]
    static let refusal = "I can't help with that."

    func chat(_ request: SimRequest) -> SimReply {
        let call: ChatCall
        switch parseChat(request.body) {
        case let .call(c): call = c
        case let .rejected(reply): return reply
        }
        let text = call.messages.map(\.content).joined(separator: "\n")
        let role = Simulator.roundtableRole(call.messages)
        // Slow answers sleep in the handler, outside the actor: other requests go on meanwhile.
        // Any user's brief reaches here: a NaN or infinite delay would trap in Task.sleep.
        let delay = directive(text, "chat-seconds").flatMap(Double.init).flatMap {
            $0.isFinite ? min(max($0, 0), 600) : nil
        }
        func named(_ directiveName: String) -> Bool {
            guard let role else { return false }
            return Simulator.directives(text, directiveName).contains {
                $0.caseInsensitiveCompare(role) == .orderedSame
            }
        }
        var reply: SimReply
        if named("chat-fail") {
            reply = error(
                500, "The server had an error while processing your request. Sorry about that!", type: "server_error",
                code: nil)
        } else if named("chat-refuse") {
            reply = completion(call, content: nil, refusal: Simulator.refusal)
        } else {
            reply = completion(call, content: Simulator.answer(role: role, messages: call.messages), refusal: nil)
        }
        reply.delaySeconds = delay
        return reply
    }

    /// The chat.completion object; `content` is cut to `max_completion_tokens` × 4 characters.
    func completion(_ call: ChatCall, content: String?, refusal: String?) -> SimReply {
        var content = content
        var finish = "stop"
        if let limit = call.maxCompletionTokens, let text = content, text.unicodeScalars.count > limit * 4 {
            content = String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit * 4)))
            finish = "length"
        }
        let promptTokens =
            Simulator.tokens(call.messages.reduce(0) { $0 + $1.content.unicodeScalars.count }) + 3 * call.messages.count
        let completionTokens = Simulator.tokens((content ?? refusal ?? "").unicodeScalars.count)
        let message: [String: Any] = [
            "role": "assistant", "content": content ?? NSNull(), "refusal": refusal ?? NSNull(),
        ]
        return json(
            200,
            [
                "id": "chatcmpl-" + (0..<12).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined(),
                "object": "chat.completion", "created": Int(Date().timeIntervalSince1970), "model": call.model,
                "choices": [
                    ["index": 0, "message": message, "finish_reason": finish, "logprobs": NSNull()] as [String: Any]
                ],
                "usage": [
                    "prompt_tokens": promptTokens, "completion_tokens": completionTokens,
                    "total_tokens": promptTokens + completionTokens,
                ],
            ])
    }

    static func tokens(_ characters: Int) -> Int { (characters + 3) / 4 }

    // MARK: Validation, with OpenAI's messages, params and codes

    func parseChat(_ body: Data) -> ChatParsed {
        func reject(_ message: String, _ param: String?, _ code: String?) -> ChatParsed {
            .rejected(error(400, message, param: param, code: code))
        }
        guard let object = try? JSONSerialization.jsonObject(with: body), let fields = object as? [String: Any] else {
            return reject(
                "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.", nil, nil)
        }
        guard let rawModel = Simulator.present(fields["model"]) else {
            return reject("Missing required parameter: 'model'.", "model", "missing_required_parameter")
        }
        guard let model = rawModel as? String else {
            return reject(
                "Invalid type for 'model': expected a string, but got \(Simulator.typeName(rawModel)) instead.",
                "model", "invalid_type")
        }
        guard !model.isEmpty else {
            return reject(
                "Invalid 'model': empty string. Expected a string with minimum length 1, but got an empty string instead.",
                "model", "empty_string")
        }
        guard let rawMessages = Simulator.present(fields["messages"]) else {
            return reject("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
        }
        guard let list = rawMessages as? [Any] else {
            return reject(
                "Invalid type for 'messages': expected an array of objects, but got \(Simulator.typeName(rawMessages)) instead.",
                "messages", "invalid_type")
        }
        guard !list.isEmpty else {
            return reject(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                "messages", "empty_array")
        }
        var messages: [(role: String, content: String)] = []
        for (i, item) in list.enumerated() {
            let at = "messages[\(i)]"
            guard let message = item as? [String: Any] else {
                return reject(
                    "Invalid type for '\(at)': expected an object, but got \(Simulator.typeName(item)) instead.", at,
                    "invalid_type")
            }
            guard let rawRole = Simulator.present(message["role"]) else {
                return reject("Missing required parameter: '\(at).role'.", "\(at).role", "missing_required_parameter")
            }
            guard let role = rawRole as? String, Simulator.chatRoles.contains(role) else {
                return reject(
                    "Invalid value: '\(rawRole)'. Supported values are: 'system', 'developer', 'user', and 'assistant'.",
                    "\(at).role", "invalid_value")
            }
            guard let rawContent = Simulator.present(message["content"]) else {
                return reject(
                    "Missing required parameter: '\(at).content'.", "\(at).content", "missing_required_parameter")
            }
            guard let content = rawContent as? String else {
                return reject(
                    "Invalid type for '\(at).content': expected a string, but got \(Simulator.typeName(rawContent)) instead.",
                    "\(at).content", "invalid_type")
            }
            messages.append((role, content))
        }
        var temperature: Double?
        if let raw = Simulator.present(fields["temperature"]) {
            guard let number = Simulator.number(raw) else {
                return reject(
                    "Invalid type for 'temperature': expected a decimal, but got \(Simulator.typeName(raw)) instead.",
                    "temperature", "invalid_type")
            }
            guard number >= 0 else {
                return reject(
                    "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got \(raw) instead.",
                    "temperature", "decimal_below_min_value")
            }
            guard number <= 2 else {
                return reject(
                    "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got \(raw) instead.",
                    "temperature", "decimal_above_max_value")
            }
            // Reasoning models accept only their default, as OpenAI's do.
            guard number == 1 || !["o1", "o3", "o4", "gpt-5"].contains(where: { model.hasPrefix($0) }) else {
                return reject(
                    "Unsupported value: 'temperature' does not support \(raw) with this model. Only the default (1) value is supported.",
                    "temperature", "unsupported_value")
            }
            temperature = number
        }
        var maxTokens: Int?
        if let raw = Simulator.present(fields["max_completion_tokens"]) {
            guard let number = Simulator.number(raw), number == number.rounded() else {
                return reject(
                    "Invalid type for 'max_completion_tokens': expected an integer, but got \(Simulator.typeName(raw)) instead.",
                    "max_completion_tokens", "invalid_type")
            }
            guard number >= 1 else {
                return reject(
                    "Invalid 'max_completion_tokens': integer below minimum value. Expected a value >= 1, but got \(Int(number)) instead.",
                    "max_completion_tokens", "integer_below_min_value")
            }
            maxTokens = Int(min(number, 1e9))  // more than any answer; keeps limit × 4 far from overflowing
        }
        return .call(
            ChatCall(model: model, messages: messages, temperature: temperature, maxCompletionTokens: maxTokens))
    }

    /// A JSON value that is there: null counts as absent, as OpenAI treats it.
    static func present(_ value: Any?) -> Any? {
        guard let value, !(value is NSNull) else { return nil }
        return value
    }

    /// JSONSerialization hands booleans over as NSNumbers too (and on Linux `1 is Bool` holds), so the
    /// class tells them apart.
    static let booleanClass = ObjectIdentifier(type(of: NSNumber(value: true)))

    static func number(_ value: Any) -> Double? {
        guard let n = value as? NSNumber, ObjectIdentifier(type(of: n)) != booleanClass else { return nil }
        return n.doubleValue
    }

    static func typeName(_ value: Any) -> String {
        switch value {
        case let n as NSNumber where ObjectIdentifier(type(of: n)) == booleanClass: "a boolean"
        case let n as NSNumber: n.doubleValue == n.doubleValue.rounded() ? "an integer" : "a decimal"
        case is String: "a string"
        case is [Any]: "an array"
        case is [String: Any]: "an object"
        default: "another type"
        }
    }

    // MARK: Deterministic answers

    /// The role a roundtable's system message names: "You are the <Role> of a video production roundtable."
    static func roundtableRole(_ messages: [(role: String, content: String)]) -> String? {
        for message in messages where message.role == "system" || message.role == "developer" {
            guard let start = message.content.range(of: "You are the "),
                let end = message.content[start.upperBound...].range(of: " of a video production roundtable")
            else { continue }
            let role = message.content[start.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespaces)
            if !role.isEmpty && !role.contains("\n") { return role }
        }
        return nil
    }

    /// Every `[sim:NAME=VALUE]` in the text (values may also be comma-separated).
    static func directives(_ text: String, _ name: String) -> [String] {
        var values: [String] = []
        var rest = text[...]
        while let start = rest.range(of: "[sim:\(name)="), let end = rest[start.upperBound...].firstIndex(of: "]") {
            values += rest[start.upperBound..<end].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            rest = rest[end...]
        }
        return values
    }

    /// The text of a `Label:` line in the user messages; when the label stands alone, the lines after
    /// it up to a blank line. Newlines become spaces: the result is one paragraph.
    static func labelled(_ label: String, in texts: [String]) -> String? {
        for text in texts {
            let lines = text.components(separatedBy: "\n")
            for (i, line) in lines.enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.lowercased().hasPrefix(label.lowercased() + ":") else { continue }
                var value = String(trimmed.dropFirst(label.count + 1)).trimmingCharacters(in: .whitespaces)
                if value.isEmpty {
                    value = lines[(i + 1)...].prefix { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                        .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
                }
                if !value.isEmpty { return value }
            }
        }
        return nil
    }

    /// The first words of a text, without directives or trailing punctuation.
    static func words(_ text: String, _ count: Int) -> String {
        let clean = text.replacingOccurrences(of: #"\[sim:[^\]]*\]"#, with: " ", options: .regularExpression)
        let picked = clean.split(whereSeparator: \.isWhitespace).prefix(count).joined(separator: " ")
        return picked.trimmingCharacters(in: CharacterSet(charactersIn: ".,;:!?").union(.whitespaces))
    }

    /// FNV-1a: a hash that is the same in every run (Swift's own is seeded per process).
    static func stableHash(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    static let focus = [
        "director": "the story should rest on one clear subject and the single shot that matters",
        "cinematographer":
            "a slow push-in on a 35mm lens, soft side light and a restrained palette will carry the mood",
        "editor": "one continuous take fits the duration best, with the action resolved before the last second",
        "feasibility":
            "avoid on-screen text, close-ups of hands and fast cuts, which video models render poorly; nothing here raises a policy concern",
    ]

    static let closings = [
        "Keep the mood consistent from the first frame to the last.",
        "Everything else should serve that one idea.",
        "Hold the framing steady so the subject reads clearly.",
    ]

    /// The answer for a role: notes, or for the Moderator the PROMPT:/RATIONALE: block the app parses.
    static func answer(role: String?, messages: [(role: String, content: String)]) -> String {
        let users = messages.filter { $0.role == "user" }.map(\.content)
        let brief = labelled("Brief", in: users) ?? users.first ?? messages.last?.content ?? ""
        let feedback = labelled("Feedback", in: users)
        let revising = users.contains { $0.contains("Previous proposal:") }
        let role = role ?? "Assistant"
        if role.lowercased() == "moderator" {
            var subject = words(brief, 24)
            // "A fox…" reads "a cinematic shot of a fox…"; "NASA…" keeps its capitals.
            if let first = subject.split(separator: " ").first, first.dropFirst().allSatisfy(\.isLowercase) {
                subject = subject.prefix(1).lowercased() + subject.dropFirst()
            }
            var prompt = "A cinematic shot of \(subject.isEmpty ? "the scene" : subject)"
            if let feedback { prompt += ", " + feedback }
            if !prompt.hasSuffix(".") { prompt += "." }
            prompt +=
                " Steady camera with a slow push-in, soft natural light, a restrained palette, one continuous take."
            // Video directives in the brief travel on, so a simulated run can steer the video it leads to.
            let carried = brief.matches(#"\[sim:(?!chat-)[^\]]*\]"#)
            if !carried.isEmpty { prompt += " " + carried.joined(separator: " ") }
            var rationale =
                "The prompt keeps the brief's subject and mood and follows the roundtable's notes on camera, pacing and feasibility."
            if revising {
                rationale += " It is revising the previous proposal\(feedback == nil ? "" : " with the feedback")."
            }
            return "PROMPT:\n\(prompt)\nRATIONALE:\n\(rationale)"
        }
        let focus =
            Simulator.focus[role.lowercased()] ?? "the \(role.lowercased()) would keep the idea simple and concrete"
        // Round 2 shows the others' notes as "<Role> notes: …" lines.
        let closing =
            users.contains { !$0.matches(#"(?m)^\s*\S+ notes:"#).isEmpty }
            ? "Having read the others' notes, I agree we should keep it to one clear idea."
            : closings[Int(stableHash(role + "\n" + brief) % UInt64(closings.count))]
        let echo = words(brief, 6)
        var sentences = [(echo.isEmpty ? "For this brief" : "For \"\(echo)\"") + ", \(focus).", closing]
        if let feedback {
            sentences.append("Following the feedback \"\(words(feedback, 8))\", I would adjust accordingly.")
        }
        if revising { sentences.append("This means revising the previous proposal rather than starting over.") }
        return "\(role) notes: " + sentences.joined(separator: " ")
    }
}

extension String {
    /// Every match of a regular expression, in order.
    fileprivate func matches(_ pattern: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        return regex.matches(in: self, range: NSRange(startIndex..., in: self)).compactMap {
            Range($0.range, in: self).map { String(self[$0]) }
        }
    }
}
