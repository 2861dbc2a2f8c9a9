// Form, query, cookie and JSON parsing, including malformed input.

import Formats
import Testing
import Web

@Suite struct FormParsing {
    @Test func decodesPlusAndPercent() throws {
        let form = try FormDecoder.strict(Array("a=1+2&b=%3Cx%3E&c=&d".utf8))
        #expect(form["a"] == "1 2")
        #expect(form["b"] == "<x>")
        #expect(form["c"] == "")
        #expect(form["d"] == "")
    }

    @Test func firstDuplicateWins() throws {
        #expect(try FormDecoder.strict(Array("x=1&x=2".utf8))["x"] == "1")
    }

    @Test func malformedEscapeIsKeptLiterally() throws {
        #expect(try FormDecoder.strict(Array("p=100%&q=%zz&r=%4".utf8)).fields == ["p": "100%", "q": "%zz", "r": "%4"])
    }

    @Test func invalidUTF8NamesTheField() {
        #expect(throws: FormError.invalidUTF8(field: "title")) { try FormDecoder.strict(Array("title=%FF%FE".utf8)) }
        #expect(throws: FormError.invalidUTF8(field: "title")) {
            try FormDecoder.strict([0x74, 0x69, 0x74, 0x6C, 0x65, 0x3D, 0xC3])
        }
    }

    @Test func queryIsLenient() {
        #expect(FormDecoder.lenient("next=%2Fdashboard&bad=%FF") == ["next": "/dashboard"])
        let r = Request(method: "get", target: "/x?a=1&b=two")
        #expect(r.method == "GET")
        #expect(r.path == "/x")
        #expect(r.query == ["a": "1", "b": "two"])
    }
}

@Suite struct CookieParsing {
    @Test func parsesPairsAndSkipsJunk() {
        #expect(Cookies.parse("a=1; b = two ;junk; c=\"q\"; a=3") == ["a": "1", "b": "two", "c": "q"])
        #expect(Cookies.parse("") == [:])
        #expect(Cookies.parse(";;=;=x") == [:])
    }

    @Test func setCookieHasSafeDefaults() {
        let value = Cookie(name: "s", value: "v", maxAge: 10, secure: true).headerValue
        #expect(value == "s=v; Path=/; SameSite=Lax; Max-Age=10; HttpOnly; Secure")
    }

    @Test func bearerToken() {
        #expect(Request(method: "GET", path: "/", headers: ["authorization": "Bearer abc"]).bearerToken == "abc")
        #expect(Request(method: "GET", path: "/", headers: ["authorization": "bearer  abc "]).bearerToken == "abc")
        #expect(Request(method: "GET", path: "/", headers: ["authorization": "Basic abc"]).bearerToken == nil)
        #expect(Request(method: "GET", path: "/", headers: ["authorization": "Bearer"]).bearerToken == nil)
    }
}

@Suite struct JSONParsing {
    @Test func roundTrips() throws {
        let text = #"{"a":[1,-2.5e3,true,false,null],"b":"x\"y\\z\u00e9","c":{}}"#
        let value = try JSONParser.parse(text)
        #expect(value["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]))
        #expect(value["b"]?.stringValue == "x\"y\\zé")
        #expect(try JSONParser.parse(value.serialized) == value)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", "\"\u{01}\"", "tru", "{} x", "\"\\x\"", "[1 2]", "-",
        "1e",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test func rejectsDeepNesting() {
        let deep = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        #expect(throws: JSONError.tooDeep) { try JSONParser.parse(Array(deep.utf8)) }
    }

    @Test func invalidUTF8IsReportedPerTopLevelKey() throws {
        var bytes = Array(#"{"title":"ok","final_prompt":"a"#.utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array(#"b","x":{"y":"\ud800"}}"#.utf8)
        let doc = try JSONParser.parse(bytes)
        #expect(doc.invalidUTF8Keys == ["final_prompt", "x"])
        #expect(doc.root["title"]?.stringValue == "ok")
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONParser.parse(#""\ud83c\udfac""#).stringValue == "🎬")
    }

    @Test func serializerEscapesMarkupAndControls() {
        #expect(JSON.string("</script>\n\u{01}&").serialized == #""\u003c/script\u003e\n\u0001\u0026""#)
    }

    @Test func requestRequiresJSONContentType() {
        let r = Request(method: "POST", path: "/api/x", headers: ["content-type": "text/plain"], body: Array("{}".utf8))
        #expect(throws: JSONError.wrongContentType) { try r.json() }
        let ok = Request(
            method: "POST", path: "/api/x", headers: ["content-type": "application/json; charset=utf-8"],
            body: Array("{}".utf8))
        #expect(throws: Never.self) { try ok.json() }
    }
}

@Suite struct Escaping {
    @Test func textIsEscapedForContentAndAttributes() {
        let hostile = #"<script>alert(1)</script>"'&"#
        let html: HTML = "<p title=\"\(hostile)\">\(hostile)</p>"
        #expect(
            html.rendered
                == "<p title=\"&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;\">&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;</p>"
        )
    }

    @Test func htmlValuesPassThrough() {
        let inner: HTML = "<b>\("x<y")</b>"
        let outer: HTML = "<p>\(inner)</p>"
        #expect(outer.rendered == "<p><b>x&lt;y</b></p>")
    }

    @Test func urlEncoding() {
        #expect(URLEncoding.encode("/a b?c=d&é") == "%2Fa%20b%3Fc%3Dd%26%C3%A9")
    }

    @Test func errorsAreJSONUnderAPIAndPagesElsewhere() {
        let api = ErrorPages.response(for: .notFound(), request: Request(method: "GET", path: "/api/x"))
        #expect(api.status == 404)
        #expect(api.bodyText == #"{"error":{"code":"not_found","message":"Not found."}}"#)
        let page = ErrorPages.response(for: .notFound(), request: Request(method: "GET", path: "/x"))
        #expect(page.header("content-type")?.hasPrefix("text/html") == true)
        #expect(page.bodyText.contains("Not found."))
    }
}

@Suite struct TextHelpers {
    @Test func trimsBothEnds() {
        #expect("  a b \t\n".trimmingWhitespace == "a b")
        #expect("\u{2003}x\u{00A0}".trimmingWhitespace == "x")
        #expect(" \n\t ".trimmingWhitespace == "")
        #expect("".trimmingWhitespace == "")
        #expect("x".trimmingWhitespace == "x")
        #expect(Request(method: "GET", target: "/", headers: ["authorization": "Bearer  tok \t"]).bearerToken == "tok")
    }
}
