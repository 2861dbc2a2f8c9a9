// Continuity between shots, the worker's side: once the generation a chained shot follows has finished,
// take the exact last frame of its stored video (ffmpeg, decoded from the file, never a request thread),
// fit it to this generation's size as reference images are fitted, and record it as this generation's
// reference so the next submit sends it as `input_reference`; or, when the one it follows did not
// complete, cancel this one before anything is sent.

import Core
import Foundation
import Glibc
import Postgres
import Telemetry

extension GenerationEngine {
    /// Links one due chained shot; true when it did something.
    func linkChainOne() throws -> Bool {
        let links = ChainLinks(db: db)
        guard let (g, previous) = try links.claim() else { return false }
        defer { store.unlock(g.id) }
        guard previous.status == .completed, let video = previous.videoPath else {
            try links.breakChain(g.id, message: ChainLinks.brokenMessage(previous: previous, shot: g.chainFromShot))
            return true
        }
        guard let source = config.media.store(previous.mediaStore), let target = config.media.store(g.mediaStore) else {
            // Another host's store: a worker configured for it links the shot.
            Log.error("generation \(g.id): its media store is not configured here; trying again in 60 s")
            try links.retryLater(g.id, seconds: 60)
            return true
        }
        let png: [UInt8]
        do {
            png = try lastFrame(of: video, in: source, for: g.id)
        } catch let failure as FrameFailure where !failure.videoUnreadable {
            // ffmpeg missing or stuck on this host, or the store not answering: nothing is wrong with the shot;
            // another pass tries again.
            Log.error("generation \(g.id): no last frame yet (\(failure)); trying again in 30 s")
            try links.retryLater(g.id, seconds: 30)
            return true
        } catch {
            Log.error("generation \(g.id): the video of generation \(previous.id) gives no last frame: \(error)")
            try links.breakChain(
                g.id,
                message:
                    "Not sent: the last frame of \(g.chainFromShot.map { "shot \($0)" } ?? "the shot before") could not be read from its video. Nothing was charged."
            )
            return true
        }
        do {
            try links.attach(
                g.id,
                reference: try ReferenceImages.frameReference(png: png, size: g.size, store: target))
            Log.info("generation \(g.id): starts from the last frame of generation \(previous.id)")
        } catch {
            // Keeping or fitting the frame failed here (a full disk, the database): try again later.
            Log.error("generation \(g.id): the last frame could not be kept (\(error)); trying again in 30 s")
            try links.retryLater(g.id, seconds: 30)
        }
        return true
    }

    struct FrameFailure: Error, CustomStringConvertible {
        let description: String
        /// ffmpeg ran and could not read the video (as opposed to not running at all, or not in time).
        var videoUnreadable = false
    }

    /// The last decoded frame of a stored video, as PNG bytes: ffmpeg decodes the final seconds and keeps
    /// overwriting one image (`-update 1`), so what remains is the last frame the file holds.
    func lastFrame(of video: String, in media: any MediaStore, for id: ID<Generation>) throws -> [UInt8] {
        MediaFiles.makeFolder(media.scratchDirectory)
        let output = media.scratchDirectory + "/chain-\(id)-\(getpid()).png"
        defer { unlink(output) }
        let outcome: Subprocess.Outcome
        do {
            outcome = try media.withLocalFile(video) { file in
                Subprocess.run(
                    config.ffmpegPath,
                    [
                        "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-protocol_whitelist", "file",
                        "-sseof", "-3", "-i", "file:" + file, "-map", "0:v:0", "-an", "-sn", "-dn", "-update", "1",
                        "-fs", String(64 << 20), "-c:v", "png", "-f", "image2", "file:" + output,
                    ], timeoutSeconds: 60)
            }
        } catch let error as MediaStoreError {
            throw FrameFailure(description: "the stored video: \(error)", videoUnreadable: error.kind == .notFound)
        }
        if let failure = outcome.failure(config.ffmpegPath, timeoutSeconds: 60) {
            if case .exited = outcome { throw FrameFailure(description: failure, videoUnreadable: true) }
            throw FrameFailure(description: failure)
        }
        do { return try MediaFiles.read(file: output, maxBytes: 64 << 20) } catch {
            throw FrameFailure(description: "ffmpeg wrote no frame: \(error)", videoUnreadable: true)
        }
    }
}
