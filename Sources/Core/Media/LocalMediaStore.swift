// The media store on local disk: `<directory>/<key>`, files renamed into place whole, served by nginx from the
// internal `/_media/` location. Its scratch directory (`tmp/`) is inside it, so a staged file is stored by a rename.

import Foundation
import Glibc

package struct LocalMediaStore: MediaStore {
    package let directory: String
    package let name: MediaStoreName

    /// `name`: what rows call it (`local`, the media directory, unless an operator or a test names another).
    package init(directory: String, name: MediaStoreName = .local) {
        self.directory = directory
        self.name = name
    }

    package var scratchDirectory: String { directory + "/" + Self.scratchFolder }
    /// Not media: staging files, swept when an hour old.
    package static let scratchFolder = "tmp"
    package var summary: String { "the directory \(directory)" }

    private func path(_ key: String) -> String { directory + "/" + key }

    private static func failure(_ what: String) -> MediaStoreError {
        let code = errno
        return MediaStoreError(
            code == ENOENT ? .notFound : code == ENOSPC || code == EACCES || code == EROFS ? .refused : .transient,
            code: String(cString: strerror(code)), "\(what): errno \(code)")
    }

    package func put(file: String, key: String, contentType: String) throws(MediaStoreError) {
        do { try MediaFiles.place(file, at: key, in: directory) } catch { throw Self.failure("cannot store \(key)") }
    }

    package func put(copyOf file: String, key: String, contentType: String) throws(MediaStoreError) {
        // Copied beside its place first, so a reader never sees half a file.
        MediaFiles.makeFolder(scratchDirectory)
        let staged = scratchDirectory + "/copy-\(getpid())-\(UInt32.random(in: .min ... .max))"
        defer { unlink(staged) }
        do { try FileManager.default.copyItem(atPath: file, toPath: staged) } catch {
            throw Self.failure("cannot copy \(file)")
        }
        try put(file: staged, key: key, contentType: contentType)
    }

    package func put(bytes: [UInt8], key: String, contentType: String) throws(MediaStoreError) {
        do { try MediaFiles.write(bytes, to: key, in: directory) } catch { throw Self.failure("cannot write \(key)") }
    }

    package func refresh(_ key: String) throws(MediaStoreError) -> Bool {
        MediaFiles.touch(key, in: directory)
    }

    package func read(_ key: String, maxBytes: Int) throws(MediaStoreError) -> [UInt8] {
        do { return try MediaFiles.read(key, in: directory, maxBytes: maxBytes) } catch {
            throw MediaStoreError(access(path(key), F_OK) == 0 ? .refused : .notFound, "\(error)")
        }
    }

    package func withLocalFile<T>(_ key: String, _ body: (String) throws -> T) throws -> T {
        guard access(path(key), R_OK) == 0 else { throw Self.failure("cannot read \(key)") }
        return try body(path(key))
    }

    package func remove(_ key: String) throws(MediaStoreError) {
        guard unlink(path(key)) == 0 || errno == ENOENT else { throw Self.failure("cannot remove \(key)") }
        // Folders emptied by the removal go too (rmdir refuses a folder that is not empty).
        var folder = key.split(separator: "/").dropLast()
        while !folder.isEmpty, rmdir(path(folder.joined(separator: "/"))) == 0 { folder = folder.dropLast() }
    }

    package func list(prefix: String) throws(MediaStoreError) -> [StoredObject] {
        var objects: [StoredObject] = []
        // The folder the prefix is in, walked from there (`12/` walks `12`; `references/shared/a` walks `references/shared`).
        let start = prefix.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        walk(start, prefix: prefix, into: &objects)
        return objects.sorted { $0.key < $1.key }
    }

    private func walk(_ folder: String, prefix: String, into objects: inout [StoredObject]) {
        guard folder != Self.scratchFolder else { return }
        let full = folder.isEmpty ? directory : path(folder)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: full) else { return }
        for name in names {
            let key = folder.isEmpty ? name : folder + "/" + name
            var info = stat()
            guard lstat(path(key), &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR {
                // Only folders that can hold keys with the prefix.
                if key.hasPrefix(prefix) || prefix.hasPrefix(key + "/") { walk(key, prefix: prefix, into: &objects) }
            } else if info.st_mode & S_IFMT == S_IFREG, key.hasPrefix(prefix) {
                objects.append(
                    StoredObject(
                        key: key, bytes: Int64(info.st_size),
                        modified: Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec))))
            }
        }
    }

    package func delivery(_ key: String, audience: MediaAudience, disposition: String?) -> MediaDelivery {
        .internalRedirect((audience == .sharedLink ? "/_shared-media/" : "/_media/") + key)
    }
}
