import EdgeFormats

/// Why a tokenizer could not be built from a vocabulary. Every case names the GGUF key (or the
/// token) at fault.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A metadata key is present but holds a value of the wrong type.
    case metadata(FormatError)
    /// The token list (`tokenizer.ggml.tokens`) is absent.
    case missingTokens(key: String)
    /// The token list is present but empty.
    case emptyVocabulary(key: String)
    /// A byte-level BPE vocabulary without its merge list (`tokenizer.ggml.merges`).
    case missingMerges(key: String)
    /// `tokenizer.ggml.model` names a tokenizer this library does not implement.
    case unknownModel(String, key: String, supported: [String])
    /// `tokenizer.ggml.pre` names a pre-tokenizer this library does not implement.
    case unknownPreTokenizer(String, key: String, supported: [String])
    /// A per-token array (scores, token types) whose length differs from the token list's.
    case arrayLengthMismatch(key: String, count: Int, expected: Int)
    /// A special-token id key whose value is not an id in the vocabulary.
    case specialTokenOutOfRange(key: String, id: Int, vocabularySize: Int)
    /// The same token text appears at two ids (token lookup by text would be ambiguous).
    case duplicateToken(text: String, firstID: Int, secondID: Int)
    /// A flag asks for a special token to be added (`flagKey` is true) but there is no such token.
    case missingSpecialToken(flagKey: String, idKey: String)
    /// A ``SyntheticVocabulary`` was asked for fewer tokens than its bytes and special tokens take.
    case vocabularyTooSmall(requested: Int, minimum: Int)

    public var description: String {
        switch self {
        case let .metadata(error): "tokenizer metadata: \(error)"
        case let .missingTokens(key): "no token list: metadata key '\(key)' is absent"
        case let .emptyVocabulary(key): "the token list '\(key)' is empty"
        case let .missingMerges(key): "byte-level BPE vocabulary without merges: metadata key '\(key)' is absent"
        case let .unknownModel(name, key, supported):
            "unknown tokenizer model '\(name)' in '\(key)' (supported: \(supported.joined(separator: ", ")))"
        case let .unknownPreTokenizer(name, key, supported):
            "unknown pre-tokenizer '\(name)' in '\(key)' (supported: \(supported.joined(separator: ", ")))"
        case let .arrayLengthMismatch(key, count, expected):
            "'\(key)' has \(count) entries, the token list has \(expected)"
        case let .specialTokenOutOfRange(key, id, size):
            "'\(key)' = \(id) is not a token id (vocabulary size \(size))"
        case let .duplicateToken(text, first, second):
            "duplicate token in vocabulary: '\(text)' has ids \(first) and \(second)"
        case let .missingSpecialToken(flagKey, idKey): "'\(flagKey)' is true, but '\(idKey)' is not set"
        case let .vocabularyTooSmall(requested, minimum):
            "a synthetic vocabulary of \(requested) tokens is too small: it needs at least \(minimum) (256 bytes, BOS and EOS)"
        }
    }
}
