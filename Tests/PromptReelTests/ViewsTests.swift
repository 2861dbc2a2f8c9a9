// Formatting helpers the pages use for money and time.

import Foundation
import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct FormattingTests {
    @Test(arguments: [
        ("0.40", "$0.40"), ("0.4", "$0.40"), ("12", "$12.00"), ("0.1000", "$0.10"), ("0.375", "$0.375"),
        ("8.40", "$8.40"),
    ])
    func dollars(_ amount: String, _ shown: String) {
        #expect(Views.dollars(amount) == shown)
    }

    @Test func times() {
        let t = Timestamp(iso: "2026-11-26T05:57:12Z")
        #expect(
            t.map { Views.when($0).rendered } == #"<time datetime="2026-11-26T05:57:12Z">26 Nov 2026, 05:57 UTC</time>"#
        )
        #expect(t?.iso == "2026-11-26T05:57:12Z" && t?.minuteText == "2026-11-26 05:57 UTC")
        // Only what the database's iso() writes is a timestamp: anything else is refused, never cut up.
        for bad in [
            "garbage<", "2026-13-01T00:00:00Z", "2026-11-26 05:57:12Z", "2026-11-26T05:57:12", "2026-11-26T25:00:00Z",
        ] {
            #expect(Timestamp(iso: bad) == nil, "\(bad)")
        }
        #expect(Timestamp(iso: "2026-11-26T05:57:12Z")! < Timestamp(iso: "2026-11-26T05:57:13Z")!)
        #expect(Formatting.duration(seconds: 65) == "1 min 05 s")
    }

    @Test func expectedCostIsAPlainAmountOrA422() throws {
        #expect(try GenerationAPI.expectedCost(.number("0.4")) == USD(parsing: "0.40"))
        #expect(try GenerationAPI.expectedCost(.string("2.4000")) == USD(parsing: "2.4"))
        #expect(try GenerationAPI.expectedCost(nil) == nil)
        for bad in [
            "99999999999999999", "9999999999999999999", "123456789012345678901234567890", "-0.4", "4e-1", "1E3", "abc",
        ] {
            #expect(throws: InvalidInput.self) { try GenerationAPI.expectedCost(.number(bad)) }
        }
        #expect(throws: InvalidInput.self) { try GenerationAPI.expectedCost(.bool(true)) }
    }

    @Test func safeDownloadNames() {
        let header = Media.contentDisposition(title: "Dawn / \"harbour\" <1>", generationID: 7, asset: .video)
        #expect(header.hasPrefix(#"attachment; filename="Dawn_harbour_1-7.mp4"; filename*=UTF-8''"#))
        let exact = header.components(separatedBy: "filename*=").last ?? ""
        #expect(!exact.contains("\"") && !exact.contains(" ") && !exact.contains("/"))
        #expect(
            Media.contentDisposition(title: "日本", generationID: 3, asset: .video).contains(#"filename="video-3.mp4""#))
    }
}
