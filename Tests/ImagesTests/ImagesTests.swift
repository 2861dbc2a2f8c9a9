import Foundation
import Images
import Testing

@Suite struct ImagesTests {
    @Test func formatsByMagicBytesNotByName() {
        #expect(ImageFormat(magic: [0xFF, 0xD8, 0xFF, 0xE0]) == .jpeg)
        #expect(ImageFormat(magic: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]) == .png)
        #expect(ImageFormat(magic: Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8)) == .webp)
        #expect(ImageFormat(magic: Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVEfmt ".utf8)) == nil)
        #expect(ImageFormat(magic: Array("GIF89a".utf8)) == nil)
        #expect(ImageFormat(magic: Array("<svg xmlns=".utf8)) == nil)
        #expect(ImageFormat(magic: []) == nil)
    }

    @Test func notAnImageAndBrokenHeadersAreRefused() {
        #expect(throws: ImageError.notAnImage) { try Images.probe(Array("hello".utf8)) }
        #expect(throws: ImageError.notAnImage) { try Images.validate([]) }
        // A PNG signature with nothing after it: the loader fails, nothing is decoded.
        #expect {
            try Images.probe([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        } throws: { error in
            if case .unreadable? = error as? ImageError { true } else { false }
        }
        #expect {
            try Images.fit([0xFF, 0xD8, 0xFF, 0xE0, 0, 16], width: 1280, height: 720, mode: .crop)
        } throws: { error in
            if case .unreadable? = error as? ImageError { true } else { false }
        }
    }
}

/// Real files (the simulator's fixtures): fitting gives exactly the size asked, and no path, good or
/// bad, leaves a vips object behind.
@Suite(.serialized) struct ImagesWithFiles {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/promptreel-sim/Fixtures/\(name)")
        return [UInt8](try Data(contentsOf: url))
    }

    @Test func fitsToTheExactSizeInBothModes() throws {
        for name in ["spritesheet.jpg", "thumbnail.webp"] {
            let bytes = try Self.fixture(name)
            let info = try Images.validate(bytes)
            #expect(info.format == (name.hasSuffix("jpg") ? .jpeg : .webp))
            for (w, h) in [(1280, 720), (720, 1280), (1024, 1792)] {
                for mode in FitMode.allCases {
                    let png = try Images.fit(bytes, width: w, height: h, mode: mode)
                    #expect(try Images.probe(png) == ImageInfo(format: .png, width: w, height: h))
                }
            }
            let preview = try Images.preview(bytes, width: 1280, height: 720, mode: .letterbox)
            #expect(try Images.probe(preview) == ImageInfo(format: .jpeg, width: 320, height: 180))
        }
    }

    @Test func truncatedFilesAreRefusedAndNothingLeaks() throws {
        let jpeg = try Self.fixture("spritesheet.jpg")
        let webp = try Self.fixture("thumbnail.webp")
        _ = try Images.fit(jpeg, width: 64, height: 64, mode: .crop)  // vips' own one-time objects exist from here on
        let baseline = Images.liveObjects
        for _ in 0..<50 {
            #expect(throws: ImageError.self) { try Images.validate(Array(jpeg.prefix(jpeg.count / 2))) }
            #expect(throws: ImageError.self) { try Images.validate(Array(webp.prefix(webp.count / 2))) }
            #expect(throws: ImageError.self) {
                try Images.fit(Array(jpeg.prefix(jpeg.count / 2)), width: 1280, height: 720, mode: .letterbox)
            }
            #expect(throws: ImageError.self) { try Images.probe(Array(jpeg.prefix(20))) }
            #expect(throws: ImageError.self) { try Images.fit(jpeg, width: 0, height: 720, mode: .crop) }
            _ = try Images.fit(jpeg, width: 320, height: 180, mode: .crop)
            _ = try Images.validate(webp)
        }
        #expect(Images.liveObjects == baseline)
    }
}
