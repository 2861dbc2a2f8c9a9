// The model catalog as the application sees it, and the mapping from the settings users know
// (model, duration, aspect_ratio, resolution) to the API's (model, seconds as a string, size).

package import Formats
package import Postgres

package struct CatalogSize: Sendable {
    package let aspectRatio: String
    package let resolution: String
    package let size: String
    /// numeric text, e.g. "0.1000"; for a size priced per GPU-second, the ceiling per second of video.
    package let usdPerSecond: String
    /// Priced per GPU-second: the rate and the most GPU-seconds per second of video (nil: per second of video).
    package var gpuPricing: GPUPricing? = nil
}

/// A self-hosted model's price per GPU-second, with the operator's ceiling on the GPU time it may take.
package struct GPUPricing: Sendable, Equatable {
    /// Numeric text, e.g. "0.001100".
    package let usdPerGPUSecond: String
    /// The most GPU-seconds one second of video may take (numeric text): the confirmed ceiling is this × seconds × rate.
    package let maxGPUSecondsPerSecond: String
}

package struct CatalogModel: Sendable {
    package let name: String
    package let displayName: String
    package let durations: [Int]
    package let sizes: [CatalogSize]
    /// Takes a reference image (image-to-video); `requiresImage`: makes videos only from one.
    package var acceptsImage = true
    package var requiresImage = false
    /// The provider can remix this model's finished videos (`POST /videos/{id}/remix`).
    package var supportsRemix = true
    /// Where its generations go, and the `model` that provider serves (the catalog's name when nil).
    package var provider = Provider.defaultName
    package var providerModel: String?
    /// Its frame rate (`fps`, and num_frames = seconds × fps, for providers that take frames); nil: the provider's own.
    package var fps: Int?
    /// The generation parameters it takes (the settings page and the API offer only these).
    package var parameters: [VideoParameter] = []

    package var aspectRatios: [String] { unique(sizes.map(\.aspectRatio)) }
    package func resolutions(aspectRatio: String) -> [String] {
        unique(sizes.filter { $0.aspectRatio == aspectRatio }.map(\.resolution)).sorted {
            Catalog.height($0) < Catalog.height($1)
        }
    }
    package var resolutions: [String] {
        unique(sizes.map(\.resolution)).sorted { Catalog.height($0) < Catalog.height($1) }
    }

    private func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}

/// What a user asked for; nil means "the catalog's default".
package struct RequestedSettings: Sendable {
    package var model: String?
    package var duration: Int?
    package var aspectRatio: String?
    package var resolution: String?
    /// How many generations one click starts (1–4); nil: one.
    package var takes: Int?
    /// Seed, negative prompt, steps, guidance: only for a model that declares them.
    package var parameters = VideoParameters()

    package init(
        model: String? = nil, duration: Int? = nil, aspectRatio: String? = nil, resolution: String? = nil,
        takes: Int? = nil, parameters: VideoParameters = VideoParameters()
    ) {
        self.model = model
        self.duration = duration
        self.aspectRatio = aspectRatio
        self.resolution = resolution
        self.takes = takes
        self.parameters = parameters
    }
}

/// Settings checked against the catalog, in both vocabularies, with the price for them.
package struct ResolvedSettings: Sendable {
    package let model: String
    package let duration: Int
    package let aspectRatio: String
    package let resolution: String
    /// The API's `size` and `seconds` (a string, as the API requires).
    package let size: String
    package var apiSeconds: String { String(duration) }
    /// calculate_sora_generation_cost().
    package let estimatedCost: USD
    /// Where it is sent, and the `model` sent there.
    package var provider = Provider.defaultName
    package var providerModel: String
    /// The model's frame rate, when it has one: the create then says `fps` and `num_frames`.
    package var fps: Int?
    package var numFrames: Int? { fps.map { $0 * duration } }
    /// The parameters asked for (each one the model declares), and those it declares.
    package var parameters = VideoParameters()
    package var declared: [VideoParameter] = []
    /// Priced per GPU-second: `estimatedCost` is then the ceiling ("up to"), and the cost settles to the measured time.
    package var gpuPricing: GPUPricing?

    package var userJSON: JSON {
        .object(
            [
                ("model", .string(model)), ("duration", .int(duration)), ("aspect_ratio", .string(aspectRatio)),
                ("resolution", .string(resolution)),
            ] + parameters.members)
    }
}

/// A setting the catalog cannot satisfy, naming the field (pages fall back to its default; the API
/// answers 422).
package struct SettingsError: Error, Sendable {
    package enum Field: String, Sendable {
        case model, duration, aspectRatio = "aspect_ratio", resolution, settings
        case seed, negativePrompt = "negative_prompt", steps = "num_inference_steps", guidance = "guidance_scale"
    }
    package let field: Field
    package let message: String
    /// No model is configured at all (503, not the user's fault).
    package var unavailable = false
}

package struct Catalog: Sendable {
    package let models: [CatalogModel]

    /// Enabled models in list order.
    package static func load(_ db: Connection) throws -> Catalog {
        let models = try db.execute(
            """
            SELECT m.name, m.display_name, m.accepts_image, m.requires_image, m.supports_remix, m.provider, m.provider_model,
                   m.fps, array_to_string(m.parameters, ',') AS parameters
            FROM video_models m JOIN providers p ON p.name = m.provider
            WHERE m.enabled AND p.enabled ORDER BY m.position, m.name
            """
        )
        let durations = try db.execute("SELECT model, seconds FROM video_model_durations ORDER BY seconds")
        let sizes = try db.execute(
            """
            SELECT s.model, s.aspect_ratio, s.resolution, s.size, r.usd_per_second::text AS price,
                   r.usd_per_gpu_second::text AS gpu_rate, r.max_gpu_seconds_per_second::text AS gpu_max
            FROM video_model_sizes s JOIN video_model_resolutions r USING (model, resolution)
            ORDER BY s.model, split_part(s.aspect_ratio, ':', 1)::numeric / split_part(s.aspect_ratio, ':', 2)::numeric DESC,
                     rtrim(s.resolution, 'p')::integer
            """)
        return Catalog(
            models: models.map { row in
                let name = row.string("name")
                return CatalogModel(
                    name: name, displayName: row.string("display_name"),
                    durations: durations.filter { $0.string("model") == name }.map { Int($0.int("seconds")) },
                    sizes: sizes.filter { $0.string("model") == name }.map { size in
                        CatalogSize(
                            aspectRatio: size.string("aspect_ratio"), resolution: size.string("resolution"),
                            size: size.string("size"), usdPerSecond: size.string("price"),
                            gpuPricing: size["gpu_rate"].flatMap { rate in
                                size["gpu_max"].map { GPUPricing(usdPerGPUSecond: rate, maxGPUSecondsPerSecond: $0) }
                            })
                    },
                    acceptsImage: row.bool("accepts_image"), requiresImage: row.bool("requires_image"),
                    supportsRemix: row.bool("supports_remix"), provider: row.string("provider"),
                    providerModel: row["provider_model"], fps: row.optionalInt("fps").map { Int($0) },
                    parameters: row.string("parameters").split(separator: ",").compactMap {
                        VideoParameter(rawValue: String($0))
                    })
            })
    }

    package func model(named name: String) -> CatalogModel? { models.first { $0.name == name } }

    /// Checks settings against the catalog, fills defaults, and prices them with the SQL function.
    package func resolve(_ requested: RequestedSettings, db: Connection) throws -> ResolvedSettings {
        guard let first = models.first else {
            throw SettingsError(
                field: .model, message: "No video models are configured. Ask the operator to add one.",
                unavailable: true)
        }
        let model: CatalogModel
        if let name = requested.model {
            guard let found = self.model(named: name) else {
                throw SettingsError(
                    field: .model, message: "must be one of \(models.map(\.name).joined(separator: ", "))")
            }
            model = found
        } else {
            model = first
        }
        guard let shortest = model.durations.first else {
            throw SettingsError(
                field: .duration, message: "\(model.name) has no durations configured.", unavailable: true)
        }
        let duration = requested.duration ?? shortest
        guard model.durations.contains(duration) else {
            throw SettingsError(
                field: .duration,
                message: "\(model.name) offers \(Catalog.list(model.durations.map(String.init))) seconds")
        }
        let aspectRatios = model.aspectRatios
        let aspectRatio = requested.aspectRatio ?? (aspectRatios.contains("16:9") ? "16:9" : aspectRatios.first ?? "")
        guard aspectRatios.contains(aspectRatio) else {
            throw SettingsError(field: .aspectRatio, message: "\(model.name) offers \(Catalog.list(aspectRatios))")
        }
        let resolutions = model.resolutions(aspectRatio: aspectRatio)
        let resolution = requested.resolution ?? resolutions.first ?? ""
        guard let size = model.sizes.first(where: { $0.aspectRatio == aspectRatio && $0.resolution == resolution })
        else {
            throw SettingsError(
                field: .resolution, message: "\(model.name) offers \(Catalog.list(resolutions)) at \(aspectRatio)")
        }
        for parameter in requested.parameters.given where !model.parameters.contains(parameter) {
            throw SettingsError(
                field: SettingsError.Field(rawValue: parameter.rawValue) ?? .settings,
                message: "\(model.name) does not take \(parameter.rawValue)"
                    + (model.parameters.isEmpty
                        ? "" : " (it takes \(Catalog.list(model.parameters.map(\.rawValue))))"))
        }
        let cost = try Catalog.cost(duration: duration, resolution: resolution, model: model.name, db: db)
        return ResolvedSettings(
            model: model.name, duration: duration, aspectRatio: aspectRatio, resolution: resolution,
            size: size.size, estimatedCost: cost, provider: model.provider,
            providerModel: model.providerModel ?? model.name, fps: model.fps, parameters: requested.parameters,
            declared: model.parameters, gpuPricing: size.gpuPricing)
    }

    /// The SQL function is the only price calculation; Swift never multiplies money.
    package static func cost(duration: Int, resolution: String, model: String, db: Connection) throws -> USD {
        guard
            let text = try db.execute(
                "SELECT calculate_sora_generation_cost(\(duration), \(resolution), \(model))::text AS cost"
            )
            .first?["cost"], let cost = USD(parsing: text)
        else {
            throw SettingsError(
                field: .settings, message: "\(model) has no price for \(duration) seconds at \(resolution)")
        }
        return cost
    }

    package static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: "nothing"
        case 1: items[0]
        default: items.dropLast().joined(separator: ", ") + " or " + (items.last ?? "")
        }
    }

    /// "720p" → 720, for ordering resolutions.
    package static func height(_ resolution: String) -> Int { Int(resolution.dropLast()) ?? 0 }

    /// Reads settings from JSON (`{"settings": {...}}` members), accepting durations as numbers or numeric strings.
    package static func requested(fromJSON settings: JSON?) throws(InvalidInput) -> RequestedSettings {
        guard let settings, !settings.isNull else { return RequestedSettings() }
        guard case .object = settings else { throw InvalidInput(field: "settings", "must be an object") }
        func text(_ key: String) throws(InvalidInput) -> String? {
            guard let value = settings[key], !value.isNull else { return nil }
            guard let s = value.stringValue else { throw InvalidInput(field: key, "must be a string") }
            return s
        }
        var duration: Int?
        if let value = settings["duration"], !value.isNull {
            switch value {
            case let .number(n): duration = Int(n)
            case let .string(s): duration = Int(s)
            default: break
            }
            guard duration != nil else { throw InvalidInput(field: "duration", "must be a whole number of seconds") }
        }
        var takes: Int?
        if let value = settings["takes"], !value.isNull {
            switch value {
            case let .number(n): takes = Int(n)
            case let .string(s): takes = Int(s)
            default: break
            }
            takes = try checkedTakes(takes, field: "settings.takes")
        }
        return RequestedSettings(
            model: try text("model"), duration: duration, aspectRatio: try text("aspect_ratio"),
            resolution: try text("resolution"), takes: takes, parameters: try VideoParameters.fromJSON(settings))
    }

    package static let maxTakes = 4

    /// 1–4 takes per click; anything else (including "2.5") is a 422 naming the field.
    package static func checkedTakes(_ takes: Int?, field: String) throws(InvalidInput) -> Int {
        guard let takes, (1...maxTakes).contains(takes) else {
            throw InvalidInput(field: field, "must be a whole number of takes from 1 to \(maxTakes)")
        }
        return takes
    }

    /// Reads settings from a query string or form; empty values mean "default".
    package static func requested(fromFields fields: [String: String]) throws(InvalidInput) -> RequestedSettings {
        func value(_ key: String) -> String? { fields[key].flatMap { $0.isEmpty ? nil : $0 } }
        var duration: Int?
        if let d = value("duration") {
            guard let n = Int(d) else { throw InvalidInput(field: "duration", "must be a whole number of seconds") }
            duration = n
        }
        var takes: Int?
        if let t = value("takes") { takes = try checkedTakes(Int(t), field: "takes") }
        return RequestedSettings(
            model: value("model"), duration: duration, aspectRatio: value("aspect_ratio"),
            resolution: value("resolution"), takes: takes, parameters: try VideoParameters.fromFields(fields))
    }

}
