// How much a delete takes, in words: the pages' side of `DeletionSummary`.

import Core

extension DeletionSummary {
    /// "3 generations, 41 MB of media" (with "2 videos, " first when `withVideos`).
    func sentence(withVideos: Bool) -> String {
        func count(_ n: Int64, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        var parts = withVideos ? [count(videos, "video")] : []
        parts.append(count(generations, "generation"))
        parts.append(mediaBytes > 0 ? "\(Formatting.bytes(mediaBytes)) of media" : "no media files")
        return parts.joined(separator: ", ")
    }
}
