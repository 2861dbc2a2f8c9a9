// swift-tools-version:6.0
import PackageDescription

// C libraries come in through system-library targets (pkg-config finds their flags); all logic lives
// in library targets so it can be tested without a socket; `promptreel` is a thin command line.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "PromptReel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "promptreel", targets: ["promptreel"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Only the simulator uses it: a small, dependency-free HTTP server, so the simulator shares
        // no HTTP code with PromptReel's own (FastCGI) side.
        .package(url: "https://github.com/swhitty/FlyingFox.git", from: "0.27.1"),
        // Metrics (swift-metrics API, exposed in Prometheus's text format) and logging (swift-log).
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CCrack", providers: [.apt(["libcrack2-dev", "cracklib-runtime"])]),
        // libvips (Debian: libvips-dev) behind a small C shim that opens it at first use, so only the shim needs glib's headers
        // (vips' pkg-config flags carry -pthread, which SwiftPM refuses with a warning).
        .target(
            name: "CVips",
            cSettings: [
                .unsafeFlags([
                    "-I/usr/include/glib-2.0", "-I/usr/lib/x86_64-linux-gnu/glib-2.0/include",
                    "-I/usr/lib/aarch64-linux-gnu/glib-2.0/include",
                ])
            ],
            linkerSettings: [.linkedLibrary("dl")]  // libvips itself is opened with dlopen (see CVips.c)
        ),

        // Data formats with no HTTP in them: the JSON value and parser, percent-encoding, text helpers. The domain
        // and the provider clients read and write JSON through this, so neither needs the HTTP vocabulary.
        .target(name: "Formats", swiftSettings: strict),
        // Transport-free HTTP vocabulary: Request, Response, forms, multipart, HTML escaping, error pages.
        .target(name: "Web", dependencies: ["Formats"], swiftSettings: strict),
        // libpq wrapper: connections, parameterized queries, typed errors, migrations.
        .target(name: "Postgres", dependencies: ["CLibPQ"], swiftSettings: strict),
        // Reference images through libvips: probe by magic bytes and header, bomb limits, fit to a size.
        .target(name: "Images", dependencies: ["CVips"], swiftSettings: strict),
        // libcurl wrapper used by the video provider client.
        .target(name: "HTTPClient", dependencies: ["CCurl"], swiftSettings: strict),
        // The Videos API ("Sora API") client: calls, decoding, typed errors, retries.
        .target(name: "VideoAPI", dependencies: ["HTTPClient", "Formats", "CSodium"], swiftSettings: strict),
        // The media store's S3 backend (Core's MediaStore on libcurl, signed with AWS Signature Version 4): supplied by
        // the executable, outside WebApp's and Core's dependency closure.
        .target(name: "ObjectStore", dependencies: ["Core", "HTTPClient", "Telemetry"], swiftSettings: strict),
        // The FastCGI edge: turns FCGX requests into Web.Request values and back.
        .target(name: "FastCGIServer", dependencies: ["CFastCGI", "Web"], swiftSettings: strict),
        // The layering, kept by the compiler (docs/ARCHITECTURE.md): Telemetry ← Core ← Engine, Core ← WebApp;
        // only the executable sees all of them. WebApp's whole dependency set holds no provider client
        // (VideoAPI, HTTPClient) and no Engine, so a request thread cannot call a provider: it does not build.
        // Logging and metrics.
        .target(
            name: "Telemetry",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: strict),
        // The domain: one folder per capability (types, services, stores), money, configuration. No HTTP
        // server, no provider client.
        .target(
            name: "Core", dependencies: ["Telemetry", "Formats", "Postgres", "Images", "CSodium", "CCrack"],
            swiftSettings: strict),
        // Workers and everything that talks to providers or runs programs for them.
        .target(
            name: "Engine",
            dependencies: ["Core", "Telemetry", "Formats", "Postgres", "Images", "VideoAPI", "HTTPClient"],
            swiftSettings: strict),
        // Pages and the JSON API: the route table, context, views, one folder per capability.
        .target(
            name: "WebApp",
            dependencies: [
                "Core", "Telemetry", "Web", "Formats", "Postgres", "Images",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: strict),
        .executableTarget(
            name: "promptreel",
            dependencies: [
                "WebApp", "Engine", "Core", "Telemetry", "FastCGIServer", "Postgres", "VideoAPI", "Images", "Formats",
                "ObjectStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // A spec-faithful simulator of the Videos API, for tests, demos and machines without a key.
        .executableTarget(
            name: "promptreel-sim",
            dependencies: [
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),

        .testTarget(name: "WebTests", dependencies: ["Web", "Formats"], swiftSettings: strict),
        .testTarget(name: "ImagesTests", dependencies: ["Images"], swiftSettings: strict),
        .testTarget(name: "FastCGIServerTests", dependencies: ["FastCGIServer"], swiftSettings: strict),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient"], swiftSettings: strict),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres"], swiftSettings: strict),
        .testTarget(
            name: "ObjectStoreTests", dependencies: ["ObjectStore", "HTTPClient", "Core"],
            exclude: ["botocore_sign.py"], swiftSettings: strict),
        .testTarget(name: "VideoAPITests", dependencies: ["VideoAPI", "Formats"], swiftSettings: strict),
        .testTarget(
            name: "PromptReelTests",
            dependencies: [
                "Core", "Engine", "WebApp", "Telemetry", "Postgres", "Web", "Formats", "VideoAPI", "Images",
                "HTTPClient",
            ],
            exclude: ["Fixtures"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
