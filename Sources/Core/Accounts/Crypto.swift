// Everything cryptographic comes from libsodium: random tokens, SHA-256, argon2id password hashes,
// constant-time comparison. Nothing home-made.

import CCrack
import CSodium
import Glibc
import Synchronization

public enum Crypto {
    /// Must run once before any thread uses libsodium (sodium_init is idempotent).
    public static func initialize() {
        precondition(sodium_init() >= 0, "libsodium failed to initialize")
    }

    /// A random token of 256 bits, base64url without padding (43 characters).
    public static func randomToken() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        randombytes_buf(&bytes, bytes.count)
        return base64url(bytes)
    }

    public static func sha256(_ text: String) -> [UInt8] { sha256(Array(text.utf8)) }

    public static func sha256(_ input: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        crypto_hash_sha256(&out, input, UInt64(input.count))
        return out
    }

    public static func base64url(_ bytes: [UInt8]) -> String {
        encode(bytes, Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING))
    }

    /// Standard base64 with padding (RFC 4648 §4), as Standard Webhooks uses for secrets and signatures.
    public static func base64(_ bytes: [UInt8]) -> String { encode(bytes, Int32(sodium_base64_VARIANT_ORIGINAL)) }

    /// Decodes standard base64 (padding optional); nil when it is not base64.
    public static func base64Decode(_ text: String) -> [UInt8]? {
        decode(
            text,
            Int32(text.utf8.count % 4 == 0 ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING)
        )
    }

    /// Base64url without padding (as `base64url` writes); nil for anything else.
    public static func base64urlDecode(_ text: String) -> [UInt8]? {
        decode(text, Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING))
    }

    private static func encode(_ bytes: [UInt8], _ variant: Int32) -> String {
        var out = [CChar](repeating: 0, count: sodium_base64_encoded_len(bytes.count, variant))
        sodium_bin2base64(&out, out.count, bytes, bytes.count, variant)
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func decode(_ text: String, _ variant: Int32) -> [UInt8]? {
        let input = Array(text.utf8)
        var out = [UInt8](repeating: 0, count: input.count * 3 / 4 + 3)
        var length = 0
        let rc = input.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { chars in
                sodium_base642bin(&out, out.count, chars.baseAddress, chars.count, nil, &length, nil, variant)
            }
        }
        return rc == 0 ? Array(out.prefix(length)) : nil
    }

    /// `count` random bytes (libsodium's randombytes).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        randombytes_buf(&bytes, bytes.count)
        return bytes
    }

    /// The SHA-256 of a file's bytes, read a MiB at a time, as lower-case hex.
    package static func sha256Hex(file path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileUnreadable(path: path) }
        defer { close(fd) }
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw FileUnreadable(path: path) }
            if n == 0 { break }
            crypto_hash_sha256_update(&state, chunk, UInt64(n))
        }
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        crypto_hash_sha256_final(&state, &digest)
        return hex(digest)
    }

    package struct FileUnreadable: Error, CustomStringConvertible {
        package let path: String
        package var description: String { "cannot read \(path)" }
    }

    /// Lower-case hexadecimal, two digits a byte (digests as S3 and people read them).
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    /// HMAC-SHA256 with a key of any length (libsodium's crypto_auth_hmacsha256 streaming API).
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var state = crypto_auth_hmacsha256_state()
        var out = [UInt8](repeating: 0, count: Int(crypto_auth_hmacsha256_BYTES))
        crypto_auth_hmacsha256_init(&state, key, key.count)
        crypto_auth_hmacsha256_update(&state, message, UInt64(message.count))
        crypto_auth_hmacsha256_final(&state, &out)
        sodium_memzero(&state, MemoryLayout<crypto_auth_hmacsha256_state>.size)
        return out
    }

    /// Constant-time comparison of two strings' bytes (length is not secret).
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count, !x.isEmpty else { return false }
        return sodium_memcmp(x, y, x.count) == 0
    }

    /// argon2id with libsodium's interactive limits; the result carries its own salt and parameters.
    public static func hashPassword(_ password: String) -> String? {
        var out = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        let input = Array(password.utf8CString.dropLast())
        let rc = crypto_pwhash_str(
            &out, input, UInt64(input.count),
            UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE), Int(crypto_pwhash_MEMLIMIT_INTERACTIVE))
        guard rc == 0 else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func verifyPassword(_ password: String, hash: String) -> Bool {
        let input = Array(password.utf8CString.dropLast())
        return crypto_pwhash_str_verify(hash, input, UInt64(input.count)) == 0
    }

    /// A valid hash of a random password, verified against when an email is unknown so both paths cost the same.
    public static let decoyHash: String = hashPassword(randomToken()) ?? ""
}

/// Password strength by cracklib's FascistCheck (dictionary words, simple patterns), after our own
/// 10-character minimum. FascistCheck keeps static state and is not thread-safe: one call at a time.
/// Called as FascistCheckUser with a fixed user: plain FascistCheck looks up the process's own passwd
/// entry and refuses every password ("you are not registered in the password file") when the server
/// runs under a uid without one, as in many containers.
public enum PasswordStrength {
    public static let minimumLength = 10

    public enum Verdict: Equatable, Sendable {
        case strong
        case weak(String)
        /// The dictionary is not installed (FascistCheck would end the process on a missing one).
        case uncheckable
    }

    private static let lock = Mutex(())

    public static func check(_ password: String) -> Verdict {
        guard password.count >= minimumLength else { return .weak("must be at least \(minimumLength) characters") }
        guard !password.utf8.contains(0) else { return .weak("must not contain a NUL character") }
        if isCommon(password) {
            return .weak(
                "is too common: a well-known password, or one with letters swapped or digits, years or symbols added")
        }
        guard let dict = GetDefaultCracklibDict().map({ String(cString: $0) }), access(dict + ".pwd", R_OK) == 0 else {
            return .uncheckable
        }
        let reason: String? = lock.withLock { _ in
            FascistCheckUser(password, dict, "promptreel", "").map { String(cString: $0) }
        }
        return reason.map { .weak("is too weak: \($0)") } ?? .strong
    }

    private static let common = Set(commonPasswordList.split(separator: "\n").map(String.init))

    /// Whether the password is one of the common passwords (`commonPasswordList`) or such a password dressed
    /// up: letters in any case, digits and symbols for letters (`P@ssw0rd`, `$uperman`), up to 4 digits or
    /// symbols before and 8 after (`Summer2024!!`, `!Password2024`). Cracklib misses those.
    static func isCommon(_ password: String) -> Bool {
        let lower = Array(password.lowercased())
        guard let first = lower.firstIndex(where: \.isLetter), let last = lower.lastIndex(where: \.isLetter) else {
            return common.contains(String(lower))
        }
        // Every cut that removes at most 4 characters before and 8 after, all of them non-letters (a
        // substituted letter such as "$" or "1" may sit in either run: each reading is tried).
        guard first <= 4, lower.count - (last + 1) <= 8 else { return common.contains(String(lower)) }
        for start in 0...first {
            for end in (last + 1)...lower.count {
                let candidate = String(lower[start..<end])
                if common.contains(candidate) || unleet(candidate).contains(where: common.contains) { return true }
            }
        }
        return false
    }

    /// The text read with the usual substitutions undone; "1" and "!" read both as "i" and as "l".
    private static func unleet(_ text: String) -> [String] {
        let shared: [Character: Character] = [
            "@": "a", "4": "a", "8": "b", "(": "c", "3": "e", "6": "g", "9": "g", "#": "h", "0": "o", "$": "s",
            "5": "s", "7": "t", "+": "t", "2": "z",
        ]
        return ["i", "l"].map { one in
            String(text.map { c in c == "1" || c == "!" || c == "|" ? one : shared[c] ?? c })
        }
    }
}
