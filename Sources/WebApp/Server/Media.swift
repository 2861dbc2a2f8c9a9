// Stored media: the app checks ownership, then nginx serves the object (X-Accel-Redirect to an internal
// location: the media directory, or a proxy to a presigned URL of the bucket), so playback gets Range requests
// and the bucket stays private. Keys are named by PromptReel.

import Core
import Formats
import Telemetry
import Web

enum Media {
    static func serve(_ c: inout Context, generationID: ID<Generation>, file: String) throws -> Response {
        let user = try c.requireUser()
        if let reference = ReferenceFile(fileName: file) {
            return try serveReference(&c, generationID: generationID, file: reference, user: user)
        }
        guard let asset = MediaAsset(fileName: file),
            let (generation, video) = try c.generationWithVideo(id: generationID, userID: user.id),
            let path = generation.path(of: asset)
        else {
            throw HTTPError.notFound("No such file.")
        }
        let disposition =
            c.request.query["download"] == "1"
            ? contentDisposition(title: video.title, generationID: generation.id, asset: asset) : nil
        return try deliver(
            c, store: generation.mediaStore, key: path, contentType: asset.contentType, disposition: disposition)
    }

    /// The reference image a generation started from, or its fitted frame (ownership checked).
    static func serveReference(_ c: inout Context, generationID: ID<Generation>, file: ReferenceFile, user: User) throws
        -> Response
    {
        guard let (generation, _) = try c.generationWithVideo(id: generationID, userID: user.id),
            let reference = generation.reference
        else {
            throw HTTPError.notFound("No such file.")
        }
        let path: String
        switch file {
        case let .original(format):
            guard format == reference.format else { throw HTTPError.notFound("No such file.") }
            path = reference.originalPath
        case .fitted:
            path = reference.fittedPath
        }
        return try deliver(c, store: generation.mediaStore, key: path, contentType: file.contentType)
    }

    /// nginx sends the object once the app has checked who asks: an internal location (the media directory, or
    /// a proxy to a presigned URL of the bucket), or a redirect to the store when so configured. `shared`: for a
    /// film's read-only link — nginx's location that logs nothing (the request line holds the link's
    /// secret), and no cached copy to replay once the link is revoked.
    static func deliver(
        _ c: Context, store: MediaStoreName, key: String, contentType: String, disposition: String? = nil,
        shared: Bool = false
    ) throws -> Response {
        let delivery = try c.config.engine.media.required(store).delivery(
            key, audience: shared ? .sharedLink : .signedIn, disposition: disposition)
        switch delivery {
        case let .internalRedirect(location):
            var response = Response(
                status: 200,
                headers: [
                    ("X-Accel-Redirect", location), ("Content-Type", contentType),
                    ("Cache-Control", shared ? "private, no-cache" : "private, max-age=3600"),
                ])
            if let disposition { response.addHeader("Content-Disposition", disposition) }
            return response
        case let .redirect(url):
            // The URL stops working within minutes: the redirect itself is never kept.
            return Response(status: 302, headers: [("Location", url), ("Cache-Control", "no-store")])
        }
    }

    /// An ASCII filename for every browser plus the exact title in RFC 5987 form.
    static func contentDisposition(title: String, generationID: ID<Generation>, asset: MediaAsset) -> String {
        let ext = asset.fileName.split(separator: ".").last.map(String.init) ?? "bin"
        return attachment(name: title, suffix: generationID.description, ext: ext)
    }

    /// `attachment` named "<name>-<suffix>.<ext>": ASCII for every browser, the exact name in RFC 5987 form.
    static func attachment(name: String, suffix: String, ext: String) -> String {
        var ascii = String(
            name.unicodeScalars.map { s -> Character in
                s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "-" || s == "_")
                    ? Character(s) : "_"
            })
        while ascii.contains("__") { ascii = ascii.replacingOccurrences("__", "_") }
        ascii = String(ascii.trimmingUnderscores().prefix(80))
        if ascii.isEmpty { ascii = "video" }
        let base = "\(ascii)-\(suffix)"
        let exact = URLEncoding.encode("\(name.prefix(120))-\(suffix).\(ext)")
        return "attachment; filename=\"\(base).\(ext)\"; filename*=UTF-8''\(exact)"
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }

    func trimmingUnderscores() -> String {
        var s = Substring(self)
        while s.first == "_" { s.removeFirst() }
        while s.last == "_" { s.removeLast() }
        return String(s)
    }
}
