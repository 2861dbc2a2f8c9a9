// A minimal multipart/form-data reader: text fields by name, file parts as `[SimFile]` under their name
// (a list, so a create that sends two `input_reference` files can be told apart from one).

import Foundation

struct SimFile {
    var filename: String
    var contentType: String?
    var data: Data
}

enum Multipart {
    static func boundary(_ contentType: String) -> String? {
        for part in contentType.split(separator: ";") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.lowercased().hasPrefix("boundary=") {
                return String(trimmed.dropFirst(9)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }

    static func parse(_ body: Data, boundary: String) -> [String: Any]? {
        let delimiter = Data("--\(boundary)".utf8)
        var fields: [String: Any] = [:]
        var cursor = body.startIndex
        guard let first = body.range(of: delimiter, in: cursor..<body.endIndex) else { return nil }
        cursor = first.upperBound
        while true {
            // After a delimiter: "--" ends the body, otherwise CRLF and a part follow.
            if body[cursor...].starts(with: Data("--".utf8)) { return fields }
            guard body[cursor...].starts(with: Data("\r\n".utf8)) else { return nil }
            cursor += 2
            guard let headerEnd = body.range(of: Data("\r\n\r\n".utf8), in: cursor..<body.endIndex),
                let next = body.range(of: Data("\r\n".utf8) + delimiter, in: headerEnd.upperBound..<body.endIndex)
            else { return nil }
            let headers = String(decoding: body[cursor..<headerEnd.lowerBound], as: UTF8.self)
            let value = body[headerEnd.upperBound..<next.lowerBound]
            if let name = fieldName(headers) {
                if let filename = parameter("filename", in: headers) {
                    let files = (fields[name] as? [SimFile]) ?? []
                    fields[name] =
                        files + [SimFile(filename: filename, contentType: partContentType(headers), data: Data(value))]
                } else {
                    guard let text = String(data: value, encoding: .utf8) else { return nil }
                    fields[name] = text
                }
            }
            cursor = next.upperBound
        }
    }

    static func fieldName(_ headers: String) -> String? { parameter("name", in: headers) }

    /// `name="…"` / `filename="…"` from the Content-Disposition line (`name=` is not matched inside `filename=`).
    static func parameter(_ key: String, in headers: String) -> String? {
        guard
            let line = headers.components(separatedBy: "\r\n").first(where: {
                $0.lowercased().hasPrefix("content-disposition:")
            })
        else { return nil }
        for piece in line.split(separator: ";").dropFirst() {
            let pair = piece.trimmingCharacters(in: .whitespaces)
            guard pair.lowercased().hasPrefix(key + "=") else { continue }
            return String(pair.dropFirst(key.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return nil
    }

    static func partContentType(_ headers: String) -> String? {
        headers.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-type:") }
            .map { String($0.dropFirst("content-type:".count)).trimmingCharacters(in: .whitespaces).lowercased() }
    }
}
