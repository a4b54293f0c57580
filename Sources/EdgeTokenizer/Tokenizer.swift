import EdgeFormats

/// The tokenizer algorithms this library implements, named as in `tokenizer.ggml.model`.
public enum TokenizerModel: String, Sendable, CaseIterable {
    /// `gpt2`: byte-level BPE with ranked merges and a pre-tokenizer that cuts text into words.
    case bytePairEncoding = "gpt2"
    /// `llama`: SentencePiece-style BPE with scores, a leading space and `<0xNN>` byte fallback.
    case sentencePiece = "llama"
}

/// Text to token ids and back, for a GGUF vocabulary, giving the ids and bytes llama.cpp gives
/// (`llama_tokenize`, `llama_token_to_piece`, `llama_detokenize`).
///
/// Immutable after `init`; every method may be called from any thread.
public final class Tokenizer: Sendable {
    public let model: TokenizerModel
    /// `tokenizer.ggml.pre` as resolved (`default` when absent); nil for SentencePiece.
    public let preTokenizerName: String?
    public var vocabularySize: Int { texts.count }
    /// Beginning-of-sequence token, if the vocabulary has one.
    public let bos: Int32?
    /// End-of-sequence token, if the vocabulary has one.
    public let eos: Int32?
    /// The unknown token, if the vocabulary has one.
    public let unknown: Int32?
    /// Whether `encode(addSpecial: true)` puts BOS first.
    public let addBOS: Bool
    /// Whether `encode(addSpecial: true)` puts EOS last.
    public let addEOS: Bool
    /// Whether a space is put before text at the start and after each special token
    /// (SentencePiece), and one leading space removed again when detokenizing.
    public let addSpacePrefix: Bool
    /// Tokens that end generation: EOS, end of turn, end of message, and the tokens llama.cpp
    /// recognises by their text (`<|im_end|>`, `<|endoftext|>`, `</s>`, the fill-in-the-middle
    /// pad/repository/separator tokens, ...).
    public let endOfGenerationIDs: Set<Int32>
    /// `tokenizer.chat_template`, if the file has one.
    public let chatTemplate: String?

    /// Whether detokenizing removes spaces before `?!.,` and in contractions.
    let cleansSpaces: Bool
    /// Token texts as stored (byte-level characters for BPE, U+2581 for spaces in SentencePiece).
    private let texts: [[UInt8]]
    private let attributes: [TokenAttributes]
    private let engine: Engine
    private let specials: SpecialTokenSplitter
    /// Every token's piece with special tokens rendered, back to back; token i's piece is
    /// `pieceBytes[pieceOffsets[i]..<pieceOffsets[i + 1]]`.
    private let pieceBytes: [UInt8]
    private let pieceOffsets: [Int]

    private enum Engine: Sendable {
        case bytePair(BytePairMerger, PreTokenizer)
        case sentencePiece(SentencePieceMerger)
    }

    /// Reads the tokenizer of a GGUF file.
    public convenience init(gguf: GGUFFile) throws(TokenizerError) {
        try self.init(vocabulary: TokenizerVocabulary(gguf: gguf))
    }

    /// Builds a tokenizer from plain values; checks them and applies llama.cpp's defaults.
    public init(vocabulary v: TokenizerVocabulary) throws(TokenizerError) {
        typealias Key = TokenizerVocabulary.Key
        guard let model = TokenizerModel(rawValue: v.model) else {
            throw .unknownModel(v.model, key: Key.model, supported: TokenizerModel.allCases.map(\.rawValue))
        }
        let n = v.tokens.count
        guard n > 0 else { throw .emptyVocabulary(key: Key.tokens) }
        if let scores = v.scores, scores.count != n {
            throw .arrayLengthMismatch(key: Key.scores, count: scores.count, expected: n)
        }
        if let types = v.tokenTypes, types.count != n {
            throw .arrayLengthMismatch(key: Key.tokenTypes, count: types.count, expected: n)
        }
        self.model = model

        // Token texts; an empty one gets a placeholder name, as in llama.cpp.
        var texts: [[UInt8]] = []
        texts.reserveCapacity(n)
        var idsByText: [[UInt8]: Int32] = [:]
        idsByText.reserveCapacity(n)
        for (i, token) in v.tokens.enumerated() {
            let text = token.isEmpty ? Array("[EMPTY_\(i)]".utf8) : Array(token.utf8)
            if let first = idsByText.updateValue(Int32(i), forKey: text) {
                throw .duplicateToken(text: token, firstID: Int(first), secondID: i)
            }
            texts.append(text)
        }
        var attributes = v.tokenTypes.map { $0.map(TokenAttributes.init(ggufTokenType:)) }
            ?? [TokenAttributes](repeating: .normal, count: n)

        // Defaults by model type (llama.cpp `llama_vocab::impl::load`).
        var ids: [SpecialTokenRole: Int32] = [:]
        let pre: PreTokenizer?
        var addBOS: Bool
        let addSpacePrefix: Bool
        switch model {
        case .bytePairEncoding:
            guard v.merges != nil else { throw .missingMerges(key: Key.merges) }
            guard let p = PreTokenizer.named(v.preTokenizer) else {
                throw .unknownPreTokenizer(v.preTokenizer ?? "", key: Key.preTokenizer,
                                           supported: PreTokenizer.supportedNames)
            }
            pre = p
            ids[.bos] = 11
            ids[.eos] = 11
            addBOS = p.addsBOSByDefault
            addSpacePrefix = v.addSpacePrefix ?? false
            cleansSpaces = p.cleansSpaces
        case .sentencePiece:
            pre = nil
            ids[.bos] = 1
            ids[.eos] = 2
            ids[.unknown] = 0
            addBOS = true
            addSpacePrefix = v.addSpacePrefix ?? true
            cleansSpaces = false
        }
        ids = ids.filter { Int($0.value) < n }
        for (role, raw) in v.specialTokenIDs {
            // -1 (and its uint32 spelling) is how converters write "none": keep the default.
            if raw == -1 || raw == Int(UInt32.max) { continue }
            guard raw >= 0, raw < n else {
                throw .specialTokenOutOfRange(key: role.key, id: raw, vocabularySize: n)
            }
            ids[role] = Int32(raw)
        }
        addBOS = v.addBOS ?? addBOS
        let addEOS = v.addEOS ?? false
        if addBOS, ids[.bos] == nil { throw .missingSpecialToken(flagKey: Key.addBOS, idKey: SpecialTokenRole.bos.key) }
        if addEOS, ids[.eos] == nil { throw .missingSpecialToken(flagKey: Key.addEOS, idKey: SpecialTokenRole.eos.key) }

        let endOfGeneration = SpecialTokenRules.resolve(texts: texts, attributes: &attributes, ids: &ids)

        self.texts = texts
        self.attributes = attributes
        preTokenizerName = pre?.name
        bos = ids[.bos]
        eos = ids[.eos]
        unknown = ids[.unknown]
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        endOfGenerationIDs = endOfGeneration
        chatTemplate = v.chatTemplate
        specials = SpecialTokenSplitter(texts: texts, attributes: attributes)
        if let pre {
            let merger = BytePairMerger(vocabularySize: n, idsByText: idsByText, merges: v.merges ?? [],
                                        ignoresMerges: pre.ignoresMerges)
            engine = .bytePair(merger, pre)
        } else {
            engine = .sentencePiece(SentencePieceMerger(scores: v.scores ?? [Float](repeating: 0, count: n),
                                                        idsByText: idsByText, unknownID: ids[.unknown]))
        }

        var bytes: [UInt8] = []
        var offsets = [0]
        offsets.reserveCapacity(n + 1)
        for id in 0..<n {
            bytes += Self.renderPiece(texts[id], attributes[id], model: model)
            offsets.append(bytes.count)
        }
        pieceBytes = bytes
        pieceOffsets = offsets
    }

    // MARK: - encoding

    /// The token ids of `text`.
    /// - Parameters:
    ///   - addSpecial: put BOS first if the vocabulary asks for it (``addBOS``), EOS last if it
    ///     asks for that (``addEOS``); SentencePiece also puts a space before the text.
    ///   - parseSpecial: text spelling a control token (`<|im_start|>`, `<s>`) becomes that
    ///     token; otherwise it is tokenized as text. User-defined tokens are always recognised.
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        let bytes = Array(text.utf8)
        let fragments = specials.split(bytes, parseSpecial: parseSpecial)
        var out: [Int32] = []
        out.reserveCapacity(bytes.count / 3 + 2)
        if addSpecial, addBOS, let bos { out.append(bos) }
        switch engine {
        case let .bytePair(merger, pre):
            for fragment in fragments {
                switch fragment {
                case let .token(id): out.append(id)
                case let .text(range):
                    let scalars = ScalarText(utf8: bytes[range])
                    for word in pre.split(scalars) {
                        let from = range.lowerBound + scalars.byteOffsets[word.lowerBound]
                        let to = range.lowerBound + scalars.byteOffsets[word.upperBound]
                        merger.encode(bytes[from..<to], into: &out)
                    }
                }
            }
        case let .sentencePiece(merger):
            // A space goes before text at the start and after every special token.
            var afterSpecial = true
            for fragment in fragments {
                switch fragment {
                case let .token(id):
                    out.append(id)
                    afterSpecial = true
                case let .text(range):
                    var escaped: [UInt8] = []
                    escaped.reserveCapacity(range.count + 3)
                    if addSpacePrefix, afterSpecial { escaped += Self.escapedSpace }
                    for b in bytes[range] {
                        if b == 0x20 { escaped += Self.escapedSpace } else { escaped.append(b) }
                    }
                    merger.encode(escaped, into: &out)
                    afterSpecial = false
                }
            }
        }
        if addSpecial, addEOS, let eos { out.append(eos) }
        return out
    }

    /// U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's stand-in for a space.
    private static let escapedSpace: [UInt8] = [0xE2, 0x96, 0x81]

    // MARK: - decoding

    /// The attributes of a token (nil for an id outside the vocabulary).
    public func attributes(of id: Int32) -> TokenAttributes? {
        id >= 0 && Int(id) < texts.count ? attributes[Int(id)] : nil
    }

    /// The token's text as stored in the vocabulary (nil for an id outside the vocabulary).
    public func tokenText(_ id: Int32) -> String? {
        id >= 0 && Int(id) < texts.count ? String(decoding: texts[Int(id)], as: UTF8.self) : nil
    }

    /// Whether generation stops at this token.
    public func isEndOfGeneration(_ id: Int32) -> Bool { endOfGenerationIDs.contains(id) }

    /// The bytes a token stands for (`llama_token_to_piece` with no stripping). A byte-level or
    /// byte-fallback token may be part of a UTF-8 character, so pieces are bytes, not strings.
    /// - Parameter renderSpecial: control and unknown tokens give their text (`<|im_end|>`);
    ///   otherwise they give nothing. An id outside the vocabulary gives nothing.
    public func piece(_ id: Int32, renderSpecial: Bool) -> [UInt8] {
        Array(pieceSlice(id, renderSpecial: renderSpecial))
    }

    private func pieceSlice(_ id: Int32, renderSpecial: Bool) -> ArraySlice<UInt8> {
        guard id >= 0, Int(id) < texts.count else { return [] }
        if !renderSpecial, !attributes[Int(id)].isDisjoint(with: [.unknown, .control]) { return [] }
        return pieceBytes[pieceOffsets[Int(id)]..<pieceOffsets[Int(id) + 1]]
    }

    /// The text of a token sequence, as `llama_detokenize` gives it.
    /// - Parameters:
    ///   - removeSpecial: drop a leading BOS (when the vocabulary adds BOS) and a trailing EOS
    ///     (when it adds EOS).
    ///   - unparseSpecial: render control tokens as their text.
    ///
    /// With ``addSpacePrefix`` one leading space of the first piece is removed, unless a BOS was
    /// dropped first. Vocabularies whose pre-tokenizer asks for it also remove the space before
    /// `?`, `!`, `.`, `,`, around a lone `'`, and before `'s`, `'m`, `'re`, `'ve`.
    public func detokenize(_ ids: [Int32], removeSpecial: Bool, unparseSpecial: Bool) -> [UInt8] {
        var removeSpace = addSpacePrefix
        var tokens = ids[...]
        if removeSpecial, addBOS, let first = tokens.first, first == bos {
            removeSpace = false
            tokens = tokens.dropFirst()
        }
        if removeSpecial, addEOS, let last = tokens.last, last == eos {
            tokens = tokens.dropLast()
        }
        var out: [UInt8] = []
        for id in tokens {
            var piece = pieceSlice(id, renderSpecial: unparseSpecial)
            if removeSpace, piece.first == 0x20 { piece = piece.dropFirst() }
            removeSpace = false
            out += piece
        }
        return cleansSpaces ? SpaceCleaner.clean(out) : out
    }

    /// The bytes of one token with special tokens rendered (`llama_token_to_piece`, special=true).
    private static func renderPiece(_ text: [UInt8], _ attr: TokenAttributes, model: TokenizerModel) -> [UInt8] {
        if !attr.isDisjoint(with: [.unknown, .control, .userDefined]) { return text }
        if attr.contains(.normal) {
            switch model {
            case .sentencePiece: return unescapeSpaces(text)
            case .bytePairEncoding: return decodeByteLevel(text)
            }
        }
        if attr.contains(.byte) { return [byteValue(of: text)] }
        return []
    }

    /// U+2581 back to spaces.
    private static func unescapeSpaces(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if i + 2 < text.count, text[i] == 0xE2, text[i + 1] == 0x96, text[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    /// Byte-level characters back to bytes; a character outside the alphabet becomes
    /// `[UNK_BYTE_0x<its UTF-8 in hex><token text>]`, as llama.cpp writes it.
    private static func decodeByteLevel(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for scalar in String(decoding: text, as: UTF8.self).unicodeScalars {
            if let b = ByteLevelAlphabet.byte(for: scalar.value) {
                out.append(b)
            } else {
                let hex = String(scalar).utf8.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                out += Array("[UNK_BYTE_0x\(hex)".utf8) + text + [UInt8(ascii: "]")]
            }
        }
        return out
    }

    /// The byte of a `<0xNN>` token: the hex digits at offsets 3 and 4 (parsing stops at the
    /// first non-hex character, as `strtol` does).
    private static func byteValue(of text: [UInt8]) -> UInt8 {
        var value: UInt8 = 0
        for c in text.dropFirst(3).prefix(2) {
            guard let digit = Int(String(UnicodeScalar(c)), radix: 16) else { break }
            value = value << 4 | UInt8(digit)
        }
        return value
    }
}
