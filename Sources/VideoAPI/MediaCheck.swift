// What a downloaded body really is, judged by its bytes, never by its label: gateways send JSON errors
// labelled video/mp4, and the MP4 itself for a thumbnail or spritesheet.

import Formats

public enum MediaCheck {
    public enum Verdict: Sendable, Equatable {
        /// The bytes are what was asked for.
        case valid
        /// Not the asset (JSON, HTML, empty, truncated): the provider may not be ready yet.
        case notReady(String)
        /// The body names a definite failure (content filtered, job failed): it will never come.
        case failed(code: String, message: String)
    }

    /// The video must be an MP4 (an `ftyp` box at offset 4); the thumbnail a WebP (`RIFF....WEBP`);
    /// the spritesheet a JPEG (`FF D8 FF`). A body shorter than its Content-Length is truncated.
    public static func verdict(_ variant: ContentVariant, _ download: Download) -> Verdict {
        let head = download.head
        if let announced = download.announcedLength, announced != download.bytes {
            return .notReady("truncated: \(download.bytes) of \(announced) bytes")
        }
        let matches: Bool =
            switch variant {
            case .video: head.count >= 8 && Array(head[4..<8]) == Array("ftyp".utf8)
            case .thumbnail:
                head.count >= 12 && Array(head[0..<4]) == Array("RIFF".utf8)
                    && Array(head[8..<12]) == Array("WEBP".utf8)
            case .spritesheet: head.count >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF
            }
        if matches { return .valid }
        if let failure = definiteFailure(head) { return failure }
        return .notReady(describe(head))
    }

    /// Codes and states that mean the video will never come (not "try later").
    static let failureCodes: Set<String> = [
        "content_filter", "content_filtered", "moderation_blocked", "content_policy_violation", "safety_violation",
        "failed", "generation_failed", "video_generation_failed",
    ]

    /// A JSON body whose `error.code` or `status` says the job failed for good.
    static func definiteFailure(_ head: [UInt8]) -> Verdict? {
        guard let json = try? JSONParser.parse(head).root, case .object = json else { return nil }
        let error = json["error"]
        let code = error?["code"]?.stringValue ?? error?["type"]?.stringValue
        let message = error?["message"]?.stringValue ?? json["message"]?.stringValue
        if let code, failureCodes.contains(code.lowercased()) {
            return .failed(code: code, message: message ?? "The provider reported the video as \(code).")
        }
        if let status = json["status"]?.stringValue, VideoStatus(status) == .failed {
            return .failed(code: status, message: message ?? "The provider reported the video as \(status).")
        }
        return nil
    }

    /// A short, log-safe description of what came instead of the asset.
    static func describe(_ head: [UInt8]) -> String {
        if head.isEmpty { return "an empty body" }
        if let json = try? JSONParser.parse(head).root {
            return "JSON instead of media: \(json["error"]?["message"]?.stringValue ?? "no message")"
        }
        return "\(head.count > 200 ? "200+" : String(head.count)) bytes that are not the expected format"
    }
}
