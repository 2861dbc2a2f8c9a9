// A video's reference image (image-to-video): the one service behind the API and the pages. An upload
// is checked by its bytes (JPEG, PNG or WebP; size limits from the header before any decoding; every
// pixel decoded once so a truncated file is refused) and stored content-addressed under the media
// directory; a generation later records the original and the frame fitted to its exact size. Every decode
// runs in a child process under memory and CPU caps (`ImageTool`), one per user and a few per instance.
// Files are shared: identical bytes are one file (`references/shared/<sha prefix>/<sha256>.<ext>`, with the
// frames fitted from it beside it), named by as many rows as use it and removed by the sweep once no row
// does (and it is an hour old). Uploads count against the user's storage quota (distinct files).

import Glibc
package import Images
package import Postgres
import Telemetry

package struct ReferenceImage: Sendable {
    package let videoID: ID<Video>
    /// The file's key in `store`.
    package let path: String
    package let store: MediaStoreName
    package let format: ImageFormat
    package let width: Int
    package let height: Int
    package let bytes: Int64
    package let sha256: String
    package let createdAt: Timestamp

    package init(_ r: Row) {
        videoID = r.id("video_id")
        path = r.string("path")
        store = MediaStoreName(r.string("media_store"))
        format = ImageFormat(contentType: r.string("content_type")) ?? .png
        width = Int(r.int("width"))
        height = Int(r.int("height"))
        bytes = r.int("bytes")
        sha256 = r.string("sha256")
        createdAt = r.timestamp("created_at")
    }
}

/// What a generation started from: set once when it is recorded.
package struct GenerationReference: Sendable {
    package let originalPath: String
    package let format: ImageFormat
    package let width: Int
    package let height: Int
    package let sha256: String
    package let fit: FitMode
    package let fittedPath: String
}

package struct ReferenceImages {
    /// The largest image accepted: 20 MiB, exactly what nginx's `20m` means.
    package static let maxImageBytes = 20 << 20

    package let db: Connection
    /// New files go to `stores.current`; a reference image is read from the store its row names.
    package let stores: MediaStores
    package let tool: ImageTool
    /// A user's quota when their row sets none.
    package let defaultQuotaBytes: Int64

    package init(db: Connection, stores: MediaStores, images: ImageToolConfig, defaultQuotaBytes: Int64) {
        self.db = db
        self.stores = stores
        tool = ImageTool(config: images, stagingDirectory: stores.current.scratchDirectory)
        self.defaultQuotaBytes = defaultQuotaBytes
    }

    /// The columns a `ReferenceImage` reads, of `video_reference_images r`.
    static let columns: Query =
        "r.video_id, r.path, r.media_store, r.content_type, r.width, r.height, r.bytes, r.sha256, iso(r.created_at) AS created_at"

    /// Where the file of these bytes lives (and the frames fitted from it, `suffix` naming each).
    package static func sharedPath(sha256: String, suffix: String) -> String {
        "\(MediaFiles.referencesFolder)/\(MediaFiles.sharedFolder)/\(sha256.prefix(2))/\(sha256)\(suffix)"
    }

    /// What the user's uploads keep on disk (`reference_uploads`: each distinct file they uploaded that their
    /// videos or generations still name, or named within the hour), and their quota.
    package struct StorageUse: Sendable {
        package let usedBytes: Int64
        package let quotaBytes: Int64
        /// The user already keeps a file with these bytes (an upload of it takes no more room).
        package let hasFile: Bool
    }

    package func storageUse(userID: ID<User>, sha256: String = "") throws -> StorageUse {
        let row = try db.execute(
            """
            SELECT coalesce(sum(bytes), 0)::bigint AS used, coalesce(bool_or(sha256 = \(sha256)), false) AS has,
                   (SELECT coalesce(storage_quota_bytes, \(defaultQuotaBytes)) FROM users WHERE id = \(userID)) AS quota
            FROM reference_uploads WHERE user_id = \(userID)
            """)[0]
        return StorageUse(usedBytes: row.int("used"), quotaBytes: row.int("quota"), hasFile: row.bool("has"))
    }

    private func checkQuota(userID: ID<User>, sha256: String, bytes: Int) throws {
        let use = try storageUse(userID: userID, sha256: sha256)
        if !use.hasFile && use.usedBytes + Int64(bytes) > use.quotaBytes {
            throw Refusal.quotaExceeded(used: use.usedBytes, quota: use.quotaBytes, upload: Int64(bytes))
        }
    }

    /// Why an upload was refused; each is a 4xx naming the reason (the API and the pages say the same).
    package enum Refusal: Error, Sendable {
        case noSuchVideo
        case empty
        case tooManyBytes
        case image(ImageError)
        /// Decoding it needs more memory or CPU time than the decoder is allowed (`detail`: for the log).
        case overLimits(detail: String)
        /// Another decode of this user's is running (`instance`: every decoder of the instance is busy).
        case busy(instance: Bool)
        /// The upload would take the user's uploads past their storage quota.
        case quotaExceeded(used: Int64, quota: Int64, upload: Int64)
        /// The decoder could not run (misconfigured, out of processes or disk): the server's fault.
        case decoderUnavailable(detail: String)
    }

    /// Runs a decode in a decoder slot (an upload also in its uploader's one slot: a second upload at once
    /// is refused; fitting a frame and previews are not, so a preview on screen never blocks Generate).
    private func decode<T>(uploadBy: ID<User>?, _ body: () throws(ImageTool.Failure) -> T) throws -> T {
        do {
            return try tool.withSlot(db: db, user: uploadBy) { try body() }
        } catch let failure as ImageTool.Failure {
            switch failure {
            case let .image(error): throw Refusal.image(error)
            case let .overLimits(detail): throw Refusal.overLimits(detail: detail)
            case let .unavailable(detail): throw Refusal.decoderUnavailable(detail: detail)
            case .userBusy: throw Refusal.busy(instance: false)
            case .instanceBusy: throw Refusal.busy(instance: true)
            }
        }
    }

    /// The video's current reference image, if the user may see the video and it has one.
    package func current(videoID: ID<Video>, userID: ID<User>) throws -> ReferenceImage? {
        try db.execute(
            """
            SELECT \(fragment: Self.columns)
            FROM video_reference_images r JOIN videos v ON v.id = r.video_id
            WHERE r.video_id = \(videoID) AND \(fragment: Access.member("v.project_id", userID))
            """
        ).first.map(ReferenceImage.init)
    }

    /// The reference images of the project's videos (one query for a storyboard click).
    package func current(projectID: ID<Project>, userID: ID<User>) throws -> [ID<Video>: ReferenceImage] {
        var images: [ID<Video>: ReferenceImage] = [:]
        for row in try db.execute(
            """
            SELECT \(fragment: Self.columns)
            FROM video_reference_images r JOIN videos v ON v.id = r.video_id
            WHERE v.project_id = \(projectID) AND \(fragment: Access.member("\(projectID)::bigint", userID))
            """)
        {
            let image = ReferenceImage(row)
            images[image.videoID] = image
        }
        return images
    }

    /// Checks the bytes, stores them, and makes them the video's reference image (replacing any other).
    package func upload(videoID: ID<Video>, userID: ID<User>, bytes: [UInt8]) throws -> ReferenceImage {
        guard !bytes.isEmpty else { throw Refusal.empty }
        guard bytes.count <= Self.maxImageBytes else { throw Refusal.tooManyBytes }
        // Ownership first: nothing is decoded or written for someone else's video.
        guard try Store(db: db).video(id: videoID, userID: userID) != nil else { throw Refusal.noSuchVideo }
        let sha = Crypto.hex(Crypto.sha256(bytes))
        // Refused before any decode when it cannot fit; checked again under the user's lock below.
        try checkQuota(userID: userID, sha256: sha, bytes: bytes.count)
        // Staged once, in the decoder slot: the decoder checks the staged file, which then becomes the stored one.
        let (info, staged) = try decode(uploadBy: userID) { () throws(ImageTool.Failure) in
            let staged = try tool.stage(bytes)
            do throws(ImageTool.Failure) { return (try tool.validate(file: staged), staged) } catch {
                unlink(staged)
                throw error
            }
        }
        defer { unlink(staged) }  // nothing left when it was moved into place
        let path = Self.sharedPath(sha256: sha, suffix: "." + info.format.fileExtension)
        // Identical bytes are one file: kept (and refreshed, so the sweep's hour starts again) when it exists.
        let store = stores.current
        if try !store.refresh(path) {
            try store.put(file: staged, key: path, contentType: info.format.contentType)
            ProcessMetrics.shared.mediaStored(bytes: bytes.count, kind: "reference")
        }
        return try db.transaction {
            try db.execute("SELECT pg_advisory_xact_lock(\(Self.quotaLockKey(userID)))")
            try checkQuota(userID: userID, sha256: sha, bytes: bytes.count)
            try db.execute(
                """
                INSERT INTO reference_uploads (user_id, sha256, bytes) VALUES (\(userID), \(sha), \(Int64(bytes.count)))
                ON CONFLICT (user_id, sha256) DO UPDATE SET uploaded_at = now()
                """)
            return try record(
                videoID: videoID, userID: userID, path: path, store: store.name, info: info, bytes: bytes.count,
                sha: sha)
        }
    }

    /// One user's uploads are counted against their quota one at a time ("QU").
    private static func quotaLockKey(_ userID: ID<User>) -> Int64 { 0x5155 << 48 | userID.rawValue }

    private func record(
        videoID: ID<Video>, userID: ID<User>, path: String, store: MediaStoreName, info: ImageInfo, bytes: Int,
        sha: String
    ) throws -> ReferenceImage {
        guard
            let row = try db.execute(
                """
                INSERT INTO video_reference_images AS r (video_id, path, media_store, content_type, width, height, bytes, sha256)
                SELECT v.id, \(path), \(store.rawValue), \(info.format.contentType), \(info.width), \(info.height), \(Int64(bytes)), \(sha)
                FROM videos v WHERE v.id = \(videoID) AND \(fragment: Access.member("v.project_id", userID, atLeast: .editor))
                ON CONFLICT (video_id) DO UPDATE SET path = excluded.path, media_store = excluded.media_store,
                  content_type = excluded.content_type, width = excluded.width,
                  height = excluded.height, bytes = excluded.bytes, sha256 = excluded.sha256, created_at = now()
                RETURNING \(fragment: Self.columns)
                """
            ).first
        else { throw Refusal.noSuchVideo }
        // The previous file stays: a click may be recording it right now. `media sweep` removes it once
        // nothing uses it and it is an hour old (a click touches the files it records).
        return ReferenceImage(row)
    }

    /// Gives `copy` the same reference image as `original` (both the user's): one more row naming the same
    /// file, without decoding it or taking more of the quota. A file of the per-video layout of older installs
    /// (`references/<video id>/…`, removed with that video) is first put where shared files live.
    package static func copyCurrent(
        db: Connection, stores: MediaStores, from original: ID<Video>, to copy: ID<Video>, userID: ID<User>
    ) throws {
        guard
            let row = try db.execute(
                """
                SELECT r.path, r.media_store, r.content_type, r.sha256 FROM video_reference_images r
                JOIN videos v ON v.id = r.video_id
                WHERE r.video_id = \(original) AND \(fragment: Access.member("v.project_id", userID))
                """
            ).first
        else { return }
        let store = try stores.required(MediaStoreName(row.string("media_store")))
        var path = row.string("path")
        let shared = "\(MediaFiles.referencesFolder)/\(MediaFiles.sharedFolder)/"
        if !path.hasPrefix(shared) {
            let format = ImageFormat(contentType: row.string("content_type")) ?? .png
            let target = sharedPath(sha256: row.string("sha256"), suffix: "." + format.fileExtension)
            if try !store.refresh(target) {
                try store.put(
                    bytes: try store.read(path, maxBytes: maxImageBytes), key: target, contentType: format.contentType)
            }
            path = target
        }
        _ = try store.refresh(path)
        try db.execute(
            """
            INSERT INTO video_reference_images (video_id, path, media_store, content_type, width, height, bytes, sha256)
            SELECT c.id, \(path), r.media_store, r.content_type, r.width, r.height, r.bytes, r.sha256
            FROM video_reference_images r, videos c
            WHERE r.video_id = \(original) AND c.id = \(copy) AND \(fragment: Access.member("c.project_id", userID, atLeast: .editor))
            ON CONFLICT (video_id) DO NOTHING
            """)
    }

    /// Removes the video's reference image; false when it had none (or the user does not edit its project).
    package func remove(videoID: ID<Video>, userID: ID<User>) throws -> Bool {
        // The file stays for `media sweep` (see `upload`).
        return try !db.execute(
            """
            DELETE FROM video_reference_images r USING videos v
            WHERE r.video_id = \(videoID) AND v.id = r.video_id AND \(fragment: Access.member("v.project_id", userID, atLeast: .editor))
            RETURNING r.path
            """
        ).isEmpty
    }

    /// The frame for a generation: the original fitted to `size` ("WxH"), stored next to it
    /// (content-addressed, so the same image, size and mode are fitted once) in the store new media goes to,
    /// which then holds the generation's media (the original is copied there when its row names another store).
    /// Runs in the request: bounded (≤ 50 megapixels in, ≤ one video frame out, a fraction of a second), and a
    /// failure is then a 4xx at the click instead of a failed generation later.
    package func fitted(_ image: ReferenceImage, size: String, mode: FitMode) throws
        -> GenerationReference
    {
        let dims = size.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2 else {
            throw InvalidInput(field: nil, "The model's size \(size) is not WIDTHxHEIGHT.", code: "invalid_size")
        }
        let source = try stores.required(image.store)
        let target = stores.current
        let fittedPath = Self.sharedPath(sha256: image.sha256, suffix: "-\(dims[0])x\(dims[1])-\(mode.rawValue).png")
        // Refreshed when reused: `media sweep` spares objects younger than an hour, so neither goes between
        // here and the commit of the row that names them.
        var originalPath = image.path
        if source.name == target.name {
            _ = try source.refresh(image.path)
        } else {
            originalPath = Self.sharedPath(sha256: image.sha256, suffix: "." + image.format.fileExtension)
            if try !target.refresh(originalPath) {
                try target.put(
                    bytes: try source.read(image.path, maxBytes: Self.maxImageBytes), key: originalPath,
                    contentType: image.format.contentType)
            }
        }
        if try !target.refresh(fittedPath) {
            let png = try source.withLocalFile(image.path) { file in
                try decode(uploadBy: nil) { () throws(ImageTool.Failure) in
                    try tool.fit(file, width: dims[0], height: dims[1], mode: mode)
                }
            }
            try target.put(bytes: png, key: fittedPath, contentType: ReferenceFile.fitted.contentType)
            ProcessMetrics.shared.mediaStored(bytes: png.count, kind: "reference")
        }
        return GenerationReference(
            originalPath: originalPath, format: image.format, width: image.width, height: image.height,
            sha256: image.sha256, fit: mode, fittedPath: fittedPath)
    }

    /// A small JPEG of the fitted frame for the settings page, kept beside the image.
    package func preview(_ image: ReferenceImage, size: String, mode: FitMode) throws -> [UInt8] {
        let dims = size.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2 else { throw InvalidInput(field: "size", "must be WIDTHxHEIGHT") }
        let store = try stores.required(image.store)
        let path = Self.sharedPath(sha256: image.sha256, suffix: "-\(dims[0])x\(dims[1])-\(mode.rawValue)-preview.jpg")
        if try store.refresh(path), let kept = try? store.read(path, maxBytes: Self.maxImageBytes) {
            return kept
        }
        let jpeg = try store.withLocalFile(image.path) { file in
            try decode(uploadBy: nil) { () throws(ImageTool.Failure) in
                try tool.fit(file, width: dims[0], height: dims[1], mode: mode, preview: true)
            }
        }
        try store.put(bytes: jpeg, key: path, contentType: "image/jpeg")
        ProcessMetrics.shared.mediaStored(bytes: jpeg.count, kind: "reference")
        return jpeg
    }
}
