// The settings a generation or a roundtable was made with, as its row keeps them (jsonb), decoded once when
// the row is read: pages and answers use the fields, never the text.

package import Formats

package struct StoredSettings: Sendable {
    package var model: String?
    package var duration: Int?
    package var aspectRatio: String?
    package var resolution: String?
    /// How many generations the click started (generations only).
    package var takes: Int?
    /// The generation parameters it was sent with (each take's own seed).
    package var parameters: VideoParameters
    /// The frame rate and frame count sent, for providers that take frames.
    package var fps: Int?
    package var numFrames: Int?
    /// The whole stored document, answered back as it is (`settings` in the API).
    package let document: JSON

    /// Reads the stored text; anything unreadable (a hand-edited row) is kept as null and read as empty.
    package init(jsonText: String) {
        let json = (try? JSONParser.parse(jsonText)) ?? .null
        document = json
        model = json["model"]?.stringValue
        duration = json["duration"].flatMap { value in
            if case let .number(text) = value { Int(text) } else { value.stringValue.flatMap { Int($0) } }
        }
        aspectRatio = json["aspect_ratio"]?.stringValue
        resolution = json["resolution"]?.stringValue
        takes = json["takes"]?.intValue
        parameters = VideoParameters(stored: json)
        fps = json["api"]?["fps"]?.intValue
        numFrames = json["api"]?["num_frames"]?.intValue
    }

    /// "sora-2 · 8 s · 16:9 · 720p": what is known of them, in that order.
    package var summary: String {
        [model, duration.map { "\($0) s" }, aspectRatio, resolution, fps.map { "\($0) fps" }].compactMap { $0 }
            .joined(separator: " · ")
    }
}
