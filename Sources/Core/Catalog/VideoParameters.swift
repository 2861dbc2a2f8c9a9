// The generation parameters a model may declare (vLLM-Omni's names, which gateways pass along): a seed, a
// negative prompt, the number of inference steps, the guidance scale. Read from the API's `settings` or a
// form under the same names, range-checked here, kept in the generation's settings and sent with its create.

package import Formats

package enum VideoParameter: String, Sendable, CaseIterable {
    case seed
    case negativePrompt = "negative_prompt"
    case steps = "num_inference_steps"
    case guidance = "guidance_scale"

    /// What the settings page calls it.
    package var label: String {
        switch self {
        case .seed: "Seed"
        case .negativePrompt: "Negative prompt"
        case .steps: "Inference steps"
        case .guidance: "Guidance scale"
        }
    }
}

package struct VideoParameters: Sendable, Equatable {
    /// 0 … 2³²−1 (the range the open models' generators take).
    package var seed: Int64?
    package var negativePrompt: String?
    /// 1 … 200.
    package var steps: Int?
    /// 0 … 20 with at most two decimals, kept as its decimal text (never a binary float).
    package var guidance: String?

    package init(seed: Int64? = nil, negativePrompt: String? = nil, steps: Int? = nil, guidance: String? = nil) {
        self.seed = seed
        self.negativePrompt = negativePrompt
        self.steps = steps
        self.guidance = guidance
    }

    package static let maxSeed: Int64 = 4_294_967_295
    package static let maxNegativePrompt = 2000

    /// The parameters that have a value.
    package var given: [VideoParameter] {
        VideoParameter.allCases.filter {
            switch $0 {
            case .seed: seed != nil
            case .negativePrompt: negativePrompt != nil
            case .steps: steps != nil
            case .guidance: guidance != nil
            }
        }
    }

    /// The members of a settings document (and of the API's `settings`), given ones only.
    package var members: [(String, JSON)] {
        var members: [(String, JSON)] = []
        if let seed { members.append((VideoParameter.seed.rawValue, .int(seed))) }
        if let negativePrompt { members.append((VideoParameter.negativePrompt.rawValue, .string(negativePrompt))) }
        if let steps { members.append((VideoParameter.steps.rawValue, .int(steps))) }
        if let guidance { members.append((VideoParameter.guidance.rawValue, .number(guidance))) }
        return members
    }

    /// "seed 42 · 30 steps · guidance 5.0 · negative prompt": what the history shows.
    package var summary: String {
        [
            seed.map { "seed \($0)" }, steps.map { "\($0) steps" }, guidance.map { "guidance \($0)" },
            negativePrompt.map { _ in "negative prompt" },
        ].compactMap { $0 }.joined(separator: " · ")
    }

    /// Reads a stored settings document, keeping only values that pass today's rules (a hand-edited row
    /// reads as not given, never a crash).
    package init(stored json: JSON) {
        seed = json["seed"].flatMap { try? VideoParameters.seed(text: $0.numberText) }
        negativePrompt = json["negative_prompt"]?.stringValue
        steps = json["num_inference_steps"].flatMap { try? VideoParameters.steps(text: $0.numberText) }
        guidance = json["guidance_scale"].flatMap { try? VideoParameters.guidance(text: $0.numberText) }
    }

    /// From the API's `settings` object: numbers as JSON numbers or numeric strings.
    package static func fromJSON(_ settings: JSON) throws(InvalidInput) -> VideoParameters {
        var p = VideoParameters()
        func present(_ key: VideoParameter) -> JSON? {
            guard let value = settings[key.rawValue], !value.isNull else { return nil }
            return value
        }
        if let value = present(.seed) { p.seed = try seed(text: value.numberText) }
        if let value = present(.steps) { p.steps = try steps(text: value.numberText) }
        if let value = present(.guidance) { p.guidance = try guidance(text: value.numberText) }
        if let value = present(.negativePrompt) {
            guard let text = value.stringValue else {
                throw InvalidInput(field: VideoParameter.negativePrompt.rawValue, "must be a string")
            }
            p.negativePrompt = try negativePrompt(text)
        }
        return p
    }

    /// From a form or query: empty means "not given". `seed_take` (a take's seed offered as "same seed as
    /// take N") counts when `seed` is empty.
    package static func fromFields(_ fields: [String: String]) throws(InvalidInput) -> VideoParameters {
        func value(_ key: String) -> String? { fields[key].flatMap { $0.isEmpty ? nil : $0 } }
        var p = VideoParameters()
        if let text = value(VideoParameter.seed.rawValue) ?? value("seed_take") { p.seed = try seed(text: text) }
        if let text = value(VideoParameter.steps.rawValue) { p.steps = try steps(text: text) }
        if let text = value(VideoParameter.guidance.rawValue) { p.guidance = try guidance(text: text) }
        if let text = value(VideoParameter.negativePrompt.rawValue) { p.negativePrompt = try negativePrompt(text) }
        return p
    }

    static func seed(text: String?) throws(InvalidInput) -> Int64 {
        guard let text, let n = Int64(text), (0...maxSeed).contains(n) else {
            throw InvalidInput(field: VideoParameter.seed.rawValue, "must be a whole number from 0 to \(maxSeed)")
        }
        return n
    }

    static func steps(text: String?) throws(InvalidInput) -> Int {
        guard let text, let n = Int(text), (1...200).contains(n) else {
            throw InvalidInput(field: VideoParameter.steps.rawValue, "must be a whole number from 1 to 200")
        }
        return n
    }

    /// Decimal text: digits, optionally a point and one or two digits, at most 20.
    static func guidance(text: String?) throws(InvalidInput) -> String {
        let invalid = InvalidInput(
            field: VideoParameter.guidance.rawValue, "must be a number from 0 to 20 with at most two decimals")
        guard let text, !text.isEmpty, text.count <= 6 else { throw invalid }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int(parts[0]), parts[0].allSatisfy(\.isASCII),
            parts[0].allSatisfy(\.isNumber), parts[0].count == 1 || parts[0].first != "0"  // "07.5" is no JSON number
        else { throw invalid }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || (1...2).contains(fraction.count), fraction.allSatisfy({ $0.isASCII && $0.isNumber })
        else { throw invalid }
        guard whole < 20 || (whole == 20 && fraction.allSatisfy { $0 == "0" }) else { throw invalid }
        return text
    }

    static func negativePrompt(_ text: String) throws(InvalidInput) -> String {
        try Field.text(text, name: VideoParameter.negativePrompt.rawValue, max: maxNegativePrompt, required: true)
    }
}

extension JSON {
    /// A number's text, or a string's (numbers may come quoted).
    fileprivate var numberText: String? {
        switch self {
        case let .number(n): n
        case let .string(s): s
        default: nil
        }
    }
}
