// The media store in an S3-compatible bucket. Objects are written whole and verified by the store's answer (the
// ETag against the MD5 of what was sent, in parts above a threshold), read into memory or a scratch file, and
// served through nginx: the app answers X-Accel-Redirect to `/_s3/…` (or `/_s3-shared/…` for a film's link), an
// internal location that proxies a presigned URL, so the bucket stays private and `Range` works; or, with
// `PROMPTREEL_S3_DELIVERY=redirect`, a 302 to the presigned URL itself.

public import Core
import Foundation
import Glibc

public struct S3MediaStore: MediaStore {
    let client: S3Client
    package let name: MediaStoreName
    package let scratchDirectory: String

    /// `scratchDirectory`: this host's own folder for staged files (nothing in it is shared).
    public init(config: S3Config, scratchDirectory: String) {
        client = S3Client(config: config)
        name = MediaStoreName(config.storeName)
        self.scratchDirectory = scratchDirectory
    }

    public var config: S3Config { client.config }
    package var summary: String { client.config.description }

    /// An object younger than this is not copied onto itself by `refresh` (its age is already young enough for the
    /// sweep's hour).
    static let refreshAfterSeconds: Double = 1800

    package func put(file: String, key: String, contentType: String) throws(MediaStoreError) {
        try put(copyOf: file, key: key, contentType: contentType)
        unlink(file)
    }

    package func put(copyOf file: String, key: String, contentType: String) throws(MediaStoreError) {
        try client.upload(file: file, key: key, contentType: contentType)
    }

    package func put(bytes: [UInt8], key: String, contentType: String) throws(MediaStoreError) {
        try client.upload(bytes: bytes, key: key, contentType: contentType)
    }

    package func refresh(_ key: String) throws(MediaStoreError) -> Bool {
        guard let head = try client.head(key) else { return false }
        if Date().timeIntervalSince(head.modified) > Self.refreshAfterSeconds {
            try client.touch(key, contentType: MediaStores.contentType(of: key))
        }
        return true
    }

    package func read(_ key: String, maxBytes: Int) throws(MediaStoreError) -> [UInt8] {
        try client.get(key, maxBytes: maxBytes)
    }

    package func withLocalFile<T>(_ key: String, _ body: (String) throws -> T) throws -> T {
        MediaFiles.makeFolder(scratchDirectory)
        let name = key.split(separator: "/").last.map(String.init) ?? "object"
        let path = scratchDirectory + "/s3-\(getpid())-\(UInt32.random(in: .min ... .max))-\(name)"
        defer { unlink(path) }
        try client.get(key, toFile: path, maxBytes: 16 << 30)
        return try body(path)
    }

    package func remove(_ key: String) throws(MediaStoreError) {
        try client.delete(key)
    }

    package func list(prefix: String) throws(MediaStoreError) -> [StoredObject] {
        try client.list(prefix: prefix)
    }

    package func delivery(_ key: String, audience: MediaAudience, disposition: String?) -> MediaDelivery {
        switch client.config.delivery {
        case .proxy:
            let (path, query) = client.presignedGet(key)
            return .internalRedirect((audience == .sharedLink ? "/_s3-shared" : "/_s3") + path + "?" + query)
        case .redirect:
            let (path, query) = client.presignedGet(
                key, query: disposition.map { [("response-content-disposition", $0)] } ?? [])
            return .redirect("\(client.config.scheme)://\(client.config.requestHost)\(path)?\(query)")
        }
    }

    /// Creates the bucket when it is not there (`promptreel media check --create-bucket`).
    package func createBucket() throws(MediaStoreError) { try client.createBucket() }

    /// The nginx locations that serve this store's objects (`promptreel media nginx`): each proxies the presigned
    /// URL the app hands it to the endpoint, with the Host it was signed for and no Authorization of the caller's;
    /// the store's 403 or 404 becomes PromptReel's own 404, its failures a 503.
    public var nginxLocations: String {
        let c = client.config
        let upstream = "\(c.scheme)://\(c.requestHost)/"
        let tls =
            c.scheme == "https" ? "        proxy_ssl_server_name on;\n        proxy_ssl_name \(c.requestHost);\n" : ""
        func location(_ name: String, logged: Bool) -> String {
            """
                location /\(name)/ {
                    internal;
            \(logged ? "" : "        access_log off;\n        log_not_found off;\n")\
                    proxy_pass \(upstream);
                    proxy_set_header Host \(c.requestHost);
                    proxy_set_header Authorization "";
                    proxy_set_header Cookie "";
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    # Streamed through memory buffers: a slow client never makes nginx spool a video to disk.
                    proxy_max_temp_file_size 0;
            \(tls)\
                    proxy_hide_header x-amz-request-id;
                    proxy_hide_header x-amz-id-2;
                    proxy_hide_header x-openstack-request-id;
                    proxy_hide_header x-trans-id;
                    proxy_intercept_errors on;
                    error_page 403 404 = @media_missing;
                    error_page 500 502 503 504 = @media_unavailable;
                }

            """
        }
        return """
                # The S3 media store (\(c.storeName)): written by `promptreel media nginx`.
            \(location("_s3", logged: true))\(location("_s3-shared", logged: false))\
                location @media_missing {
                    default_type text/html;
                    return 404 '<!doctype html><html lang="en"><meta charset="utf-8"><title>Not found</title><h1>Not found</h1><p>No such file.</p></html>';
                }
                location @media_unavailable {
                    default_type text/html;
                    return 503 '<!doctype html><html lang="en"><meta charset="utf-8"><title>Unavailable</title><h1>Unavailable</h1><p>The media store is not answering; try again in a moment.</p></html>';
                }

            """
    }
}
