// `promptreel search-language [name]`: which language video search stems words in, or switch it.

import ArgumentParser
import Core

struct SearchLanguageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search-language",
        abstract:
            "Show the text-search language of video search, or set it (a PostgreSQL configuration: english, german, simple, …) and rebuild the index."
    )
    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The language to switch to (omit to show the current one).") var language: String?

    func run() throws {
        let db = try database.connect()
        guard let language else { return print(try SearchLanguage.current(db)) }
        do {
            let rebuilt = try SearchLanguage.set(language, db)
            print("search language: \(language) (\(rebuilt) video\(rebuilt == 1 ? "" : "s") reindexed)")
        } catch let unknown as SearchLanguage.Unknown {
            throw ValidationError(unknown.description)
        }
    }
}
