// The Chat Completions client against the running simulator, over real HTTP: answers and their token
// counts, truncation, refusals, every error class, retries and their waits, timeouts, malformed bodies;
// and the configuration read from the environment.

import Foundation
import Testing
import VideoAPI

extension Sim {
    static func chatConfig(key: String = Sim.key, timeoutMs: Int = 10_000, retries: Int = 2) -> ChatConfig {
        var config = ChatConfig(baseURL: base + "/v1", apiKey: key)
        config.timeoutMs = timeoutMs
        config.maxRetries = retries
        return config
    }
}

func chatClient(_ config: ChatConfig = Sim.chatConfig(), waits: Waits = Waits()) throws(VideoAPIError) -> ChatAPIClient
{
    try ChatAPIClient(config: config, wait: { waits.wait($0) })
}

/// A roundtable call as the app makes it: the role in the system message, the brief in the user's.
func roundtable(
    _ role: String, brief: String, _ more: String = "", model: String = ChatConfig.defaultModel,
    temperature: Double? = nil, maxTokens: Int? = nil
) -> ChatRequest {
    ChatRequest(
        model: model,
        messages: [
            ChatMessage(
                role: "system", content: "You are the \(role) of a video production roundtable. Write short notes."),
            ChatMessage(role: "user", content: "Brief: \(brief)\(more.isEmpty ? "" : "\n" + more)"),
        ], temperature: temperature, maxCompletionTokens: maxTokens)
}

extension ChatAPIClient {
    /// The answer of `complete`, or its final failure.
    func answer(_ request: ChatRequest) throws(VideoAPIError) -> ChatCompletion { try complete(request).get() }
}

/// The simulator's token rule: a quarter of the characters, rounded up.
func quarter(_ text: String) -> Int { (text.unicodeScalars.count + 3) / 4 }

extension VideoAPIAgainstSimulator {
    /// Nested in the video suite so that its `.serialized` covers these too: both suites queue faults
    /// on, count calls of, and reset the one simulator.
    @Suite struct Chat {
        init() throws { try Sim.reset() }

        @Test func answerIsDecodedWithUsage() throws {
            let request = roundtable("Director", brief: "A red fox trots through fresh snow at dawn.", temperature: 0.7)
            let answer = try chatClient().answer(request)
            #expect(answer.content.hasPrefix("Director notes: For \"A red fox trots through fresh\", the story"))
            #expect(answer.finishReason == "stop")
            #expect(answer.id?.hasPrefix("chatcmpl-") == true && answer.model == "gpt-4.1-mini")
            #expect(answer.requestID?.hasPrefix("req_") == true)
            let characters = request.messages.reduce("") { $0 + $1.content }
            #expect(answer.promptTokens == quarter(characters) + 3 * request.messages.count)
            #expect(answer.completionTokens == quarter(answer.content))
            #expect(answer.usageReported && answer.droppedParameters.isEmpty)
        }

        @Test func answersAreDeterministicAndTheModeratorsParse() throws {
            let api = try chatClient()
            let editor = roundtable("Editor", brief: "A lighthouse keeper climbs the stairs at night.")
            #expect(try api.answer(editor).content == api.answer(editor).content)
            #expect(
                try api.answer(roundtable("Cinematographer", brief: "A lighthouse keeper climbs the stairs at night."))
                    .content
                    != api.answer(editor).content)
            let moderator = try api.answer(
                roundtable(
                    "Moderator", brief: "A lighthouse keeper climbs the stairs at night.",
                    "Previous proposal: an older prompt\nFeedback: moodier, no people")
            ).content
            let lines = moderator.components(separatedBy: "\n")
            #expect(lines.count == 4 && lines[0] == "PROMPT:" && lines[2] == "RATIONALE:", "\(moderator)")
            #expect(lines[1].contains("lighthouse keeper climbs") && lines[1].contains("moodier, no people"))
            #expect(lines[3].contains("revising the previous proposal"))
        }

        @Test func lengthCutsTheAnswer() throws {
            let answer = try chatClient().answer(
                roundtable("Feasibility", brief: "Hands typing a long letter.", maxTokens: 5))
            #expect(answer.finishReason == "length")
            #expect(answer.content.count == 20 && answer.completionTokens == 5)
        }

        @Test func rateLimitIsRetriedHonouringRetryAfter() throws {
            let waits = Waits()
            let api = try chatClient(waits: waits)
            try Sim.fault("chat", "429", retryAfter: 1)
            let before = try Sim.stats()["chat"] ?? 0
            let started = Date()
            #expect(try api.answer(roundtable("Director", brief: "retry")).finishReason == "stop")
            #expect(Date().timeIntervalSince(started) >= 1.0)
            #expect(waits.values == [1.0])
            #expect(try Sim.stats()["chat"] == before + 2)
        }

        @Test func serverErrorsAreRetriedThenGivenUp() throws {
            let waits = Waits()
            let api = try chatClient(waits: waits)
            try Sim.fault("chat", "500", count: 2)
            #expect(try api.answer(roundtable("Director", brief: "5xx")).content.hasPrefix("Director notes:"))
            #expect(waits.values.count == 2 && waits.values.allSatisfy { $0 > 0 && $0 <= 8 })
            try Sim.fault("chat", "503", count: 3)
            let before = try Sim.stats()["chat"] ?? 0
            do {
                _ = try api.answer(roundtable("Director", brief: "5xx"))
                Issue.record("expected an upstream error")
            } catch {
                #expect(error.kind == .upstream && error.status == 503 && error.service == .chat)
                #expect(error.publicMessage == "The chat provider is having trouble right now. Try again shortly.")
            }
            #expect(try Sim.stats()["chat"] == before + 3)  // the first try and two retries
            // The directive fails every call of its role, so the client gives up the same way.
            #expect { try api.answer(roundtable("Editor", brief: "cut [sim:chat-fail=Editor]")) } throws: {
                ($0 as? VideoAPIError)?.status == 500
            }
            #expect(
                try api.answer(roundtable("Director", brief: "cut [sim:chat-fail=Editor]")).content.hasPrefix(
                    "Director notes:"))
        }

        @Test func hangIsATypedTimeoutAndRetried() throws {
            let once = try chatClient(Sim.chatConfig(timeoutMs: 1000, retries: 0))
            try Sim.fault("chat", "hang", hangSeconds: 3)
            #expect { try once.answer(roundtable("Director", brief: "hang")) } throws: {
                ($0 as? VideoAPIError)?.kind == .timeout
            }
            #expect { try once.answer(roundtable("Director", brief: "slow [sim:chat-seconds=3]")) } throws: {
                ($0 as? VideoAPIError)?.kind == .timeout
            }
            let waits = Waits()
            let retrying = try chatClient(Sim.chatConfig(timeoutMs: 1000), waits: waits)
            try Sim.fault("chat", "hang", hangSeconds: 3)
            #expect(try retrying.answer(roundtable("Director", brief: "hang once")).finishReason == "stop")
            #expect(waits.values.count == 1)
        }

        /// Each attempt is billed: one that times out while the provider works on it (a late answer) is
        /// reported as possibly billed, and the retry's answer is the completion.
        @Test func aTimedOutAttemptIsReportedAsPossiblyBilled() throws {
            let api = try chatClient(Sim.chatConfig(timeoutMs: 1000))
            try Sim.fault("chat", "late", hangSeconds: 3)
            let before = try Sim.stats()["chat"] ?? 0
            let call = api.complete(roundtable("Director", brief: "late once"))
            #expect(try call.get().finishReason == "stop")
            #expect(call.unanswered.map(\.kind) == [.timeout] && call.unanswered.allSatisfy(\.possiblyBilled))
            #expect(try Sim.stats()["chat"] == before + 2)
        }

        /// A call dropped on a kept-alive connection is not resent by libcurl behind the client's back:
        /// the client sees the drop, reports it, and its own retry (counted) answers.
        @Test func aDroppedAttemptOnAWarmConnectionIsReportedNotResentSilently() throws {
            let api = try chatClient()
            _ = try api.answer(roundtable("Director", brief: "warm"))
            try Sim.fault("chat", "drop")
            let before = try Sim.stats()["chat"] ?? 0
            let call = api.complete(roundtable("Editor", brief: "dropped once"))
            #expect(try call.get().content.hasPrefix("Editor notes:"))
            #expect(call.unanswered.count == 1 && call.unanswered.first?.kind == .connectionFailed)
            #expect(try Sim.stats()["chat"] == before + 2)
        }

        /// 429 and 503 say the call was not taken; a 500 or an unreadable answer may have been billed.
        @Test func onlyAttemptsThatMayHaveBeenBilledAreReported() throws {
            let api = try chatClient(Sim.chatConfig(retries: 3), waits: Waits())
            try Sim.fault("chat", "429", retryAfter: 0)
            try Sim.fault("chat", "503")
            let notTaken = api.complete(roundtable("Director", brief: "not taken"))
            #expect(try notTaken.get().finishReason == "stop" && notTaken.unanswered.isEmpty)
            try Sim.fault("chat", "500")
            try Sim.fault("chat", "malformed")
            let lost = api.complete(roundtable("Director", brief: "lost"))
            #expect(lost.unanswered.map(\.kind) == [.upstream, .malformedResponse])
            #expect { try lost.get() } throws: { ($0 as? VideoAPIError)?.kind == .malformedResponse }
            // A refusal is a billed answer PromptReel reads no usage from: counted too.
            let refused = api.complete(roundtable("Feasibility", brief: "x [sim:chat-refuse=Feasibility]"))
            #expect(refused.unanswered.map(\.kind) == [.refused])
        }

        @Test func quotaIsNotRetried() throws {
            let waits = Waits()
            try Sim.fault("chat", "quota")
            let before = try Sim.stats()["chat"] ?? 0
            do {
                _ = try chatClient(waits: waits).answer(roundtable("Director", brief: "no credit"))
                Issue.record("expected a quota error")
            } catch {
                #expect(error.kind == .rateLimited && error.code == "insufficient_quota")
            }
            #expect(waits.values.isEmpty)
            #expect(try Sim.stats()["chat"] == before + 1)
        }

        @Test func malformedBodyIsTyped() throws {
            let api = try chatClient(Sim.chatConfig(retries: 0))
            try Sim.fault("chat", "malformed")
            #expect { try api.answer(roundtable("Director", brief: "malformed")) } throws: {
                ($0 as? VideoAPIError)?.kind == .malformedResponse
            }
        }

        @Test func refusalIsTyped() throws {
            let api = try chatClient()
            do {
                _ = try api.answer(roundtable("Feasibility", brief: "x [sim:chat-refuse=Feasibility]"))
                Issue.record("expected a refusal")
            } catch {
                #expect(error.kind == .refused && error.detail == "I can't help with that.")
                #expect(error.publicMessage == "The model declined to answer this request.")
            }
            #expect(
                try api.answer(roundtable("Editor", brief: "x [sim:chat-refuse=Feasibility]")).content.hasPrefix(
                    "Editor notes:"))
        }

        @Test func errorClasses() throws {
            let waits = Waits()
            do {
                _ = try chatClient(Sim.chatConfig(key: "wrong-key"), waits: waits).answer(
                    roundtable("Director", brief: "key"))
                Issue.record("expected a bad key")
            } catch {
                #expect(error.kind == .badKey && error.status == 401 && error.code == "invalid_api_key")
                #expect(
                    error.publicMessage.contains("PROMPTREEL_CHAT_API_KEY") && !error.publicMessage.contains("video"))
            }
            do {
                _ = try chatClient(waits: waits).answer(ChatRequest(model: "gpt-4.1-mini", messages: []))
                Issue.record("expected an invalid request")
            } catch {
                #expect(error.kind == .invalidRequest && error.param == "messages" && error.code == "empty_array")
            }
            #expect(waits.values.isEmpty)  // neither is worth a second try
        }

        @Test func aParameterTheModelRefusesIsDropped() throws {
            // Reasoning models take only their default temperature: the roundtable goes on without it.
            let answer = try chatClient().answer(
                roundtable("Director", brief: "reasoning", model: "o4-mini", temperature: 0.7))
            #expect(answer.droppedParameters == ["temperature"] && answer.content.hasPrefix("Director notes:"))
        }

        @Test func refusedConnectionIsRetried() throws {
            let waits = Waits()
            var config = ChatConfig(baseURL: "http://127.0.0.1:9/v1", apiKey: "k")
            config.maxRetries = 1
            #expect { try chatClient(config, waits: waits).answer(roundtable("Director", brief: "x")) } throws: {
                ($0 as? VideoAPIError)?.kind == .connectionFailed
            }
            #expect(waits.values.count == 1)
        }
    }
}

@Suite struct ChatConfiguration {
    @Test func fallsBackToTheVideoAPIsBaseAndKey() throws {
        #expect(ChatConfig.fromEnvironment([:]) == nil)
        #expect(ChatConfig.fromEnvironment(["OPENAI_BASE_URL": "http://gw/v1", "PROMPTREEL_CHAT_MODEL": "m"]) == nil)
        let config = try #require(
            ChatConfig.fromEnvironment([
                "OPENAI_BASE_URL": "http://gw/v1/", "OPENAI_API_KEY": "sk-video",
                "OPENAI_ORG_ID": "org-1", "OPENAI_PROJECT_ID": "proj-1",
            ]))
        #expect(config.baseURL == "http://gw/v1" && config.apiKey == "sk-video" && config.model == "gpt-4.1-mini")
        #expect(config.organization == "org-1" && config.project == "proj-1")
        #expect(config.timeoutMs == 60_000 && config.connectTimeoutMs == 5_000 && config.maxRetries == 2)
        #expect(config.maxBackoffSeconds == 8 && config.maxRetryAfterSeconds == 120)
        let openAI = try #require(ChatConfig.fromEnvironment(["OPENAI_API_KEY": "sk"]))
        #expect(openAI.baseURL == "https://api.openai.com/v1" && openAI.organization == nil)
    }

    @Test func chatVariablesOverride() throws {
        let env = [
            "OPENAI_BASE_URL": "http://gw/v1", "OPENAI_API_KEY": "sk-video",
            "PROMPTREEL_CHAT_BASE_URL": "http://chat/v1//", "PROMPTREEL_CHAT_API_KEY": "sk-chat",
            "PROMPTREEL_CHAT_MODEL": "claude-sonnet", "PROMPTREEL_CHAT_TIMEOUT_MS": "90000",
        ]
        let config = try #require(ChatConfig.fromEnvironment(env))
        #expect(
            config.baseURL == "http://chat/v1" && config.apiKey == "sk-chat" && config.model == "claude-sonnet"
                && config.timeoutMs == 90_000)
        // A chat key alone is enough; empty and nonsense values count as unset.
        let alone = try #require(
            ChatConfig.fromEnvironment([
                "PROMPTREEL_CHAT_API_KEY": "sk-chat", "PROMPTREEL_CHAT_BASE_URL": "",
                "PROMPTREEL_CHAT_MODEL": "", "PROMPTREEL_CHAT_TIMEOUT_MS": "-5",
            ]))
        #expect(
            alone.baseURL == "https://api.openai.com/v1" && alone.model == "gpt-4.1-mini" && alone.timeoutMs == 60_000)
        let fallback = try #require(
            ChatConfig.fromEnvironment(["PROMPTREEL_CHAT_API_KEY": "", "OPENAI_API_KEY": "sk-video"]))
        #expect(fallback.apiKey == "sk-video")
    }
}

@Suite struct ChatErrorWording {
    func chat(_ kind: VideoAPIError.Kind, retryAfter: Double? = nil) -> VideoAPIError {
        var error = VideoAPIError(kind, detail: "d", retryAfter: retryAfter)
        error.service = .chat
        return error
    }

    @Test func chatFailuresNameTheChatProviderAndVideoWordingStays() {
        for kind in [
            VideoAPIError.Kind.badKey, .notAllowed, .notFound, .invalidRequest, .rateLimited, .upstream, .timeout,
            .connectionFailed, .malformedResponse, .tooLarge, .refused,
        ] {
            let message = chat(kind).publicMessage
            #expect(!message.contains("video"), "\(kind): \(message)")
        }
        #expect(
            VideoAPIError(.notFound, detail: "d").publicMessage
                == "The video provider does not know this video any more.")
        #expect(VideoAPIError(.timeout, detail: "d").publicMessage == "The video provider did not answer in time.")
        #expect(
            chat(.rateLimited, retryAfter: 2).publicMessage
                == "The chat provider is rate limiting us. Try again in 2 seconds.")
        #expect(VideoAPIError(.refused, detail: "no").createOutcome == .refused)
    }
}
