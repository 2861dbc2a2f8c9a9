// Small text helpers shared by the web layer, the provider clients and the domain.

extension StringProtocol {
    /// Without leading and trailing whitespace (spaces, tabs, newlines). Index-based: it runs on every
    /// request's Authorization header, and reversing the string twice showed up as a fifth of the time.
    public var trimmingWhitespace: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }),
            let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}

extension StringProtocol {
    /// The first control character other than tab, line feed and carriage return (NUL, the other C0 codes,
    /// DEL, the C1 codes), or nil. Text holding one is refused wherever PromptReel accepts text: libpq would
    /// cut a value at its NUL without a word, and the others cannot be shown or typed.
    public var forbiddenControlCharacter: Unicode.Scalar? {
        unicodeScalars.first { scalar in
            switch scalar.value {
            case 0x09, 0x0A, 0x0D: false
            case 0x00..<0x20, 0x7F..<0xA0: true
            default: false
            }
        }
    }
}
