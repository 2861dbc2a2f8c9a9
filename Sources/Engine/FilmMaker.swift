// The film maker: a worker task that stitches a film's takes into one MP4 with ffmpeg (never on a request
// thread). When every shot already matches (size, frame rate, pixel format, H.264, the same audio) and
// the transition is a cut, the takes are joined without re-encoding; otherwise each is scaled and padded
// (never stretched) to the film's size, resampled to its frame rate, given a silent track when it has
// none, and encoded once. What ffmpeg wrote is checked with ffprobe (size, streams, the duration the
// shots add up to) before it is moved into place, so a film is whole or absent; a maker killed mid-stitch
// leaves only a staging file (swept later) and the film is taken up again by the next maker.

import Core
import Formats
import Foundation
import Glibc
import Postgres
import Telemetry

struct FilmMaker: BackgroundWork {
    let db: Connection
    let config: EngineConfig

    var ffprobe: String {
        (config.ffmpegPath as NSString).deletingLastPathComponent + "/ffprobe"
    }

    func runOnce() throws -> Bool {
        let films = Films(db: db)
        guard let film = try films.claim() else { return false }
        defer { films.release(film.id) }
        let started = ContinuousClock.now
        do {
            let made = try make(film)
            let store = config.media.current
            if try films.complete(film.id, made, store: store.name) {
                let elapsed = ContinuousClock.now - started
                Log.info(
                    "film \(film.id): \(film.shots.count) shots, \(String(format: "%.2f", made.seconds)) s, \(made.reencoded ? "re-encoded" : "joined without re-encoding") in \(elapsed)"
                )
            } else {
                // Deleted while it was being made.
                try? store.removeAll(prefix: Films.directory(film.id) + "/")
            }
        } catch let failure as Failure {
            Log.error("film \(film.id) failed: \(failure.message)")
            try films.fail(film.id, message: failure.message)
        }
        return true
    }

    struct Failure: Error {
        let message: String
    }

    /// What ffprobe says a file holds.
    struct Probe: Equatable {
        var width = 0, height = 0
        var frameRate = ""
        var pixelFormat = ""
        var videoCodec = ""
        /// H.264 profile, level and the decoder set-up (SPS/PPS): joined without re-encoding only when equal,
        /// since an MP4 keeps one set-up for the whole track.
        var videoSetup = ""
        var audioCodec: String?
        var sampleRate: String?
        var channels: Int?
        var seconds = 0.0

        var frameRateValue: Double {
            let parts = frameRate.split(separator: "/").compactMap { Double($0) }
            guard parts.count == 2, parts[1] > 0 else { return parts.first ?? 0 }
            return parts[0] / parts[1]
        }
    }

    func probe(_ path: String) -> Probe? {
        let outcome = Subprocess.run(
            ffprobe,
            [
                "-v", "error", "-show_entries",
                "stream=codec_type,codec_name,profile,level,extradata_hash,width,height,pix_fmt,r_frame_rate,sample_rate,channels,duration:format=duration",
                "-show_data_hash", "sha256", "-of", "json", "file:" + path,
            ], timeoutSeconds: 30, maxOutput: 64 << 10)
        guard case let .exited(0, output) = outcome, let doc = try? JSONParser.parse(output),
            case let .array(streams)? = doc["streams"]
        else { return nil }
        var p = Probe()
        var videoSeconds: Double?
        for s in streams {
            switch s["codec_type"]?.stringValue {
            case "video" where p.videoCodec.isEmpty:
                p.videoCodec = s["codec_name"]?.stringValue ?? ""
                p.width = s["width"]?.intValue ?? 0
                p.height = s["height"]?.intValue ?? 0
                p.pixelFormat = s["pix_fmt"]?.stringValue ?? ""
                p.frameRate = s["r_frame_rate"]?.stringValue ?? ""
                p.videoSetup = [
                    s["profile"]?.stringValue, s["level"]?.intValue.map(String.init), s["extradata_hash"]?.stringValue,
                ]
                .map { $0 ?? "?" }.joined(separator: "/")
                videoSeconds = s["duration"]?.stringValue.flatMap(Double.init)
            case "audio" where p.audioCodec == nil:
                p.audioCodec = s["codec_name"]?.stringValue ?? ""
                p.sampleRate = s["sample_rate"]?.stringValue
                p.channels = s["channels"]?.intValue
            default: break
            }
        }
        p.seconds = videoSeconds ?? doc["format"]?["duration"]?.stringValue.flatMap(Double.init) ?? 0
        guard !p.videoCodec.isEmpty, p.width > 0, p.height > 0, p.frameRateValue > 0, p.seconds > 0 else { return nil }
        return p
    }

    /// The most common value, the earliest shot's on a tie.
    static func mostCommon<T: Hashable>(_ values: [T]) -> T? {
        var counts: [T: Int] = [:]
        for v in values { counts[v, default: 0] += 1 }
        return values.max { counts[$0, default: 0] < counts[$1, default: 0] }.flatMap { best in
            values.first { counts[$0] == counts[best] }
        }
    }

    /// Stitches the film from local copies of its takes (the stored files themselves on the local store) in the
    /// scratch directory, checks it, and puts it and its previews in the store new media goes to.
    func make(_ film: Film) throws(Failure) -> Films.Made {
        let takes: [ID<Generation>: Films.Take]
        do { takes = try Films(db: db).takes(film) } catch {
            throw Failure(message: "The shots could not be read: \(error)")
        }
        guard access(config.ffmpegPath, X_OK) == 0, access(ffprobe, X_OK) == 0 else {
            throw Failure(message: "ffmpeg is not installed on the worker (\(config.ffmpegPath)); nothing was made.")
        }
        func missing(_ index: Int) -> Failure {
            Failure(
                message:
                    "Shot \(index + 1) (“\(film.shots[index].title)”): its take’s video file is missing. Generate the shot again or choose another take."
            )
        }
        var sources: [(store: any MediaStore, key: String)] = []
        for (index, shot) in film.shots.enumerated() {
            guard let take = takes[shot.generationID], let store = config.media.store(take.store) else {
                throw missing(index)
            }
            sources.append((store, take.key))
        }
        do {
            return try MediaStores.withLocalFiles(sources[...]) { files in try stitch(film, files: files) }
        } catch let failure as Failure {
            throw failure
        } catch let error as MediaStoreError where error.kind == .notFound {
            throw missing(sources.firstIndex { error.description.contains($0.key) } ?? 0)
        } catch {
            Log.error("film \(film.id): the takes could not be read from the media store: \(error)")
            throw Failure(message: "The media store did not give back the shots’ videos; nothing was made. Try again.")
        }
    }

    func stitch(_ film: Film, files: [String]) throws(Failure) -> Films.Made {
        let scratch = config.media.current.scratchDirectory
        var inputs: [(path: String, probe: Probe)] = []
        for (index, (shot, file)) in zip(film.shots, files).enumerated() {
            guard let probe = probe(file) else {
                throw Failure(
                    message: "Shot \(index + 1) (“\(shot.title)”): its take’s video file cannot be read as a video.")
            }
            inputs.append((file, probe))
        }
        let size =
            film.requestedSize ?? Self.mostCommon(inputs.map { "\($0.probe.width)x\($0.probe.height)" }).flatMap {
                let d = $0.split(separator: "x").compactMap { Int($0) }
                return d.count == 2 ? (d[0] - d[0] % 2, d[1] - d[1] % 2) : nil
            } ?? (1280, 720)
        let rate = Self.mostCommon(inputs.map(\.probe.frameRate)) ?? "24/1"
        let first = inputs[0].probe
        let audioMatches =
            inputs.allSatisfy { $0.probe.audioCodec == nil }
            || inputs.allSatisfy {
                $0.probe.audioCodec == "aac" && $0.probe.sampleRate == first.sampleRate
                    && $0.probe.channels == first.channels
            }
        let copy =
            film.transition == .cut && audioMatches
            && inputs.allSatisfy {
                $0.probe.width == size.0 && $0.probe.height == size.1 && $0.probe.frameRate == rate
                    && $0.probe.videoCodec == "h264" && $0.probe.pixelFormat == "yuv420p"
                    && $0.probe.videoSetup == first.videoSetup
            }
        let crossfade = film.crossfadeSeconds
        let expected =
            inputs.reduce(0) { $0 + $1.probe.seconds } - crossfade * Double(max(0, inputs.count - 1))
        let stamp = "\(getpid())-\(film.attempts)"
        let staging = scratch + "/film-\(film.id)-\(stamp).mp4"
        let list = scratch + "/film-\(film.id)-\(stamp).txt"
        let posterFile = scratch + "/film-\(film.id)-\(stamp)-poster.webp"
        let sheetFile = scratch + "/film-\(film.id)-\(stamp)-spritesheet.jpg"
        MediaFiles.makeFolder(scratch)
        defer {
            for file in [staging, list, posterFile, sheetFile] { unlink(file) }
        }
        let arguments: [String]
        // (`-protocol_whitelist` applies to the next input only: it is given before each.)
        let common = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
        let outputCap = ["-fs", String(min(Int64(config.maxVideoBytes) * Int64(inputs.count), 16 << 30))]
        let out = ["-movflags", "+faststart", "-f", "mp4", "file:" + staging]
        if copy {
            // The concat demuxer joins the streams as they are; a silent AAC track is added when no shot has one.
            let text = inputs.map { "file 'file:\($0.path.replacingOccurrences(of: "'", with: "'\\''"))'\n" }.joined()
            guard FileManager.default.createFile(atPath: list, contents: Data(text.utf8)) else {
                throw Failure(message: "The film's list could not be written in the scratch directory.")
            }
            var args =
                common + [
                    "-protocol_whitelist", "file", "-f", "concat", "-safe", "0", "-i", "file:" + list,
                ]
            if first.audioCodec == nil {
                args += [
                    "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-map", "0:v:0", "-map", "1:a:0", "-shortest",
                ]
                args += ["-c:v", "copy", "-c:a", "aac", "-b:a", "128k"]
            } else {
                args += ["-map", "0:v:0", "-map", "0:a:0", "-c", "copy"]
            }
            arguments = args + outputCap + out
        } else {
            arguments =
                common
                + Self.normaliseArguments(
                    inputs: inputs.map { ($0.path, $0.probe) }, width: size.0, height: size.1, rate: rate,
                    crossfade: crossfade) + outputCap + out
        }
        let deadline = copy ? 30 + expected : 60 + expected * 4
        let outcome = Subprocess.run(config.ffmpegPath, arguments, timeoutSeconds: deadline)
        if let failure = outcome.failure(config.ffmpegPath, timeoutSeconds: deadline) {
            // What ffmpeg said names files on the server: the log keeps it, the film says what happened.
            Log.error("film \(film.id): \(failure)")
            if case .timedOut = outcome {
                throw Failure(
                    message: "Stitching took longer than \(Int(deadline)) s and was stopped; nothing was kept.")
            }
            throw Failure(
                message: "ffmpeg could not stitch these shots; nothing was kept. The worker's log has the details.")
        }
        if let hold = config.failpoint?.split(separator: "=").dropFirst().first.flatMap({ Double($0) }),
            config.failpoint?.hasPrefix("film-hold=") == true
        {
            Log.error("failpoint film-hold: holding the stitched film \(film.id) for \(hold) s before keeping it")
            usleep(UInt32(min(hold, 600) * 1_000_000))
        }
        guard let made = probe(staging) else {
            throw Failure(message: "ffmpeg wrote something that is not a readable video; nothing was kept.")
        }
        guard made.videoCodec == "h264", made.audioCodec == "aac", made.width == size.0, made.height == size.1
        else {
            throw Failure(
                message:
                    "ffmpeg wrote \(made.videoCodec)/\(made.audioCodec ?? "no audio") at \(made.width)x\(made.height), not H.264/AAC at \(size.0)x\(size.1); nothing was kept."
            )
        }
        guard abs(made.seconds - expected) <= 0.1 * Double(inputs.count) else {
            throw Failure(
                message:
                    "The film is \(String(format: "%.2f", made.seconds)) s long, not the \(String(format: "%.2f", expected)) s its shots add up to; nothing was kept."
            )
        }
        var attributes = stat()
        let bytes = stat(staging, &attributes) == 0 ? Int64(attributes.st_size) : 0
        let previews = LocalPreviews(ffmpeg: config.ffmpegPath)
        var poster = false
        var sheet = false
        // A long film's sheet is made from its key frames (every shot starts with one); if that leaves too few,
        // from every frame.
        let attempts: [(MediaAsset, String, Bool)] =
            [(.thumbnail, posterFile, false)]
            + (made.seconds > 30 ? [(.spritesheet, sheetFile, true)] : [])
            + [(.spritesheet, sheetFile, false)]
        for (asset, file, keyframesOnly) in attempts where asset == .thumbnail ? !poster : !sheet {
            do {
                _ = try previews.make(
                    asset, video: staging, output: file, seconds: made.seconds, frame: (made.width, made.height),
                    keyframesOnly: keyframesOnly)
                if asset == .thumbnail { poster = true } else { sheet = true }
            } catch {
                Log.error("film \(film.id): no \(asset.fileName)\(keyframesOnly ? " from key frames" : ""): \(error)")
            }
        }
        // Into the store: the video first, then its previews; the row names them once all are in.
        let store = config.media.current
        let directory = Films.directory(film.id)
        let videoPath = directory + "/film.mp4", posterPath = directory + "/poster.webp"
        let sheetPath = directory + "/spritesheet.jpg"
        do throws(MediaStoreError) {
            try store.put(file: staging, key: videoPath, contentType: "video/mp4")
            if poster { try store.put(file: posterFile, key: posterPath, contentType: "image/webp") }
            if sheet { try store.put(file: sheetFile, key: sheetPath, contentType: "image/jpeg") }
        } catch {
            Log.error("film \(film.id): the media store did not take it (\(error.code ?? "error")): \(error)")
            throw Failure(message: "The media store did not take the film; nothing was kept. Try again.")
        }
        return Films.Made(
            width: made.width, height: made.height, frameRate: rate, seconds: made.seconds, bytes: bytes,
            reencoded: !copy, videoPath: videoPath, posterPath: poster ? posterPath : nil,
            spritesheetPath: sheet ? sheetPath : nil)
    }

    /// One filter graph: every input scaled into the frame and padded (never stretched), square pixels, the
    /// film's frame rate and pixel format; its audio resampled (or silence when it has none) and cut to the
    /// video's length; then joined by cuts (concat) or crossfades (xfade/acrossfade), encoded once.
    static func normaliseArguments(
        inputs: [(path: String, probe: Probe)], width: Int, height: Int, rate: String, crossfade: Double
    ) -> [String] {
        var args: [String] = []
        var graph: [String] = []
        for (i, input) in inputs.enumerated() {
            args += ["-protocol_whitelist", "file", "-i", "file:" + input.path]
            let d = String(format: "%.6f", input.probe.seconds)
            graph.append(
                "[\(i):v:0]scale=\(width):\(height):force_original_aspect_ratio=decrease,pad=\(width):\(height):(ow-iw)/2:(oh-ih)/2,setsar=1,fps=\(rate),format=yuv420p,trim=duration=\(d),setpts=PTS-STARTPTS[v\(i)]"
            )
            let audio =
                input.probe.audioCodec != nil
                ? "[\(i):a:0]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,apad,atrim=duration=\(d),asetpts=PTS-STARTPTS[a\(i)]"
                : "anullsrc=r=48000:cl=stereo,atrim=duration=\(d),aformat=sample_fmts=fltp[a\(i)]"
            graph.append(audio)
        }
        if crossfade > 0, inputs.count > 1 {
            var offset = 0.0
            var v = "v0", a = "a0"
            for i in 1..<inputs.count {
                offset += inputs[i - 1].probe.seconds - crossfade
                let nv = i == inputs.count - 1 ? "v" : "vx\(i)", na = i == inputs.count - 1 ? "a" : "ax\(i)"
                graph.append(
                    "[\(v)][v\(i)]xfade=transition=fade:duration=\(String(format: "%.3f", crossfade)):offset=\(String(format: "%.6f", offset))[\(nv)]"
                )
                graph.append("[\(a)][a\(i)]acrossfade=d=\(String(format: "%.3f", crossfade))[\(na)]")
                v = nv
                a = na
            }
        } else {
            graph.append(
                (0..<inputs.count).map { "[v\($0)][a\($0)]" }.joined() + "concat=n=\(inputs.count):v=1:a=1[v][a]")
        }
        return args + [
            "-filter_complex", graph.joined(separator: ";"), "-map", "[v]", "-map", "[a]",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-ar", "48000",
        ]
    }
}
