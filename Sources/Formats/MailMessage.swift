// A plain-text mail in the form SMTP carries it: an RFC 5322 message with MIME headers (RFC 2045), the body
// in 7-bit text when it is short-lined ASCII and base64 otherwise, a non-ASCII subject as an RFC 2047 encoded
// word. No header value can carry a line break (header injection): each is folded onto one line first.

public struct MailMessage: Sendable, Equatable {
    /// The From header as written, e.g. `PromptReel <promptreel@example.com>`.
    public var from: String
    /// The recipient's address.
    public var to: String
    public var subject: String
    /// Plain text; any line endings (they go out as CRLF).
    public var body: String
    /// Seconds since 1970 (the Date header, in UTC).
    public var date: Int64
    /// The Message-ID's left part (unique per mail); the right part is the From address's domain.
    public var messageID: String

    public init(from: String, to: String, subject: String, body: String, date: Int64, messageID: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.date = date
        self.messageID = messageID
    }

    /// The bare address inside a From value (`Name <a@b>` → `a@b`; a bare address stays as it is).
    public static func address(in value: String) -> String {
        guard let open = value.lastIndex(of: "<"), let close = value.lastIndex(of: ">"), open < close else {
            return value.trimmingWhitespace
        }
        return String(value[value.index(after: open)..<close])
    }

    /// The message's bytes, CRLF line endings, ready for SMTP's DATA (the sender escapes leading dots).
    public var rendered: [UInt8] {
        let fromAddress = Self.address(in: from)
        let domain = fromAddress.split(separator: "@").last.map(String.init) ?? "localhost"
        let ascii = body.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.value >= 32 || $0 == "\n" || $0 == "\r" || $0 == "\t")
        }
        let lines = Self.lines(of: body)
        let shortLines = lines.allSatisfy { $0.utf8.count <= 998 }
        var headers: [(String, String)] = [
            ("From", Self.mailbox(from)),
            ("To", Self.oneLine(to)),
            ("Subject", Self.encodedWord(Self.oneLine(subject))),
            ("Date", Self.rfc5322Date(date)),
            ("Message-ID", "<\(Self.oneLine(messageID))@\(Self.oneLine(domain))>"),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ]
        var text: String
        if ascii && shortLines {
            headers.append(("Content-Transfer-Encoding", "7bit"))
            text = lines.joined(separator: "\r\n")
        } else {
            headers.append(("Content-Transfer-Encoding", "base64"))
            let encoded = Self.base64(Array(lines.joined(separator: "\r\n").utf8))
            text = stride(from: 0, to: encoded.count, by: 76).map { start in
                let from = encoded.index(encoded.startIndex, offsetBy: start)
                let to = encoded.index(from, offsetBy: min(76, encoded.count - start))
                return String(encoded[from..<to])
            }.joined(separator: "\r\n")
        }
        if !text.hasSuffix("\r\n") { text += "\r\n" }
        return Array((headers.map { "\($0): \($1)" }.joined(separator: "\r\n") + "\r\n\r\n" + text).utf8)
    }

    /// The text's lines, whatever ended them (CRLF, LF, or a lone CR, which is dropped).
    static func lines(of text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(String.UnicodeScalarView(line.filter { $0 != "\r" }))
        }
    }

    /// A header value on one line: line breaks and other control characters become spaces.
    static func oneLine(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? " " : $0 }))
    }

    /// `Name <address>` with a non-ASCII name as encoded words; an ASCII one, or an address alone, as it is.
    static func mailbox(_ value: String) -> String {
        let line = oneLine(value)
        guard let open = line.lastIndex(of: "<"), open > line.startIndex else { return line }
        let name = line[..<open].trimmingWhitespace
        return name.unicodeScalars.allSatisfy(\.isASCII) ? line : encodedWord(name) + " " + line[open...]
    }

    /// ASCII as it is; otherwise RFC 2047 base64 encoded words, each under 76 characters and cut between whole
    /// code points (a word must hold complete UTF-8 sequences).
    static func encodedWord(_ value: String) -> String {
        guard !value.unicodeScalars.allSatisfy(\.isASCII) else { return value }
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in value.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if !chunk.isEmpty && chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?\(base64(chunk))?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(base64(chunk))?=") }
        return words.joined(separator: "\r\n ")
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with padding (RFC 4648 §4).
    static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            let b0 = UInt32(bytes[i])
            let b1 = n > 1 ? UInt32(bytes[i + 1]) : 0
            let b2 = n > 2 ? UInt32(bytes[i + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(triple >> 18 & 63)])
            out.append(alphabet[Int(triple >> 12 & 63)])
            out.append(n > 1 ? alphabet[Int(triple >> 6 & 63)] : UInt8(ascii: "="))
            out.append(n > 2 ? alphabet[Int(triple & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `Mon, 07 Dec 2026 21:04:05 +0000` for seconds since 1970.
    static func rfc5322Date(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let date = CivilDate(daysSince1970: days)
        let weekday = Int((days % 7 + 7 + 4) % 7)  // 1970-01-01 was a Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return
            "\(names[weekday]), \(two(date.day)) \(months[Int(date.month) - 1]) \(date.year) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }
}
