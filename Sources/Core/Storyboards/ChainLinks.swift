// Continuity between shots (Migrations/0029): a chained generation waits until the one it follows has
// finished; then a worker either attaches that video's last frame as its reference image and makes it
// due, or — when the one it follows failed — cancels it before anything is sent. The SQL of both sides.

import Formats
import Foundation
import Images
package import Postgres

package struct ChainLinks {
    package let db: Connection

    package init(db: Connection) { self.db = db }

    /// A waiting chained generation whose predecessor has finished, with that predecessor; locked for this
    /// process (the generation's advisory lock: `GenerationStore.unlock` when done). Nil when none is due.
    package func claim() throws -> (generation: Generation, previous: Generation)? {
        let store = GenerationStore(db: db)
        return try db.transaction {
            let candidates = try db.execute(
                """
                SELECT g.id FROM generations g JOIN generations p ON p.id = g.chain_previous_id
                WHERE NOT g.chain_ready AND g.phase = \(GenerationPhase.waiting) AND g.status = \(GenerationStatus.queued)
                  AND p.status IN (\(GenerationStatus.completed), \(GenerationStatus.failed))
                  AND (g.chain_retry_at IS NULL OR g.chain_retry_at <= now())
                ORDER BY g.id LIMIT 8 FOR UPDATE OF g SKIP LOCKED
                """
            ).map { $0.id("id") as ID<Generation> }
            for id in candidates {
                guard try db.execute("SELECT pg_try_advisory_lock(\(GenerationStore.lockKey(id))) AS ok")[0].bool("ok")
                else { continue }
                if let generation = try store.byID(id), !generation.chainReady, generation.status == .queued,
                    let previousID = generation.chainPreviousID, let previous = try store.byID(previousID)
                {
                    return (generation, previous)
                }
                store.unlock(id)
            }
            return nil
        }
    }

    /// Cancels a chained generation before it was sent (nothing sent, $0), saying why; the shots after it
    /// follow in turn.
    package func breakChain(_ id: ID<Generation>, message: String) throws {
        try db.transaction {
            try db.execute(
                """
                UPDATE generations SET status = \(GenerationStatus.failed), phase = \(GenerationPhase.done),
                       error_code = \(GenerationErrorCode.chainBroken), error_message = \(message), actual_cost = 0,
                       completed_at = now()
                WHERE id = \(id) AND phase = \(GenerationPhase.waiting) AND status = \(GenerationStatus.queued)
                """)
            try NotifyChannel.generations.notify(db)
        }
    }

    /// This worker could not take the frame for a reason of its own (the video is fine): try again later
    /// rather than break the chain.
    package func retryLater(_ id: ID<Generation>, seconds: Double) throws {
        try db.execute(
            "UPDATE generations SET chain_retry_at = now() + make_interval(secs => \(seconds)) WHERE id = \(id) AND NOT chain_ready"
        )
    }

    /// Records the frame it starts from and makes it due for sending.
    package func attach(_ id: ID<Generation>, reference: GenerationReference) throws {
        try db.transaction {
            try db.execute(
                """
                UPDATE generations SET reference_path = \(reference.originalPath), reference_content_type = \(reference.format.contentType),
                       reference_width = \(reference.width), reference_height = \(reference.height), reference_sha256 = \(reference.sha256),
                       reference_fit = \(reference.fit.rawValue), reference_fitted_path = \(reference.fittedPath),
                       chain_ready = true, next_attempt_at = now()
                WHERE id = \(id) AND NOT chain_ready AND phase = \(GenerationPhase.waiting)
                """)
            try NotifyChannel.generations.notify(db)
        }
    }

    /// Why a chained shot was not sent, in the user's words.
    package static func brokenMessage(previous: Generation, shot: Int?) -> String {
        let which = shot.map { "shot \($0)" } ?? "the shot before"
        let why =
            previous.errorCode == .cancelled || previous.errorCode == .chainBroken
            ? "was cancelled or not sent"
            : previous.possiblyBilled ? "ended without a confirmed result" : "failed"
        return
            "Not sent: \(which) \(why), so there is no last frame to start from. Nothing was charged. Use “Continue the chain” to go on from the first shot without a completed take."
    }
}

extension ReferenceImages {
    /// A video's last frame (PNG bytes PromptReel decoded itself, at most a video frame) kept by its
    /// content like uploads, and fitted (cropped) to `size` for a generation that starts from it. In the
    /// worker's process: the frame is not user input, so it needs no decoder child.
    package static func frameReference(png: [UInt8], size: String, store: any MediaStore) throws
        -> GenerationReference
    {
        let info = try Images.validate(png)
        let dims = size.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2, info.format == .png else {
            throw InvalidInput(field: nil, "The frame or the size \(size) is not usable.", code: "invalid_size")
        }
        let sha = Crypto.hex(Crypto.sha256(png))
        let original = sharedPath(sha256: sha, suffix: ".png")
        if try !store.refresh(original) {
            try store.put(bytes: png, key: original, contentType: ImageFormat.png.contentType)
        }
        let fitted = sharedPath(sha256: sha, suffix: "-\(dims[0])x\(dims[1])-\(FitMode.crop.rawValue).png")
        if try !store.refresh(fitted) {
            try store.put(
                bytes: try Images.fit(png, width: dims[0], height: dims[1], mode: .crop), key: fitted,
                contentType: ImageFormat.png.contentType)
        }
        return GenerationReference(
            originalPath: original, format: .png, width: info.width, height: info.height, sha256: sha, fit: .crop,
            fittedPath: fitted)
    }
}
