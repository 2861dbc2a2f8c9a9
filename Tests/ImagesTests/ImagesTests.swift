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
