// A poster and a spritesheet made from the stored video when the provider sends none usable (LiteLLM's
// Veo and Runway paths answer those requests with the MP4 itself). Same names, formats and sizes as the
// provider's: `thumbnail.webp`, one frame at the video's size, a third of the way in; `spritesheet.jpg`,
// 8 evenly spaced frames at half size in 4 columns and 2 rows. ffmpeg (Debian's package, like ffprobe)
// runs only on workers, through `Subprocess` (no shell, a time limit, bounded output), and what it
// writes is checked by its bytes and size before it is kept.

public import Core
import Foundation
import Images
public import Postgres
import Telemetry

struct LocalPreviews: Sendable {
    var ffmpeg = "/usr/bin/ffmpeg"
    var timeoutSeconds = 60.0
    var maxBytes = 32 << 20

    static let columns = 4, rows = 2

    struct Made: Sendable, Equatable {
        let bytes: Int
        let sha256: String
        let width: Int, height: Int
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The ffmpeg command line making `asset` from `video` into `output`. `seconds` is the video's
    /// duration (ffprobe's); without it the poster is the first frame and the sheet takes 2 frames a second.
    /// `keyframesOnly`: the sheet is made from the key frames alone (a long film: decoding every frame of
    /// it would take seconds; its shots each start with one).
    static func arguments(
        _ asset: MediaAsset, video: String, output: String, seconds: Double?, maxBytes: Int,
        keyframesOnly: Bool = false
    )
        -> [String]
    {
        let duration = seconds.flatMap { $0.isFinite && $0 > 0.05 ? $0 : nil }
        let common = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-filter_threads", "1"]
        // The stored MP4 read as MP4 from a plain file only (no probing into playlists or other protocols,
        // whatever the bytes say), one thread: the worker shares its machine with the web processes.
        let input = ["-protocol_whitelist", "file", "-f", "mov", "-threads", "1", "-i", "file:" + video]
        let limits = ["-an", "-sn", "-dn", "-threads", "1", "-fs", String(maxBytes)]
        let output = "file:" + output
        switch asset {
        case .thumbnail:
            let seek = duration.map { ["-ss", String(format: "%.3f", $0 / 3)] } ?? []
            return common + seek + input + ["-map", "0:v:0", "-frames:v", "1"] + limits
                + ["-c:v", "libwebp", "-quality", "80", "-f", "webp", output]
        case .spritesheet:
            let frames = columns * rows
            let rate = duration.map { String(format: "%.6f", Double(frames) / $0) } ?? "2"
            let filter = "fps=\(rate),scale=trunc(iw/4)*2:trunc(ih/4)*2,tile=\(columns)x\(rows)"
            return common + (keyframesOnly ? ["-skip_frame", "nokey"] : []) + input
                + ["-map", "0:v:0", "-vf", filter, "-frames:v", "1"] + limits
                + ["-c:v", "mjpeg", "-q:v", "4", "-f", "image2", output]
        case .video:
            return []
        }
    }

    /// The size the provider's would have for a video of `width`×`height`.
    static func expectedSize(_ asset: MediaAsset, width: Int, height: Int) -> (width: Int, height: Int) {
        switch asset {
        case .spritesheet: (width / 4 * 2 * columns, height / 4 * 2 * rows)
        case .thumbnail, .video: (width, height)
        }
    }

    /// Makes `asset` from the local file `video` into the local file `output` and checks it: the right format by
    /// its magic bytes, fully decodable, and (when the video's frame size is known) the right size. Nothing is
    /// left at `output` on failure.
    func make(
        _ asset: MediaAsset, video: String, output: String, seconds: Double?,
        frame: (width: Int, height: Int)?, keyframesOnly: Bool = false
    ) throws(Failure) -> Made {
        guard asset != .video else { throw Failure(description: "the video is never made locally") }
        let arguments = Self.arguments(
            asset, video: video, output: output, seconds: seconds, maxBytes: maxBytes, keyframesOnly: keyframesOnly)
        let outcome = Subprocess.run(ffmpeg, arguments, timeoutSeconds: timeoutSeconds)
        do throws(Failure) {
            if let failure = outcome.failure(ffmpeg, timeoutSeconds: timeoutSeconds) {
                throw Failure(description: failure)
            }
            let bytes: [UInt8]
            do { bytes = try MediaFiles.read(file: output, maxBytes: maxBytes) } catch {
                throw Failure(description: "ffmpeg wrote nothing usable: \(error)")
            }
            let info: ImageInfo
            do { info = try Images.validate(bytes) } catch {
                throw Failure(description: "ffmpeg wrote \(bytes.count) bytes that are not an image (\(error))")
            }
            let format: ImageFormat = asset == .thumbnail ? .webp : .jpeg
            guard info.format == format else {
                throw Failure(description: "ffmpeg wrote a \(info.format) instead of a \(format)")
            }
            if let frame {
                let expected = Self.expectedSize(asset, width: frame.width, height: frame.height)
                guard info.width == expected.width, info.height == expected.height else {
                    throw Failure(
                        description:
                            "ffmpeg wrote \(info.width)x\(info.height), expected \(expected.width)x\(expected.height)")
                }
            }
            return Made(
                bytes: bytes.count, sha256: Crypto.hex(Crypto.sha256(bytes)), width: info.width, height: info.height)
        } catch {
            unlink(output)
            throw error
        }
    }

    /// Makes each preview `g` lacks from its stored video, puts it in the generation's store and hands it to
    /// `record`, which stores it in the row and says whether the row took it.
    /// A preview that cannot be made or stored is logged and skipped; only `record`'s errors are thrown.
    @discardableResult
    func makeMissing(
        _ g: Generation, store media: any MediaStore, probe: VideoProbe? = nil,
        record: (MediaAsset, String, Made) throws -> Bool
    ) throws -> [MediaAsset] {
        guard let video = g.videoPath else { return [] }
        let missing = [MediaAsset.thumbnail, .spritesheet].filter { g.path(of: $0) == nil }
        guard !missing.isEmpty else { return [] }
        let seconds = (g.deliveredSeconds ?? probe?.seconds).flatMap(Double.init)
        let width = g.deliveredWidth.map(Int.init) ?? probe?.width,
            height = g.deliveredHeight.map(Int.init) ?? probe?.height
        let frame = width.flatMap { w in height.map { (width: w, height: $0) } }
        var made: [MediaAsset] = []
        MediaFiles.makeFolder(media.scratchDirectory)
        do {
            try media.withLocalFile(video) { videoFile in
                for asset in missing {
                    let key = "\(g.id)/\(asset.fileName)"
                    // Staged under a name of this run's own: a worker and `media posters` (or two of those) may
                    // make the same generation's previews at once.
                    let staging =
                        media.scratchDirectory
                        + "/\(g.id)-\(asset.fileName).\(getpid())-\(UInt32.random(in: .min ... .max)).local"
                    do {
                        let file = try make(asset, video: videoFile, output: staging, seconds: seconds, frame: frame)
                        do throws(MediaStoreError) {
                            try media.put(file: staging, key: key, contentType: asset.contentType)
                        } catch {
                            unlink(staging)
                            throw Failure(description: "the store did not take it (\(error.code ?? "error")): \(error)")
                        }
                        // Not taken: another run recorded its own copy first, under this same key — the object
                        // in place is one its row points at, so it stays.
                        guard try record(asset, key, file) else { continue }
                        made.append(asset)
                        ProcessMetrics.shared.mediaStored(bytes: file.bytes, kind: asset.rawValue)
                        Log.info(
                            "\(asset.rawValue) made locally from the video (\(file.width)x\(file.height))",
                            g.logMetadata)
                    } catch let failure as Failure {
                        Log.error(
                            "no \(asset.rawValue): the provider sent none and \(failure); the video is kept without one",
                            g.logMetadata)
                    }
                }
            }
        } catch let error as MediaStoreError {
            Log.error(
                "no previews: the stored video could not be read (\(error.code ?? "error")): \(error)", g.logMetadata)
        }
        return made
    }
}

/// `promptreel media posters`: the posters and spritesheets of generations that completed without them
/// (before PromptReel made them, or while ffmpeg was missing), made from their videos.
public enum MissingPreviews {
    /// One line per generation given a preview. Safe to run again: a second run finds nothing to do
    /// (except what ffmpeg cannot make, which is logged each time).
    public static func run(db: Connection, config: EngineConfig) throws -> [String] {
        let store = GenerationStore(db: db)
        let previews = LocalPreviews(ffmpeg: config.ffmpegPath, maxBytes: config.maxImageBytes)
        var lines: [String] = []
        for g in try store.completedWithoutPreviews() {
            // Generations stored before ffprobe ran at download have no delivered duration: read it now.
            let media = try config.media.required(g.mediaStore)
            let probe =
                g.deliveredSeconds == nil
                ? try g.videoPath.flatMap { try media.withLocalFile($0) { VideoProbe.run($0) } } : nil
            let made = try previews.makeMissing(g, store: media, probe: probe) {
                asset, path, file in
                try store.recordLocalPreview(g.id, asset, path: path, bytes: file.bytes, sha256: file.sha256)
            }
            if !made.isEmpty {
                lines.append(
                    "generation \(g.id): made \(made.map { $0 == .thumbnail ? "poster" : "spritesheet" }.joined(separator: " and "))"
                )
            }
        }
        return lines
    }
}
