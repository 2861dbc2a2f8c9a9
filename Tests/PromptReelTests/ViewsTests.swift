// Formatting helpers the pages use for money and time.

import Foundation
@testable import PromptReel
import Testing

@Suite struct Formatting {
    @Test(arguments: [("0.40", "$0.40"), ("0.4", "$0.40"), ("12", "$12.00"), ("0.1000", "$0.10"), ("0.375", "$0.375"), ("8.40", "$8.40")])
    func dollars(_ amount: String, _ shown: String) {
        #expect(Views.dollars(amount) == shown)
    }

    @Test func times() {
        #expect(Views.when("2026-11-26T05:57:12Z").rendered == #"<time datetime="2026-11-26T05:57:12Z">26 Nov 2026, 05:57 UTC</time>"#)
        #expect(Views.when("garbage<").rendered == "garbage&lt;")
        #expect(Views.duration(seconds: 65) == "1 min 05 s")
    }

    @Test func sameAmount() {
        #expect(GenerationAPI.sameAmount("0.4", "0.40"))
        #expect(GenerationAPI.sameAmount("2.40", "2.4000"))
        #expect(!GenerationAPI.sameAmount("0.41", "0.40"))
        #expect(!GenerationAPI.sameAmount("abc", "0.40"))
        #expect(!GenerationAPI.sameAmount("0.405", "0.40"))
    }

    @Test func safeDownloadNames() {
        let header = Media.contentDisposition(title: "Dawn / \"harbour\" <1>", generationID: 7, asset: .video)
        #expect(header.hasPrefix(#"attachment; filename="Dawn_harbour_1-7.mp4"; filename*=UTF-8''"#))
        let exact = header.components(separatedBy: "filename*=").last ?? ""
        #expect(!exact.contains("\"") && !exact.contains(" ") && !exact.contains("/"))
        #expect(Media.contentDisposition(title: "日本", generationID: 3, asset: .video).contains(#"filename="video-3.mp4""#))
    }
}
