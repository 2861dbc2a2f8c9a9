// Editing and deleting: the pure rules (sizes, the confirmation sentence, copy titles, PATCH bodies,
// routes), and deleting against the real PostgreSQL with a media directory of its own: generation rows
// stay with the title and no media paths, the files go after the commit, and the sweep cleans the rest.

import Foundation
import Postgres
import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct EditRules {
    @Test(arguments: [
        (Int64(0), "0 bytes"), (1, "1 byte"), (999, "999 bytes"), (1000, "1.0 KB"), (145_990, "146 KB"),
        (4_249_999, "4.2 MB"), (4_250_000, "4.3 MB"), (41_000_000, "41 MB"), (9_960_000, "10 MB"),
        (2_500_000_000, "2.5 GB"),
    ])
    func sizes(_ bytes: Int64, _ shown: String) {
        #expect(Formatting.bytes(bytes) == shown)
    }

    @Test func confirmationSentenceAndBlockers() {
        var s = DeletionSummary(
            videos: 2, generations: 3, mediaBytes: 41_000_000, activeGenerations: 0,
            unconfirmedGenerations: 0, activeRoundtables: 0)
        #expect(s.sentence(withVideos: false) == "3 generations, 41 MB of media")
        #expect(s.sentence(withVideos: true) == "2 videos, 3 generations, 41 MB of media")
        #expect(s.blocker == nil)
        s = DeletionSummary(
            videos: 1, generations: 1, mediaBytes: 0, activeGenerations: 0, unconfirmedGenerations: 1,
            activeRoundtables: 1)
        #expect(s.sentence(withVideos: true) == "1 video, 1 generation, no media files")
        #expect(s.blocker == .generationUnconfirmed)
        s.activeGenerations = 1
        #expect(s.blocker == .generationActive)
        #expect(s.blocker?.httpError.status == 409)
        s = DeletionSummary(
            videos: 1, generations: 0, mediaBytes: 0, activeGenerations: 0, unconfirmedGenerations: 0,
            activeRoundtables: 1)
        #expect(s.blocker == .roundtableActive)
    }

    @Test func copyTitlesStayWithinTheLimit() {
        #expect(Library.copyTitle("Kite") == "Kite (copy)")
        let exact = String(repeating: "x", count: 193)
        #expect(Library.copyTitle(exact) == exact + " (copy)")
        let long = String(repeating: "é", count: 200)
        let copy = Library.copyTitle(long)
        #expect(copy.unicodeScalars.count == 200)
        #expect(copy == String(repeating: "é", count: 193) + " (copy)")
    }

    func patchBody(_ text: String, contentType: String = "application/json") -> Request {
        Request(method: "PATCH", path: "/api/videos/1", headers: ["content-type": contentType], body: Array(text.utf8))
    }

    func fieldOf(_ error: any Error) -> String? {
        (error as? InvalidInput)?.field
    }

    @Test func patchBodiesNameWhatIsWrong() throws {
        let allowed = ["title", "brief"]
        for (body, field) in [
            ("", "body"), ("  \n", "body"), ("{}", "body"), (#"{"titel": "x"}"#, "titel"),
            (#"{"title": "x", "id": 1}"#, "id"),
        ] {
            #expect(throws: (any Error).self) { try Field.patch(patchBody(body), allowed: allowed) }
            do { _ = try Field.patch(patchBody(body), allowed: allowed) } catch {
                #expect(fieldOf(error) == field, "\(body)")
            }
        }
        let doc = try Field.patch(patchBody(#"{"title": " New ", "brief": null}"#), allowed: allowed)
        #expect(try Field.patchText(doc, "title", max: 200, required: true) == "New")
        #expect(throws: InvalidInput.self) { try Field.patchText(doc, "brief", max: 10, required: false) }
        #expect(try Field.patchText(doc, "missing", max: 10, required: true) == nil)
        let empty = try Field.patch(patchBody(#"{"title": ""}"#), allowed: allowed)
        #expect(throws: InvalidInput.self) { try Field.patchText(empty, "title", max: 200, required: true) }
    }

    @Test(arguments: [
        Route.library(.editVideo(4)), .library(.deleteVideo(4)), .library(.copyVideo(4)), .library(.editProject(5)),
        .library(.deleteProject(5)),
        .library(.apiVideoCopy(6)),
    ])
    func routesRoundTrip(_ route: Route) {
        #expect(Route(path: route.path) == route)
    }

    @Test func newlinesAreUnified() {
        #expect("a\r\nb\rc\nd".unifiedNewlines == "a\nb\nc\nd")
    }
}

@Suite final class Deleting {
    let db: Connection
    let userID: ID<User>
    let projectID: ID<Project>
    let media: String
    var library: Library { Library(db: db, stores: .local(media), cache: nil) }
    var user: User { User(id: userID, email: "") }

    init() throws {
        db = try Connection(url: TestDatabase.url)
        userID = try db.execute(
            "INSERT INTO users (email, password_hash) VALUES (\(TestDatabase.uniqueEmail("delete")), 'not a hash') RETURNING id"
        )[0].id("id")
        projectID = try db.execute("INSERT INTO projects (user_id, name) VALUES (\(userID), 'Deleting') RETURNING id")[
            0
        ].id("id")
        media =
            FileManager.default.temporaryDirectory.appendingPathComponent("promptreel-delete-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: media) }

    func video(_ title: String = "Doomed") throws -> ID<Video> {
        try #require(
            try Store(db: db).createVideo(
                projectID: projectID, userID: userID, title: title, brief: "", finalPrompt: "A lake")
        ).id
    }

    /// A finished generation (never claimed by a worker) with its three files on disk.
    func finished(videoID: ID<Video>, phase: GenerationPhase = .done) throws -> ID<Generation> {
        let status: GenerationStatus = phase == .done ? .completed : .failed
        let id: ID<Generation> = try db.execute(
            """
            INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution, estimated_cost, actual_cost,
                                     status, phase, possibly_billed, completed_at, video_bytes, thumbnail_bytes, spritesheet_bytes)
            VALUES (\(videoID), \(userID), '{}', 'A lake', 'sora-2', 4, '1280x720', '720p', 0.40, 0.40, \(status), \(phase),
                    \(phase == .unconfirmed), now(), 5, 3, 2)
            RETURNING id
            """)[0].id("id")
        try FileManager.default.createDirectory(atPath: "\(media)/\(id)", withIntermediateDirectories: true)
        for (asset, bytes) in [(MediaAsset.video, 5), (.thumbnail, 3), (.spritesheet, 2)] {
            _ = FileManager.default.createFile(
                atPath: "\(media)/\(id)/\(asset.fileName)", contents: Data(repeating: 1, count: bytes))
        }
        try db.execute(
            """
            UPDATE generations SET video_path = \("\(id)/video.mp4"), thumbnail_path = \("\(id)/thumbnail.webp"),
                   spritesheet_path = \("\(id)/spritesheet.jpg") WHERE id = \(id)
            """)
        return id
    }

    @Test func deletingAVideoKeepsTheMoneyRecordAndRemovesItsFiles() throws {
        let doomed = try video()
        let kept = try video("Kept")
        let g1 = try finished(videoID: doomed), g2 = try finished(videoID: doomed), other = try finished(videoID: kept)
        let summary = try #require(try Store(db: db).deletionSummary(videoID: doomed, userID: userID))
        #expect(summary.generations == 2 && summary.mediaBytes == 20 && summary.blocker == nil)

        let deleted = try library.deleteVideo(id: doomed, user: user)
        #expect(deleted.name == "Doomed" && deleted.projectID == projectID && deleted.summary == summary)
        // Queued in the deleting transaction; a worker removes them (MediaDeletions.drain, tested end to end).
        let queued = try db.execute(
            "SELECT media_store, prefix FROM media_deletions WHERE prefix IN (\("\(g1)/"), \("\(g2)/"), \("references/\(doomed)/")) ORDER BY id"
        ).map { "\($0.string("media_store")):\($0.string("prefix"))" }.sorted()
        // Compared as sets of text: ids 9 and 10 sort as "10/" < "9/".
        #expect(queued.sorted() == ["local:\(g1)/", "local:\(g2)/", "local:references/\(doomed)/"].sorted())
        let store = LocalMediaStore(directory: media)
        for prefix in ["\(g1)/", "\(g2)/"] { try store.removeAll(prefix: prefix) }
        #expect(
            !FileManager.default.fileExists(atPath: "\(media)/\(g1)")
                && !FileManager.default.fileExists(atPath: "\(media)/\(g2)"))
        #expect(FileManager.default.fileExists(atPath: "\(media)/\(other)/video.mp4"))
        let rows = try db.execute(
            """
            SELECT count(*) AS n, bool_and(video_id IS NULL AND video_title = 'Doomed' AND video_path IS NULL AND thumbnail_path IS NULL
                                           AND spritesheet_path IS NULL AND actual_cost = 0.40) AS kept
            FROM generations WHERE id IN (\(g1), \(g2))
            """)[0]
        #expect(rows.int("n") == 2 && rows.bool("kept"))
        let record = try #require(try GenerationStore(db: db).generation(id: g1, userID: userID))
        #expect(
            record.videoID == nil && record.deletedVideoTitle == "Doomed" && record.videoURL == nil
                && record.cost == USD(parsing: "0.40"))
        #expect(try Store(db: db).video(id: doomed, userID: userID) == nil)
        #expect(throws: Library.Refusal.noSuchVideo) { try library.deleteVideo(id: doomed, user: user) }
    }

    @Test func anUnconfirmedGenerationBlocksTheDeleteAndSomeoneElseGets404() throws {
        let id = try video()
        _ = try finished(videoID: id, phase: .unconfirmed)
        #expect(throws: Library.Refusal.generationUnconfirmed) { try library.deleteVideo(id: id, user: user) }
        #expect(throws: Library.Refusal.generationUnconfirmed) { try library.deleteProject(id: projectID, user: user) }
        #expect(try Store(db: db).video(id: id, userID: userID) != nil)
        let stranger = User(id: ID(userID.rawValue + 1_000_000), email: "")
        #expect(throws: Library.Refusal.noSuchVideo) { try library.deleteVideo(id: id, user: stranger) }
        #expect(throws: Library.Refusal.noSuchProject) { try library.deleteProject(id: projectID, user: stranger) }
        #expect(throws: Library.Refusal.noSuchVideo) {
            try library.updateVideo(id: id, user: stranger, changes: .init(title: "Mine"))
        }
    }

    /// A worker removes only the queued folders of stores it has, and leaves another store's due for the worker
    /// that has it (it once postponed them by an hour, so a bucket's deletions waited on a local-only worker).
    @Test func deletionsOfAnotherStoreAreLeftDueForItsWorkers() throws {
        let elsewhere = "s3://elsewhere-\(UUID().uuidString.prefix(8).lowercased())/x"
        let mine = "local-\(UUID().uuidString.prefix(8).lowercased())"
        let id = try video()
        let g = try finished(videoID: id)
        try db.execute(
            """
            INSERT INTO media_deletions (media_store, prefix) VALUES (\(elsewhere), \("\(g)/")), (\(mine), \("\(g)/"))
            """)
        let stores = MediaStores(current: LocalMediaStore(directory: media, name: MediaStoreName(mine)))
        #expect(try MediaDeletions.drain(db: db, stores: stores) >= 1)
        #expect(!FileManager.default.fileExists(atPath: "\(media)/\(g)"))
        let left = try db.execute(
            "SELECT media_store, next_attempt_at <= now() AS due FROM media_deletions WHERE prefix = \("\(g)/")")
        #expect(left.count == 1 && left[0].string("media_store") == elsewhere && left[0].bool("due"))
        try db.execute("DELETE FROM media_deletions WHERE media_store = \(elsewhere)")
    }

    @Test func theSweepRemovesWhatNoLiveRowPointsAt() throws {
        let live = try finished(videoID: try video("Live"))
        let doomedVideo = try video()
        let doomed = try finished(videoID: doomedVideo)
        // as if the process died before removing the files
        try db.execute("DELETE FROM videos WHERE id = \(doomedVideo)")
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(media)/999999999999", withIntermediateDirectories: true)
        _ = fm.createFile(atPath: "\(media)/999999999999/video.mp4", contents: Data([1]))
        _ = fm.createFile(atPath: "\(media)/\(live)/video.mp4.download", contents: Data([1, 2]))
        try fm.createDirectory(atPath: "\(media)/lost+found", withIntermediateDirectories: true)
        _ = fm.createFile(atPath: "\(media)/lost+found/x", contents: Data([1]))
        let stores = MediaStores.local(media)

        // A stray in a finished generation's folder is spared for an hour (a poster being made is put in place
        // before its row commits); the objects no row owns go at once.
        let now = try #require(try MediaSweep.run(db: db, stores: stores)).map(\.path).sorted()
        #expect(
            now
                == (["999999999999/video.mp4"] + MediaAsset.allCases.map { "\(doomed)/\($0.fileName)" }).map {
                    "local: " + $0
                }.sorted())
        #expect(!fm.fileExists(atPath: "\(media)/\(doomed)") && !fm.fileExists(atPath: "\(media)/999999999999"))
        let later = Date().addingTimeInterval(7200)
        let removed = try #require(try MediaSweep.run(db: db, stores: stores, now: later)).map(\.path).sorted()
        #expect(removed == ["local: \(live)/video.mp4.download"])
        #expect(
            fm.fileExists(atPath: "\(media)/\(live)/video.mp4")
                && fm.fileExists(atPath: "\(media)/\(live)/spritesheet.jpg"))
        #expect(fm.fileExists(atPath: "\(media)/lost+found/x"))
        #expect(try MediaSweep.run(db: db, stores: stores, now: later)?.isEmpty == true)
    }

    @Test func editingKeepsPromptVersionsAndLeavesGenerationsAlone() throws {
        let id = try video()
        let g = try finished(videoID: id)
        let edited = try library.updateVideo(
            id: id, user: user, changes: .init(title: "Renamed", finalPrompt: "A stormy lake"))
        #expect(edited.title == "Renamed" && edited.finalPrompt == "A stormy lake" && edited.brief == "")
        _ = try library.updateVideo(
            id: id, user: user, changes: .init(finalPrompt: "A stormy lake", preset: .some(nil)))
        let versions = try Store(db: db).promptVersions(videoID: id, userID: userID).map(\.source)
        #expect(versions == [.edited, .written])
        #expect(try GenerationStore(db: db).byID(g)?.prompt == "A lake")
        let copy = try library.copyVideo(id: id, user: user)
        #expect(
            copy.title == "Renamed (copy)" && copy.finalPrompt == "A stormy lake" && copy.projectID == projectID
                && copy.id != id)
    }
}
