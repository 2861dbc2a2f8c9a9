// The roundtable engine and service against the real PostgreSQL with a scripted chat model (no socket):
// rounds in order, roles of a round asked at once, costs from the catalog to the micro-dollar, usage
// unknown kept unknown, a failure keeps the transcript and a retry asks only what is missing; accepting
// sets the final prompt and keeps the version. Plus the word diff and the Moderator's format.

import Foundation
import Postgres
import Synchronization
import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import VideoAPI
@testable import WebApp

/// Answers by role (read from the system message), records every call, and counts how many calls were
/// in flight at once. Shared by the per-call providers the engine makes on its threads.
final class ScriptedChat: Sendable {
    struct State {
        var failing: Set<String> = []
        var noUsage = false
        var emptyModeratorAnswers = 0
        /// Per role: how many attempts got no answer (timed out) before the one that answered.
        var lostAttempts: [String: Int] = [:]
        var calls: [String] = []
        var active = 0
        var maxActive = 0
    }
    let state = Mutex(State())
    let delay: Double

    init(delay: Double = 0) { self.delay = delay }

    var calls: [String] { state.withLock { $0.calls } }
    var maxActive: Int { state.withLock { $0.maxActive } }
    func fail(_ role: String) { state.withLock { _ = $0.failing.insert(role) } }
    func recover() { state.withLock { $0.failing = [] } }
    func sendNoUsage() { state.withLock { $0.noUsage = true } }
    func moderatorAnswersEmpty(times: Int) { state.withLock { $0.emptyModeratorAnswers = times } }
    func loseAttempts(_ role: String, times: Int) { state.withLock { $0.lostAttempts[role] = times } }

    /// The answer, after the scripted attempts that timed out (reported as the real client does).
    func call(_ request: ChatRequest) -> ChatCall {
        let role = Self.role(request)
        let lost = state.withLock { s in s.lostAttempts.removeValue(forKey: role) ?? 0 }
        let timeouts = Array(
            repeating: VideoAPIError(.timeout, detail: "scripted timeout for \(role)").of(.chat), count: lost)
        return ChatCall(Result { () throws(VideoAPIError) in try answer(request) }, unanswered: timeouts)
    }

    static func role(_ request: ChatRequest) -> String {
        let system = request.messages.first?.content ?? ""
        return system.components(separatedBy: "You are the ").dropFirst().first?.components(separatedBy: " of").first
            ?? "?"
    }

    func answer(_ request: ChatRequest) throws(VideoAPIError) -> ChatCompletion {
        let role = Self.role(request)
        let (failing, noUsage, empty) = state.withLock { s -> (Bool, Bool, Bool) in
            s.calls.append(role)
            s.active += 1
            s.maxActive = max(s.maxActive, s.active)
            let empty = role == "Moderator" && s.emptyModeratorAnswers > 0
            if empty { s.emptyModeratorAnswers -= 1 }
            return (s.failing.contains(role), s.noUsage, empty)
        }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        state.withLock { $0.active -= 1 }
        if failing { throw VideoAPIError(.upstream, status: 500, detail: "scripted failure for \(role)") }
        if empty {
            return ChatCompletion(content: "", finishReason: "length", promptTokens: 1000, completionTokens: 1200)
        }
        let content =
            role == "Moderator"
            ? "PROMPT:\nA lantern-lit night market, steam rising.\nRATIONALE:\nThe table agreed on warmth."
            : "\(role) notes."
        return ChatCompletion(
            content: content, finishReason: "stop", promptTokens: 1000, completionTokens: 250, usageReported: !noUsage)
    }
}

struct ScriptedChatProvider: ChatProvider {
    let script: ScriptedChat
    func complete(_ request: ChatRequest) -> ChatCall { script.call(request) }
}

@Suite(.serialized) struct RoundtableEngineTests {
    let db: Connection
    let fixture: EngineFixture
    var store: RoundtableStore { RoundtableStore(db: db) }
    static let roles = ["Director", "Cinematographer", "Editor", "Feasibility"]

    init() throws {
        // Like EngineTests: only against scripts/test's database, and no other roundtable may be due.
        try #require(
            TestDatabase.url.contains("promptreel_test"),
            "RoundtableEngineTests run only against scripts/test's database")
        db = try TestSchema.connection("roundtable_engine", offset: 7)  // its claims take any due roundtable
        try db.execute(
            "UPDATE roundtables SET status = 'failed', error_message = 'test reset', completed_at = now() WHERE status IN ('queued', 'running')"
        )
        fixture = try EngineFixture(db: db)
    }

    func engine(_ script: ScriptedChat) -> RoundtableEngine {
        RoundtableEngine(db: db) { () throws(VideoAPIError) -> any ChatProvider in ScriptedChatProvider(script: script)
        }
    }

    func newRoundtable(chatModel: String = "gpt-4.1-mini") throws -> ID<Roundtable> {
        let video: ID<Video> = try db.execute(
            """
            INSERT INTO videos (project_id, title, brief) VALUES (\(fixture.projectID), 'Roundtable test', 'A night market teaser.') RETURNING id
            """)[0].id("id")
        return try store.insert(
            .init(
                videoID: video, userID: fixture.userID, brief: "A night market teaser.", currentPrompt: "",
                settings: fixture.settings.userJSON.serialized, preset: nil, roles: try store.roles(),
                feedback: nil, previous: nil, chatModel: chatModel))
    }

    @Test func fourPlusFourPlusOneInOrderPricedToTheMicroDollar() throws {
        let id = try newRoundtable()
        let script = ScriptedChat()
        #expect(try engine(script).runOne())
        let table = try #require(try store.byID(id))
        #expect(table.status == .completed)
        #expect(table.proposal == "A lantern-lit night market, steam rising.")
        #expect(table.rationale == "The table agreed on warmth.")
        let messages = try store.messages(roundtableID: id)
        #expect(
            messages.map { "\($0.round):\($0.role)" } == Self.roles.map { "1:\($0)" } + Self.roles.map { "2:\($0)" } + [
                "3:Moderator"
            ])
        // 1000 × $0.40 + 250 × $1.60 per million = $0.0008 each.
        #expect(messages.allSatisfy { $0.cost == USD(parsing: "0.000800") })
        #expect(table.cost == USD(parsing: "0.0072") && !table.costUnknown)
        #expect(script.calls.count == 9)
    }

    /// A call whose first attempt got no answer is two calls: the answer at its usage, and the lost
    /// attempt at its worst case (every byte of its messages a token, every completion token it allowed),
    /// counted as spend and as possibly billed.
    @Test func anUnansweredAttemptIsRecordedAtItsWorstCase() throws {
        let id = try newRoundtable()
        let script = ScriptedChat()
        script.loseAttempts("Director", times: 1)
        #expect(try engine(script).runOne())
        let table = try #require(try store.byID(id))
        #expect(table.status == .completed && table.unansweredCalls == 1)
        let lost = try db.execute(
            """
            SELECT round, role, error_kind, prompt_tokens, completion_tokens, cost::text AS cost
            FROM roundtable_unanswered_calls WHERE roundtable_id = \(id)
            """)
        #expect(lost.count == 1)
        let director = try #require(table.roles.first { $0.name == "Director" })
        let request = RoundtablePrompts.request(table, round: 1, role: director, transcript: [])
        let row = try #require(lost.first)
        #expect(row.int("round") == 1 && row.string("role") == "Director" && row.string("error_kind") == "timeout")
        #expect(row.int("prompt_tokens") == Int64(request.worstCasePromptTokens) && row.int("completion_tokens") == 600)
        let worst = try #require(
            USD(
                parsing: try db.execute(
                    """
                    SELECT chat_call_cost(\(request.worstCasePromptTokens), 600, 'gpt-4.1-mini')::text AS c
                    """)[0].string("c")))
        #expect(USD(parsing: row.string("cost")) == worst && worst > .zero)
        #expect(table.possiblyBilled == worst)
        #expect(table.cost == USD(micros: 7_200).adding(worst))  // nine answers at $0.0008 and the lost attempt
        let spend = try db.execute(
            """
            SELECT spend::text AS spend, possibly_billed::text AS possibly FROM spend_items WHERE kind = 'roundtable' AND id = \(id)
            """)[0]
        #expect(USD(parsing: spend.string("spend")) == table.cost && USD(parsing: spend.string("possibly")) == worst)
    }

    /// Unanswered calls are spend on top of the run's reservation (they were not part of its worst case, and
    /// their roles are asked again): a failed run retried counts its reservation plus those calls.
    @Test func unansweredCallsCountOnTopOfTheReservation() throws {
        let id = try newRoundtable()
        let script = ScriptedChat()
        script.loseAttempts("Director", times: 1)
        script.fail("Editor")
        #expect(try engine(script).runOne())
        let table = try #require(try store.byID(id))
        #expect(table.status == .failed && table.unansweredCalls == 1 && table.possiblyBilled > .zero)
        #expect(try store.retry(id: id, userID: fixture.userID))
        func figure(_ sql: Query) throws -> USD? { USD(parsing: try db.execute(sql)[0].string("v")) }
        let reserved = try #require(try figure("SELECT reserved_cost::text AS v FROM roundtables WHERE id = \(id)"))
        let spend = try figure("SELECT spend::text AS v FROM spend_items WHERE kind = 'roundtable' AND id = \(id)")
        #expect(spend == reserved.adding(table.possiblyBilled))
    }

    @Test func theRolesOfARoundAreAskedAtOnce() throws {
        _ = try newRoundtable()
        let script = ScriptedChat(delay: 0.2)
        #expect(try engine(script).runOne())
        #expect(script.maxActive == 4)
    }

    @Test func aFailureKeepsTheTranscriptAndRetryAsksOnlyWhatIsMissing() throws {
        let id = try newRoundtable()
        let script = ScriptedChat()
        script.fail("Editor")
        #expect(try engine(script).runOne())
        var table = try #require(try store.byID(id))
        #expect(table.status == .failed)
        #expect(table.errorMessage?.contains("Editor") == true)
        #expect(
            try store.messages(roundtableID: id).map(\.role).sorted() == ["Cinematographer", "Director", "Feasibility"])
        script.recover()
        #expect(try store.retry(id: id, userID: fixture.userID))
        let before = script.calls.count
        #expect(try engine(script).runOne())
        table = try #require(try store.byID(id))
        #expect(table.status == .completed)
        #expect(Array(script.calls[before...]).filter { $0 != "Editor" }.count == 4)  // three answers and the Moderator
        #expect(Array(script.calls[before...]).filter { $0 == "Editor" }.count == 2)  // its notes, then its answer
        #expect(try store.messages(roundtableID: id).count == 9)
    }

    /// A Moderator that used its whole budget on nothing: its paid answer stays in the transcript, set
    /// aside, and Retry asks the Moderator again (and only it).
    @Test func anEmptyModeratorAnswerIsSetAsideAndAskedAgain() throws {
        let id = try newRoundtable()
        let script = ScriptedChat()
        script.moderatorAnswersEmpty(times: 1)
        #expect(try engine(script).runOne())
        #expect(try store.byID(id)?.status == .failed)
        #expect(try store.retry(id: id, userID: fixture.userID))
        let before = script.calls.count
        #expect(try engine(script).runOne())
        #expect(try store.byID(id)?.status == .completed)
        #expect(Array(script.calls[before...]) == ["Moderator"])
        let roles = try store.messages(roundtableID: id).filter { $0.round == 3 }.map(\.role)
        #expect(roles == ["Moderator", "Moderator (no prompt, attempt 1)"])
    }

    @Test func partialUsageIsUnknown() throws {
        let client = try ChatAPIClient(config: ChatConfig(baseURL: "http://127.0.0.1:9/v1", apiKey: "k"))
        func decode(_ usage: String) throws -> ChatCompletion {
            try client.decode(
                Array(#"{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]\#(usage)}"#.utf8), status: 200,
                requestID: nil)
        }
        #expect(try decode(#","usage":{"prompt_tokens":10,"completion_tokens":2}"#).usageReported)
        #expect(try !decode(#","usage":{}"#).usageReported)
        #expect(try !decode(#","usage":{"total_tokens":812}"#).usageReported)
        #expect(try !decode(#","usage":{"prompt_tokens":10}"#).usageReported)
        #expect(try !decode("").usageReported)
    }

    @Test func noUsageIsUnknownNeverZero() throws {
        let id = try newRoundtable()
        let script = ScriptedChat()
        script.sendNoUsage()
        #expect(try engine(script).runOne())
        let table = try #require(try store.byID(id))
        #expect(table.costUnknown)
        #expect(try store.messages(roundtableID: id).allSatisfy { $0.cost == nil && $0.promptTokens == nil })
    }

    @Test func acceptingSetsTheFinalPromptAndKeepsTheVersion() throws {
        let id = try newRoundtable()
        let user = User(id: fixture.userID, email: "roundtable@example.test")
        var config = AppConfig(databaseURL: TestDatabase.url)
        config.chatModel = ChatConfig.defaultModel
        let service = Roundtables(db: db, config: config)
        // not completed yet
        #expect(throws: Roundtables.Refusal.self) { try service.accept(id: id, user: user, editedPrompt: nil) }
        #expect(try engine(ScriptedChat()).runOne())
        let (_, video) = try service.accept(id: id, user: user, editedPrompt: nil)
        #expect(video.finalPrompt == "A lantern-lit night market, steam rising.")
        let (_, edited) = try service.accept(id: id, user: user, editedPrompt: "  Mine instead.  ")
        #expect(edited.finalPrompt == "Mine instead.")
        let versions = try Store(db: db).promptVersions(videoID: video.id, userID: user.id)
        #expect(versions.map(\.source) == [.edited, .roundtable])
        let stranger = User(id: -1, email: "nobody@example.test")
        #expect(throws: Roundtables.Refusal.self) { try service.accept(id: id, user: stranger, editedPrompt: nil) }
    }
}

@Suite struct RoundtableText {
    @Test func moderatorFormat() {
        let parsed = RoundtablePrompts.parseModerator(
            "PROMPT:\n  A heron at dusk.  \nRATIONALE:\nCalm.", cutShort: false)
        #expect(parsed.proposal == "A heron at dusk." && parsed.rationale == "Calm.")
        let loose = RoundtablePrompts.parseModerator("Just a prompt without the form.", cutShort: true)
        #expect(loose.proposal == "Just a prompt without the form.")
        #expect(loose.rationale.contains("no separate rationale") && loose.rationale.contains("cut short"))
    }

    @Test func wordDiffRebuildsBothSidesAndEscapes() {
        let old = "a slow pan over the harbour at dawn"
        let new = "a slow dolly over the misty harbour at dawn"
        let pieces = WordDiff.diff(old, new)
        let before = pieces.compactMap {
            if case let .same(w) = $0 { w } else if case let .removed(w) = $0 { w } else { nil }
        }
        let after = pieces.compactMap {
            if case let .same(w) = $0 { w } else if case let .added(w) = $0 { w } else { nil }
        }
        #expect(before.joined(separator: " ") == old && after.joined(separator: " ") == new)
        #expect(pieces.filter { if case .same = $0 { true } else { false } }.count == 7)
        #expect(WordDiff.html("<b>", "<i>").rendered == "<del>&lt;b&gt;</del> <ins>&lt;i&gt;</ins> ")
    }
}
