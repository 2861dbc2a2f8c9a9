// Issue 23, part 1: a project's videos are shots in an order the user controls (dense from 1 under
// concurrent moves, inserts and deletes), and each shot has a chosen take — against a real PostgreSQL.

import Foundation
import Postgres
import Testing

@testable import Core
@testable import Engine

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
        let library = Library(db: db, stores: .local(NSTemporaryDirectory()), cache: nil)
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
        let library = Library(db: db, stores: .local(NSTemporaryDirectory()), cache: nil)
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

/// Issue 23, part 2: "Generate shots" — one click, one transaction, the budget checked for the total.
@Suite struct StoryboardClick {
    let db: Connection
    let user: User
    let projectID: ID<Project>
    let clicks: StoryboardClicks

    init() throws {
        db = try Connection(url: TestDatabase.url)
        let userID: ID<User> = try db.execute(
            "INSERT INTO users (email, password_hash) VALUES (\(TestDatabase.uniqueEmail("click")), 'not a hash') RETURNING id"
        )[0].id("id")
        user = User(id: userID, email: "")
        projectID = try db.execute("INSERT INTO projects (user_id, name) VALUES (\(userID), 'Film') RETURNING id")[0]
            .id("id")
        var config = AppConfig(databaseURL: TestDatabase.url)
        config.videoProviderConfigured = true
        clicks = StoryboardClicks(db: db, config: config)
    }

    func shot(_ title: String, prompt: String = "A lighthouse at dusk") throws -> ID<Video> {
        try #require(
            try Store(db: db).createVideo(
                projectID: projectID, userID: user.id, title: title, brief: "", finalPrompt: prompt)
        ).id
    }

    /// sora-2, 4 s, 720p: $0.40 a generation.
    let settings = RequestedSettings(model: "sora-2", duration: 4, aspectRatio: "16:9", resolution: "720p", takes: 1)

    func recordedCosts() throws -> [String] {
        try db.execute(
            "SELECT estimated_cost::text AS c FROM generations WHERE user_id = \(user.id) ORDER BY id"
        ).map { $0.string("c") }
    }

    @Test func oneClickStartsEveryChosenShotAtTheConfirmedTotal() throws {
        let a = try shot("a"), b = try shot("b"), noPrompt = try shot("c", prompt: "")
        let plan = try clicks.plan(user: user, projectID: projectID, videoIDs: nil, requested: settings)
        #expect(plan.shots.map(\.id) == [a, b])
        #expect(plan.skipped.map(\.video.id) == [noPrompt] && plan.skipped.first?.reason == .noPrompt)
        #expect(plan.total == USD(parsing: "0.80"))
        // The wrong total starts nothing.
        #expect(throws: StoryboardClicks.Refusal.self) {
            try clicks.start(
                user: user, projectID: projectID, videoIDs: nil, requested: settings,
                expectedCost: USD(parsing: "0.40"))
        }
        #expect(try recordedCosts().isEmpty)
        let started = try clicks.start(
            user: user, projectID: projectID, videoIDs: nil, requested: settings, expectedCost: USD(parsing: "0.80"))
        #expect(started.generations.map(\.videoID) == [a, b] && started.total == USD(parsing: "0.80"))
        #expect(try recordedCosts() == ["0.40", "0.40"])
        let batch = try #require(try Batch.load(id: started.clickID, userID: user.id, db: db))
        #expect(batch.kind == .storyboard && batch.shots.map(\.videoID) == [a, b] && batch.isActive)
        #expect(batch.skipped.map(\.videoID) == [noPrompt])
        // Someone else cannot read it.
        #expect(try Batch.load(id: started.clickID, userID: ID(user.id.rawValue + 1_000_000), db: db) == nil)
        // A second click of the same shots starts nothing more: every chosen shot is now active.
        do {
            _ = try clicks.start(
                user: user, projectID: projectID, videoIDs: [a, b], requested: settings, expectedCost: nil)
            Issue.record("a second click started something")
        } catch StoryboardClicks.Refusal.allActive(let skipped) {
            #expect(skipped.map(\.video.id) == [a, b])
        }
        #expect(try recordedCosts().count == 2)
    }

    @Test func continuityChainsEachShotToTheOneBefore() throws {
        let a = try shot("a"), b = try shot("b"), c = try shot("c")
        let plan = try clicks.plan(
            user: user, projectID: projectID, videoIDs: nil, requested: settings, continuity: true)
        #expect(plan.links[a] == nil)
        #expect(plan.links[b]?.link == .shot(a) && plan.links[b]?.fromShot == 1)
        #expect(plan.links[c]?.link == .shot(b) && plan.links[c]?.fromShot == 2)
        // Started: the first is due, the others wait (never due) for the frame of the one before.
        let started = try clicks.start(
            user: user, projectID: projectID, videoIDs: nil, requested: settings, expectedCost: nil, continuity: true)
        let rows = try db.execute(
            """
            SELECT id, chain_previous_id, chain_ready, next_attempt_at = 'infinity' AS never FROM generations
            WHERE id = ANY(\("{" + started.generations.map(\.generationID.description).joined(separator: ",") + "}")::bigint[]) ORDER BY id
            """)
        #expect(rows.map { $0.optionalInt("chain_previous_id") } == [nil, rows[0].int("id"), rows[1].int("id")])
        #expect(rows.map { $0.bool("chain_ready") } == [true, false, false])
        #expect(rows.map { $0.bool("never") } == [false, true, true])
        // A shot chosen alone follows the completed take of the shot before it.
        try db.execute(
            "UPDATE generations SET status = 'completed', phase = 'done', completed_at = now() WHERE video_id = \(a)")
        try db.execute("UPDATE generations SET status = 'failed', phase = 'done' WHERE video_id IN (\(b), \(c))")
        let again = try clicks.plan(
            user: user, projectID: projectID, videoIDs: [b], requested: settings, continuity: true)
        #expect(again.links[b]?.link == .take(ID(rows[0].int("id"))))
        // One take per shot.
        do {
            _ = try clicks.plan(
                user: user, projectID: projectID, videoIDs: nil,
                requested: RequestedSettings(
                    model: "sora-2", duration: 4, aspectRatio: "16:9", resolution: "720p", takes: 2),
                continuity: true)
            Issue.record("continuity with two takes")
        } catch StoryboardClicks.Refusal.continuityNeedsOneTake {}
    }

    @Test func aBudgetThatFitsThreeOfFiveShotsStartsNone() throws {
        for n in 1...5 { _ = try shot("shot \(n)") }
        _ = try Budgets(db: db).setUser(id: user.id, limit: USD(parsing: "1.20"))
        do {
            _ = try clicks.start(
                user: user, projectID: projectID, videoIDs: nil, requested: settings, expectedCost: nil)
            Issue.record("a click over budget started")
        } catch StoryboardClicks.Refusal.budgetExceeded(let why) {
            #expect(why.remaining == USD(parsing: "1.20"))
        }
        #expect(try recordedCosts().isEmpty)
        #expect(
            try db.execute("SELECT count(*) AS n FROM storyboard_clicks WHERE user_id = \(user.id)")[0].int("n") == 0)
    }

    @Test func badChoicesAreRefusedByName() throws {
        let a = try shot("a")
        let otherProject: ID<Project> = try db.execute(
            "INSERT INTO projects (user_id, name) VALUES (\(user.id), 'Other') RETURNING id")[0].id("id")
        let elsewhere = try #require(
            try Store(db: db).createVideo(
                projectID: otherProject, userID: user.id, title: "x", brief: "", finalPrompt: "p")
        ).id
        func refusal(_ ids: [ID<Video>]?, project: ID<Project>? = nil) -> StoryboardClicks.Refusal? {
            do {
                _ = try clicks.plan(user: user, projectID: project ?? projectID, videoIDs: ids, requested: settings)
                return nil
            } catch let r as StoryboardClicks.Refusal { return r } catch { return nil }
        }
        if case .noSuchVideo(elsewhere)? = refusal([a, elsewhere]) {} else { Issue.record("another project's video") }
        if case .duplicateShot(a)? = refusal([a, a]) {} else { Issue.record("a duplicate") }
        if case .noSuchProject? = refusal(nil, project: ID(projectID.rawValue + 1_000_000)) {
        } else {
            Issue.record("someone else's project")
        }
        let empty: ID<Project> = try db.execute(
            "INSERT INTO projects (user_id, name) VALUES (\(user.id), 'Empty') RETURNING id")[0].id("id")
        if case .emptyStoryboard? = refusal(nil, project: empty) {} else { Issue.record("an empty storyboard") }
        for n in 1...StoryboardClicks.maxShots { _ = try shot("more \(n)") }
        if case .tooManyShots(51, 50)? = refusal(nil) {} else { Issue.record("over the limit") }
    }
}

/// Issue 23, part 4: films — what can be asked for, one at a time per storyboard, out of date when the
/// storyboard changes, and the maker's choices (the most common size and frame rate; the filter graph).
@Suite struct FilmRules {
    @Test func sizesAreEvenWidthByHeight() throws {
        let size = try Films.Request.size("1280x720")
        #expect(size.width == 1280 && size.height == 720)
        for bad in ["1281x720", "1280", "x720", "1280x720x2", "-16x16", "8x8", "4098x16", "１２80x720", "1e3x16", ""] {
            #expect(throws: InvalidInput.self, "\(bad)") { try Films.Request.size(bad) }
        }
    }

    @Test func theMostCommonValueWinsAndTheEarliestBreaksTies() {
        #expect(FilmMaker.mostCommon(["a", "b", "b"]) == "b")
        #expect(FilmMaker.mostCommon(["c", "a", "b"]) == "c")
        #expect(FilmMaker.mostCommon([String]()) == nil)
    }

    @Test func crossfadesChainTheirOffsetsAndSilenceFillsMissingAudio() {
        var a = FilmMaker.Probe(), b = FilmMaker.Probe()
        a.seconds = 2
        a.audioCodec = "aac"
        b.seconds = 1.5
        let args = FilmMaker.normaliseArguments(
            inputs: [("/m/a.mp4", a), ("/m/b.mp4", b), ("/m/c.mp4", a)], width: 1280, height: 720, rate: "24/1",
            crossfade: 0.5)
        let graph = args[args.firstIndex(of: "-filter_complex")! + 1]
        #expect(graph.contains("xfade=transition=fade:duration=0.500:offset=1.500000[vx1]"))
        #expect(graph.contains("xfade=transition=fade:duration=0.500:offset=2.500000[v]"))
        #expect(graph.contains("anullsrc=r=48000:cl=stereo,atrim=duration=1.500000"))  // b has no audio
        #expect(graph.contains("force_original_aspect_ratio=decrease,pad=1280:720"))  // padded, never stretched
        #expect(args.filter { $0 == "-i" }.count == 3 && args.contains("libx264") && args.contains("aac"))
    }

    @Test func oneFilmAtATimeAndOutOfDateWhenTheStoryboardChanges() throws {
        let db = try Connection(url: TestDatabase.url)
        let userID: ID<User> = try db.execute(
            "INSERT INTO users (email, password_hash) VALUES (\(TestDatabase.uniqueEmail("film")), 'x') RETURNING id"
        )[0].id("id")
        let projectID: ID<Project> = try db.execute(
            "INSERT INTO projects (user_id, name) VALUES (\(userID), 'Film') RETURNING id")[0].id("id")
        let films = Films(db: db)
        do {
            _ = try films.make(userID: userID, projectID: projectID, request: .init(transition: .cut))
            Issue.record("an empty storyboard made a film")
        } catch Films.Refusal.emptyStoryboard {}
        var videos: [ID<Video>] = []
        for title in ["a", "b"] {
            videos.append(
                try #require(
                    try Store(db: db).createVideo(
                        projectID: projectID, userID: userID, title: title, brief: "", finalPrompt: "p")
                ).id)
        }
        do {
            _ = try films.make(userID: userID, projectID: projectID, request: .init(transition: .cut))
            Issue.record("shots without takes made a film")
        } catch Films.Refusal.shotsMissing(let missing) {
            #expect(missing == videos)
        }
        for video in videos {
            try db.execute(
                """
                INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution, estimated_cost,
                                         actual_cost, status, phase, completed_at, video_path, delivered_seconds)
                VALUES (\(video), \(userID), '{}', 'p', 'sora-2', 4, '1280x720', '720p', 0.40, 0.40, 'completed', 'done', now(),
                        'generations/x/video.mp4', 1.96)
                """)
        }
        do {
            _ = try films.make(
                userID: userID, projectID: projectID, request: .init(transition: .crossfade, crossfadeMs: 2000))
            Issue.record("a crossfade as long as a shot")
        } catch Films.Refusal.crossfadeTooLong {}
        let film = try films.make(userID: userID, projectID: projectID, request: .init(transition: .cut))
        #expect(film.shots.map(\.videoID) == videos && film.shots.map(\.seconds) == [1.96, 1.96])
        #expect(!film.outOfDate && film.status == .queued && abs(film.expectedSeconds - 3.92) < 0.001)
        do {
            _ = try films.make(userID: userID, projectID: projectID, request: .init(transition: .cut))
            Issue.record("a second film of the storyboard at once")
        } catch Films.Refusal.inProgress {}
        // Someone else's: nothing.
        #expect(try films.film(id: film.id, userID: ID(userID.rawValue + 1_000_000)) == nil)
        _ = try db.execute("SELECT move_video(\(videos[1]), 1)")
        #expect(try films.film(id: film.id, userID: userID)?.outOfDate == true)
        _ = try db.execute("SELECT move_video(\(videos[1]), 2)")
        #expect(try films.film(id: film.id, userID: userID)?.outOfDate == false)
        #expect(try films.delete(id: film.id, userID: userID))
        #expect(try films.film(id: film.id, userID: userID) == nil)
    }
}
