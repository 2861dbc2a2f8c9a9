// `promptreel models …`: the operator's view of the model catalog.

import ArgumentParser
import Core

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "List and change the video model catalog (prices in USD per second).",
        subcommands: [List.self, Add.self, Set.self, Price.self, Disable.self, Enable.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every model and size with its price.")
        @OptionGroup var database: DatabaseOptions
        func run() throws {
            for line in try CatalogAdmin.listing(db: database.connect()) { print(line) }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a model.",
            discussion: """
                Example (Veo through LiteLLM's proxy):
                  promptreel models add --name gemini/veo-3.1-generate-preview --display-name "Veo 3.1" \\
                    --duration 4 --duration 8 --price 720p=0.40 --size 16:9=720p=1280x720 --size 9:16=720p=720x1280
                """)
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The API's model name.") var name: String
        @Option(help: "The name users see.") var displayName: String
        @Option(help: "List order; the first enabled model is the default.") var position = 100
        @Option(help: "An allowed duration in seconds (repeat).") var duration: [Int] = []
        @Option(help: "RESOLUTION=USD_PER_SECOND, e.g. 720p=0.10 (repeat).") var price: [String] = []
        @Option(help: "ASPECT=RESOLUTION=WIDTHxHEIGHT, e.g. 16:9=720p=1280x720 (repeat).") var size: [String] = []
        @Flag(inversion: .prefixedNo, help: "Whether it takes a reference image (image-to-video).") var acceptsImage =
            true
        @Flag(
            inversion: .prefixedNo,
            help: "Whether it makes videos only from a reference image (e.g. Runway gen4_turbo).") var requiresImage =
            false
        @Flag(inversion: .prefixedNo, help: "Whether the provider can remix this model's videos.") var supportsRemix =
            true
        @Option(help: "The provider that serves it (promptreel providers list; default: default).") var provider:
            String?
        @Option(help: "The model name that provider serves, when it differs from --name.") var providerModel: String?
        @Option(help: "Its jobs in flight at once (default: no limit of its own).") var maxInFlight: Int?
        @Option(help: "Its frame rate: sent as fps, with num_frames = seconds × fps (e.g. 16 for Wan 2.2).") var fps:
            Int?
        @Option(
            help:
                "The generation parameters it takes, comma-separated: seed, negative_prompt, num_inference_steps, guidance_scale."
        ) var parameters: String?

        func run() throws {
            let prices = try price.map { p -> (String, String) in
                let parts = p.split(separator: "=").map(String.init)
                guard parts.count == 2 else { throw ValidationError("--price takes RESOLUTION=USD, got \(p)") }
                return (parts[0], parts[1])
            }
            let sizes = try size.map { s -> (String, String, String) in
                let parts = s.split(separator: "=").map(String.init)
                guard parts.count == 3 else { throw ValidationError("--size takes ASPECT=RESOLUTION=WxH, got \(s)") }
                return (parts[0], parts[1], parts[2])
            }
            guard acceptsImage || !requiresImage else {
                throw ValidationError("--requires-image needs --accepts-image")
            }
            var model = CatalogAdmin.NewModel(
                name: name, displayName: displayName, position: position, durations: duration,
                prices: prices, sizes: sizes)
            model.acceptsImage = acceptsImage
            model.requiresImage = requiresImage
            model.supportsRemix = supportsRemix
            let db = try database.connect()
            try db.transaction {
                try CatalogAdmin.add(model, db: db)
                if provider != nil || providerModel != nil {
                    try ProviderAdmin.setModelProvider(
                        model: name, provider: provider, providerModel: providerModel, db: db)
                }
                if let maxInFlight { try ProviderAdmin.setModelMaxInFlight(model: name, maxInFlight, db: db) }
                if fps != nil || parameters != nil {
                    try CatalogAdmin.setFrames(model: name, fps: fps, parameters: parameters.map(list), db: db)
                }
            }
            print("added \(name)\(provider.map { " (provider \($0))" } ?? "")")
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change what a model can do: take or require a reference image, be remixed.",
            discussion: "Example: promptreel models set --name runwayml/gen4_turbo --requires-image --no-supports-remix"
        )
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The model name.") var name: String
        @Flag(inversion: .prefixedNo, help: "Whether it takes a reference image.") var acceptsImage: Bool?
        @Flag(
            inversion: .prefixedNo,
            help: "Whether it makes videos only from a reference image (implies --accepts-image).") var requiresImage:
            Bool?
        @Flag(inversion: .prefixedNo, help: "Whether the provider can remix this model's videos.") var supportsRemix:
            Bool?
        @Option(help: "Move it to this provider.") var provider: String?
        @Option(help: "The model name its provider serves (empty: the same as --name).") var providerModel: String?
        @Option(help: "Its frame rate (0: none; the provider's own).") var fps: Int?
        @Option(help: "The generation parameters it takes, comma-separated (empty: none).") var parameters: String?
        func run() throws {
            guard
                acceptsImage != nil || requiresImage != nil || supportsRemix != nil || provider != nil
                    || providerModel != nil || fps != nil || parameters != nil
            else {
                throw ValidationError(
                    "nothing to set: give --[no-]accepts-image, --[no-]requires-image, --[no-]supports-remix, --provider, --provider-model, --fps or --parameters"
                )
            }
            guard !(acceptsImage == false && requiresImage == true) else {
                throw ValidationError("--requires-image and --no-accepts-image contradict each other")
            }
            let db = try database.connect()
            if acceptsImage != nil || requiresImage != nil {
                // Requiring an image implies accepting one; refusing images implies not requiring them.
                let accepts = requiresImage == true ? true : acceptsImage
                let requires = acceptsImage == false ? false : requiresImage
                try CatalogAdmin.setImageFlags(model: name, acceptsImage: accepts, requiresImage: requires, db: db)
                print(
                    "\(name): image \(requires == true ? "required" : accepts == false ? "not accepted" : "settings changed")"
                )
            }
            if let supportsRemix {
                try CatalogAdmin.setSupportsRemix(model: name, supportsRemix, db: db)
                print("\(name): \(supportsRemix ? "supports remix" : "no remix")")
            }
            if fps != nil || parameters != nil {
                try CatalogAdmin.setFrames(model: name, fps: fps, parameters: parameters.map(list), db: db)
                print("\(name): fps \(fps.map(String.init) ?? "unchanged"), parameters \(parameters ?? "unchanged")")
            }
            if provider != nil || providerModel != nil {
                try ProviderAdmin.setModelProvider(
                    model: name, provider: provider, providerModel: providerModel, db: db)
                print(
                    "\(name): provider \(provider ?? "unchanged")\(providerModel.map { ", served as \($0.isEmpty ? name : $0)" } ?? "")"
                )
            }
        }
    }

    struct Price: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the price of one resolution of a model: per second of video, or per GPU-second.",
            discussion: """
                Per GPU-second (a self-hosted model): users confirm, and budgets reserve, a ceiling — the most GPU-seconds
                per second of video × seconds × the rate —, and the cost recorded is the GPU time the job reports × the
                rate, never more than that ceiling. Example:
                  promptreel models price --name wan-2.2 --resolution 480p --usd-per-gpu-second 0.0011 --max-gpu-seconds-per-second 24
                """)
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The model name.") var name: String
        @Option(help: "The resolution, e.g. 720p.") var resolution: String
        @Option(help: "USD per second of video, e.g. 0.12.") var usdPerSecond: String?
        @Option(help: "USD per GPU-second, e.g. 0.0011 (with --max-gpu-seconds-per-second).") var usdPerGpuSecond:
            String?
        @Option(help: "The most GPU-seconds one second of video may take: the ceiling users confirm.")
        var maxGpuSecondsPerSecond: String?
        func run() throws {
            switch (usdPerSecond, usdPerGpuSecond, maxGpuSecondsPerSecond) {
            case let (perSecond?, nil, nil):
                try CatalogAdmin.price(
                    model: name, resolution: resolution, usdPerSecond: perSecond, db: database.connect())
                print("\(name) \(resolution): $\(perSecond)/s")
            case let (nil, rate?, most?):
                let ceiling = try CatalogAdmin.gpuPrice(
                    model: name, resolution: resolution, usdPerGPUSecond: rate, maxGPUSecondsPerSecond: most,
                    db: database.connect())
                print(
                    "\(name) \(resolution): $\(rate) per GPU-second, at most \(most) GPU-s per second (up to $\(ceiling)/s)"
                )
            default:
                throw ValidationError(
                    "give --usd-per-second, or --usd-per-gpu-second with --max-gpu-seconds-per-second")
            }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop offering a model (history keeps it).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The model name.") var name: String
        func run() throws {
            try CatalogAdmin.setEnabled(model: name, false, db: database.connect())
            print("disabled \(name)")
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Offer a disabled model again.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The model name.") var name: String
        func run() throws {
            try CatalogAdmin.setEnabled(model: name, true, db: database.connect())
            print("enabled \(name)")
        }
    }
}

/// "seed, negative_prompt" → ["seed", "negative_prompt"]; empty → [].
private func list(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}
