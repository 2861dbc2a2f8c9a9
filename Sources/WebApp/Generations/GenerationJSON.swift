// The JSON wire format of generations and their media URLs (printed by the route table): the API's,
// beside its handlers, never on the domain type.

import Core
import Formats
import Web

extension Generation {
    var referenceURL: String? {
        reference.map { Route.media(generation: id, file: ReferenceFile.original($0.format).fileName).path }
    }

    var referenceFittedURL: String? {
        reference.map { _ in Route.media(generation: id, file: ReferenceFile.fitted.fileName).path }
    }

    var referenceJSON: JSON {
        guard let reference, let original = referenceURL, let fitted = referenceFittedURL else { return .null }
        return .object([
            ("url", .string(original)), ("fittedUrl", .string(fitted)), ("fit", .string(reference.fit.rawValue)),
            ("contentType", .string(reference.format.contentType)), ("width", .int(reference.width)),
            ("height", .int(reference.height)), ("fittedSize", .string(size)), ("sha256", .string(reference.sha256)),
        ])
    }

    static func mediaURL(_ id: ID<Generation>, _ asset: MediaAsset) -> String {
        Route.media(generation: id, file: asset.fileName).path
    }

    var videoURL: String? { status == .completed && videoPath != nil ? Generation.mediaURL(id, .video) : nil }

    var thumbnailURL: String? { thumbnailPath != nil ? Generation.mediaURL(id, .thumbnail) : nil }

    var spritesheetURL: String? { spritesheetPath != nil ? Generation.mediaURL(id, .spritesheet) : nil }

    var json: JSON {
        var pairs: [(String, JSON)] = [
            ("id", .id(id)), ("videoId", videoID.map(JSON.id) ?? .null), ("jobId", .string(jobID)),
            ("status", .string(status.rawValue)),
            ("phase", .string(phase.rawValue)), ("progress", .int(progress)), ("progressKnown", .bool(progressKnown)),
            ("message", .string(statusMessage)), ("settings", settings.document),
            ("model", .string(model)), ("seconds", .string(String(seconds))), ("size", .string(size)),
            ("estimatedCost", .number(estimatedCost.jsonText)), ("cost", .number(cost.jsonText)),
            ("actualCost", actualCost.map { JSON.number($0.jsonText) } ?? .null),
            ("possiblyBilled", .bool(possiblyBilled)),
            ("error", .optional(errorMessage)), ("errorCode", .optional(errorCode?.rawValue)),
            ("providerJobId", .optional(providerJobID)), ("providerRequestId", .optional(providerRequestID)),
            ("providerStatus", .optional(providerStatus)),
            ("createdAt", .string(createdAt.iso)), ("submittedAt", .optional(submittedAt?.iso)),
            ("startedAt", .optional(startedAt?.iso)),
            ("completedAt", .optional(completedAt?.iso)), ("lastCheckedAt", .optional(lastCheckedAt?.iso)),
            ("elapsedSeconds", .int(elapsedSeconds)),
            ("videoUrl", .optional(videoURL)), ("thumbnailUrl", .optional(thumbnailURL)),
            ("spritesheetUrl", .optional(spritesheetURL)),
            ("thumbnailSource", .optional(thumbnailSource?.rawValue)),
            ("spritesheetSource", .optional(spritesheetSource?.rawValue)),
            ("deliveredSeconds", deliveredSeconds.map { JSON.number($0) } ?? .null),
            (
                "deliveredSize",
                deliveredWidth.flatMap { w in deliveredHeight.map { JSON.string("\(w)x\($0)") } } ?? .null
            ),
            ("deliveryNote", .optional(deliveryDifference)), ("referenceImage", referenceJSON),
            ("batchId", batchID.map { JSON.int($0) } ?? .null),
            ("remixedFromGenerationId", remixedFromGenerationID.map(JSON.id) ?? .null),
            ("chainedFromGenerationId", chainPreviousID.map(JSON.id) ?? .null),
            ("providerExpiresAt", .optional(providerExpiresAt?.iso)),
            ("gpuSeconds", gpuSeconds.map { JSON.number($0) } ?? .null),
            ("usdPerGpuSecond", usdPerGPUSecond.map { JSON.number($0) } ?? .null),
        ]
        pairs.append(("prompt", .string(prompt)))  // what it was made with, whatever the video's prompt is now
        if videoID == nil { pairs += [("videoDeleted", .bool(true)), ("videoTitle", .optional(deletedVideoTitle))] }
        if let videoBytes { pairs.append(("videoBytes", .int(videoBytes))) }
        if let videoSHA256 { pairs.append(("videoSha256", .string(videoSHA256))) }
        return .object(pairs)
    }

    /// The status contract of GET /api/videos/{id}/sora-status. `estimate` is the model's usual time
    /// to finish, for jobs whose provider sends no progress.
    func statusJSON(estimate: DurationEstimate?) -> JSON {
        switch status {
        case .completed:
            .object([
                ("status", .string(status.rawValue)), ("videoUrl", .optional(videoURL)),
                ("cost", .number(cost.jsonText)),
                ("completedAt", .optional(completedAt?.iso)), ("thumbnailUrl", .optional(thumbnailURL)),
                ("generationId", .id(id)),
                ("deliveryNote", .optional(deliveryDifference)),
            ])
        case .failed:
            .object([
                ("status", .string(status.rawValue)), ("error", .string(errorMessage ?? "The generation failed.")),
                ("errorCode", .optional(errorCode?.rawValue)), ("completedAt", .optional(completedAt?.iso)),
                ("cost", .number(cost.jsonText)),
                ("possiblyBilled", .bool(possiblyBilled)), ("generationId", .id(id)),
            ])
        case .queued, .inProgress:
            .object([
                ("status", .string(status.rawValue)), ("message", .string(progressMessage(estimate))),
                ("progress", .int(progress)),
                ("progressKnown", .bool(progressKnown)), ("elapsedSeconds", .int(elapsedSeconds)),
                ("estimatedSeconds", estimate?.medianSeconds.map { JSON.int($0) } ?? .null),
                ("estimatedCost", .number(estimatedCost.jsonText)), ("generationId", .id(id)),
                ("jobId", .string(jobID)),
            ])
        }
    }

    /// One take in `sora-status`'s `takes`.
    var takeJSON: JSON {
        .object([
            ("generationId", .id(id)), ("jobId", .string(jobID)), ("status", .string(status.rawValue)),
            ("progress", .int(progress)), ("progressKnown", .bool(progressKnown)),
            ("videoUrl", .optional(videoURL)), ("thumbnailUrl", .optional(thumbnailURL)),
            ("cost", .number(cost.jsonText)), ("possiblyBilled", .bool(possiblyBilled)),
            ("error", status == .failed ? .string(errorMessage ?? "The generation failed.") : .null),
            ("errorCode", .optional(errorCode?.rawValue)),
            ("remixedFromGenerationId", remixedFromGenerationID.map(JSON.id) ?? .null),
        ])
    }

    /// The status message, plus elapsed time and the usual duration when the provider sends no progress.
    func progressMessage(_ estimate: DurationEstimate?) -> String {
        guard isActive, !progressKnown, phase == .submitted || phase == .downloading else { return statusMessage }
        return statusMessage + " Running for " + Formatting.duration(seconds: elapsedSeconds) + "; "
            + (estimate?.sentence ?? DurationEstimate.noHistory)
    }
}

extension DurationEstimate {
    var sentence: String {
        guard let medianSeconds, samples > 0 else { return DurationEstimate.noHistory }
        return
            "\(model) usually takes about \(Formatting.duration(seconds: medianSeconds)) (median of \(samples) finished)."
    }
}
