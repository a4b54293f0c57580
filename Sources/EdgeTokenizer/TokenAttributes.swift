/// What kind of token an id is. Decoded from the GGUF token type, then adjusted by the same
/// name-based rules llama.cpp applies (end-of-turn-looking tokens become control tokens).
public struct TokenAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The unknown token (`<unk>`): parsed from text and rendered only with special handling on.
    public static let unknown = TokenAttributes(rawValue: 1 << 0)
    public static let unused = TokenAttributes(rawValue: 1 << 1)
    /// An ordinary piece of text.
    public static let normal = TokenAttributes(rawValue: 1 << 2)
    /// A control token (BOS, EOS, `<|im_start|>`): parsed from text only when asked, rendered
    /// only when asked.
    public static let control = TokenAttributes(rawValue: 1 << 3)
    /// A user-defined token: always parsed from text, always rendered as its text.
    public static let userDefined = TokenAttributes(rawValue: 1 << 4)
    /// A byte-fallback token `<0xNN>`: renders as that one byte.
    public static let byte = TokenAttributes(rawValue: 1 << 5)

    /// Decodes a GGUF token type (llama.cpp's `llama_token_type`); unknown numbers (and 0,
    /// "undefined") give no attributes, and such tokens render as nothing.
    init(ggufTokenType type: Int32) {
        switch type {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }
}
