// A stored MP4's duration and frame size read from its own boxes (ISO BMFF: `moov` → `mvhd` for the duration,
// the first video `trak`'s sample description for the coded width and height), in-process: no ffprobe child per
// finished video, which with hundreds of jobs finishing together would cost more CPU than everything else the
// worker does. Anything unexpected (no `moov`, a fragmented file, odd sizes) answers nil and ffprobe decides.

import Glibc

enum MP4Header {
    /// The most `moov` read into memory (its sample tables grow with the video's length: 64 MiB is hours).
    static let maxMoovBytes = 64 << 20
    /// The most boxes looked at on one level: a hostile file of tiny boxes is given up on, not walked.
    static let maxBoxes = 10_000

    static func probe(_ path: String) -> VideoProbe? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var stats = stat()
        guard fstat(fd, &stats) == 0 else { return nil }
        let fileSize = Int64(stats.st_size)
        // The top-level boxes, header by header (`mdat` is skipped, never read), until `moov`.
        var offset: Int64 = 0
        var seen = 0
        while offset + 8 <= fileSize, seen < maxBoxes {
            seen += 1
            guard let header = read(fd, at: offset, count: 16), header.count >= 8 else { return nil }
            var size = Int64(be32(header, 0))
            let type = fourCC(header, 4)
            var headerSize: Int64 = 8
            if size == 1 {
                guard header.count >= 16 else { return nil }
                size = Int64(bitPattern: be64(header, 8))
                headerSize = 16
            } else if size == 0 {
                size = fileSize - offset
            }
            guard size >= headerSize, size <= fileSize - offset else { return nil }
            if type == "moov" {
                guard size - headerSize <= maxMoovBytes,
                    let moov = read(fd, at: offset + headerSize, count: Int(size - headerSize)),
                    moov.count == Int(size - headerSize)
                else { return nil }
                return parseMoov(moov)
            }
            offset += size
        }
        return nil
    }

    /// `mvhd`'s duration ÷ timescale, and the first video track's sample entry's width and height.
    static func parseMoov(_ moov: [UInt8]) -> VideoProbe? {
        var seconds: Double?
        var width: Int?
        var height: Int?
        for (type, body) in boxes(moov[...]) {
            // A fragmented file's duration is in its fragments, not here: ffprobe reads those.
            if type == "mvex" { return nil }
            if type == "mvhd", let value = movieSeconds(body) { seconds = value }
            if type == "trak", width == nil, let size = videoSize(body) { (width, height) = size }
        }
        guard seconds != nil, width != nil else { return nil }
        // The same sanity rules as ffprobe's answer, and the same two-decimal text.
        return VideoProbe.parse(
            [
                seconds.map { "duration=\($0)" }, width.map { "width=\($0)" }, height.map { "height=\($0)" },
            ].compactMap { $0 }.joined(separator: "\n"))
    }

    static func movieSeconds(_ body: ArraySlice<UInt8>) -> Double? {
        let b = Array(body)
        guard let version = b.first else { return nil }
        let (timescale, duration): (UInt32, UInt64)
        if version == 1 {
            guard b.count >= 32 else { return nil }
            (timescale, duration) = (be32(b, 20), be64(b, 24))
        } else {
            guard b.count >= 20 else { return nil }
            (timescale, duration) = (be32(b, 12), UInt64(be32(b, 16)))
        }
        guard timescale > 0, duration > 0, duration != UInt64.max, duration != UInt64(UInt32.max) else { return nil }
        return Double(duration) / Double(timescale)
    }

    /// A `trak` whose handler is `vide`: the width and height of its first sample entry (`stsd`).
    static func videoSize(_ trak: ArraySlice<UInt8>) -> (Int, Int)? {
        guard let mdia = child(trak, "mdia"), let hdlr = child(mdia, "hdlr"), hdlr.count >= 12,
            fourCC(Array(hdlr), 8) == "vide", let minf = child(mdia, "minf"), let stbl = child(minf, "stbl"),
            let stsd = child(stbl, "stsd")
        else { return nil }
        // stsd: version/flags 4, entry count 4, then the first entry: size 4, format 4, reserved 6, data
        // reference 2, pre-defined/reserved 16, width 2, height 2.
        let b = Array(stsd)
        guard b.count >= 8 + 36, be32(b, 4) >= 1 else { return nil }
        let width = Int(b[8 + 32]) << 8 | Int(b[8 + 33])
        let height = Int(b[8 + 34]) << 8 | Int(b[8 + 35])
        return width > 0 && height > 0 ? (width, height) : nil
    }

    static func child(_ container: ArraySlice<UInt8>, _ name: String) -> ArraySlice<UInt8>? {
        boxes(container).first { $0.type == name }?.body
    }

    /// The boxes directly inside `data`; stops at the first malformed one.
    static func boxes(_ data: ArraySlice<UInt8>) -> [(type: String, body: ArraySlice<UInt8>)] {
        var found: [(String, ArraySlice<UInt8>)] = []
        var offset = data.startIndex
        while offset + 8 <= data.endIndex, found.count < maxBoxes {
            let header = Array(data[offset..<offset + 8])
            var size = Int(be32(header, 0))
            var headerSize = 8
            if size == 1 {
                guard offset + 16 <= data.endIndex else { break }
                let large = be64(Array(data[offset + 8..<offset + 16]), 0)
                guard large <= UInt64(Int.max) else { break }
                size = Int(large)
                headerSize = 16
            } else if size == 0 {
                size = data.endIndex - offset
            }
            guard size >= headerSize, size <= data.endIndex - offset else { break }
            found.append((fourCC(header, 4), data[offset + headerSize..<offset + size]))
            offset += size
        }
        return found
    }

    static func read(_ fd: Int32, at offset: Int64, count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return pread(fd, base + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            done += n
        }
        return done == 0 ? nil : Array(buffer[0..<done])
    }

    static func be32(_ b: [UInt8], _ at: Int) -> UInt32 {
        guard at + 4 <= b.count else { return 0 }
        return UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    static func be64(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(be32(b, at)) << 32 | UInt64(be32(b, at + 4)) }

    static func fourCC(_ b: [UInt8], _ at: Int) -> String {
        guard at + 4 <= b.count else { return "" }
        return String(decoding: b[at..<at + 4], as: UTF8.self)
    }
}
