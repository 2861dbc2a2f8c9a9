// Editing, copying and deleting videos and projects: the one service behind both the JSON API and the
// pages. Deleting keeps every generation and roundtable row (the money record) and removes the media
// files only after the commit; a crash in between leaves orphan files for `promptreel media sweep`.

import Formats
package import Postgres

package struct Library {
    package let db: Connection
    package let stores: MediaStores
    /// This process's cache: dropped at once after a change (other processes hear the NOTIFY).
    package let cache: AnswerCache?

    package init(db: Connection, stores: MediaStores, cache: AnswerCache? = nil) {
        self.db = db
        self.stores = stores
        self.cache = cache
    }
    package var store: Store { Store(db: db) }

    package enum Refusal: Error, Sendable, Equatable {
        case noSuchVideo
        case noSuchProject
        /// A generation is queued or in progress: its job may still be billed and needs its video.
        case generationActive
        /// A generation's outcome is unknown (possibly billed) until an operator settles it.
        case generationUnconfirmed
        case roundtableActive
    }

    /// Fields to change; nil leaves a field as it is. `preset: .some(nil)` clears the preset.
    package struct VideoChanges: Sendable {
        package var title: String?
        package var brief: String?
        package var finalPrompt: String?
        package var preset: String??

        package init(title: String? = nil, brief: String? = nil, finalPrompt: String? = nil, preset: String?? = nil) {
            self.title = title
            self.brief = brief
            self.finalPrompt = finalPrompt
            self.preset = preset
        }
    }

    package struct ProjectChanges: Sendable {
        package var name: String?
        package var description: String?

        package init(name: String? = nil, description: String? = nil) {
            self.name = name
            self.description = description
        }
    }

    package struct Deleted: Sendable {
        /// The video's title or the project's name.
        package let name: String
        package let projectID: ID<Project>
        package let summary: DeletionSummary
    }

    // MARK: Editing

    /// With `ifMatch` (the ETag the editor started from), a video someone else changed since is refused with
    /// `StaleVideo`, nothing changed.
    package func updateVideo(id: ID<Video>, user: User, changes: VideoChanges, ifMatch: String? = nil) throws -> Video {
        switch try store.updateVideo(id: id, userID: user.id, changes: changes, ifMatch: ifMatch) {
        case .notFound: throw Refusal.noSuchVideo
        case let .stale(current): throw StaleVideo(current: current)
        case let .updated(video):
            cache?.invalidate(.video(id))
            return video
        }
    }

    /// Moves a shot to `position` (1 to the number of shots in its project).
    package func moveVideo(id: ID<Video>, user: User, to position: Int) throws -> Video {
        guard let shots = try store.shotCount(videoID: id, userID: user.id) else { throw Refusal.noSuchVideo }
        guard (1...max(1, shots)).contains(position) else {
            throw InvalidInput(field: "position", "must be between 1 and \(shots), the number of shots in the project")
        }
        guard try store.moveVideo(id: id, userID: user.id, to: position) != nil,
            let video = try store.video(id: id, userID: user.id)
        else { throw Refusal.noSuchVideo }
        return video
    }

    /// Makes `generationID` the take the film uses for this shot.
    package func chooseTake(videoID: ID<Video>, user: User, generationID: ID<Generation>) throws -> Video {
        guard try store.video(id: videoID, userID: user.id) != nil else { throw Refusal.noSuchVideo }
        guard try store.chooseTake(videoID: videoID, userID: user.id, generationID: generationID),
            let video = try store.video(id: videoID, userID: user.id)
        else {
            throw InvalidInput(field: "generationId", "must be a completed generation of this video")
        }
        cache?.invalidate(.video(videoID))
        return video
    }

    package func updateProject(id: ID<Project>, user: User, changes: ProjectChanges) throws -> Project {
        guard let project = try store.updateProject(id: id, userID: user.id, changes: changes) else {
            throw Refusal.noSuchProject
        }
        if changes.name != nil { cache?.invalidate(.everything) }  // cached videos carry their project's name
        return project
    }

    /// "Save as new video": the title (marked as a copy), brief, final prompt, preset and reference image,
    /// in the same project; no generations.
    package func copyVideo(id: ID<Video>, user: User) throws -> Video {
        guard let original = try store.video(id: id, userID: user.id),
            let copy = try store.createVideo(
                projectID: original.projectID, userID: user.id, title: Library.copyTitle(original.title),
                brief: original.brief, finalPrompt: original.finalPrompt, preset: original.preset)
        else {
            throw Refusal.noSuchVideo
        }
        // The copy starts from the same picture: iterating on a prompt keeps the frame it starts from.
        try ReferenceImages.copyCurrent(
            db: db, stores: stores, from: original.id, to: copy.id, userID: user.id)
        return copy
    }

    /// "Title (copy)", shortened so it stays within the 200 characters a title may have.
    package static func copyTitle(_ title: String) -> String {
        let suffix = " (copy)"
        let room = 200 - suffix.unicodeScalars.count
        guard title.unicodeScalars.count > room else { return title + suffix }
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: title.unicodeScalars.prefix(room))
        return String(kept) + suffix
    }

    // MARK: Deleting

    package func deleteVideo(id: ID<Video>, user: User) throws -> Deleted {
        let deleted = try finish(store.deleteVideo(id: id, userID: user.id), notFound: .noSuchVideo)
        cache?.invalidate(.video(id))
        return deleted
    }

    package func deleteProject(id: ID<Project>, user: User) throws -> Deleted {
        let deleted = try finish(store.deleteProject(id: id, userID: user.id), notFound: .noSuchProject)
        cache?.invalidate(.everything)
        return deleted
    }

    /// After the commit (the rows no longer point at the files, which a worker removes: Migrations/0035).
    private func finish(_ deletion: Store.Deletion, notFound: Refusal) throws -> Deleted {
        switch deletion {
        case .notFound: throw notFound
        case let .refused(refusal): throw refusal
        case let .deleted(name, projectID, summary):
            return Deleted(name: name, projectID: projectID, summary: summary)
        }
    }
}

/// An edit started from a version of the video that is no longer its current one (412).
package struct StaleVideo: Error, Sendable {
    package let current: Video

    package init(current: Video) {
        self.current = current
    }
}

extension Video {
    /// The version of what an editor changes (title, brief, final prompt, preset): an edit sent with it
    /// (`If-Match`) is refused once any of them changed. Generating does not change it.
    package var etag: String {
        let text = [title, brief, finalPrompt, preset ?? ""].joined(separator: "\u{0}")
        return "\"" + Crypto.hex(Array(Crypto.sha256(text).prefix(8))) + "\""
    }

    /// Whether an `If-Match` value names this version (`*` matches any; weak or list forms are accepted).
    package func matches(_ ifMatch: String) -> Bool {
        let tags = ifMatch.split(separator: ",").map { $0.filter { $0 != " " && $0 != "\t" } }
        return tags.contains { $0 == "*" || $0 == etag || $0 == "W/" + etag }
    }
}
