import EdgeFormats

/// The role of a special token, with the GGUF key that stores its id.
public enum SpecialTokenRole: String, CaseIterable, Sendable {
    case bos = "tokenizer.ggml.bos_token_id"
    case eos = "tokenizer.ggml.eos_token_id"
    /// End of turn (chat models).
    case eot = "tokenizer.ggml.eot_token_id"
    /// End of message (tool calls).
    case eom = "tokenizer.ggml.eom_token_id"
    case unknown = "tokenizer.ggml.unknown_token_id"
    /// The key's spelling ("seperator") is the one GGUF files use.
    case separator = "tokenizer.ggml.seperator_token_id"
    case padding = "tokenizer.ggml.padding_token_id"
    case mask = "tokenizer.ggml.mask_token_id"
    case fimPrefix = "tokenizer.ggml.fim_pre_token_id"
    case fimSuffix = "tokenizer.ggml.fim_suf_token_id"
    case fimMiddle = "tokenizer.ggml.fim_mid_token_id"
    case fimPad = "tokenizer.ggml.fim_pad_token_id"
    case fimRepository = "tokenizer.ggml.fim_rep_token_id"
    case fimSeparator = "tokenizer.ggml.fim_sep_token_id"

    /// The GGUF key that holds this role's id.
    public var key: String { rawValue }

    /// Older files store the fill-in-the-middle ids under these keys; when present they win,
    /// as in llama.cpp, which reads them after the current keys.
    var deprecatedKey: String? {
        switch self {
        case .fimPrefix: "tokenizer.ggml.prefix_token_id"
        case .fimSuffix: "tokenizer.ggml.suffix_token_id"
        case .fimMiddle: "tokenizer.ggml.middle_token_id"
        default: nil
        }
    }
}

/// Everything a ``Tokenizer`` is built from, as plain values: what `init(gguf:)` reads from the
/// `tokenizer.*` metadata, and what tests or other formats can fill in directly. Nothing here is
/// checked; ``Tokenizer/init(vocabulary:)`` validates it.
public struct TokenizerVocabulary: Sendable, Equatable {
    /// GGUF metadata keys of the tokenizer.
    public enum Key {
        public static let model = "tokenizer.ggml.model"
        public static let preTokenizer = "tokenizer.ggml.pre"
        public static let tokens = "tokenizer.ggml.tokens"
        public static let scores = "tokenizer.ggml.scores"
        public static let tokenTypes = "tokenizer.ggml.token_type"
        public static let merges = "tokenizer.ggml.merges"
        public static let addBOS = "tokenizer.ggml.add_bos_token"
        public static let addEOS = "tokenizer.ggml.add_eos_token"
        public static let addSpacePrefix = "tokenizer.ggml.add_space_prefix"
        public static let chatTemplate = "tokenizer.chat_template"
    }

    /// `tokenizer.ggml.model`: `gpt2` (byte-level BPE) or `llama` (SentencePiece-style BPE).
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer of a byte-level BPE vocabulary (nil = `default`).
    public var preTokenizer: String?
    /// Token texts, indexed by id.
    public var tokens: [String]
    /// Per-token scores (SentencePiece merge priority); nil = all zero.
    public var scores: [Float]?
    /// Per-token GGUF token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
    /// 6 byte); nil = all normal.
    public var tokenTypes: [Int32]?
    /// BPE merges, highest priority first, each "left right".
    public var merges: [String]?
    /// Special-token ids as stored (unchecked; -1 or 0xFFFFFFFF mean "not set").
    public var specialTokenIDs: [SpecialTokenRole: Int]
    /// `tokenizer.ggml.add_bos_token`; nil = the model type's default.
    public var addBOS: Bool?
    /// `tokenizer.ggml.add_eos_token`; nil = false.
    public var addEOS: Bool?
    /// `tokenizer.ggml.add_space_prefix`; nil = the model type's default (true for `llama`).
    public var addSpacePrefix: Bool?
    /// `tokenizer.chat_template`, passed through untouched.
    public var chatTemplate: String?

    public init(model: String, preTokenizer: String? = nil, tokens: [String], scores: [Float]? = nil,
                tokenTypes: [Int32]? = nil, merges: [String]? = nil,
                specialTokenIDs: [SpecialTokenRole: Int] = [:], addBOS: Bool? = nil, addEOS: Bool? = nil,
                addSpacePrefix: Bool? = nil, chatTemplate: String? = nil) {
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.specialTokenIDs = specialTokenIDs
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.chatTemplate = chatTemplate
    }

    /// Reads the `tokenizer.*` metadata of a GGUF file.
    public init(gguf: GGUFFile) throws(TokenizerError) {
        let tokens: [String]?
        do { tokens = try gguf.optionalStringArray(Key.tokens) } catch { throw .metadata(error) }
        guard let tokens else { throw .missingTokens(key: Key.tokens) }
        do { try self.init(reading: gguf, tokens: tokens) } catch { throw .metadata(error) }
    }

    private init(reading gguf: GGUFFile, tokens: [String]) throws(FormatError) {
        self.tokens = tokens
        // A file without the key is reported as an unknown (empty) model name.
        model = try gguf.optionalString(Key.model) ?? ""
        preTokenizer = try gguf.optionalString(Key.preTokenizer)
        scores = try Self.readScores(gguf)
        tokenTypes = try gguf.optionalIntArray(Key.tokenTypes)
        merges = try gguf.optionalStringArray(Key.merges)
        var ids: [SpecialTokenRole: Int] = [:]
        for role in SpecialTokenRole.allCases {
            if let id = try gguf.optionalInt(role.key) { ids[role] = id }
            if let old = role.deprecatedKey, let id = try gguf.optionalInt(old) { ids[role] = id }
        }
        specialTokenIDs = ids
        addBOS = try gguf.optionalBool(Key.addBOS)
        addEOS = try gguf.optionalBool(Key.addEOS)
        addSpacePrefix = try gguf.optionalBool(Key.addSpacePrefix)
        chatTemplate = try gguf.optionalString(Key.chatTemplate)
    }

    /// Scores are float32 in practice; llama.cpp also accepts int32 arrays.
    private static func readScores(_ gguf: GGUFFile) throws(FormatError) -> [Float]? {
        if case .int32Array(let ints)? = gguf.value(Key.scores) { return ints.map(Float.init) }
        return try gguf.optionalFloatArray(Key.scores)
    }
}
