// Small text helpers shared by the web layer and the application.

extension StringProtocol {
    /// Without leading and trailing whitespace (spaces, tabs, newlines).
    public var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
