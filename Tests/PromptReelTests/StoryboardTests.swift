// Issue 23, part 1: a project's videos are shots in an order the user controls (dense from 1 under
// concurrent moves, inserts and deletes), and each shot has a chosen take — against a real PostgreSQL.

import Foundation
import Postgres
import Testing

@testable import Core

@Suite struct StoryboardOrder {
    let db: Connection
    let userID: ID<User>
    let projectID: ID<Project>

    init() throws {
        db = try Connection(url: TestDatabase.url)
        userID = try db.execute(
            "INSERT INTO users (email, password_hash) VALUES (\(TestDatabase.uniqueEmail("shots")), 'not a hash') RETURNING id"
        )[0].id("id")
        projectID = try db.execute("INSERT INTO projects (user_id, name) VALUES (\(userID), 'Shots') RETURNING id")[0]
            .id("id")
    }

    func shot(_ title: String) throws -> ID<Video> {
        try #require(
            try Store(db: db).createVideo(
                projectID: projectID, userID: userID, title: title, brief: "", finalPrompt: "")
        ).id
    }

    func order() throws -> [String] {
        try db.execute("SELECT title, position FROM videos WHERE project_id = \(projectID) ORDER BY position").map {
            $0.string("title")
        }
    }

    func positions() throws -> [Int64] {
        try db.execute("SELECT position FROM videos WHERE project_id = \(projectID) ORDER BY position").map {
            $0.int("position")
        }
    }

    @Test func newShotsGoLastMovesShiftAndDeletesCloseTheGap() throws {
        let a = try shot("a"), b = try shot("b"), c = try shot("c"), d = try shot("d")
        #expect(try order() == ["a", "b", "c", "d"])
        let user = User(id: userID, email: "")
        let library = Library(db: db, mediaDirectory: NSTemporaryDirectory(), cache: nil)
        #expect(try library.moveVideo(id: d, user: user, to: 1).position == 1)
        #expect(try order() == ["d", "a", "b", "c"])
        #expect(try library.moveVideo(id: d, user: user, to: 3).position == 3)
        #expect(try order() == ["a", "b", "d", "c"])
        #expect(throws: InvalidInput.self) { try library.moveVideo(id: a, user: user, to: 5) }
        #expect(throws: InvalidInput.self) { try library.moveVideo(id: a, user: user, to: 0) }
        let stranger = User(id: ID(userID.rawValue + 1_000_000), email: "")
        #expect(throws: Library.Refusal.self) { try library.moveVideo(id: a, user: stranger, to: 2) }
        _ = try library.deleteVideo(id: b, user: user)
        #expect(try order() == ["a", "d", "c"] && positions() == [1, 2, 3])
        _ = c
    }

    func take(_ video: ID<Video>, _ status: GenerationStatus) throws -> ID<Generation> {
        try db.execute(
            """
            INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution, estimated_cost, actual_cost,
                                     status, phase, completed_at)
            VALUES (\(video), \(userID), '{}', 'A lake', 'sora-2', 4, '1280x720', '720p', 0.40, 0.40, \(status), 'done', now())
            RETURNING id
            """)[0].id("id")
    }

    @Test func theChosenTakeIsACompletedGenerationOfTheShotAndDefaultsToTheLatest() throws {
        let video = try shot("takes"), other = try shot("other")
        let store = Store(db: db)
        #expect(try store.video(id: video, userID: userID)?.chosenGenerationID == nil)
        let first = try take(video, .completed), second = try take(video, .completed)
        let failed = try take(video, .failed), foreign = try take(other, .completed)
        #expect(try store.video(id: video, userID: userID)?.chosenGenerationID == second)  // the latest by default
        let user = User(id: userID, email: "")
        let library = Library(db: db, mediaDirectory: NSTemporaryDirectory(), cache: nil)
        #expect(try library.chooseTake(videoID: video, user: user, generationID: first).chosenGenerationID == first)
        for wrong in [failed, foreign, ID<Generation>(999_999_999_999)] {
            #expect(throws: InvalidInput.self) {
                try library.chooseTake(videoID: video, user: user, generationID: wrong)
            }
        }
        #expect(try store.video(id: video, userID: userID)?.chosenGenerationID == first)
    }

    /// Many moves at once from separate connections: afterwards the places are still 1…n, each once.
    @Test func concurrentMovesKeepTheOrderDense() throws {
        let shots = try (1...8).map { try shot("s\($0)") }
        let done = DispatchGroup()
        let failures = Outcome()
        for (index, id) in shots.enumerated() {
            done.enter()
            let (user, target) = (userID, 8 - index)
            Thread {
                do {
                    let connection = try Connection(url: TestDatabase.url)
                    for round in 0..<5 {
                        _ = try Store(db: connection).moveVideo(id: id, userID: user, to: (target + round) % 8 + 1)
                    }
                } catch {
                    failures.set("\(error)")
                }
                done.leave()
            }.start()
        }
        done.wait()
        #expect(failures.value.isEmpty, "\(failures.value)")
        #expect(try positions() == Array(1...8))
        #expect(Set(try order()).count == 8)
    }
}
