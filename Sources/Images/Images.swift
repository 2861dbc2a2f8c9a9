// Reference images through libvips: what an upload is (by its bytes, never its name or Content-Type),
// whether it is safe to decode, and the frame fitted to a video's exact size.
//
// Decompression bombs: the size comes from the header, read without decoding pixels, and anything
// over the limits is refused before a pixel is decoded. Loaders fail on truncated or corrupt data
// (vips' `fail_on`), so a broken file is an error, never an image padded with grey.

import CVips

public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg, png, webp

    public var contentType: String { "image/" + rawValue }
    public var fileExtension: String { self == .jpeg ? "jpg" : rawValue }

    /// The format by magic bytes; nil for anything else (GIF, SVG, HTML, text …).
    public init?(magic bytes: [UInt8]) {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8)
        {
            self = .webp
        } else {
            return nil
        }
    }

    public init?(contentType: String) {
        guard let match = ImageFormat.allCases.first(where: { $0.contentType == contentType }) else { return nil }
        self = match
    }

    /// 1 JPEG, 2 PNG, 3 WebP, as the shim's loader switch numbers them.
    var loaderCode: Int32 {
        switch self {
        case .jpeg: 1
        case .png: 2
        case .webp: 3
        }
    }
}

public struct ImageInfo: Sendable, Equatable {
    public let format: ImageFormat
    public let width: Int
    public let height: Int

    public init(format: ImageFormat, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }
}

public enum ImageError: Error, Sendable, Equatable {
    /// Not a JPEG, PNG or WebP by its bytes.
    case notAnImage
    case tooSmall(width: Int, height: Int)
    case tooLarge(width: Int, height: Int)
    /// The header or the pixels could not be decoded (truncated, corrupt); `detail` is vips' message, for logs.
    case unreadable(detail: String)
}

/// How an image of another shape becomes the video's exact size.
public enum FitMode: String, Sendable, CaseIterable {
    /// Scale to cover the frame and cut what overflows, centred.
    case crop
    /// Scale to fit inside the frame and pad with black bars.
    case letterbox
}

public enum Images {
    /// Smallest side accepted: a 1×1 "image" says nothing about a frame.
    public static let minSide = 16
    /// Largest side and pixel count accepted (checked from the header, before decoding).
    public static let maxSide = 16384
    public static let maxPixels = 50_000_000

    /// vips starts once per process (the shim turns its operation cache off and uses one thread per
    /// pipeline, so an upload's memory stays bounded by the strip being decoded, not by the image).
    private static let started: Bool = pr_vips_init() == 0

    /// The format and size from the header only, with the limits applied; no pixel is decoded.
    public static func probe(_ bytes: [UInt8]) throws(ImageError) -> ImageInfo {
        guard let format = ImageFormat(magic: bytes) else { throw .notAnImage }
        return try withLoaded(bytes, format: format) { image, info throws(ImageError) in info }
    }

    /// Probes, then decodes every pixel once (without keeping them), so a truncated or corrupt file is
    /// refused at upload, not when a generation starts.
    public static func validate(_ bytes: [UInt8]) throws(ImageError) -> ImageInfo {
        guard let format = ImageFormat(magic: bytes) else { throw .notAnImage }
        // Every compressed byte is still decoded (a truncated file fails), at an eighth of the size where the
        // format allows: a baseline 7000×7000 JPEG then needs an 875×875 image's memory (a progressive one
        // still buffers all its coefficients: that is what the decoder process's memory cap is for).
        let eighth: (ImageInfo) -> Int = { _ in 8 }
        return try withLoaded(bytes, format: format, shrink: eighth) { image, info throws(ImageError) in
            var average = 0.0
            guard pr_vips_avg(image.raw, &average) == 0 else { throw .unreadable(detail: Self.lastError()) }
            return info
        }
    }

    /// The image fitted to exactly `width`×`height`, as a PNG: lossless, since this becomes the video's
    /// first frame (a second lossy encode would show), RGB without alpha (bars and transparency are black).
    public static func fit(_ bytes: [UInt8], width: Int, height: Int, mode: FitMode) throws(ImageError) -> [UInt8] {
        try fitted(bytes, width: width, height: height, mode: mode) { image throws(ImageError) in
            try encode(image) { pr_vips_png($0, $1, $2) }
        }
    }

    /// A small JPEG of the fitted frame for the settings page: same framing, at most `maxSide` wide or tall.
    public static func preview(_ bytes: [UInt8], width: Int, height: Int, mode: FitMode, maxSide: Int = 320)
        throws(ImageError) -> [UInt8]
    {
        let scale = min(1.0, Double(maxSide) / Double(max(width, height)))
        let w = max(1, Int((Double(width) * scale).rounded())), h = max(1, Int((Double(height) * scale).rounded()))
        return try fitted(bytes, width: w, height: h, mode: mode) { image throws(ImageError) in
            try encode(image) { pr_vips_jpeg($0, $1, $2, 80) }
        }
    }

    // MARK: Internals

    private static func fitted(
        _ bytes: [UInt8], width: Int, height: Int, mode: FitMode,
        encode: (OwnedImage) throws(ImageError) -> [UInt8]
    ) throws(ImageError) -> [UInt8] {
        guard (1...maxSide).contains(width), (1...maxSide).contains(height) else {
            throw .tooLarge(width: width, height: height)
        }
        guard let format = ImageFormat(magic: bytes) else { throw .notAnImage }
        // Decoded at the largest shrink that still leaves at least the frame's pixels (shrink-on-load).
        // The image may be turned upright (EXIF orientation) before it is fitted: the shrink must do for both
        // readings of its width and height, so it is the smaller of the two.
        let shrink = { (info: ImageInfo) -> Int in
            func largest(_ w: Int, _ h: Int) -> Int {
                let across = Double(width) / Double(w), down = Double(height) / Double(h)
                let scale = mode == .crop ? max(across, down) : min(across, down)
                return [8, 4, 2].first { Double($0) * scale <= 1 } ?? 1
            }
            return min(largest(info.width, info.height), largest(info.height, info.width))
        }
        return try withLoaded(bytes, format: format, shrink: shrink) { loaded, _ throws(ImageError) in
            var image = try loaded.apply {
                pr_vips_thumbnail($0, $1, Int32(width), Int32(height), mode == .crop ? 1 : 0)
            }
            if pr_vips_has_alpha(image.raw) != 0 { image = try image.apply { pr_vips_flatten($0, $1) } }
            image = try image.apply { pr_vips_to_srgb($0, $1) }
            image = try image.apply { pr_vips_cast_uchar($0, $1) }
            if mode == .letterbox { image = try image.apply { pr_vips_letterbox($0, $1, Int32(width), Int32(height)) } }
            guard Int(pr_vips_width(image.raw)) == width, Int(pr_vips_height(image.raw)) == height else {
                throw .unreadable(
                    detail: "fitted to \(pr_vips_width(image.raw))x\(pr_vips_height(image.raw)), not \(width)x\(height)"
                )
            }
            return try encode(image)
        }
    }

    /// Loads the header with the format's own loader and checks the limits; then, when `shrink` asks for it,
    /// loads again decoding at 1/shrink of the size (JPEG, WebP). `body` gets that image and the full-size
    /// info, while the bytes are pinned (vips reads pixels from them lazily); every image is released before
    /// return.
    private static func withLoaded<T>(
        _ bytes: [UInt8], format: ImageFormat, shrink: (ImageInfo) -> Int = { _ in 1 },
        _ body: (OwnedImage, ImageInfo) throws(ImageError) -> T
    ) throws(ImageError) -> T {
        guard started else { throw .unreadable(detail: "libvips did not start") }
        let result: Result<T, ImageError> = bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return .failure(.notAnImage) }
            var out: OpaquePointer?
            guard pr_vips_load(format.loaderCode, base, buffer.count, &out) == 0, let raw = out else {
                return .failure(.unreadable(detail: lastError()))
            }
            let image = OwnedImage(raw)
            let width = Int(pr_vips_width(raw)), height = Int(pr_vips_height(raw))
            if width < minSide || height < minSide { return .failure(.tooSmall(width: width, height: height)) }
            if width > maxSide || height > maxSide || width * height > maxPixels {
                return .failure(.tooLarge(width: width, height: height))
            }
            let info = ImageInfo(format: format, width: width, height: height)
            let factor = shrink(info)
            do throws(ImageError) {
                guard factor > 1 else { return .success(try body(image, info)) }
                var shrunk: OpaquePointer?
                guard pr_vips_load_shrunk(format.loaderCode, base, buffer.count, Int32(factor), &shrunk) == 0,
                    let small = shrunk
                else { return .failure(.unreadable(detail: lastError())) }
                return .success(try body(OwnedImage(small), info))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func encode(
        _ image: OwnedImage,
        _ save: (
            OpaquePointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>,
            UnsafeMutablePointer<Int>
        ) -> Int32
    ) throws(ImageError) -> [UInt8] {
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        guard save(image.raw, &buffer, &length) == 0, let buffer else { throw .unreadable(detail: lastError()) }
        defer { pr_vips_free(buffer) }
        return Array(UnsafeRawBufferPointer(start: buffer, count: length))
    }

    /// Live vips objects in this process (tests check that every path releases what it made).
    public static var liveObjects: Int { Int(pr_vips_live_objects()) }

    /// vips' message for the last failure (for logs), and the buffer cleared for the next one.
    static func lastError() -> String {
        guard let copy = pr_vips_take_error() else { return "libvips failed" }
        defer { pr_vips_free(copy) }
        let message = String(cString: copy)
        return message.isEmpty ? "libvips failed" : message.split(separator: "\n").joined(separator: "; ")
    }
}

/// Owns one reference to a VipsImage and drops it when this goes away.
final class OwnedImage {
    let raw: OpaquePointer
    init(_ raw: OpaquePointer) { self.raw = raw }
    deinit { pr_vips_unref(raw) }

    /// Runs one operation producing a new image (this one stays owned by self, released with it).
    func apply(_ operation: (OpaquePointer, UnsafeMutablePointer<OpaquePointer?>) -> Int32) throws(ImageError)
        -> OwnedImage
    {
        var out: OpaquePointer?
        guard operation(raw, &out) == 0, let result = out else { throw .unreadable(detail: Images.lastError()) }
        return OwnedImage(result)
    }
}
