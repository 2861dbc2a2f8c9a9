// Where the S3 media store is, read the way the S3 ecosystem configures it: `PROMPTREEL_MEDIA_STORE=s3://bucket/prefix`,
// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`), `AWS_REGION`, `AWS_ENDPOINT_URL`;
// `PROMPTREEL_S3_ADDRESSING=path|virtual` (default `path` when an endpoint is given, else `virtual`).

public struct S3Config: Sendable, CustomStringConvertible {
    public enum Addressing: String, Sendable {
        /// `https://endpoint/bucket/key`: what S3-compatible servers (MinIO, Ceph, Swift) offer.
        case path
        /// `https://bucket.endpoint/key`: AWS's own.
        case virtual
    }

    /// How signed-in readers get the bytes: nginx proxies a presigned URL (the bucket stays private and
    /// unseen), or the browser is redirected to it (the store or a CDN serves the bytes).
    public enum Delivery: String, Sendable {
        case proxy, redirect
    }

    public let bucket: String
    /// "" or a folder ending in "/": every key lives under it.
    public let prefix: String
    public let scheme: String
    /// `host` or `host:port`, as the Host header and signatures carry it.
    public let endpointHost: String
    public let region: String
    public let addressing: Addressing
    public let credentials: S3Credentials
    public var delivery = Delivery.proxy
    /// Objects larger than this go up in parts (`PROMPTREEL_S3_MULTIPART_BYTES`, at least 5 MiB).
    public var multipartThreshold: Int64 = 16 << 20
    public var partSize: Int64 = 8 << 20
    /// How long a presigned URL works (seconds).
    public var presignSeconds = 300
    /// Per request; a large object's parts each get this long.
    public var timeoutMs = 120_000

    /// The name media rows record: `s3://bucket/prefix`.
    public var storeName: String { "s3://\(bucket)" + (prefix.isEmpty ? "" : "/" + prefix.dropLast()) }

    /// The host requests go to (the bucket's own host with virtual addressing).
    public var requestHost: String { addressing == .virtual ? "\(bucket).\(endpointHost)" : endpointHost }

    /// The path of `key` (a full object key) on `requestHost`.
    public func path(_ key: String) -> String { addressing == .virtual ? "/" + key : "/\(bucket)/" + key }

    public var description: String {
        "\(storeName) at \(scheme)://\(requestHost) (\(region), \(addressing.rawValue)-style, key \(credentials.accessKeyID))"
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(
        bucket: String, prefix: String, endpoint: String, region: String, addressing: Addressing,
        credentials: S3Credentials
    ) throws(Invalid) {
        guard Self.validBucket(bucket) else {
            throw Invalid(description: "\(bucket) is not an S3 bucket name (3 to 63 of a-z, 0-9, '.', '-')")
        }
        self.bucket = bucket
        let trimmed = prefix.split(separator: "/").joined(separator: "/")
        guard trimmed.utf8.count <= 200, !trimmed.contains(".."), trimmed.unicodeScalars.allSatisfy({ $0.value > 0x20 })
        else {
            throw Invalid(description: "the media store prefix \(prefix) is not usable")
        }
        self.prefix = trimmed.isEmpty ? "" : trimmed + "/"
        guard let separator = endpoint.firstRange(of: "://") else {
            throw Invalid(description: "AWS_ENDPOINT_URL \(endpoint) is not a URL (http://host:port)")
        }
        scheme = String(endpoint[..<separator.lowerBound]).lowercased()
        var host = endpoint[separator.upperBound...]
        while host.hasSuffix("/") { host = host.dropLast() }
        guard scheme == "http" || scheme == "https", !host.isEmpty, !host.contains("/"), !host.contains("@"),
            !host.contains("?")
        else {
            throw Invalid(description: "AWS_ENDPOINT_URL \(endpoint) must be http(s)://host[:port] with no path")
        }
        endpointHost = String(host)
        guard !region.isEmpty, region.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw Invalid(description: "AWS_REGION is not a region name")
        }
        self.region = region
        self.addressing = addressing
        self.credentials = credentials
    }

    static func validBucket(_ name: String) -> Bool {
        (3...63).contains(name.utf8.count)
            && name.utf8.allSatisfy {
                (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2E || $0 == 0x2D
            } && name.first != "-" && name.first != "."
    }

    /// nil when `PROMPTREEL_MEDIA_STORE` names no S3 store (the local directory keeps the media).
    public static func fromEnvironment(_ env: [String: String]) throws(Invalid) -> S3Config? {
        guard let store = env["PROMPTREEL_MEDIA_STORE"], !store.isEmpty, store != "local" else { return nil }
        guard store.hasPrefix("s3://") else {
            throw Invalid(
                description: "PROMPTREEL_MEDIA_STORE must be s3://bucket/prefix (or unset for the local directory)")
        }
        let rest = store.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        let prefix = String(rest.dropFirst(bucket.count))
        guard let key = env["AWS_ACCESS_KEY_ID"], !key.isEmpty, let secret = env["AWS_SECRET_ACCESS_KEY"],
            !secret.isEmpty
        else {
            throw Invalid(description: "an S3 media store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        let region = env["AWS_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? env["AWS_DEFAULT_REGION"] ?? "us-east-1"
        let endpoint = env["AWS_ENDPOINT_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let addressing: Addressing
        switch env["PROMPTREEL_S3_ADDRESSING"] {
        case nil, "": addressing = endpoint == nil ? .virtual : .path
        case let value?:
            guard let chosen = Addressing(rawValue: value) else {
                throw Invalid(description: "PROMPTREEL_S3_ADDRESSING must be path or virtual")
            }
            addressing = chosen
        }
        var config = try S3Config(
            bucket: bucket, prefix: prefix, endpoint: endpoint ?? "https://s3.\(region).amazonaws.com", region: region,
            addressing: addressing,
            credentials: S3Credentials(
                accessKeyID: key, secretAccessKey: secret,
                sessionToken: env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }))
        if let value = env["PROMPTREEL_S3_DELIVERY"], !value.isEmpty {
            guard let delivery = Delivery(rawValue: value) else {
                throw Invalid(description: "PROMPTREEL_S3_DELIVERY must be proxy or redirect")
            }
            config.delivery = delivery
        }
        if let value = env["PROMPTREEL_S3_MULTIPART_BYTES"], !value.isEmpty {
            guard let bytes = Int64(value), bytes >= 5 << 20, bytes <= 5 << 30 else {
                throw Invalid(description: "PROMPTREEL_S3_MULTIPART_BYTES must be 5 MiB to 5 GiB")
            }
            config.multipartThreshold = bytes
            config.partSize = max(5 << 20, min(config.partSize, bytes))
        }
        return config
    }
}
