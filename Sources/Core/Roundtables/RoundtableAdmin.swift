// Operator changes to the roundtable's roles and chat prices (the `promptreel roundtable` commands).

public import Postgres

public enum RoundtableAdmin {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func listRoles(db: Connection) throws -> [String] {
        try RoundtableStore(db: db).roles().map { "\($0.name): \($0.instructions)" }
    }

    package static let positions = -1_000_000...1_000_000

    public static func addRole(name: String, instructions: String, position: Int, db: Connection) throws {
        guard positions.contains(position) else {
            throw Failure(description: "a position is between -1000000 and 1000000")
        }
        do {
            try RoundtableStore(db: db).addRole(
                RoundtableRole(name: name, instructions: instructions), position: position)
        } catch DatabaseError.uniqueViolation {
            throw Failure(description: "a role named \(name) exists already (use `roles set`)")
        } catch DatabaseError.invalidData {
            throw Failure(
                description:
                    "a role name starts with a capital letter, has at most 40 letters, digits, spaces or dashes, and is not Moderator; instructions are 1–4000 characters"
            )
        }
    }

    public static func setRole(name: String, instructions: String?, position: Int?, db: Connection) throws {
        if let position, !positions.contains(position) {
            throw Failure(description: "a position is between -1000000 and 1000000")
        }
        do {
            guard try RoundtableStore(db: db).setRole(name: name, instructions: instructions, position: position) else {
                throw Failure(description: "no role named \(name)")
            }
        } catch DatabaseError.invalidData {
            throw Failure(description: "instructions are 1–4000 characters")
        }
    }

    public static func removeRole(name: String, db: Connection) throws {
        guard try RoundtableStore(db: db).removeRole(name: name) else {
            throw Failure(description: "no role named \(name)")
        }
    }

    public static func listPrices(db: Connection) throws -> [String] {
        try RoundtableStore(db: db).chatPrices().map {
            "\($0.model): $\($0.input) per million input tokens, $\($0.output) per million output tokens"
        }
    }

    /// Prices are plain decimal text (USD per million tokens).
    public static func setPrice(model: String, input: String, output: String, db: Connection) throws {
        guard !model.isEmpty, model.count <= 200 else { throw Failure(description: "give the chat model's name") }
        // numeric(12,6) in chat_models: below a million dollars per million tokens.
        let ceiling = USD(micros: 1_000_000 * 1_000_000)
        guard let inputPrice = USD(parsing: input), let outputPrice = USD(parsing: output), inputPrice < ceiling,
            outputPrice < ceiling
        else {
            throw Failure(
                description: "prices are plain decimal amounts in USD per million tokens below 1000000, e.g. 0.40")
        }
        try RoundtableStore(db: db).setChatPrice(model: model, input: inputPrice, output: outputPrice)
    }
}
