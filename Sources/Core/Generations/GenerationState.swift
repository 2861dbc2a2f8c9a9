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
package enum GenerationErrorCode: String, Sendable, SQLValue {
    case timeout
    case unconfirmed
    case downloadFailed = "download_failed"
    case cancelled
    case vanished = "not_found"
    /// A remix the provider refused because its copy of the original had expired (nothing billed).
    case sourceExpired = "source_expired"
    /// The fitted reference frame recorded at the click could not be read: nothing was sent.
    case referenceImageMissing = "reference_image_missing"

    package var sqlText: String { rawValue }
}

extension USD: SQLValue {
    package var sqlText: String { decimalText }
}
