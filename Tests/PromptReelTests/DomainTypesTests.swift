// Typed domain values read from rows: a generation's error code, the stored settings, typed ids.

import Postgres
import Testing

@testable import Core

@Suite struct DomainTypes {
    /// PromptReel's own codes read back as their cases; anything else is the provider's, kept as it came.
    @Test func errorCodesRoundTripThroughTheirStoredWord() {
        let own: [GenerationErrorCode] = [
            .timeout, .unconfirmed, .downloadFailed, .cancelled, .vanished, .sourceExpired, .referenceImageMissing,
        ]
        for code in own {
            #expect(GenerationErrorCode(rawValue: code.rawValue) == code)
        }
        #expect(GenerationErrorCode.vanished.rawValue == "not_found")
        #expect(GenerationErrorCode(rawValue: "moderation_blocked") == .provider("moderation_blocked"))
        #expect(GenerationErrorCode(rawValue: "download_failed") == .downloadFailed)
        #expect(Set(own.map(\.rawValue)).count == own.count)
    }

    @Test func storedSettingsAreReadOnceAndSummarised() {
        let s = StoredSettings(
            jsonText: #"{"model":"sora-2","duration":8,"aspect_ratio":"16:9","resolution":"720p","takes":2}"#)
        #expect(s.model == "sora-2" && s.duration == 8 && s.aspectRatio == "16:9" && s.resolution == "720p")
        #expect(s.takes == 2 && s.summary == "sora-2 · 8 s · 16:9 · 720p")
        // An older row with the duration as text, and a broken one: read as far as they go, never a crash.
        #expect(StoredSettings(jsonText: #"{"duration":"4"}"#).duration == 4)
        let broken = StoredSettings(jsonText: "{not json")
        #expect(broken.model == nil && broken.summary.isEmpty && broken.document.isNull)
    }

    /// An id travels to SQL and into paths as its number only, and is read back typed by where it is stored.
    @Test func idsTravelAsTheirNumber() throws {
        let video = ID<Video>(9_007_199_254_740_993)  // past a double's exact range: kept exactly
        #expect(video.description == "9007199254740993" && video.sqlText == "9007199254740993")
        #expect(ID<Video>(2) < ID<Video>(10) && Set([ID<Video>(3), ID<Video>(3)]).count == 1)
        let db = try Connection(url: TestDatabase.url)
        let row = try db.execute("SELECT \(video)::bigint AS id, NULL::bigint AS none")[0]
        let read: ID<Video> = row.id("id")
        let none: ID<Video>? = row.optionalID("none")
        #expect(read == video && none == nil)
    }
}

@Suite struct CacheInvalidations {
    /// The words Migrations/0007's triggers send, read as what they make stale; an unknown word drops all.
    @Test func payloadsAreReadByMeaning() {
        #expect(CacheInvalidation("video:42") == .video(42))
        #expect(CacheInvalidation("auth") == .auth)
        #expect(CacheInvalidation("all") == .everything)
        #expect(CacheInvalidation("video:x") == .everything)
        #expect(CacheInvalidation("something new") == .everything)
    }
}
