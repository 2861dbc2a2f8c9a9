// USD: strict parsing (bounded, never traps), exact text forms, rounding for display, checked
// arithmetic and exact ordering.

import Testing

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct USDParsing {
    @Test(
        arguments: [
            ("0", 0), ("0.4", 400_000), ("0.40", 400_000), ("0.400000", 400_000),
            ("0.4000000000", 400_000), ("12", 12_000_000), ("007.5", 7_500_000), ("0.000001", 1),
            ("999999999999.999999", 999_999_999_999_999_999),
        ] as [(String, Int64)])
    func acceptsPlainDecimals(text: String, micros: Int64) {
        #expect(USD(parsing: text)?.micros == micros)
    }

    @Test(arguments: [
        "", ".", ".5", "5.", "1.2.3", "-1", "-0.4", "+1", "4e-1", "1E3", " 1", "1 ", "1 000",
        "NaN", "inf", "١٢", "１２", "0.1234567", "0.0000001",
        "9999999999999",  // 13 integer digits
        "99999999999999999",  // 17
        "9999999999999999999",  // 19
        "123456789012345678901234567890",  // 30
        "1." + String(repeating: "0", count: 39),  // 41 characters, though only zeros
    ])
    func rejects(text: String) {
        #expect(USD(parsing: text) == nil)
    }

    @Test func acceptsFortyCharactersAndSubstrings() {
        #expect(USD(parsing: "1." + String(repeating: "0", count: 38))?.micros == 1_000_000)
        let line = "price=2.50;"
        #expect(USD(parsing: line.dropFirst(6).dropLast()) == USD(cents: 250))
    }
}

@Suite struct USDText {
    @Test(
        arguments: [
            (0, "0.000000"), (400_000, "0.400000"), (12_000_000, "12.000000"), (1, "0.000001"),
            (-400_000, "-0.400000"), (Int64.min, "-9223372036854.775808"),
        ] as [(Int64, String)])
    func decimalText(micros: Int64, text: String) {
        #expect(USD(micros: micros).decimalText == text)
    }

    @Test(
        arguments: [
            (0, "0.00"), (400_000, "0.40"), (12_000_000, "12.00"), (4_200, "0.0042"), (1, "0.000001"),
            (1_234_500_000, "1234.50"), (123_456, "0.123456"), (-4_200, "-0.0042"),
        ] as [(Int64, String)])
    func jsonText(micros: Int64, text: String) {
        #expect(USD(micros: micros).jsonText == text)
    }

    @Test(
        arguments: [
            (0, "$0.00"), (400_000, "$0.40"), (1_234_500_000, "$1,234.50"), (12_000_000, "$12.00"),
            (1_234_567_890_000, "$1,234,567.89"), (999_000_000, "$999.00"), (1_000_000_000, "$1,000.00"),
            (424_900, "$0.42"), (425_000, "$0.43"), (10_000, "$0.01"), (14_999, "$0.01"), (15_000, "$0.02"),
            (4_200, "$0.0042"), (4_249, "$0.0042"), (4_250, "$0.0043"), (50, "$0.0001"),
            (49, "<$0.0001"), (1, "<$0.0001"), (9_999, "$0.0100"),
            (-400_000, "-$0.40"), (-1, "-<$0.0001"),
            (Int64.max, "$9,223,372,036,854.78"),
        ] as [(Int64, String)])
    func display(micros: Int64, text: String) {
        let usd = USD(micros: micros)
        #expect(usd.display == text)
        #expect(usd.description == text)
        #expect("\(usd)" == text)
    }

    @Test func textRoundTripsThroughParsing() {
        for micros: Int64 in [0, 1, 400_000, 4_200, 12_000_000, 999_999_999_999_999_999] {
            let usd = USD(micros: micros)
            #expect(USD(parsing: usd.decimalText) == usd)
            #expect(USD(parsing: usd.jsonText) == usd)
        }
    }
}

@Suite struct USDCents {
    @Test func cents() {
        #expect(USD(cents: 250)?.micros == 2_500_000)
        #expect(USD(cents: -1)?.micros == -10_000)
        #expect(USD(cents: Int64.max) == nil)
        #expect(USD(cents: Int64.min) == nil)
        #expect(USD(cents: Int64.max / 10_000)?.micros == Int64.max / 10_000 * 10_000)
    }

    @Test func wholeCentsAndRounding() {
        #expect(USD(micros: 400_000).isWholeCents)
        #expect(USD.zero.isWholeCents)
        #expect(!USD(micros: 4_200).isWholeCents)
        #expect(USD(micros: 424_900).roundedToCents == USD(cents: 42))
        #expect(USD(micros: 425_000).roundedToCents == USD(cents: 43))
        #expect(USD(micros: 4_200).roundedToCents == .zero)
        #expect(USD(micros: 5_000).roundedToCents == USD(cents: 1))
        #expect(USD(micros: -425_000).roundedToCents == USD(cents: -43))
        #expect(USD(micros: -424_900).roundedToCents == USD(cents: -42))
        // At the Int64 ends rounding away from zero would overflow: it stays whole cents instead.
        #expect(USD(micros: .max).roundedToCents.isWholeCents)
        #expect(USD(micros: .min).roundedToCents.isWholeCents)
        #expect(USD(micros: .max).roundedToCents <= USD(micros: .max))
    }
}

@Suite struct USDArithmetic {
    let largest = USD(micros: .max), smallest = USD(micros: .min), cent = USD(micros: 10_000)

    @Test func exactResults() {
        #expect(USD(micros: 400_000).adding(USD(micros: 4_200)) == USD(micros: 404_200))
        #expect(USD(micros: 400_000).subtracting(USD(micros: 500_000)) == USD(micros: -100_000))
        #expect(USD(micros: 4_200).times(1_000) == USD(cents: 420))
        #expect(cent.times(0) == .zero)
        #expect(cent.times(-3) == USD(cents: -3))
    }

    @Test func overflowIsNil() {
        #expect(largest.adding(USD(micros: 1)) == nil)
        #expect(smallest.adding(USD(micros: -1)) == nil)
        #expect(smallest.subtracting(USD(micros: 1)) == nil)
        #expect(largest.subtracting(USD(micros: -1)) == nil)
        #expect(USD.zero.subtracting(smallest) == nil)
        #expect(cent.times(Int.max) == nil)
        #expect(largest.times(2) == nil)
        #expect(smallest.times(-1) == nil)
        #expect(largest.adding(.zero) == largest)
    }
}

@Suite struct USDOrdering {
    @Test func equalityIsExact() throws {
        let values = try ["0.4", "0.40", "0.400000", "0.4000000000"].map { try #require(USD(parsing: $0)) }
        #expect(Set(values).count == 1)
        #expect(values[0] == USD(micros: 400_000))
        #expect(USD(parsing: "0.400001") != values[0])
    }

    @Test func ordering() {
        let sorted = [USD(micros: 400_001), .zero, USD(micros: -1), USD(micros: 400_000), USD(micros: .max)].sorted()
        #expect(sorted.map(\.micros) == [-1, 0, 400_000, 400_001, .max])
        #expect(USD(micros: 4_200) < USD(micros: 10_000))
        #expect(USD(micros: 10_000) > USD(micros: 4_200))
        #expect(USD(micros: 1) >= USD(micros: 1))
    }
}
