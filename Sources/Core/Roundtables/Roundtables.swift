// Starting, reading, accepting and retrying roundtables: the one service behind the JSON API and the
// pages. It records and reads; roundtable workers make the chat calls.

import Formats
package import Postgres

package struct Roundtables {
    package let db: Connection
    package let config: AppConfig

    package init(db: Connection, config: AppConfig) {
        self.db = db
        self.config = config
    }
    package var store: RoundtableStore { RoundtableStore(db: db) }

    package enum Refusal: Error, Sendable {
        case noSuchVideo
        case noSuchRoundtable
        case noBrief
        case chatNotConfigured
        case noChatPrice(String)
        case unknownPreset(String)
        case noRoles
        case invalidSettings(SettingsError)
        case feedbackTooLong
        case notCompleted
        case notFailed
        /// Someone else started it: its cost is theirs, so only they retry it.
        case startedByOther
        case invalidPrompt(String)
        /// Its worst-case cost would pass the user's monthly budget or the instance's cap.
        case budgetExceeded(BudgetExceeded)

        /// Not there, or not the caller's: a missing page, never a message shown on another page.
        package var isNotFound: Bool {
            switch self {
            case .noSuchVideo, .noSuchRoundtable: true
            default: false
            }
        }
    }

    /// Records a queued roundtable for the video (a snapshot of its brief, prompt, settings, preset and
    /// roles) and wakes the roundtable workers. `preset`: nil uses the video's own, "" means none.
    /// `previous`: the run whose proposal the feedback is about (feedback alone: the latest completed).
    package func start(
        user: User, video: Video, preset presetName: String?, feedback: String?, requested: RequestedSettings,
        previous previousID: ID<Roundtable>?
    ) throws -> Roundtable {
        guard !video.brief.trimmingSpaces.isEmpty else { throw Refusal.noBrief }
        guard let chatModel = config.chatModel else { throw Refusal.chatNotConfigured }
        guard try store.hasPrice(chatModel: chatModel) else { throw Refusal.noChatPrice(chatModel) }
        let feedback = feedback?.trimmingSpaces
        guard (feedback?.count ?? 0) <= 2000 else { throw Refusal.feedbackTooLong }
        let presets = try store.presets()
        var preset: RoundtablePreset?
        if let presetName = presetName ?? video.preset, !presetName.isEmpty {
            guard let found = presets.first(where: { $0.name == presetName }) else {
                throw Refusal.unknownPreset(presetName)
            }
            preset = found
        }
        let roles = try store.roles()
        guard !roles.isEmpty else { throw Refusal.noRoles }
        let settings: ResolvedSettings
        do { settings = try Catalog.load(db).resolve(requested, db: db) } catch let error as SettingsError {
            throw Refusal.invalidSettings(error)
        }
        var previous: Roundtable?
        if let previousID {
            guard let found = try store.roundtable(id: previousID, userID: user.id), found.videoID == video.id else {
                throw Refusal.noSuchRoundtable
            }
            previous = found
        } else if feedback?.isEmpty == false {
            previous = try store.latestCompleted(videoID: video.id, userID: user.id)
        }
        let id: ID<Roundtable>
        do {
            id = try store.insert(
                .init(
                    videoID: video.id, userID: user.id, brief: video.brief, currentPrompt: video.finalPrompt,
                    settings: settings.userJSON.serialized, preset: preset, roles: roles,
                    feedback: feedback?.isEmpty == false ? feedback : nil, previous: previous, chatModel: chatModel))
        } catch let error as BudgetExceeded { throw Refusal.budgetExceeded(error) }
        guard let table = try store.byID(id) else { throw Refusal.noSuchRoundtable }
        return table
    }

    /// Sets the video's final prompt to the proposal (or the user's edit of it), keeping the version.
    package func accept(id: ID<Roundtable>, user: User, editedPrompt: String?) throws -> (Roundtable, Video) {
        guard let table = try store.roundtable(id: id, userID: user.id) else { throw Refusal.noSuchRoundtable }
        guard table.status == .completed, let proposal = table.proposal else { throw Refusal.notCompleted }
        // Browsers send a textarea's line breaks as CRLF: an unchanged proposal must read as unchanged.
        let edited = editedPrompt.map { $0.replacing("\r\n", with: "\n").trimmingSpaces }
        let prompt = edited ?? proposal
        guard !prompt.isEmpty else { throw Refusal.invalidPrompt("must not be empty") }
        guard prompt.count <= Roundtable.promptLimit else {
            throw Refusal.invalidPrompt("must be at most 32000 characters")
        }
        let changed = try db.transaction {
            let set = try Store(db: db).setFinalPrompt(
                videoID: table.videoID, userID: user.id, prompt: prompt,
                source: edited == nil || edited == proposal ? .roundtable : .edited,
                roundtableID: table.id)
            if set { try store.markAccepted(table.id) }
            return set
        }
        guard changed, let video = try Store(db: db).video(id: table.videoID, userID: user.id),
            let accepted = try store.byID(table.id)
        else { throw Refusal.noSuchVideo }
        return (accepted, video)
    }

    package func retry(id: ID<Roundtable>, user: User) throws -> Roundtable {
        guard let table = try store.roundtable(id: id, userID: user.id) else { throw Refusal.noSuchRoundtable }
        guard table.userID == user.id else { throw Refusal.startedByOther }
        let retried: Bool
        do { retried = try store.retry(id: id, userID: user.id) } catch let error as BudgetExceeded {
            throw Refusal.budgetExceeded(error)
        }
        guard retried, let table = try store.byID(id) else { throw Refusal.notFailed }
        return table
    }
}
