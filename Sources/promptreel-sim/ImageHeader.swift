// The simulator's own reading of an uploaded image's size from its header (PNG IHDR, JPEG SOF, WebP
// VP8/VP8L/VP8X), as the real API checks an `input_reference`. Independent of PromptReel's code.

import Foundation

struct ImageHeader: Equatable {
    var format: String  // "png", "jpeg", "webp"
    var width: Int
    var height: Int

    init?(_ data: Data) {
        let b = [UInt8](data.prefix(64 * 1024))
        func be16(_ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
        func be32(_ i: Int) -> Int { be16(i) << 16 | be16(i + 2) }
        func le16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        func le24(_ i: Int) -> Int { le16(i) | Int(b[i + 2]) << 16 }
        if b.count >= 24, b.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
            Array(b[12..<16]) == Array("IHDR".utf8)
        {
            self.init(format: "png", width: be32(16), height: be32(20))
        } else if b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 {
            // Walk the markers to the first start-of-frame.
            var i = 2
            while i + 9 < b.count {
                guard b[i] == 0xFF else { return nil }
                let marker = b[i + 1]
                if marker == 0xFF {
                    i += 1
                    continue
                }
                if marker == 0x01 || (0xD0...0xD7).contains(marker) {
                    i += 2
                    continue
                }
                let length = be16(i + 2)
                guard length >= 2 else { return nil }
                if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                    self.init(format: "jpeg", width: be16(i + 7), height: be16(i + 5))
                    return
                }
                i += 2 + length
            }
            return nil
        } else if b.count >= 30, b.starts(with: Array("RIFF".utf8)), Array(b[8..<12]) == Array("WEBP".utf8) {
            switch String(decoding: b[12..<16], as: UTF8.self) {
            case "VP8 ":
                guard b[23] == 0x9D, b[24] == 0x01, b[25] == 0x2A else { return nil }
                self.init(format: "webp", width: le16(26) & 0x3FFF, height: le16(28) & 0x3FFF)
            case "VP8L":
                guard b[20] == 0x2F else { return nil }
                let bits = Int(b[21]) | Int(b[22]) << 8 | Int(b[23]) << 16 | Int(b[24]) << 24
                self.init(format: "webp", width: (bits & 0x3FFF) + 1, height: ((bits >> 14) & 0x3FFF) + 1)
            case "VP8X":
                self.init(format: "webp", width: le24(24) + 1, height: le24(27) + 1)
            default:
                return nil
            }
        } else {
            return nil
        }
    }

    init(format: String, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }
}
