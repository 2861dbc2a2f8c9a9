// The typed vocabulary of a generation, mirroring the CHECK constraints in Migrations/: what users see
// (`GenerationStatus`) and where the worker's state machine stands (`GenerationPhase`). Both travel to
// PostgreSQL as their raw values, so SQL never holds a status the compiler has not seen.

import Postgres

package enum GenerationStatus: String, Sendable, SQLValue {
    case queued
    case inProgress = "in_progress"
    case completed
    case failed

    package var sqlText: String { rawValue }
    package var isActive: Bool { self == .queued || self == .inProgress }

    package var label: String {
        switch self {
        case .queued: "Queued"
        case .inProgress: "Generating"
        case .completed: "Completed"
        case .failed: "Failed"
        }
    }
}

package enum GenerationPhase: String, Sendable, SQLValue {
    /// Not sent yet: queued locally (a click, the in-flight limit, a 429, a paused provider).
    case waiting
    /// The create is (or was) in flight: the intent, written before calling.
    case submitting
    /// The provider has the job; being polled.
    case submitted
    /// The provider finished; the media is being fetched and checked.
    case downloading
    /// Completed or failed, for good.
    case done
    /// A create whose answer was lost and whose job the provider's list could not show: failed and
    /// possibly billed, never resent; an operator may adopt the job.
    case unconfirmed

    package var sqlText: String { rawValue }
}

/// Error codes PromptReel itself gives a generation (providers' own codes are kept as they come).
/// Why a generation failed: PromptReel's own reasons, or the provider's code as it sent it.
package enum GenerationErrorCode: Sendable, Hashable, SQLValue, ExpressibleByStringLiteral, CustomStringConvertible {
    case timeout
    case unconfirmed
    case downloadFailed
    case cancelled
    /// The provider no longer knows the job.
    case vanished
    /// A remix the provider refused because its copy of the original had expired (nothing billed).
    case sourceExpired
    /// The fitted reference frame recorded at the click could not be read: nothing was sent.
    case referenceImageMissing
    /// A continuity shot whose previous shot did not complete: cancelled before it was sent.
    case chainBroken
    /// A code the provider sent (`moderation_blocked`, `content_filter`, `insufficient_quota`…), or the class
    /// of a refusal without one (`bad_key`): kept as it came.
    case provider(String)

    private static let own: [(GenerationErrorCode, String)] = [
        (.timeout, "timeout"), (.unconfirmed, "unconfirmed"), (.downloadFailed, "download_failed"),
        (.cancelled, "cancelled"), (.vanished, "not_found"), (.sourceExpired, "source_expired"),
        (.referenceImageMissing, "reference_image_missing"), (.chainBroken, "chain_broken"),
    ]

    /// The stored word (`error_code`): one of PromptReel's own, or else the provider's.
    package init(rawValue: String) {
        self = Self.own.first { $0.1 == rawValue }?.0 ?? .provider(rawValue)
    }

    package init(stringLiteral value: String) { self.init(rawValue: value) }

    package var rawValue: String {
        if case let .provider(code) = self { return code }
        return Self.own.first { $0.0 == self }?.1 ?? ""
    }

    package var description: String { rawValue }
    package var sqlText: String { rawValue }
}

extension USD: SQLValue {
    package var sqlText: String { decimalText }
}
