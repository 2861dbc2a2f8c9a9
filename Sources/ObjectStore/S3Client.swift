// The S3 calls the media store makes, on libcurl, each signed with SigV4 (`SigV4.authorization`): PUT (whole, or in
// parts above a threshold, each checked against the MD5 of what was sent: `Content-MD5` for the store and its ETag
// for us), GET (into memory or a file), HEAD, DELETE, copy onto itself (to restart an object's age) and
// ListObjectsV2. Every call is idempotent, so a failure that may be passing (no connection, 5xx, 429, `SlowDown`)
// is tried again a few times with a growing pause before it is reported as transient.

import CSodium
import Core
import Foundation
import HTTPClient
import Synchronization

/// One libcurl handle per call at a time: idle handles wait in a pool (connections kept alive), so threads
/// share none while one is in use.
final class CurlPool: @unchecked Sendable {
    // @unchecked: `idle` is only touched under `lock`, and a handle taken out belongs to one caller until it
    // is given back.
    private let lock = NSLock()
    private var idle: [CurlEasy] = []

    func with<T>(_ body: (CurlEasy) throws -> T) throws -> T {
        lock.lock()
        let taken = idle.popLast()
        lock.unlock()
        let handle: CurlEasy
        if let taken {
            handle = taken
        } else {
            do { handle = try CurlEasy() } catch {
                throw MediaStoreError(.transient, "libcurl: \(error)")
            }
        }
        defer {
            lock.lock()
            if idle.count < 16 { idle.append(handle) }
            lock.unlock()
        }
        return try body(handle)
    }
}

/// A response body written to a local file, up to a limit.
final class FileWriteSink: ResponseSink {
    let fd: Int32
    let limit: Int64
    private(set) var written: Int64 = 0
    private(set) var failed = false

    init(path: String, limit: Int64) throws(MediaStoreError) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MediaStoreError(.refused, "cannot create \(path): errno \(errno)") }
        self.limit = limit
    }

    deinit { close(fd) }

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard written + Int64(bytes.count) <= limit, let base = bytes.baseAddress else {
            failed = true
            return bytes.isEmpty
        }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, base + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                failed = true
                return false
            }
            done += n
        }
        written += Int64(bytes.count)
        return true
    }
}

struct S3Client: Sendable {
    let config: S3Config
    let signer: SigV4
    let pool = CurlPool()
    /// Attempts per call for a failure that may pass (the caller's own loop tries again later).
    var attempts = 4
    /// Keys per listing page (S3's most).
    var pageSize = 1000

    init(config: S3Config) {
        self.config = config
        signer = SigV4(credentials: config.credentials, region: config.region)
    }

    struct Answer {
        let status: Int
        let headers: [String: String]
        let body: [UInt8]
        let uploaded: Int64
    }

    enum Payload {
        case none
        case bytes([UInt8], contentType: String)
        case file(path: String, offset: Int64, length: Int64, contentType: String)
    }

    /// One signed call, tried again while its failure may pass. `expect` are the statuses that answer it (any
    /// other is an error named by the store's XML code); `into` takes a body to a file instead of memory.
    func call(
        _ method: String, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
        payload: Payload = .none, expect: Set<Int> = [200], into file: String? = nil, maxBytes: Int64 = 1 << 20
    ) throws(MediaStoreError) -> Answer {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try once(
                    method, key: key, query: query, headers: headers, payload: payload, expect: expect, into: file,
                    maxBytes: maxBytes)
            } catch {
                guard error.kind == .transient, attempt < attempts else { throw error }
                usleep(UInt32(200_000 << min(attempt - 1, 4)))
            }
        }
    }

    private func once(
        _ method: String, key: String?, query: [(String, String)], headers: [(String, String)], payload: Payload,
        expect: Set<Int>, into file: String?, maxBytes: Int64
    ) throws(MediaStoreError) -> Answer {
        // No key: the bucket itself (a listing, its creation).
        let path =
            key.map { config.path(config.prefix + $0) } ?? (config.addressing == .virtual ? "/" : "/" + config.bucket)
        let what = "\(method) \(key ?? config.bucket)"
        let canonicalQuery = SigV4.canonicalQuery(query)
        let url =
            "\(config.scheme)://\(config.requestHost)\(SigV4.canonicalPath(path))"
            + (canonicalQuery.isEmpty ? "" : "?" + canonicalQuery)
        var signedHeaders = headers
        let body: HTTPClientRequest.Body
        switch payload {
        case .none: body = .none
        case let .bytes(bytes, contentType):
            body = .bytes(bytes, contentType: contentType)
            signedHeaders.append(("Content-Type", contentType))
        case let .file(file, offset, length, contentType):
            body = .file(path: file, offset: offset, length: length, contentType: contentType)
            signedHeaders.append(("Content-Type", contentType))
        }
        let payloadHash: String =
            switch payload {
            case .none: SigV4.emptyPayload
            case let .bytes(bytes, _): SigV4.hex(SigV4.sha256(bytes))
            case .file: SigV4.unsignedPayload
            }
        let auth = signer.authorization(
            method: method, host: config.requestHost, path: path, query: query, headers: signedHeaders,
            payloadSHA256: payloadHash, at: Int(Date().timeIntervalSince1970))
        // Content-Type travels with the body (curl adds it); the rest as signed.
        let sent = signedHeaders.filter { $0.0.lowercased() != "content-type" } + auth
        let request = HTTPClientRequest(
            method: method, url: url, headers: sent, body: body, connectTimeoutMs: 5000, timeoutMs: config.timeoutMs)
        // An error's XML is read whatever the cap: a body over the cap is refused once the status is known.
        let memory = MemorySink(limit: Int(min(max(maxBytes, 64 << 10), 1 << 30)))
        let response: HTTPClientResponse
        var fileSink: FileWriteSink?
        do {
            if let file {
                let sink = try FileWriteSink(path: file, limit: maxBytes)
                fileSink = sink
                response = try pool.with { curl in try curl.perform(request, into: sink) }
            } else {
                response = try pool.with { curl in try curl.perform(request, into: memory) }
            }
        } catch let error as MediaStoreError {
            throw error
        } catch let error as CurlError {
            if fileSink?.failed == true || (file == nil && error.isWriteAborted) {
                throw MediaStoreError(.refused, code: "TooLarge", "\(what): more than \(maxBytes) bytes")
            }
            throw MediaStoreError(.transient, code: "curl_\(error.code)", "\(what): \(error.message)")
        } catch {
            throw MediaStoreError(.transient, "\(what): \(error)")
        }
        guard expect.contains(response.status) else {
            let text = String(decoding: memory.bytes.prefix(4096), as: UTF8.self)[...]
            let code = XMLText.value("Code", in: text) ?? "HTTP\(response.status)"
            let message = XMLText.value("Message", in: text) ?? ""
            let kind: MediaStoreError.Kind =
                response.status == 404
                ? .notFound
                : response.status >= 500 || response.status == 429 || code == "SlowDown" || code == "RequestTimeout"
                    ? .transient : .refused
            throw MediaStoreError(kind, code: code, "\(what): \(response.status) \(code) \(message)")
        }
        guard Int64(memory.bytes.count) <= maxBytes else {
            throw MediaStoreError(.refused, code: "TooLarge", "\(what): more than \(maxBytes) bytes")
        }
        return Answer(
            status: response.status, headers: response.headers, body: memory.bytes, uploaded: response.uploaded)
    }

    // MARK: Objects

    /// A local file as the object `key`, whole or in parts; checked against the MD5 of what was sent.
    func upload(file: String, key: String, contentType: String) throws(MediaStoreError) {
        var info = stat()
        guard stat(file, &info) == 0 else { throw MediaStoreError(.refused, "cannot read \(file): errno \(errno)") }
        let size = Int64(info.st_size)
        if size > config.multipartThreshold {
            try uploadInParts(file: file, size: size, key: key, contentType: contentType)
            return
        }
        guard let md5 = MD5.digest(file: file, length: size) else {
            throw MediaStoreError(.refused, "cannot read \(file) whole")
        }
        let answer = try call(
            "PUT", key: key, headers: [("Content-MD5", SigV4.base64(md5))],
            payload: .file(path: file, offset: 0, length: size, contentType: contentType))
        try Self.verify(answer, md5: md5, length: size, key: key)
    }

    func upload(bytes: [UInt8], key: String, contentType: String) throws(MediaStoreError) {
        let md5 = MD5.digest(bytes)
        let answer = try call(
            "PUT", key: key, headers: [("Content-MD5", SigV4.base64(md5))],
            payload: .bytes(bytes, contentType: contentType))
        try Self.verify(answer, md5: md5, length: nil, key: key)
    }

    /// The store's ETag must be the MD5 of the bytes sent (and curl must have sent them all).
    static func verify(_ answer: Answer, md5: [UInt8], length: Int64?, key: String) throws(MediaStoreError) {
        let etag = (answer.headers["etag"] ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard etag == SigV4.hex(md5) else {
            throw MediaStoreError(
                .transient, code: "BadDigest", "PUT \(key): the store's ETag \(etag) is not the MD5 of what was sent")
        }
        if let length, answer.uploaded != length {
            throw MediaStoreError(
                .transient, code: "IncompleteBody", "PUT \(key): \(answer.uploaded) of \(length) bytes sent")
        }
    }

    private func uploadInParts(file: String, size: Int64, key: String, contentType: String) throws(MediaStoreError) {
        // At most 1,000 parts (the smallest limit among S3-compatible stores).
        let partSize = max(config.partSize, (size + 999) / 1000)
        let started = try call(
            "POST", key: key, query: [("uploads", "")], payload: .bytes([], contentType: contentType))
        guard let uploadID = XMLText.value("UploadId", in: String(decoding: started.body, as: UTF8.self)[...]) else {
            throw MediaStoreError(.transient, "POST \(key)?uploads: no UploadId in the answer")
        }
        var partMD5s: [[UInt8]] = []
        do throws(MediaStoreError) {
            var offset: Int64 = 0
            var number = 1
            // Each part's MD5 is computed on another core while the part before it is on the wire.
            var next = PartDigest(file: file, offset: 0, length: min(partSize, size))
            while offset < size {
                let length = min(partSize, size - offset)
                guard let md5 = next.wait() else { throw MediaStoreError(.refused, "cannot read \(file) whole") }
                if offset + length < size {
                    next = PartDigest(
                        file: file, offset: offset + length, length: min(partSize, size - offset - length))
                }
                // A part is tried again by `call` (and a wrong ETag makes it transient: sent again too).
                var tries = 0
                while true {
                    tries += 1
                    do throws(MediaStoreError) {
                        let answer = try call(
                            "PUT", key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
                            headers: [("Content-MD5", SigV4.base64(md5))],
                            payload: .file(path: file, offset: offset, length: length, contentType: contentType))
                        try Self.verify(answer, md5: md5, length: length, key: key + " part \(number)")
                        break
                    } catch {
                        guard error.kind == .transient, tries < 3 else { throw error }
                    }
                }
                partMD5s.append(md5)
                offset += length
                number += 1
            }
            let list = partMD5s.enumerated().map {
                "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\"\(SigV4.hex($0.element))\"</ETag></Part>"
            }.joined()
            let document = Array("<CompleteMultipartUpload>\(list)</CompleteMultipartUpload>".utf8)
            let done = try call(
                "POST", key: key, query: [("uploadId", uploadID)],
                payload: .bytes(document, contentType: "application/xml"))
            let text = String(decoding: done.body, as: UTF8.self)[...]
            // S3 may answer 200 and put an error in the body.
            if let code = XMLText.value("Code", in: text) {
                throw MediaStoreError(
                    .transient, code: code, "completing \(key): \(XMLText.value("Message", in: text) ?? "")")
            }
            let etag = (XMLText.value("ETag", in: text) ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            let expected = SigV4.hex(MD5.digest(partMD5s.flatMap { $0 })) + "-\(partMD5s.count)"
            guard etag == expected else {
                throw MediaStoreError(
                    .transient, code: "BadDigest", "completing \(key): the store's ETag \(etag) is not \(expected)")
            }
        } catch {
            _ = try? call("DELETE", key: key, query: [("uploadId", uploadID)], expect: [200, 204, 404])
            throw error
        }
    }

    /// Creates the bucket (an operator's first step; `promptreel media check --create-bucket`). One that is
    /// already there and this account's is fine.
    func createBucket() throws(MediaStoreError) {
        let body =
            config.region == "us-east-1"
            ? []
            : Array(
                "<CreateBucketConfiguration><LocationConstraint>\(config.region)</LocationConstraint></CreateBucketConfiguration>"
                    .utf8)
        do {
            _ = try call("PUT", key: nil, payload: .bytes(body, contentType: "application/xml"))
        } catch  where error.code == "BucketAlreadyOwnedByYou" {
            return
        }
    }

    /// Size and modification time; nil when there is no such object.
    func head(_ key: String) throws(MediaStoreError) -> (bytes: Int64, modified: Date)? {
        do {
            let answer = try call("HEAD", key: key)
            return (
                Int64(answer.headers["content-length"] ?? "") ?? 0,
                answer.headers["last-modified"].flatMap(HTTPDate.parse) ?? Date()
            )
        } catch  where error.kind == .notFound {
            return nil
        }
    }

    /// Copies the object onto itself (its metadata replaced by the same): its modification time becomes now.
    func touch(_ key: String, contentType: String) throws(MediaStoreError) {
        let source = "/" + config.bucket + SigV4.canonicalPath(config.prefix + key)
        _ = try call(
            "PUT", key: key,
            headers: [
                ("x-amz-copy-source", source), ("x-amz-metadata-directive", "REPLACE"), ("Content-Type", contentType),
            ])
    }

    func get(_ key: String, maxBytes: Int) throws(MediaStoreError) -> [UInt8] {
        try call("GET", key: key, maxBytes: Int64(maxBytes)).body
    }

    func get(_ key: String, toFile path: String, maxBytes: Int64) throws(MediaStoreError) {
        _ = try call("GET", key: key, into: path, maxBytes: maxBytes)
    }

    func delete(_ key: String) throws(MediaStoreError) {
        _ = try call("DELETE", key: key, expect: [200, 204, 404])
    }

    /// Every object under `prefix` (relative to the store's prefix), a page of 1,000 at a time.
    func list(prefix: String) throws(MediaStoreError) -> [StoredObject] {
        var objects: [StoredObject] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", config.prefix + prefix), ("max-keys", String(pageSize))]
            if let token { query.append(("continuation-token", token)) }
            // The bucket itself: no key (path-style puts the bucket in the path).
            let answer = try call("GET", key: nil, query: query, maxBytes: 16 << 20)
            let text = String(decoding: answer.body, as: UTF8.self)[...]
            for block in XMLText.blocks("Contents", in: text) {
                guard let key = XMLText.value("Key", in: block), key.hasPrefix(config.prefix) else { continue }
                objects.append(
                    StoredObject(
                        key: String(key.dropFirst(config.prefix.count)),
                        bytes: Int64(XMLText.value("Size", in: block) ?? "") ?? 0,
                        modified: XMLText.value("LastModified", in: block).flatMap(HTTPDate.parseISO) ?? Date(),
                        etag: XMLText.value("ETag", in: block)?.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    ))
            }
            token =
                XMLText.value("IsTruncated", in: text) == "true"
                ? XMLText.value("NextContinuationToken", in: text) : nil
        } while token != nil
        return objects.sorted { $0.key < $1.key }
    }

    /// A URL for a GET of `key` that works for `config.presignSeconds` without credentials.
    func presignedGet(_ key: String, query: [(String, String)] = []) -> (path: String, query: String) {
        let path = config.path(config.prefix + key)
        let signed = signer.presignedQuery(
            method: "GET", host: config.requestHost, path: path, query: query,
            at: Int(Date().timeIntervalSince1970), expiresSeconds: config.presignSeconds)
        return (SigV4.canonicalPath(path), signed)
    }
}

/// The dates S3 writes: `Last-Modified` (RFC 7231) and listings' ISO 8601.
enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// "Mon, 07 Dec 2026 11:00:00 GMT".
    static func parse(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])),
            let year = Int(parts[3])
        else { return nil }
        let time = parts[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3 else { return nil }
        return date(year, month + 1, day, time[0], time[1], time[2])
    }

    /// "2026-12-07T11:00:00.000Z".
    static func parseISO(_ text: String) -> Date? {
        let digits = text.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        guard digits.count >= 6 else { return nil }
        return date(digits[0], digits[1], digits[2], digits[3], digits[4], digits[5])
    }

    private static func date(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> Date?
    {
        guard (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour),
            (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        var t = tm()
        t.tm_year = Int32(year - 1900)
        t.tm_mon = Int32(month - 1)
        t.tm_mday = Int32(day)
        t.tm_hour = Int32(hour)
        t.tm_min = Int32(minute)
        t.tm_sec = Int32(second)
        return Date(timeIntervalSince1970: Double(timegm(&t)))
    }
}

/// The MD5 of a range of a file, computed on a thread of its own; `wait` returns it (nil: the file could not be read).
private final class PartDigest: Sendable {
    private let result = Mutex<[UInt8]?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(file: String, offset: Int64, length: Int64) {
        DispatchQueue.global().async { [self] in
            let digest = MD5.digest(file: file, offset: offset, length: length)
            result.withLock { $0 = digest }
            done.signal()
        }
    }

    func wait() -> [UInt8]? {
        done.wait()
        done.signal()  // a second wait returns at once
        return result.withLock { $0 }
    }
}
