// A provider's download on its way into the media store, in the store's scratch directory: written as
// `<id>-<file>.download`, renamed `<id>-<file>.<sha256>.checked` once its bytes are checked, and removed once the
// store has it and the row names it. A checked file survives a store that is down: the next pass stores it
// without downloading again (the provider's copy may expire meanwhile; the video is billed either way).

import Glibc

package struct StagedMedia {
    package let scratch: String
    package let generation: ID<Generation>

    package struct Checked: Sendable {
        package let path: String
        package let bytes: Int
        package let sha256: String
    }

    package init(scratch: String, generation: ID<Generation>) {
        self.scratch = scratch
        self.generation = generation
        MediaFiles.makeFolder(scratch)
    }

    private func stem(_ asset: MediaAsset) -> String { "\(generation)-\(asset.fileName)" }

    package func downloading(_ asset: MediaAsset) -> String { scratch + "/" + stem(asset) + ".download" }

    /// The downloaded file, renamed to say it passed its checks; nil when the rename failed.
    package func markChecked(_ asset: MediaAsset, bytes: Int, sha256: String) -> Checked? {
        let path = scratch + "/" + stem(asset) + "." + sha256 + ".checked"
        guard rename(downloading(asset), path) == 0 else { return nil }
        return Checked(path: path, bytes: bytes, sha256: sha256)
    }

    /// A file an earlier pass checked but could not store.
    package func checked(_ asset: MediaAsset) -> Checked? {
        let prefix = stem(asset) + "."
        guard let folder = opendir(scratch) else { return nil }
        defer { closedir(folder) }
        while let entry = readdir(folder) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasPrefix(prefix), name.hasSuffix(".checked") else { continue }
            let sha = String(name.dropFirst(prefix.count).dropLast(".checked".count))
            var info = stat()
            guard sha.count == 64, sha.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
                stat(scratch + "/" + name, &info) == 0
            else { continue }
            return Checked(path: scratch + "/" + name, bytes: Int(info.st_size), sha256: sha)
        }
        return nil
    }

    /// The generation a staged file belongs to, from its name (the sweep keeps a checked file while its
    /// generation is still being stored).
    package static func generation(ofStagedFile name: String) -> Int64? {
        guard name.hasSuffix(".checked"), let dash = name.firstIndex(of: "-") else { return nil }
        return Int64(name[..<dash])
    }
}
