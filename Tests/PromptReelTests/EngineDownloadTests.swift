// Downloads checked by their bytes: not ready, definite failures, real media, and posters made locally.

import Formats
import Foundation
import Images
import Postgres
import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import VideoAPI
@testable import WebApp

@Suite(.serialized) final class EngineDownloadTests: EngineSuite {
    let harness: EngineHarness

    init() throws { harness = try EngineHarness(schema: "engine_download", offset: 4) }

    /// A "video" that is JSON labelled video/mp4, or an MP4 shorter than announced, is not stored and
    /// leaves no file; the row keeps downloading until the provider's copy expires, then fails as
    /// possibly billed.
    @Test func notReadyVideoIsRetriedUntilItExpires() throws {
        let g = try fixture.generation(in: .downloading, jobID: EngineFixture.jobID())
        provider.downloads[.video] = [
            .success(.init(EngineFixture.notReadyJSON, contentType: "video/mp4")),
            .success(.init(EngineFixture.mp4, contentType: "video/mp4", announced: EngineFixture.mp4.count + 1000)),
            .success(.init(EngineFixture.notReadyJSON, contentType: "video/mp4")),
        ]
        provider.downloads[.thumbnail] = [.success(.init(EngineFixture.webp, contentType: "image/webp"))]
        provider.downloads[.spritesheet] = [.success(.init(EngineFixture.jpeg, contentType: "image/jpeg"))]

        #expect(try engine.downloadOne())
        var after = try row(g.id)
        #expect(after.phase == .downloading)
        #expect(after.status == .inProgress)
        #expect(after.videoPath == nil)
        #expect(after.thumbnailPath == "\(g.id)/thumbnail.webp")  // each asset is kept on its own
        #expect(after.spritesheetPath == "\(g.id)/spritesheet.jpg")
        #expect(!exists(path(g.id, .video)))
        #expect(!exists(path(g.id, .video) + ".download"))
        #expect(exists(path(g.id, .thumbnail)))

        try makeDue(g.id)
        #expect(try engine.downloadOne())  // truncated
        after = try row(g.id)
        #expect(after.phase == .downloading)
        #expect(after.videoPath == nil)
        #expect(!exists(path(g.id, .video)))

        try db.execute("UPDATE generations SET expires_at = now() - interval '1 minute' WHERE id = \(g.id)")
        try makeDue(g.id)
        #expect(try engine.downloadOne())
        after = try row(g.id)
        #expect(after.phase == .done)
        #expect(after.status == .failed)
        #expect(after.errorCode == "download_failed")
        #expect(after.possiblyBilled)
        #expect(after.actualCost == after.estimatedCost)
        #expect(!exists(path(g.id, .video)))
        // stored previews are not fetched again
        #expect(provider.downloaded == [.video, .thumbnail, .spritesheet, .video, .video])
    }

    /// A body naming a definite failure (content_filter) fails the generation at once, not billed.
    @Test func definiteFailureBodyFailsAtOnceNotBilled() throws {
        let g = try fixture.generation(in: .downloading, jobID: EngineFixture.jobID())
        provider.downloads[.video] = [
            .success(
                .init(
                    Array(#"{"error":{"code":"content_filter","message":"The video was filtered."}}"#.utf8),
                    contentType: "video/mp4"))
        ]
        #expect(try engine.downloadOne())
        let after = try row(g.id)
        #expect(after.phase == .done)
        #expect(after.status == .failed)
        #expect(after.errorCode == "content_filter")
        #expect(after.errorMessage?.contains("The video was filtered.") == true)
        #expect(!after.possiblyBilled)
        #expect(after.actualCost == .zero)
        #expect(after.videoPath == nil)
        #expect(!exists(path(g.id, .video)))
        #expect(provider.downloaded == [.video])
    }

    /// A real MP4 is stored and completes the generation at its estimate, with what the probe read;
    /// a thumbnail that is really the MP4 is skipped, not stored.
    @Test func realVideoCompletesAndAWrongThumbnailIsSkipped() throws {
        let g = try fixture.generation(in: .downloading, jobID: EngineFixture.jobID())
        provider.downloads[.video] = [.success(.init(EngineFixture.mp4, contentType: "video/mp4"))]
        provider.downloads[.thumbnail] = [.success(.init(EngineFixture.mp4, contentType: "image/webp"))]
        provider.downloads[.spritesheet] = [.success(.init(EngineFixture.jpeg, contentType: "image/jpeg"))]
        #expect(try engine.downloadOne())
        let after = try row(g.id)
        #expect(after.phase == .done)
        #expect(after.status == .completed)
        #expect(after.progress == 100)
        #expect(after.actualCost == after.estimatedCost)
        #expect(!after.possiblyBilled)
        #expect(after.videoPath == "\(g.id)/video.mp4")
        #expect(after.videoBytes == Int64(EngineFixture.mp4.count))
        #expect(after.videoSHA256 == ScriptedProvider.sha256)
        #expect(FileManager.default.contents(atPath: path(g.id, .video)).map { Array($0) } == EngineFixture.mp4)
        #expect(!exists(path(g.id, .video) + ".download"))
        #expect(after.thumbnailSkipped)
        #expect(after.thumbnailPath == nil)
        #expect(!exists(path(g.id, .thumbnail)))
        #expect(after.spritesheetPath == "\(g.id)/spritesheet.jpg")
        #expect(after.deliveredSeconds == "3.96")
        #expect(after.deliveredWidth == 1280 && after.deliveredHeight == 720)
    }

    /// A gateway that answers the thumbnail and spritesheet with the MP4 (LiteLLM's Veo and Runway):
    /// both are made from the stored video, recorded as made locally, and the generation completes.
    @Test func previewsTheProviderDoesNotSendAreMadeLocally() throws {
        let mp4 = [UInt8](try Data(contentsOf: URL(fileURLWithPath: LocalPreviewsTests.fixtures + "/video.mp4")))
        let g = try fixture.generation(in: .downloading, jobID: EngineFixture.jobID())
        provider.downloads[.video] = [.success(.init(mp4, contentType: "video/mp4"))]
        provider.downloads[.thumbnail] = [.success(.init(mp4, contentType: "video/mp4"))]
        provider.downloads[.spritesheet] = [.success(.init(mp4, contentType: "video/mp4"))]
        let real = GenerationEngine(db: db, provider: provider, config: engine.config)  // the real ffprobe
        #expect(try real.downloadOne())
        let after = try row(g.id)
        #expect(after.status == .completed && after.thumbnailSkipped && after.spritesheetSkipped)
        #expect(after.thumbnailSource == .local && after.spritesheetSource == .local)
        let webp = try MediaFiles.read("\(g.id)/thumbnail.webp", in: media, maxBytes: 1 << 24)
        #expect(try Images.validate(webp) == ImageInfo(format: .webp, width: 320, height: 180))
        #expect(after.thumbnailBytes == Int64(webp.count))
        let jpeg = try MediaFiles.read("\(g.id)/spritesheet.jpg", in: media, maxBytes: 1 << 24)
        #expect(try Images.validate(jpeg) == ImageInfo(format: .jpeg, width: 640, height: 180))
        // No staging file left behind.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: "\(media)/\(g.id)").sorted() == [
                "spritesheet.jpg", "thumbnail.webp", "video.mp4",
            ])
        #expect(after.json["thumbnailSource"]?.stringValue == "local")
    }

    /// Without ffmpeg the generation still completes with its video, just without a poster; the
    /// provider's own previews are kept and say so.
    @Test func withoutFfmpegTheVideoStillCompletes() throws {
        let g = try fixture.generation(in: .downloading, jobID: EngineFixture.jobID())
        provider.downloads[.video] = [.success(.init(EngineFixture.mp4, contentType: "video/mp4"))]
        provider.downloads[.thumbnail] = [.success(.init(EngineFixture.mp4, contentType: "video/mp4"))]
        provider.downloads[.spritesheet] = [.success(.init(EngineFixture.jpeg, contentType: "image/jpeg"))]
        var config = engine.config
        config.ffmpegPath = "/nonexistent/ffmpeg"
        #expect(try GenerationEngine(db: db, provider: provider, config: config, probe: engine.probe).downloadOne())
        let after = try row(g.id)
        #expect(after.status == .completed && after.videoPath == "\(g.id)/video.mp4")
        #expect(after.thumbnailPath == nil && after.thumbnailSource == nil && !exists(path(g.id, .thumbnail)))
        #expect(after.spritesheetSource == .provider)
        #expect(after.json["thumbnailSource"] == .null)
    }
}
