// A minimal multipart/form-data reader: text fields by name (file parts are read and ignored).

import Foundation

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
                  let next = body.range(of: Data("\r\n".utf8) + delimiter, in: headerEnd.upperBound..<body.endIndex) else { return nil }
            let headers = String(decoding: body[cursor..<headerEnd.lowerBound], as: UTF8.self)
            let value = body[headerEnd.upperBound..<next.lowerBound]
            if let name = fieldName(headers), !headers.lowercased().contains("filename=") {
                guard let text = String(data: value, encoding: .utf8) else { return nil }
                fields[name] = text
            }
            cursor = next.upperBound
        }
    }

    static func fieldName(_ headers: String) -> String? {
        guard let range = headers.range(of: "name=\"") else { return nil }
        let rest = headers[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}
