// Operator changes to the model catalog (the `promptreel models` commands), each in one transaction.

public import Postgres

public enum CatalogAdmin {
    public struct NewModel: Sendable {
        public var name: String
        public var displayName: String
        public var position: Int
        public var durations: [Int]
        /// resolution → USD per second (numeric text)
        public var prices: [(String, String)]
        /// (aspect ratio, resolution, size)
        public var sizes: [(String, String, String)]
        /// Image-to-video: takes a reference image; makes videos only from one.
        public var acceptsImage = true
        public var requiresImage = false
        /// The provider can remix this model's videos.
        public var supportsRemix = true

        public init(
            name: String, displayName: String, position: Int, durations: [Int], prices: [(String, String)],
            sizes: [(String, String, String)]
        ) {
            self.name = name
            self.displayName = displayName
            self.position = position
            self.durations = durations
            self.prices = prices
            self.sizes = sizes
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func add(_ model: NewModel, db: Connection) throws {
        guard !model.durations.isEmpty, !model.sizes.isEmpty else {
            throw Failure(description: "give at least one --duration and one --size")
        }
        for (_, resolution, _) in model.sizes where !model.prices.contains(where: { $0.0 == resolution }) {
            throw Failure(description: "no --price for resolution \(resolution)")
        }
        do {
            try db.transaction {
                try db.execute(
                    """
                    INSERT INTO video_models (name, display_name, position, accepts_image, requires_image, supports_remix)
                    VALUES (\(model.name), \(model.displayName), \(model.position), \(model.acceptsImage), \(model.requiresImage), \(model.supportsRemix))
                    """)
                for seconds in model.durations {
                    try db.execute(
                        "INSERT INTO video_model_durations (model, seconds) VALUES (\(model.name), \(seconds))")
                }
                for (resolution, price) in model.prices {
                    try db.execute(
                        "INSERT INTO video_model_resolutions (model, resolution, usd_per_second) VALUES (\(model.name), \(resolution), \(price)::numeric)"
                    )
                }
                for (aspect, resolution, size) in model.sizes {
                    try db.execute(
                        "INSERT INTO video_model_sizes (model, aspect_ratio, resolution, size) VALUES (\(model.name), \(aspect), \(resolution), \(size))"
                    )
                }
            }
        } catch let error as DatabaseError {
            throw Failure(
                description: error.isUniqueViolation
                    ? "model \(model.name) already exists (or a size is listed twice)" : "refused: \(error)")
        }
    }

    /// Sets (or adds) the price of one resolution of a model, per second of video.
    public static func price(model: String, resolution: String, usdPerSecond: String, db: Connection) throws {
        let rows = try db.execute(
            """
            INSERT INTO video_model_resolutions (model, resolution, usd_per_second)
            SELECT name, \(resolution), \(usdPerSecond)::numeric FROM video_models WHERE name = \(model)
            ON CONFLICT (model, resolution) DO UPDATE SET usd_per_second = excluded.usd_per_second,
                usd_per_gpu_second = NULL, max_gpu_seconds_per_second = NULL
            RETURNING usd_per_second::text AS price
            """)
        guard !rows.isEmpty else { throw Failure(description: "no model named \(model)") }
    }

    /// Prices one resolution of a model per GPU-second: `usdPerGPUSecond` × the GPU time the job reports, at most
    /// `maxGPUSecondsPerSecond` × seconds × the rate — the ceiling users confirm, kept (rounded up to the column's
    /// four decimals) as its per-second price, so the one price function gives it. Returns that ceiling per second.
    @discardableResult
    public static func gpuPrice(
        model: String, resolution: String, usdPerGPUSecond: String, maxGPUSecondsPerSecond: String, db: Connection
    ) throws -> String {
        do {
            let rows = try db.execute(
                """
                INSERT INTO video_model_resolutions (model, resolution, usd_per_second, usd_per_gpu_second, max_gpu_seconds_per_second)
                SELECT name, \(resolution), ceil(\(usdPerGPUSecond)::numeric * \(maxGPUSecondsPerSecond)::numeric * 10000) / 10000,
                       \(usdPerGPUSecond)::numeric, \(maxGPUSecondsPerSecond)::numeric
                FROM video_models WHERE name = \(model)
                ON CONFLICT (model, resolution) DO UPDATE SET usd_per_second = excluded.usd_per_second,
                    usd_per_gpu_second = excluded.usd_per_gpu_second, max_gpu_seconds_per_second = excluded.max_gpu_seconds_per_second
                RETURNING usd_per_second::text AS price
                """)
            guard let price = rows.first?.string("price") else { throw Failure(description: "no model named \(model)") }
            return price
        } catch let error as DatabaseError {
            throw Failure(description: "refused: \(error)")
        }
    }

    /// Changes a model's reference-image capabilities; nil leaves a flag as it is. A model that
    /// requires an image must accept one (the database checks it too).
    public static func setImageFlags(model: String, acceptsImage: Bool?, requiresImage: Bool?, db: Connection) throws {
        do {
            guard
                try !db.execute(
                    """
                    UPDATE video_models SET accepts_image = coalesce(\(acceptsImage)::boolean, accepts_image),
                                            requires_image = coalesce(\(requiresImage)::boolean, requires_image)
                    WHERE name = \(model) RETURNING name
                    """
                ).isEmpty
            else { throw Failure(description: "no model named \(model)") }
        } catch let DatabaseError.invalidData(sqlState, message) where sqlState == "23514" {
            throw Failure(description: "refused: a model that requires an image must accept one (\(message))")
        }
    }

    /// Whether the provider can remix this model's videos (pages and the API offer Remix only then).
    public static func setSupportsRemix(model: String, _ supports: Bool, db: Connection) throws {
        guard
            try !db.execute("UPDATE video_models SET supports_remix = \(supports) WHERE name = \(model) RETURNING name")
                .isEmpty
        else {
            throw Failure(description: "no model named \(model)")
        }
    }

    /// A model's frame rate (sent as `fps`, with num_frames = seconds × fps; 0 clears it) and the generation
    /// parameters it takes (nil leaves each as it is).
    public static func setFrames(model: String, fps: Int?, parameters: [String]?, db: Connection) throws {
        if let fps, !(0...120).contains(fps) { throw Failure(description: "--fps: 1 to 120 (0: none)") }
        let known = VideoParameter.allCases.map(\.rawValue)
        if let unknown = parameters?.first(where: { !known.contains($0) }) {
            throw Failure(description: "--parameters: \(unknown) is not one of \(known.joined(separator: ", "))")
        }
        let list = parameters.map { "{" + $0.joined(separator: ",") + "}" }
        guard
            try !db.execute(
                """
                UPDATE video_models SET fps = CASE WHEN \(fps)::integer IS NULL THEN fps ELSE nullif(\(fps)::integer, 0) END,
                       parameters = coalesce(\(list)::text[], parameters)
                WHERE name = \(model) RETURNING name
                """
            ).isEmpty
        else { throw Failure(description: "no model named \(model)") }
    }

    public static func setEnabled(model: String, _ enabled: Bool, db: Connection) throws {
        guard
            try !db.execute("UPDATE video_models SET enabled = \(enabled) WHERE name = \(model) RETURNING name").isEmpty
        else {
            throw Failure(description: "no model named \(model)")
        }
    }

    /// One line per size: model, display name, enabled, durations, aspect ratio, resolution, size, price,
    /// what it does with a reference image (image=accepted|required|no), and whether it can be remixed (remix=yes|no).
    public static func listing(db: Connection) throws -> [String] {
        try db.execute(
            """
            SELECT m.name, m.display_name, m.enabled, m.accepts_image, m.requires_image, m.supports_remix,
                   (SELECT string_agg(seconds::text, ',' ORDER BY seconds) FROM video_model_durations d WHERE d.model = m.name) AS durations,
                   s.aspect_ratio, s.resolution, s.size, r.usd_per_second::text AS price, m.fps,
                   array_to_string(m.parameters, ',') AS parameters
            FROM video_models m
            LEFT JOIN video_model_sizes s ON s.model = m.name
            LEFT JOIN video_model_resolutions r ON r.model = s.model AND r.resolution = s.resolution
            ORDER BY m.position, m.name, split_part(s.aspect_ratio, ':', 1)::numeric / split_part(s.aspect_ratio, ':', 2)::numeric DESC,
                     rtrim(s.resolution, 'p')::integer
            """
        ).map {
            "\($0.string("name"))\t\($0.string("display_name"))\t\($0.bool("enabled") ? "enabled" : "disabled")\t"
                + "seconds=\($0.string("durations"))\t\($0.string("aspect_ratio"))\t\($0.string("resolution"))\t"
                + "\($0.string("size"))\t$\($0.string("price"))/s\t"
                + "image=\($0.bool("requires_image") ? "required" : $0.bool("accepts_image") ? "accepted" : "no")\t"
                + "remix=\($0.bool("supports_remix") ? "yes" : "no")"
                + ($0["fps"].map { "\tfps=\($0)" } ?? "")
                + ($0.string("parameters").isEmpty ? "" : "\tparameters=\($0.string("parameters"))")
        }
    }
}
