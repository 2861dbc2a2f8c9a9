// Runs one roundtable: round 1, every role's notes on the brief; round 2, every role's answer to the
// others; then the Moderator's proposal and rationale. The roles of a round are asked at once (each on
// its own thread with its own chat client); each answer is stored as it arrives, so the page shows the
// transcript growing, and a resumed roundtable never asks again what it already has.

import Core
import Dispatch
import Foundation
import Glibc
import Postgres
import Synchronization
import Telemetry
import VideoAPI

final class RoundtableEngine {
    let db: Connection
    /// A fresh chat client per call: curl handles belong to one thread.
    let makeProvider: @Sendable () throws(VideoAPIError) -> any ChatProvider
    let leaseSeconds: Double
    var store: RoundtableStore { RoundtableStore(db: db) }

    init(
        db: Connection, leaseSeconds: Double = 300,
        makeProvider: @escaping @Sendable () throws(VideoAPIError) -> any ChatProvider
    ) {
        self.db = db
        self.leaseSeconds = leaseSeconds
        self.makeProvider = makeProvider
    }

    /// A roundtable claimed this often without finishing (its worker died or its database writes keep
    /// failing) is given up, so paid calls are not repeated forever.
    static let maxAttempts = 5

    /// Claims and runs one due roundtable; false when none was due. Whatever goes wrong ends in a
    /// plain failed state (Retry resumes), except a lost database, where the lease brings it back.
    @discardableResult
    func runOne() throws -> Bool {
        guard let table = try store.claim(leaseSeconds: leaseSeconds) else { return false }
        defer { store.unlock(table.id) }
        guard table.attempts <= RoundtableEngine.maxAttempts else {
            try store.fail(
                table.id,
                message:
                    "The roundtable was interrupted \(RoundtableEngine.maxAttempts) times, so PromptReel stopped. Retry resumes it."
            )
            return true
        }
        do {
            try run(table)
        } catch let failure as RoundFailure {
            Log.error("\(failure.message)", ["roundtable_id": "\(table.id)"])
            try store.fail(table.id, message: failure.message)
        } catch DatabaseError.unavailable(let detail) {
            throw DatabaseError.unavailable(detail)
        } catch {
            Log.error("\(error)", ["roundtable_id": "\(table.id)"])
            try store.fail(
                table.id,
                message: "The roundtable stopped on an internal error. The transcript so far is kept; Retry resumes it."
            )
        }
        return true
    }

    struct RoundFailure: Error {
        let message: String
    }

    func run(_ table: Roundtable) throws {
        var transcript = try store.messages(roundtableID: table.id)
        for round in 1...2 {
            let asked = table.roles.enumerated().filter { _, role in
                !transcript.contains { $0.round == round && $0.role == role.name }
            }
            try ask(table, round: round, roles: asked.map { ($0.offset, $0.element) }, transcript: transcript)
            transcript = try store.messages(roundtableID: table.id)
        }
        let moderator = RoundtableRole(name: "Moderator", instructions: RoundtablePrompts.moderatorInstructions)
        if !transcript.contains(where: { $0.round == 3 && $0.role == "Moderator" }) {
            try ask(table, round: 3, roles: [(0, moderator)], transcript: transcript)
            transcript = try store.messages(roundtableID: table.id)
        }
        guard let final = transcript.first(where: { $0.round == 3 && $0.role == "Moderator" }) else {
            throw RoundFailure(message: "The Moderator gave no answer.")
        }
        let (proposal, rationale) = RoundtablePrompts.parseModerator(
            final.content, cutShort: final.finishReason == "length")
        guard !proposal.isEmpty else {
            // Keep the paid answer in the transcript under another name, so Retry asks the Moderator again.
            try store.setAside(
                table.id, round: 3, role: "Moderator", as: "Moderator (no prompt, attempt \(table.attempts))")
            throw RoundFailure(
                message:
                    "The Moderator's answer held no prompt\(final.finishReason == "length" ? " (it stopped at its length limit)" : ""). Retry asks it again."
            )
        }
        try store.complete(
            table.id, proposal: String(proposal.prefix(Roundtable.promptLimit)), rationale: rationale)
        Log.info("completed", ["roundtable_id": "\(table.id)"])
    }

    /// One answer from one role, or why it failed, and the attempts that may have been billed without one.
    struct Answer: Sendable {
        let position: Int
        let role: String
        let request: ChatRequest
        let startedAt: Double
        let call: ChatCall
    }

    /// Asks `roles` at once and stores each answer as it arrives; fails after the round if any failed
    /// (the answers that came are kept).
    func ask(_ table: Roundtable, round: Int, roles: [(Int, RoundtableRole)], transcript: [RoundtableMessage]) throws {
        guard !roles.isEmpty else { return }
        let arrived = Mutex<[Answer]>([])
        let signal = DispatchSemaphore(value: 0)
        for (position, role) in roles {
            let request = RoundtablePrompts.request(table, round: round, role: role, transcript: transcript)
            let makeProvider = self.makeProvider
            // A thread of its own per call: the calls block on the network, and a dispatch queue's few
            // threads would run them one or two at a time.
            Thread.detachNewThread {
                let startedAt = RoundtableEngine.now()
                let call: ChatCall
                do throws(VideoAPIError) {
                    call = try makeProvider().complete(request)  // drops a parameter the model refuses, and says so
                } catch {
                    call = ChatCall(.failure(error))
                }
                arrived.withLock {
                    $0.append(
                        Answer(position: position, role: role.name, request: request, startedAt: startedAt, call: call))
                }
                signal.signal()
            }
        }
        var failures: [String] = []
        var storeError: (any Error)?
        for _ in roles {
            signal.wait()
            guard let answer = arrived.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            // Each attempt that may have been billed is spend, whatever came of the call in the end.
            for lost in answer.call.unanswered {
                do {
                    try store.addUnansweredCall(
                        table.id, round: round, role: answer.role, errorKind: lost.kind.rawValue, status: lost.status,
                        promptTokens: answer.request.worstCasePromptTokens,
                        completionTokens: answer.request.maxCompletionTokens ?? RoundtableReserve.moderatorTokens,
                        chatModel: table.chatModel, startedAt: answer.startedAt)
                } catch {
                    Log.error(
                        "recording the \(answer.role)'s unanswered call failed: \(error)",
                        ["roundtable_id": "\(table.id)"])
                    storeError = storeError ?? error
                }
            }
            switch answer.call.result {
            case let .success(completion):
                if !completion.droppedParameters.isEmpty {
                    Log.info(
                        "the chat model refused \(completion.droppedParameters.joined(separator: ", ")); asked without",
                        ["roundtable_id": "\(table.id)"])
                }
                // Every paid answer still arriving is stored even if one write fails; the failure is raised after.
                do {
                    try store.addMessage(
                        table.id, round: round, position: answer.position, role: answer.role,
                        content: completion.content,
                        finishReason: completion.finishReason,
                        promptTokens: completion.usageReported ? completion.promptTokens : nil,
                        completionTokens: completion.usageReported ? completion.completionTokens : nil,
                        chatModel: table.chatModel, startedAt: answer.startedAt)
                    try store.extendLease(table.id, seconds: leaseSeconds)
                } catch {
                    Log.error("storing the \(answer.role)'s answer failed: \(error)", ["roundtable_id": "\(table.id)"])
                    storeError = storeError ?? error
                }
            case let .failure(error):
                Log.error("\(answer.role) (round \(round)) failed: \(error)", ["roundtable_id": "\(table.id)"])
                failures.append("the \(answer.role)'s call in round \(round) failed: \(RoundtablePrompts.plain(error))")
            }
        }
        if let storeError { throw storeError }
        if !failures.isEmpty {
            throw RoundFailure(
                message: "The roundtable stopped: " + failures.joined(separator: "; ")
                    + ". The transcript so far is kept; Retry asks only what is missing.")
        }
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// What each role is told. Kept in one place so the wording is easy to change.
enum RoundtablePrompts {
    static let moderatorInstructions = """
        You chair the table. Read the brief and every note, settle disagreements, and write the one final prompt the \
        video model will get: a single paragraph describing subject, action, setting, camera, light and mood, that \
        fits the duration and aspect ratio and avoids what Feasibility flagged.
        """

    static func request(_ table: Roundtable, round: Int, role: RoundtableRole, transcript: [RoundtableMessage])
        -> ChatRequest
    {
        var system = "You are the \(role.name) of a video production roundtable. \(role.instructions)"
        if let preset = table.presetInstructions { system += "\n\(preset)" }
        var user = "Brief:\n\(table.brief)\n\nThe video: \(table.settings.summary)."
        if !table.currentPrompt.isEmpty { user += "\n\nCurrent final prompt:\n\(table.currentPrompt)" }
        if let previous = table.previousProposal { user += "\n\nPrevious proposal:\n\(previous)" }
        if let feedback = table.feedback, !feedback.isEmpty { user += "\n\nFeedback: \(feedback)" }
        let notes = { (r: Int) in
            transcript.filter { $0.round == r }.map { "[\($0.role)] \($0.content)" }.joined(separator: "\n\n")
        }
        switch round {
        case 1:
            user += "\n\nRound 1: write your notes on this brief for this video, in at most 120 words."
        case 2:
            user +=
                "\n\nNotes from round 1:\n\(notes(1))\n\nRound 2: answer the others' notes from your point of view — agree, object, refine — in at most 120 words."
        default:
            system += """

                Answer exactly in this form, with nothing before or after:
                PROMPT:
                <the final prompt, at most \(Roundtable.promptLimit / 20) words>
                RATIONALE:
                <one or two sentences on the choices>
                """
            user +=
                "\n\nRound 1 notes:\n\(notes(1))\n\nRound 2 answers:\n\(notes(2))\n\nWrite the final prompt and the rationale."
        }
        return ChatRequest(
            model: table.chatModel,
            messages: [ChatMessage(role: "system", content: system), ChatMessage(role: "user", content: user)],
            temperature: 0.7, maxCompletionTokens: round == 3 ? 1200 : 600)
    }

    /// Splits "PROMPT: … RATIONALE: …"; a model that ignored the form gives its whole answer as the prompt.
    static func parseModerator(_ content: String, cutShort: Bool) -> (proposal: String, rationale: String) {
        let text = content.trimmingSpaces
        var proposal = text
        var rationale = ""
        if let p = text.range(of: "PROMPT:") {
            let after = text[p.upperBound...]
            if let r = after.range(of: "RATIONALE:") {
                proposal = String(after[..<r.lowerBound]).trimmingSpaces
                rationale = String(after[r.upperBound...]).trimmingSpaces
            } else {
                proposal = String(after).trimmingSpaces
            }
        }
        if rationale.isEmpty { rationale = "The Moderator gave no separate rationale." }
        if cutShort { rationale += " (The model stopped at its length limit: the prompt may be cut short.)" }
        return (proposal, rationale)
    }

    /// A plain reason for a failed call (the provider's detail goes to the log).
    static func plain(_ error: VideoAPIError) -> String {
        switch error.kind {
        case .refused: "the model declined to answer"
        case .badKey: "the chat provider rejected the API key"
        case .notFound: "the chat provider does not know the model"
        case .rateLimited: "the chat provider is rate limiting us"
        case .timeout: "the chat provider did not answer in time"
        case .connectionFailed: "PromptReel could not reach the chat provider"
        case .invalidRequest: "the chat provider refused the request (\(error.detail))"
        default: "the chat provider had trouble (\(error.kind.rawValue))"
        }
    }
}
