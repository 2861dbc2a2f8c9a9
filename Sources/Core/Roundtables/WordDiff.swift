// A word diff of two prompts (longest common subsequence over words), for the roundtable's proposal
// beside the current final prompt. Bounded: past a few million cells it shows a plain replace.

package enum WordDiff {
    package enum Piece: Equatable, Sendable {
        case same(String), removed(String), added(String)
    }

    package static let maxCells = 4_000_000

    package static func diff(_ old: String, _ new: String) -> [Piece] {
        let a = old.split(whereSeparator: \.isWhitespace).map(String.init)
        let b = new.split(whereSeparator: \.isWhitespace).map(String.init)
        guard !a.isEmpty || !b.isEmpty else { return [] }
        guard a.count * b.count <= maxCells else { return a.map(Piece.removed) + b.map(Piece.added) }
        // lengths[i][j]: the LCS of a[i...] and b[j...], in one flat array.
        let width = b.count + 1
        var lengths = [Int32](repeating: 0, count: (a.count + 1) * width)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lengths[i * width + j] =
                    a[i] == b[j]
                    ? lengths[(i + 1) * width + j + 1] + 1
                    : max(lengths[(i + 1) * width + j], lengths[i * width + j + 1])
            }
        }
        var pieces: [Piece] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                pieces.append(.same(a[i]))
                i += 1
                j += 1
            } else if i < a.count, j == b.count || lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
                pieces.append(.removed(a[i]))
                i += 1  // on a tie the old word goes first, as diffs read
            } else {
                pieces.append(.added(b[j]))
                j += 1
            }
        }
        return pieces
    }

}
