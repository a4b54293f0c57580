/// The character classes that pre-tokenizer patterns test, for one Unicode scalar:
/// `\p{L}` (general category L*), `\p{N}` (N*), `\p{P}` (P*) and `\s` (the White_Space property).
/// These are the definitions llama.cpp's Unicode tables use.
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt8

    static let letter = ScalarClass(rawValue: 1 << 0)
    static let number = ScalarClass(rawValue: 1 << 1)
    static let whitespace = ScalarClass(rawValue: 1 << 2)
    static let punctuation = ScalarClass(rawValue: 1 << 3)

    /// Letters, numbers and whitespace: the complement of `[^\s\p{L}\p{N}]`.
    static let wordish: ScalarClass = [.letter, .number, .whitespace]

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ value: UInt32) {
        if value < 128 {
            self = asciiClasses[Int(value)]
            return
        }
        guard let scalar = Unicode.Scalar(value) else {
            self = []
            return
        }
        let properties = scalar.properties
        var c: ScalarClass
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            c = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            c = .number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            c = .punctuation
        default:
            c = []
        }
        if properties.isWhitespace { c.insert(.whitespace) }
        self = c
    }
}

/// Classes of the 128 ASCII scalars (the same as the Unicode categories restricted to ASCII).
private let asciiClasses: [ScalarClass] = (0..<128).map { (v: Int) -> ScalarClass in
    switch v {
    case 0x41...0x5A, 0x61...0x7A: return .letter
    case 0x30...0x39: return .number
    case 0x09...0x0D, 0x20: return .whitespace
    default:
        // ASCII general category P*: ! " # % & ' ( ) * , - . / : ; ? @ [ \ ] _ { }
        let punctuation: Set<Int> = [0x21, 0x22, 0x23, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2C, 0x2D, 0x2E,
                                     0x2F, 0x3A, 0x3B, 0x3F, 0x40, 0x5B, 0x5C, 0x5D, 0x5F, 0x7B, 0x7D]
        return punctuation.contains(v) ? .punctuation : []
    }
}
