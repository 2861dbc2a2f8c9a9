// Writes a download to a file while hashing it (SHA-256, libsodium) and enforcing a size cap.
// Owns the FILE* and closes it.

import CSodium
import Glibc
import HTTPClient

final class FileSink: ResponseSink {
    private var file: UnsafeMutablePointer<FILE>?
    private var state = crypto_hash_sha256_state()
    private let limit: Int
    private(set) var count = 0
    private(set) var overLimit = false
    /// The first bytes: to check what the body really is, and to read a JSON error sent instead of media.
    private(set) var errorBody: [UInt8] = []

    struct OpenError: Error, CustomStringConvertible {
        let errno: Int32
        var description: String { String(cString: strerror(errno)) }
    }

    init(path: String, limit: Int) throws {
        guard let f = fopen(path, "wb") else { throw OpenError(errno: errno) }
        file = f
        self.limit = limit
        crypto_hash_sha256_init(&state)
    }

    deinit { if let file { fclose(file) } }

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard count + bytes.count <= limit else {
            overLimit = true
            return false
        }
        guard let file, let base = bytes.baseAddress else { return bytes.isEmpty }
        if errorBody.count < 4096 { errorBody.append(contentsOf: bytes.prefix(4096 - errorBody.count)) }
        guard fwrite(base, 1, bytes.count, file) == bytes.count else { return false }
        crypto_hash_sha256_update(&state, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
        count += bytes.count
        return true
    }

    func close() throws {
        guard let f = file else { return }
        file = nil
        guard fflush(f) == 0, fsync(fileno(f)) == 0 else {
            fclose(f)
            throw OpenError(errno: errno)
        }
        fclose(f)
    }

    func digestHex() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var copy = state
        crypto_hash_sha256_final(&copy, &digest)
        let hex = Array("0123456789abcdef".utf8)
        return String(decoding: digest.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 15)]] }, as: UTF8.self)
    }
}
