// Paging cursors: they round-trip, and a tampered, truncated or foreign one decodes to nothing.

@testable import PromptReel
import Testing
import Web

@Suite struct Paging {
    let cursor = Cursor(list: .videos, scope: 7, userID: 3, id: 1234)

    @Test func roundTrips() {
        #expect(Cursor.decode(cursor.encoded, list: .videos, scope: 7, userID: 3) == cursor)
        #expect(cursor.encoded.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    }

    @Test func otherListScopeOrUserIsRefused() {
        #expect(Cursor.decode(cursor.encoded, list: .generations, scope: 7, userID: 3) == nil)
        #expect(Cursor.decode(cursor.encoded, list: .videos, scope: 8, userID: 3) == nil)
        #expect(Cursor.decode(cursor.encoded, list: .videos, scope: 7, userID: 4) == nil)
    }

    @Test func tamperedOrTruncatedIsRefused() throws {
        let text = cursor.encoded
        for cut in 1..<text.count {
            #expect(Cursor.decode(String(text.dropLast(cut)), list: .videos, scope: 7, userID: 3) == nil)
        }
        var bytes = try #require(Crypto.base64urlDecode(text))
        for i in bytes.indices {
            bytes[i] ^= 0x01
            #expect(Cursor.decode(Crypto.base64url(bytes), list: .videos, scope: 7, userID: 3) == nil)
            bytes[i] ^= 0x01
        }
        // A payload naming another row with the old digest is refused; "v1|videos|7|3|1" is not the cursor's.
        let payload = Array("v1|videos|7|3|1".utf8)
        let digest = try #require(Crypto.base64urlDecode(text)).suffix(12)
        #expect(Cursor.decode(Crypto.base64url(payload + digest), list: .videos, scope: 7, userID: 3) == nil)
        for junk in ["", "x", "====", "v1|videos|7|3|1", text + "=", text + " ", String(repeating: "A", count: 300)] {
            #expect(Cursor.decode(junk, list: .videos, scope: 7, userID: 3) == nil)
        }
    }

    @Test func limitsAreRangeChecked() throws {
        #expect(try PageRequest.parse([:], list: .projects, scope: 0, userID: 1).limit == 50)
        #expect(try PageRequest.parse(["limit": "200"], list: .projects, scope: 0, userID: 1).limit == 200)
        #expect(try PageRequest.parse(["limit": "1"], list: .projects, scope: 0, userID: 1).limit == 1)
        for bad in ["0", "201", "-1", "abc", "", "1e2", "00001"] {
            #expect(throws: HTTPError.self) { try PageRequest.parse(["limit": bad], list: .projects, scope: 0, userID: 1) }
        }
        let after = Cursor(list: .projects, scope: 0, userID: 1, id: 9).encoded
        #expect(try PageRequest.parse(["after": after], list: .projects, scope: 0, userID: 1).position == .after(9))
        #expect(try PageRequest.parse(["before": after], list: .projects, scope: 0, userID: 1).position == .before(9))
        #expect(throws: HTTPError.self) { try PageRequest.parse(["after": after, "before": after], list: .projects, scope: 0, userID: 1) }
    }
}
