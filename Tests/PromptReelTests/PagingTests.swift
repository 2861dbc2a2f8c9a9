// Paging cursors: they round-trip, and a tampered, truncated or foreign one decodes to nothing.

import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

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
        // A payload naming another row with the old digest is refused; "v2|videos||7|3|1|" is not the cursor's.
        let payload = Array("v2|videos||7|3|1|".utf8)
        let digest = try #require(Crypto.base64urlDecode(text)).suffix(12)
        #expect(Cursor.decode(Crypto.base64url(payload + digest), list: .videos, scope: 7, userID: 3) == nil)
        for junk in ["", "x", "====", "v2|videos||7|3|1|", text + "=", text + " ", String(repeating: "A", count: 1500)]
        {
            #expect(Cursor.decode(junk, list: .videos, scope: 7, userID: 3) == nil)
        }
    }

    @Test func limitsAreRangeChecked() throws {
        #expect(try PageRequest.parse([:], list: .projects, scope: 0, userID: 1).limit == 50)
        #expect(try PageRequest.parse(["limit": "200"], list: .projects, scope: 0, userID: 1).limit == 200)
        #expect(try PageRequest.parse(["limit": "1"], list: .projects, scope: 0, userID: 1).limit == 1)
        for bad in ["0", "201", "-1", "abc", "", "1e2", "00001"] {
            #expect(throws: InvalidInput.self) {
                try PageRequest.parse(["limit": bad], list: .projects, scope: 0, userID: 1)
            }
        }
        let after = Cursor(list: .projects, scope: 0, userID: 1, id: 9).encoded
        #expect(try PageRequest.parse(["after": after], list: .projects, scope: 0, userID: 1).position == .after(9))
        #expect(try PageRequest.parse(["before": after], list: .projects, scope: 0, userID: 1).position == .before(9))
        #expect(throws: InvalidInput.self) {
            try PageRequest.parse(["after": after, "before": after], list: .projects, scope: 0, userID: 1)
        }
    }

    @Test func anOrderAndItsKeyTravelInTheCursor() {
        let titled = Cursor(list: .videos, scope: 0, userID: 3, id: 12, order: "title", key: "a|b c — ünïcode|")
        #expect(Cursor.decode(titled.encoded, list: .videos, order: "title", scope: 0, userID: 3) == titled)
        // A cursor made in one order is no position in another.
        #expect(Cursor.decode(titled.encoded, list: .videos, order: "edited", scope: 0, userID: 3) == nil)
        #expect(Cursor.decode(titled.encoded, list: .videos, scope: 0, userID: 3) == nil)
        let longest = Cursor(
            list: .videos, scope: 1, userID: 1, id: .max, order: "title", key: String(repeating: "𝔸", count: 200))
        #expect(Cursor.decode(longest.encoded, list: .videos, order: "title", scope: 1, userID: 1) == longest)
    }
}

@Suite struct VideoQueries {
    @Test func filtersParseAndRoundTripThroughTheURL() throws {
        let query = try VideoQuery.parse([
            "q": " cat \"red hat\" -dog ", "status": "active", "model": "sora-2", "sort": "title",
        ])
        #expect(query == VideoQuery(words: "cat \"red hat\" -dog", status: .active, model: "sora-2", sort: .title))
        #expect(query.urlQuery == "q=cat%20%22red%20hat%22%20-dog&status=active&model=sora-2&sort=title")
        #expect(try VideoQuery.parse(["q": "", "status": "", "model": "", "sort": ""]) == VideoQuery())
        #expect(VideoQuery().urlQuery == "sort=created")
    }

    @Test func badFiltersAreRefused() {
        for bad in [
            ["status": "done"], ["sort": "price"], ["q": String(repeating: "x", count: 201)],
            ["model": String(repeating: "m", count: 101)],
            ["q": "a\u{0}b"],
        ] {
            #expect(throws: InvalidInput.self) { try VideoQuery.parse(bad) }
        }
    }

    @Test func aCursorKeyMustFitItsOrder() throws {
        let edited = VideoQuery(sort: .edited)
        let good = Cursor(list: .videos, scope: 0, userID: 1, id: 5, order: "edited", key: "1764201600000000").encoded
        #expect(try edited.pageRequest(["after": good], scope: 0, userID: 1, forPage: false).key == "1764201600000000")
        for key in ["yesterday", "", "9223372036854775807", "-9223372036854775808", "1e15"] {
            let forged = Cursor(list: .videos, scope: 0, userID: 1, id: 5, order: "edited", key: key).encoded
            #expect(throws: InvalidInput.self) {
                try edited.pageRequest(["after": forged], scope: 0, userID: 1, forPage: false)
            }
        }
        let negative = Cursor(list: .videos, scope: 0, userID: 1, id: 5, order: "generated", key: "-1").encoded
        #expect(throws: InvalidInput.self) {
            try VideoQuery(sort: .generated).pageRequest(["before": negative], scope: 0, userID: 1, forPage: true)
        }
    }

    @Test func highlightsAreEscaped() {
        // As ts_headline hands back `a <b>cat</b> & "dog" &amp;lt;` (the text's own markup as entities).
        let marked = "a &lt;b&gt;\u{E000}cat\u{E001}&lt;/b&gt; &amp; \u{E000}\"dog\"\u{E001}\u{E001} &amp;lt;"
        #expect(
            Highlight.html(marked).rendered
                == "a &lt;b&gt;<mark>cat</mark>&lt;/b&gt; &amp; <mark>&quot;dog&quot;</mark> &amp;lt;")
        #expect(Highlight.html("&lt;script&gt;").rendered == "&lt;script&gt;")
    }
}
