// The JSON wire format of the catalog (GET /api/models): the API's, beside its handlers.

import Core
import Formats
import Web

extension Catalog {
    var json: JSON {
        .object([
            (
                "models",
                .array(
                    models.enumerated().map { index, m in
                        .object([
                            ("name", .string(m.name)), ("display_name", .string(m.displayName)),
                            ("default", .bool(index == 0)),
                            ("durations", .array(m.durations.map { .int($0) })),
                            ("accepts_image", .bool(m.acceptsImage)), ("requires_image", .bool(m.requiresImage)),
                            ("supports_remix", .bool(m.supportsRemix)),
                            ("fps", m.fps.map { JSON.int($0) } ?? .null),
                            ("parameters", .array(m.parameters.map { .string($0.rawValue) })),
                            ("aspect_ratios", .array(m.aspectRatios.map(JSON.string))),
                            ("resolutions", .array(m.resolutions.map(JSON.string))),
                            (
                                "sizes",
                                .array(
                                    m.sizes.map { s in
                                        .object([
                                            ("aspect_ratio", .string(s.aspectRatio)),
                                            ("resolution", .string(s.resolution)),
                                            ("size", .string(s.size)), ("usd_per_second", .number(s.usdPerSecond)),
                                        ])
                                    })
                            ),
                        ])
                    })
            )
        ])
    }
}
