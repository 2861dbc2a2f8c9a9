// The reference image on the video page (upload with a plain multipart form, remove, show) and its
// fitted preview for the settings page; the JSON API's PUT/GET/DELETE. Both go through ReferenceImages.

import Core
import Formats
import Images
import Telemetry
import Web

enum ReferencePages {
    static func images(_ c: Context) -> ReferenceImages {
        ReferenceImages(
            db: c.db, stores: c.config.engine.media, images: c.config.images,
            defaultQuotaBytes: c.config.storageQuotaBytes)
    }

    /// The video page's section: the current image with its facts, the upload form and Remove.
    static func videoSection(_ c: Context, video: Video, user: User, error: String?) throws -> HTML {
        let current = try images(c).current(videoID: video.id, userID: user.id)
        let shown: HTML =
            current.map { image in
                """
                <figure class="reference"><img src="\(Route.references(.videoReferenceImage(video: video.id)).path)?v=\(String(image.sha256.prefix(12)))" alt="The reference image" width="240">
                <figcaption>\(image.format.rawValue.uppercased()), \(image.width)×\(image.height), \(Formatting.bytes(image.bytes)). Each generation fits it to its exact size (crop or letterbox, chosen when you generate).</figcaption></figure>
                \(video.role.canEdit ? removeForm(c, video) : .empty)
                """
            } ?? "<p class=\"muted\">No reference image: generations start from the prompt alone.</p>"
        guard video.role.canEdit else { return "<h2 id=\"reference-image\">Reference image</h2>\(shown)" }
        return """
            <h2 id="reference-image">Reference image</h2>\(Views.errorBox(error))
            \(shown)
            <form method="post" action="\(Route.references(.videoReferenceImage(video: video.id)).path)" enctype="multipart/form-data" class="settings">\(Views.csrfField(c))
            <label for="image">\(current == nil ? "Start the video from an image" : "Replace the image")</label>
            <input type="file" id="image" name="image" accept="image/jpeg,image/png,image/webp" required>
            <small>JPEG, PNG or WebP, up to 20 MB, at least \(Images.minSide)×\(Images.minSide) and at most \(Images.maxSide) pixels a side.</small>
            <button type="submit">Upload image</button></form>
            """
    }

    static func removeForm(_ c: Context, _ video: Video) -> HTML {
        """
        <form method="post" action="\(Route.references(.videoReferenceImageDelete(video: video.id)).path)" class="inline">\(Views.csrfField(c))
        <button type="submit" class="secondary">Remove the image</button></form>
        """
    }

    /// POST /dashboard/videos/{id}/reference-image (multipart: `image`, `_csrf`).
    static func upload(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.video(id: videoID, userID: user.id) != nil else { throw HTTPError.notFound("No such video.") }
        guard c.request.contentType == "multipart/form-data" else {
            throw HTTPError(415, "multipart_required", "Upload the image with the form on the video page.")
        }
        let bytes = try c.file("image")?.data ?? []
        do {
            _ = try images(c).upload(videoID: videoID, userID: user.id, bytes: bytes)
        } catch let refusal as ReferenceImages.Refusal {
            if case .noSuchVideo = refusal { throw refusal.httpError }
            // The video page again, with the reason and the refusal's status (4xx).
            return try VideoPages.show(&c, id: videoID, imageError: refusal.httpError)
        }
        c.setFlash("Reference image saved.")
        return .redirect(to: Route.library(.video(videoID)).path + "#reference-image")
    }

    /// POST /dashboard/videos/{id}/reference-image/delete
    static func remove(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.video(id: videoID, userID: user.id) != nil else { throw HTTPError.notFound("No such video.") }
        c.setFlash(
            try images(c).remove(videoID: videoID, userID: user.id)
                ? "Reference image removed." : "This video had no reference image.")
        return .redirect(to: Route.library(.video(videoID)).path)
    }

    /// GET /dashboard/videos/{id}/reference-image: the original, sent by nginx once ownership is checked.
    static func original(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let image = try images(c).current(videoID: videoID, userID: user.id) else {
            throw HTTPError.notFound("No reference image.")
        }
        return try Media.deliver(c, store: image.store, key: image.path, contentType: image.format.contentType)
    }

    /// GET /dashboard/videos/{id}/reference-image/preview?size=1280x720&fit=crop — a small JPEG of the
    /// fitted frame, made on request (shrunk from the original; cached by the browser per image).
    static func preview(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard let image = try images(c).current(videoID: videoID, userID: user.id) else {
            throw HTTPError.notFound("No reference image.")
        }
        // Only the catalog's sizes: the preview is made once per image, size and fit, then kept.
        let size = c.request.query["size"] ?? ""
        guard try Catalog.load(c.db).models.contains(where: { $0.sizes.contains { $0.size == size } }) else {
            throw InvalidInput(field: "size", "must be one of the catalog's sizes, e.g. 1280x720")
        }
        let fit = try fitMode(c.request.query["fit"])
        let jpeg = try images(c).preview(image, size: size, mode: fit)
        return Response(
            status: 200, headers: [("Content-Type", "image/jpeg"), ("Cache-Control", "private, max-age=3600")],
            body: jpeg)
    }

    /// crop (the default) or letterbox; anything else is a 422 naming the field.
    static func fitMode(_ value: String?) throws(InvalidInput) -> FitMode {
        guard let value, !value.isEmpty else { return .crop }
        guard let mode = FitMode(rawValue: value) else {
            throw InvalidInput(field: "image_fit", "must be crop or letterbox")
        }
        return mode
    }
}

enum ReferenceAPI {
    /// GET /api/videos/{id}/reference-image
    static func show(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.video(id: videoID, userID: user.id) != nil else { throw HTTPError.notFound("No such video.") }
        guard let image = try ReferencePages.images(c).current(videoID: videoID, userID: user.id) else {
            throw HTTPError(404, "no_reference_image", "This video has no reference image.")
        }
        return .json(image.json(videoID: videoID))
    }

    /// PUT /api/videos/{id}/reference-image with the image as the body and its Content-Type.
    static func put(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.video(id: videoID, userID: user.id) != nil else { throw HTTPError.notFound("No such video.") }
        guard ImageFormat(contentType: c.request.contentType) != nil else {
            throw HTTPError(
                415, "unsupported_media_type",
                "Send the image as the body with Content-Type image/jpeg, image/png or image/webp.")
        }
        let image = try ReferencePages.images(c).upload(videoID: videoID, userID: user.id, bytes: c.request.body)
        return .json(image.json(videoID: videoID))
    }

    /// DELETE /api/videos/{id}/reference-image
    static func delete(_ c: inout Context, videoID: ID<Video>) throws -> Response {
        let user = try c.requireUser()
        guard try c.store.video(id: videoID, userID: user.id) != nil else { throw HTTPError.notFound("No such video.") }
        guard try ReferencePages.images(c).remove(videoID: videoID, userID: user.id) else {
            throw HTTPError(404, "no_reference_image", "This video has no reference image.")
        }
        return .json(.object([("deleted", .bool(true))]))
    }
}

extension ReferenceImage {
    func json(videoID: ID<Video>) -> JSON {
        .object([
            ("contentType", .string(format.contentType)), ("width", .int(width)), ("height", .int(height)),
            ("bytes", .int(bytes)), ("sha256", .string(sha256)), ("uploadedAt", .string(createdAt.iso)),
            ("url", .string(Route.references(.videoReferenceImage(video: videoID)).path)),
        ])
    }
}
