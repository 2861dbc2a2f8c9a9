// The strict multipart/form-data reader: well-formed bodies, and every kind of malformed one.

import Testing
import Web

@Suite struct MultipartParsing {
    static let type = "multipart/form-data; boundary=XyZ"

    static func body(_ text: String) -> [UInt8] { Array(text.replacingCRLF.utf8) }

    @Test func readsFieldsAndFiles() throws {
        var bytes = Self.body(
            "--XyZ\nContent-Disposition: form-data; name=\"_csrf\"\n\ntoken\n--XyZ\nContent-Disposition: form-data; name=\"image\"; filename=\"a b.png\"\nContent-Type: image/png\n\n"
        )
        bytes += [0x89, 0x50, 0x0D, 0x0A, 0x2D, 0x2D, 0x00]  // binary with CRLF and dashes inside
        bytes += Self.body("\n--XyZ--\n")
        let parts = try Multipart.parse(bytes, contentType: Self.type)
        #expect(parts.count == 2)
        #expect(parts[0].name == "_csrf" && parts[0].filename == nil && parts[0].data == Array("token".utf8))
        #expect(parts[1].name == "image" && parts[1].filename == "a b.png" && parts[1].contentType == "image/png")
        #expect(parts[1].data == [0x89, 0x50, 0x0D, 0x0A, 0x2D, 0x2D, 0x00])
    }

    @Test func boundaryFromContentType() {
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=\"a b\"") == "a b")
        #expect(
            Multipart.boundary(contentType: "Multipart/Form-Data;boundary=----WebKitFormBoundaryX1")
                == "----WebKitFormBoundaryX1")
        #expect(Multipart.boundary(contentType: "multipart/form-data") == nil)
        #expect(Multipart.boundary(contentType: "multipart/mixed; boundary=x") == nil)
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=") == nil)
        #expect(
            Multipart.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "a", count: 71)) == nil
        )
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=a\u{7}b") == nil)
    }

    @Test func malformedBodiesAreErrors() {
        let cases: [(String, String)] = [
            ("no boundary declared", ""),
            ("junk first", "hello\n--XyZ\nContent-Disposition: form-data; name=\"a\"\n\nx\n--XyZ--\n"),
            ("no closing boundary", "--XyZ\nContent-Disposition: form-data; name=\"a\"\n\nx"),
            ("headers never end", "--XyZ\nContent-Disposition: form-data; name=\"a\"\nx\n--XyZ--\n"),
            ("no disposition", "--XyZ\nContent-Type: text/plain\n\nx\n--XyZ--\n"),
            ("not form-data", "--XyZ\nContent-Disposition: attachment; name=\"a\"\n\nx\n--XyZ--\n"),
            ("no name", "--XyZ\nContent-Disposition: form-data; filename=\"a\"\n\nx\n--XyZ--\n"),
            ("unterminated quote", "--XyZ\nContent-Disposition: form-data; name=\"a\n\nx\n--XyZ--\n"),
            ("header without colon", "--XyZ\nContent-Disposition form-data\n\nx\n--XyZ--\n"),
            ("repeated parameter", "--XyZ\nContent-Disposition: form-data; name=\"a\"; name=\"b\"\n\nx\n--XyZ--\n"),
            ("boundary glued to data", "--XyZjunk\nContent-Disposition: form-data; name=\"a\"\n\nx\n--XyZ--\n"),
        ]
        for (label, text) in cases {
            let type = label == "no boundary declared" ? "multipart/form-data" : Self.type
            #expect(throws: MultipartError.self, "\(label)") { try Multipart.parse(Self.body(text), contentType: type) }
        }
        #expect(throws: MultipartError.self) { try Multipart.parse([], contentType: Self.type) }
    }

    @Test func partCountIsBounded() {
        var text = ""
        for i in 0...Multipart.maxParts { text += "--XyZ\nContent-Disposition: form-data; name=\"f\(i)\"\n\nv\n" }
        text += "--XyZ--\n"
        #expect(throws: MultipartError.tooManyParts) { try Multipart.parse(Self.body(text), contentType: Self.type) }
    }

    @Test func hugeHeadersAreRefused() {
        let text =
            "--XyZ\nContent-Disposition: form-data; name=\"a\"\nX-Pad: " + String(repeating: "p", count: 9000)
            + "\n\nx\n--XyZ--\n"
        #expect(throws: MultipartError.self) { try Multipart.parse(Self.body(text), contentType: Self.type) }
    }
}

extension String {
    var replacingCRLF: String { split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n") }
}
