// Every byte PromptReel keeps (provider videos, posters and spritesheets, reference images and the frames fitted
// from them, films) goes through a `MediaStore`: the local directory (`LocalMediaStore`, the default) or an
// S3-compatible bucket (`ObjectStore.S3MediaStore`, which needs libcurl and is supplied by the executable, so
// nothing on the request side can reach an HTTP client). Keys are relative paths PromptReel builds
// (`<generation id>/video.mp4`, `references/shared/ab/<sha256>.png`, `films/<id>/film.mp4`), never user input.
// Each media row records the store that holds its files (`media_store`); new media goes to the configured store,
// reads follow the row.

package import Foundation

/// A store as a row names it: `local` (the media directory of the process reading it) or `s3://bucket/prefix`.
package struct MediaStoreName: Hashable, Sendable, CustomStringConvertible {
    package let rawValue: String
    package init(_ rawValue: String) { self.rawValue = rawValue }
    package var description: String { rawValue }
    package static let local = MediaStoreName("local")

    /// Names as one SQL parameter for `= ANY(string_to_array($n, E'\n'))` (names hold no control characters).
    package static func lines(_ names: [MediaStoreName]) -> String { names.map(\.rawValue).joined(separator: "\n") }
}

/// One object as a listing gives it.
package struct StoredObject: Sendable, Equatable {
    package let key: String
    package let bytes: Int64
    package let modified: Date
    /// A bucket's checksum of the object (its ETag); nil for a local file.
    package let etag: String?
    package init(key: String, bytes: Int64, modified: Date, etag: String? = nil) {
        self.key = key
        self.bytes = bytes
        self.modified = modified
        self.etag = etag
    }
}

/// How nginx reaches an object once the app has checked who asks.
package enum MediaDelivery: Sendable, Equatable {
    /// `X-Accel-Redirect` to this internal location (nginx streams the bytes, `Range` works).
    case internalRedirect(String)
    /// A 302 to a short-lived URL of the store itself (or a CDN in front of it).
    case redirect(String)
}

/// Who asks for a delivery: a film's read-only link is served by a location that logs nothing (its request line
/// carries the link's secret).
package enum MediaAudience: Sendable {
    case signedIn, sharedLink
}

package struct MediaStoreError: Error, CustomStringConvertible, Sendable {
    package enum Kind: Sendable {
        /// No such object.
        case notFound
        /// Worth trying again (the store unreachable, 5xx, SlowDown, a timeout).
        case transient
        /// Trying again will not help (credentials refused, a missing bucket, a full disk here).
        case refused
    }
    package let kind: Kind
    /// The store's own error code when it gave one (`SlowDown`, `AccessDenied`, `SignatureDoesNotMatch`).
    package let code: String?
    package let description: String

    package init(_ kind: Kind, code: String? = nil, _ description: String) {
        self.kind = kind
        self.code = code
        self.description = description
    }
}

package protocol MediaStore: Sendable {
    var name: MediaStoreName { get }
    /// A local directory for work that needs files (downloads staged before they are stored, ffmpeg's and the
    /// image decoder's files): on the local store, inside the media directory (so a rename puts a file in place).
    var scratchDirectory: String { get }
    /// Stores a complete local file under `key`, consuming it (renamed into place, or uploaded, verified and
    /// removed). A reader never sees half an object.
    func put(file: String, key: String, contentType: String) throws(MediaStoreError)
    /// Stores a copy of a local file under `key`, leaving the file where it is (a migration's source).
    func put(copyOf file: String, key: String, contentType: String) throws(MediaStoreError)
    /// Stores these bytes under `key`.
    func put(bytes: [UInt8], key: String, contentType: String) throws(MediaStoreError)
    /// Whether `key` exists; when it does its age starts again, so the sweep spares it for an hour (a row about
    /// to name it has not committed yet).
    func refresh(_ key: String) throws(MediaStoreError) -> Bool
    /// The whole object (`maxBytes` at most).
    func read(_ key: String, maxBytes: Int) throws(MediaStoreError) -> [UInt8]
    /// Runs `body` with a local file holding the object: the stored file itself on the local store, a copy in
    /// the scratch directory (removed afterwards) otherwise.
    func withLocalFile<T>(_ key: String, _ body: (String) throws -> T) throws -> T
    /// Removes the object; no such object is not an error.
    func remove(_ key: String) throws(MediaStoreError)
    /// Every object whose key starts with `prefix`, sorted by key.
    func list(prefix: String) throws(MediaStoreError) -> [StoredObject]
    /// How nginx (or the browser) reaches `key` for this audience; `disposition` is the `Content-Disposition` a
    /// download carries (a redirect to the store asks the store to send it).
    func delivery(_ key: String, audience: MediaAudience, disposition: String?) -> MediaDelivery
    /// A short description of the store for the operator (no secret in it).
    var summary: String { get }
}

extension MediaStore {
    /// Removes every object under `prefix` (a generation's or a film's folder); false when one could not be.
    package func removeAll(prefix: String) throws(MediaStoreError) {
        for object in try list(prefix: prefix) { try remove(object.key) }
    }
}

/// The stores a process can read, and the one new media goes to.
package struct MediaStores: Sendable {
    /// Where new media goes.
    package let current: any MediaStore
    private let others: [MediaStoreName: any MediaStore]

    package init(current: any MediaStore, others: [any MediaStore] = []) {
        self.current = current
        var byName: [MediaStoreName: any MediaStore] = [:]
        for store in others { byName[store.name] = store }
        byName[current.name] = current
        self.others = byName
    }

    /// The store a row names; nil when this process was not given it (a row written by a host configured for
    /// another bucket).
    package func store(_ name: MediaStoreName) -> (any MediaStore)? { others[name] }

    /// The store a row names, or `Unavailable` (the bytes exist, this process cannot reach them).
    package func required(_ name: MediaStoreName) throws -> any MediaStore {
        guard let store = others[name] else {
            throw Unavailable(
                code: "storage_unavailable", "This media is kept in a store this server is not configured to read.",
                logDetail: "no media store \(name) here")
        }
        return store
    }

    package var all: [any MediaStore] { others.values.sorted { $0.name.rawValue < $1.name.rawValue } }

    /// Runs `body` with local files holding these objects, in order (see `MediaStore.withLocalFile`).
    package static func withLocalFiles<T>(
        _ objects: ArraySlice<(store: any MediaStore, key: String)>, _ files: [String] = [],
        _ body: ([String]) throws -> T
    ) throws -> T {
        guard let first = objects.first else { return try body(files) }
        return try first.store.withLocalFile(first.key) { file in
            try withLocalFiles(objects.dropFirst(), files + [file], body)
        }
    }

    /// The type an object of PromptReel's is stored with, from its name (keys are PromptReel's own).
    package static func contentType(of key: String) -> String {
        switch key.split(separator: ".").last {
        case "mp4": "video/mp4"
        case "webp": "image/webp"
        case "jpg", "jpeg": "image/jpeg"
        case "png": "image/png"
        default: "application/octet-stream"
        }
    }

    /// The local store alone, at `directory`.
    package static func local(_ directory: String) -> MediaStores {
        MediaStores(current: LocalMediaStore(directory: directory))
    }
}
