// Operator actions on generations (the `promptreel generations` commands).

public import Postgres

public enum GenerationAdmin {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Attaches the job an operator found at the provider to an `unconfirmed` generation; the workers
    /// then poll and download it as usual. Refused from any other phase, and while the video has
    /// another active generation.
    public static func adopt(generationID: Int64, providerJobID: String, db: Connection) throws(Failure) {
        let job = providerJobID.trimmingSpaces
        guard !job.isEmpty, job.utf8.count <= 2048 else {
            throw Failure(description: "give the provider's job id (at most 2048 bytes)")
        }
        do {
            try GenerationStore(db: db).adopt(ID(generationID), providerJobID: job)
        } catch {
            let reason =
                switch error {
                case .noSuchGeneration: "no generation \(generationID)"
                case let .notUnconfirmed(phase):
                    "generation \(generationID) is in phase \(phase.rawValue); only an unconfirmed generation can be adopted"
                case .videoHasActiveGeneration:
                    "the video of generation \(generationID) has another queued or in-progress generation"
                case .jobAlreadyAttached: "job \(job) is already attached to another generation"
                case let .database(detail): "the database refused: \(detail)"
                }
            throw Failure(description: reason)
        }
    }
}

extension String {
    package var trimmingSpaces: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
