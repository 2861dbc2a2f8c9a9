// Budgets' pure rules: what fits, what is left (never negative, never overstated), the tighter of two
// limits, the operator's amounts, and a roundtable's worst-case reservation.

import Testing

@testable import Core
@testable import Engine
@testable import Telemetry
@testable import WebApp

@Suite struct BudgetRules {
    private func usd(_ text: String) -> USD { USD(parsing: text)! }

    @Test func fitsUpToTheLimitExactly() {
        #expect(Budgets.fits(usd("0.40"), limit: usd("1.20"), spent: usd("0.80")))
        #expect(!Budgets.fits(usd("0.40"), limit: usd("1.20"), spent: usd("0.800001")))
        #expect(Budgets.fits(.zero, limit: .zero, spent: .zero))
        #expect(!Budgets.fits(USD(micros: .max), limit: usd("1"), spent: usd("1")))  // overflow refuses
    }

    @Test func remainingIsNeverNegative() {
        #expect(Budgets.remaining(limit: usd("1.30"), spent: usd("1.20")) == usd("0.10"))
        #expect(Budgets.remaining(limit: usd("1"), spent: usd("2.5")) == .zero)
        #expect(BudgetStanding(limit: nil, spent: usd("9")).remaining == nil)
    }

    @Test func theTighterLimitWins() {
        #expect(Budgets.tighter(usd("3"), usd("2")) == usd("2"))
        #expect(Budgets.tighter(nil, usd("2")) == usd("2"))
        #expect(Budgets.tighter(usd("3"), nil) == usd("3"))
        #expect(Budgets.tighter(nil, nil) == nil)
    }

    @Test(arguments: [
        ("12.4", "12.40"), ("0", "0.00"), ("0.019999", "0.01"), ("0.05", "0.05"), ("1234.567", "1234.56"),
    ])
    func remainingTextIsFlooredToCents(amount: String, text: String) {
        #expect(USD(parsing: amount)!.flooredCentsText == text)
    }

    @Test func budgetExceededIs402WithRemaining() {
        let error = BudgetExceeded(scope: .user, remaining: usd("12.4")).httpError
        #expect(error.status == 402 && error.code == "budget_exceeded")
        #expect(error.fields.count == 1 && error.fields[0] == ("remaining", "12.40"))
    }

    @Test func operatorAmounts() throws {
        #expect(try BudgetAdmin.limit("50") == usd("50"))
        #expect(try BudgetAdmin.limit("12.40") == usd("12.4"))
        #expect(try BudgetAdmin.limit("none") == nil)
        for bad in ["-1", "1.234", "", "abc", "10000000000", "1e3"] {
            #expect(throws: BudgetAdmin.Failure.self) { try BudgetAdmin.limit(bad) }
        }
    }

    @Test func roundtableReserveCoversEveryCallAtItsLimit() {
        let four = RoundtableReserve.worstCaseTokens(roles: 4, contextBytes: 1000)
        #expect(four.output == 2 * 4 * 600 + 1200)
        #expect(four.input == 4 * 1000 + 4 * (1000 + 4 * 600) + (1000 + 2 * 4 * 600))
        let longer = RoundtableReserve.worstCaseTokens(roles: 4, contextBytes: 10_000)
        #expect(longer.input > four.input && longer.output == four.output)
        #expect(RoundtableReserve.worstCaseTokens(roles: 0, contextBytes: 0) == (500, 1200))
        // Bounded: huge text cannot overflow the integer the SQL price function takes.
        #expect(RoundtableReserve.worstCaseTokens(roles: 20, contextBytes: .max).input < Int(Int32.max))
    }
}
