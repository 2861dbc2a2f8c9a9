// The mail wire format (Formats.MailMessage): 7-bit text or base64, encoded-word subjects, one-line headers
// whatever the values hold, RFC 5322 dates.

import Foundation
import Testing

@testable import Formats

@Suite struct MailMessageFormat {
    func message(subject: String = "Hello", body: String, from: String = "PromptReel <promptreel@example.com>")
        -> MailMessage
    {
        MailMessage(
            from: from, to: "ana@example.org", subject: subject, body: body, date: 1_796_677_445, messageID: "m1")
    }

    func text(_ m: MailMessage) -> String { String(decoding: m.rendered, as: UTF8.self) }

    @Test func asciiGoesAsSevenBitWithCRLFLines() {
        let out = text(message(body: "Line one\nLine two\r\nLast\n"))
        #expect(
            out == """
                From: PromptReel <promptreel@example.com>\r
                To: ana@example.org\r
                Subject: Hello\r
                Date: Mon, 07 Dec 2026 21:04:05 +0000\r
                Message-ID: <m1@example.com>\r
                MIME-Version: 1.0\r
                Content-Type: text/plain; charset=utf-8\r
                Content-Transfer-Encoding: 7bit\r
                \r
                Line one\r
                Line two\r
                Last\r

                """)
    }

    @Test func nonASCIIBodiesGoAsBase64InShortLines() throws {
        let body = "Café ☕ — " + String(repeating: "long line ", count: 40) + "\nend"
        let out = text(message(body: body))
        #expect(out.contains("Content-Transfer-Encoding: base64\r\n"))
        let encoded = try #require(out.components(separatedBy: "\r\n\r\n").last)
        let lines = encoded.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.allSatisfy { $0.count <= 76 })
        let decoded = try #require(Data(base64Encoded: lines.joined()))
        #expect(String(decoding: decoded, as: UTF8.self) == body.replacingOccurrences(of: "\n", with: "\r\n"))
    }

    @Test func headerValuesCannotAddHeaders() {
        var m = message(subject: "Hi\r\nBcc: victim@example.net", body: "x")
        m.to = "ana@example.org\nBcc: other@example.net"
        let headers = text(m).components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        #expect(!headers.contains { $0.hasPrefix("Bcc") })
        #expect(headers.contains("Subject: Hi  Bcc: victim@example.net"))
        #expect(headers.count == 8)
    }

    @Test func nonASCIISubjectsAndNamesAreEncodedWords() throws {
        let subject = "ana@example.org shared the project “Café ☕ storyboard” with you on PromptReel"
        let out = text(message(subject: subject, body: "x", from: "Équipe <team@example.com>"))
        let header = try #require(
            out.components(separatedBy: "\r\nDate:").first?.components(separatedBy: "Subject: ").last)
        let words = header.components(separatedBy: "\r\n ")
        #expect(
            words.count > 1 && words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") && $0.count <= 75 })
        let decoded = try words.map { word in
            let inner = String(word.dropFirst(10).dropLast(2))
            return String(decoding: try #require(Data(base64Encoded: inner)), as: UTF8.self)
        }
        #expect(decoded.joined() == subject)
        #expect(out.hasPrefix("From: =?UTF-8?B?w4lxdWlwZQ==?= <team@example.com>\r\n"))
        #expect(MailMessage.address(in: "Équipe <team@example.com>") == "team@example.com")
        #expect(MailMessage.address(in: " team@example.com ") == "team@example.com")
    }

    @Test func aLongCharacterIsCutBetweenCodePoints() {
        // One grapheme cluster of 61 bytes (a letter and 30 combining marks) still fits words under 76 characters.
        let name = "e" + String(repeating: "\u{301}", count: 30)
        let words = MailMessage.encodedWord(name).components(separatedBy: "\r\n ")
        #expect(words.count == 2 && words.allSatisfy { $0.count <= 75 && $0 != "=?UTF-8?B??=" })
    }

    @Test func base64MatchesRFC4648() {
        let cases = [
            "": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
            "foobar": "Zm9vYmFy",
        ]
        for (plain, encoded) in cases { #expect(MailMessage.base64(Array(plain.utf8)) == encoded) }
    }

    @Test func datesAreRFC5322InUTC() {
        #expect(MailMessage.rfc5322Date(0) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MailMessage.rfc5322Date(1_709_251_199) == "Thu, 29 Feb 2024 23:59:59 +0000")
        #expect(MailMessage.rfc5322Date(951_868_800) == "Wed, 01 Mar 2000 00:00:00 +0000")
        #expect(MailMessage.rfc5322Date(-1) == "Wed, 31 Dec 1969 23:59:59 +0000")
    }
}
