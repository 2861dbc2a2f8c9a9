// Which media store takes new media: the local directory (the default), or the S3 bucket `PROMPTREEL_MEDIA_STORE`
// names (ObjectStore, which only this executable links: the request side never reaches an HTTP client). The local
// directory stays readable beside it (rows written before the switch), and is every store's scratch space.

import Core
import ObjectStore

enum MediaStoreSettings {
    /// nil: the local directory alone.
    static func stores(_ env: [String: String], mediaDirectory: String) throws -> MediaStores? {
        guard let s3 = try S3Config.fromEnvironment(env) else { return nil }
        let local = LocalMediaStore(directory: mediaDirectory)
        return MediaStores(
            current: S3MediaStore(config: s3, scratchDirectory: local.scratchDirectory), others: [local])
    }
}
