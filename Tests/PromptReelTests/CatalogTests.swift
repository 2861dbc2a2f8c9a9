// The model catalog against the real database: every offered combination is priced by the SQL
// function exactly as an independent calculation says; impossible combinations name what is offered.

import Formats
import Foundation
import Postgres
import Testing
import Web

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct CatalogPricing {
    let db: Connection
    init() throws { db = try Connection(url: TestDatabase.url) }

    @Test func everyCombinationIsPricedBySQLFunction() throws {
        let catalog = try Catalog.load(db)
        #expect(catalog.models.map(\.name).starts(with: ["sora-2", "sora-2-pro"]))
        var checked = 0
        for model in catalog.models {
            for size in model.sizes {
                for duration in model.durations {
                    let settings = try catalog.resolve(
                        RequestedSettings(
                            model: model.name, duration: duration,
                            aspectRatio: size.aspectRatio, resolution: size.resolution), db: db)
                    // Independent: Decimal arithmetic on the stored price, rounded to cents.
                    var product = (Decimal(string: size.usdPerSecond) ?? 0) * Decimal(duration)
                    var rounded = Decimal()
                    NSDecimalRound(&rounded, &product, 2, .plain)
                    #expect(
                        Decimal(string: settings.estimatedCost.jsonText) == rounded,
                        "\(model.name) \(size.size) \(duration)s")
                    #expect(settings.size == size.size)
                    #expect(settings.apiSeconds == String(duration))
                    checked += 1
                }
            }
        }
        #expect(checked >= 24)
    }

    @Test func publishedPrices() throws {
        let catalog = try Catalog.load(db)
        func cost(_ m: String, _ d: Int, _ r: String, _ a: String = "16:9") throws -> String {
            try catalog.resolve(RequestedSettings(model: m, duration: d, aspectRatio: a, resolution: r), db: db)
                .estimatedCost.jsonText
        }
        #expect(try cost("sora-2", 4, "720p") == "0.40")
        #expect(try cost("sora-2", 12, "720p", "9:16") == "1.20")
        #expect(try cost("sora-2-pro", 8, "720p") == "2.40")
        #expect(try cost("sora-2-pro", 8, "1024p") == "4.00")
        #expect(try cost("sora-2-pro", 12, "1080p") == "8.40")
    }

    @Test func defaultsComeFromTheCatalog() throws {
        let settings = try Catalog.load(db).resolve(RequestedSettings(), db: db)
        #expect(
            settings.model == "sora-2" && settings.duration == 4 && settings.aspectRatio == "16:9"
                && settings.resolution == "720p")
        #expect(settings.size == "1280x720" && settings.estimatedCost.jsonText == "0.40")
    }

    @Test(arguments: [
        (RequestedSettings(model: "sora-2", resolution: "1080p"), "resolution: sora-2 offers 720p at 16:9"),
        (RequestedSettings(model: "sora-2-pro", aspectRatio: "1:1"), "aspect_ratio: sora-2-pro offers 16:9 or 9:16"),
        (RequestedSettings(model: "sora-2", aspectRatio: "1:1"), "aspect_ratio: sora-2 offers 16:9 or 9:16"),
        (RequestedSettings(model: "sora-2", duration: 5), "duration: sora-2 offers 4, 8 or 12 seconds"),
        (RequestedSettings(model: "sora-3"), "model: must be one of sora-2, sora-2-pro"),
    ])
    func impossibleCombinationsNameWhatIsOffered(_ requested: RequestedSettings, _ message: String) throws {
        do {
            _ = try Catalog.load(db).resolve(requested, db: db)
            Issue.record("expected a 422")
        } catch let error as SettingsError {
            #expect(error.httpError.status == 422)
            #expect(error.httpError.publicMessage.hasPrefix(message), "\(error.httpError.publicMessage)")
        }
    }

    @Test func sqlFunctionRefusesWhatIsNotOffered() throws {
        #expect(try db.execute("SELECT calculate_sora_generation_cost(4, '1080p', 'sora-2') AS c")[0]["c"] == nil)
        #expect(try db.execute("SELECT calculate_sora_generation_cost(5, '720p', 'sora-2') AS c")[0]["c"] == nil)
        #expect(
            try db.execute("SELECT calculate_sora_generation_cost(8, '720p', 'sora-2')::text AS c")[0]["c"] == "0.80")
    }

    @Test func settingsFromJSONAndForms() throws {
        let json = try JSONParser.parse(
            #"{"model":"sora-2-pro","duration":"8","aspect_ratio":"9:16","resolution":"1080p"}"#)
        let r = try Catalog.requested(fromJSON: json)
        #expect(r.model == "sora-2-pro" && r.duration == 8 && r.aspectRatio == "9:16" && r.resolution == "1080p")
        #expect(throws: InvalidInput.self) {
            try Catalog.requested(fromJSON: JSONParser.parse(#"{"duration":"eight"}"#))
        }
        #expect(throws: InvalidInput.self) { try Catalog.requested(fromJSON: JSONParser.parse(#"{"model":4}"#)) }
        #expect(try Catalog.requested(fromFields: ["model": "", "duration": "12"]).duration == 12)
    }
}

@Suite(.serialized) struct CatalogAdministration {
    @Test func addPriceDisableEnable() throws {
        let db = try Connection(url: TestDatabase.url)
        let name = "test/veo-\(UUID().uuidString.prefix(8).lowercased())"
        try CatalogAdmin.add(
            .init(
                name: name, displayName: "Veo test", position: 900, durations: [4, 6],
                prices: [("720p", "0.375")], sizes: [("16:9", "720p", "1280x720"), ("1:1", "720p", "960x960")]), db: db)
        defer { _ = try? db.execute("DELETE FROM video_models WHERE name = \(name)") }
        var settings = try Catalog.load(db).resolve(
            RequestedSettings(model: name, duration: 6, aspectRatio: "1:1"), db: db)
        #expect(settings.size == "960x960" && settings.estimatedCost.jsonText == "2.25")
        try CatalogAdmin.price(model: name, resolution: "720p", usdPerSecond: "0.5", db: db)
        settings = try Catalog.load(db).resolve(RequestedSettings(model: name, duration: 6, aspectRatio: "1:1"), db: db)
        #expect(settings.estimatedCost.jsonText == "3.00")
        #expect(throws: CatalogAdmin.Failure.self) {
            try CatalogAdmin.add(
                .init(
                    name: name, displayName: "again", position: 1, durations: [4], prices: [("720p", "1")],
                    sizes: [("16:9", "720p", "1280x720")]), db: db)
        }
        try CatalogAdmin.setEnabled(model: name, false, db: db)
        #expect(try Catalog.load(db).model(named: name) == nil)
        #expect(try CatalogAdmin.listing(db: db).contains { $0.hasPrefix(name) && $0.contains("disabled") })
        #expect(throws: CatalogAdmin.Failure.self) {
            try CatalogAdmin.price(model: "nope", resolution: "720p", usdPerSecond: "1", db: db)
        }
    }
}

/// The generation parameters a model may declare, read from the API's JSON and from forms by the same rules.
@Suite struct GenerationParameters {
    @Test func rangesAndForms() throws {
        let ok = try VideoParameters.fromJSON(
            .object([
                ("seed", .number("4294967295")), ("num_inference_steps", .string("30")),
                ("guidance_scale", .number("5.5")), ("negative_prompt", .string("  blurry  ")),
            ]))
        #expect(ok == VideoParameters(seed: 4_294_967_295, negativePrompt: "blurry", steps: 30, guidance: "5.5"))
        for (key, value) in [
            ("seed", JSON.number("-1")), ("seed", .number("4294967296")), ("seed", .number("1e30")),
            ("seed", .number("2.5")), ("num_inference_steps", .number("0")), ("num_inference_steps", .number("201")),
            ("guidance_scale", .number("20.01")), ("guidance_scale", .number("5.555")),
            ("guidance_scale", .string("+5")),
            ("guidance_scale", .string(".5")), ("guidance_scale", .string("07.5")), ("guidance_scale", .string("nan")),
            ("negative_prompt", .number("3")),
            ("negative_prompt", .string(String(repeating: "x", count: 2001))),
        ] {
            #expect(throws: InvalidInput.self, "\(key)=\(value)") {
                try VideoParameters.fromJSON(.object([(key, value)]))
            }
        }
        #expect(try VideoParameters.fromJSON(.object([("guidance_scale", .number("20.00"))])).guidance == "20.00")
        // A form: empty is "not given"; "same seed as take N" counts when no seed is typed.
        #expect(try VideoParameters.fromFields(["seed": "", "seed_take": "77"]).seed == 77)
        #expect(try VideoParameters.fromFields(["seed": "5", "seed_take": "77"]).seed == 5)
        #expect(try VideoParameters.fromFields(["seed": "", "guidance_scale": ""]) == VideoParameters())
        // A stored document that breaks today's rules reads as not given, never a crash.
        #expect(
            VideoParameters(stored: .object([("seed", .number("1e400")), ("num_inference_steps", .string("x"))]))
                == VideoParameters())
    }
}
