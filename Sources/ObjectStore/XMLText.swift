// The few things PromptReel reads from S3's XML answers (a listing's keys, sizes and dates, an upload id, an error's
// code): the text of named elements. S3 answers are machine-written, flat and well-formed; this reads elements by
// name and decodes XML's entities, nothing more (no DTDs, no namespaces, no attributes).

enum XMLText {
    /// The text of every `<name>…</name>` in `xml`, in order, entities decoded.
    static func values(_ name: String, in xml: Substring) -> [String] {
        blocks(name, in: xml).map { decode($0) }
    }

    static func value(_ name: String, in xml: Substring) -> String? { values(name, in: xml).first }

    /// The raw inside of every `<name>…</name>` (for blocks such as `<Contents>` read further).
    static func blocks(_ name: String, in xml: Substring) -> [Substring] {
        let open = "<\(name)>", close = "</\(name)>"
        var found: [Substring] = []
        var rest = xml
        while let start = rest.firstRange(of: open), let end = rest[start.upperBound...].firstRange(of: close) {
            found.append(rest[start.upperBound..<end.lowerBound])
            rest = rest[end.upperBound...]
        }
        return found
    }

    /// `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` and numeric references; anything else is kept as it is.
    static func decode(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";"), rest.distance(from: amp, to: semi) <= 10 else {
                out += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let number: UInt32? =
                    entity.hasPrefix("#x")
                    ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                if let number, let scalar = Unicode.Scalar(number) {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += "&" + entity + ";"
                }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }

    /// `&`, `<`, `>` escaped, for the one document PromptReel sends (a multipart upload's part list).
    static func escape(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
    }
}
