import Foundation
import EdgeTokenizer

/// Small vocabularies built in the tests.
enum Vocabularies {
    /// GPT-2's byte-level character for each byte (printable bytes stand for themselves, the
    /// others take U+0100 onwards in byte order).
    static let byteCharacters: [String] = {
        var next: UInt32 = 256
        return (0..<256).map { b -> String in
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable { return String(Unicode.Scalar(UInt8(b))) }
            defer { next += 1 }
            return String(Unicode.Scalar(next)!)
        }
    }()

    /// Byte-level text of a plain string (each UTF-8 byte as its character).
    static func byteLevel(_ text: String) -> String { byteLevel(Array(text.utf8)) }

    static func byteLevel(_ bytes: [UInt8]) -> String { bytes.map { byteCharacters[Int($0)] }.joined() }

    /// A byte-level BPE vocabulary: the 256 byte characters (ids 0-255), then the results of the
    /// merges, then `special` tokens with their GGUF types. Merges are given as plain text.
    static func bytePair(pre: String?, merges: [(String, String)], special: [(String, Int32)] = [],
                         ids: [SpecialTokenRole: Int] = [:], addBOS: Bool? = nil,
                         addEOS: Bool? = nil) -> TokenizerVocabulary {
        bytePair(pre: pre, byteMerges: merges.map { (Array($0.0.utf8), Array($0.1.utf8)) }, special: special, ids: ids,
                 addBOS: addBOS, addEOS: addEOS)
    }

    /// The same, with merges given as raw bytes (which may cut UTF-8 characters).
    static func bytePair(pre: String?, byteMerges: [([UInt8], [UInt8])], special: [(String, Int32)] = [],
                         ids: [SpecialTokenRole: Int] = [:], addBOS: Bool? = nil,
                         addEOS: Bool? = nil) -> TokenizerVocabulary {
        var tokens = byteCharacters
        var known = Set(tokens.map { Array($0.utf8) })
        for (left, right) in byteMerges {
            let merged = byteLevel(left + right)
            if known.insert(Array(merged.utf8)).inserted { tokens.append(merged) }
        }
        var types = [Int32](repeating: 1, count: tokens.count)
        for (text, type) in special {
            tokens.append(text)
            types.append(type)
        }
        return TokenizerVocabulary(model: "gpt2", preTokenizer: pre, tokens: tokens, tokenTypes: types,
                                   merges: byteMerges.map { "\(byteLevel($0.0)) \(byteLevel($0.1))" },
                                   specialTokenIDs: ids, addBOS: addBOS, addEOS: addEOS)
    }

    /// A SentencePiece vocabulary like aidreams260K's: `<unk>`, `<s>`, `</s>`, the 256 byte
    /// tokens `<0x00>`...`<0xFF>` (ids 3-258), then `pieces` (spaces written as U+2581) with
    /// their scores, then extra special tokens.
    static func sentencePiece(pieces: [(String, Float)], special: [(String, Int32)] = [],
                              addSpacePrefix: Bool? = nil, byteTokens: Bool = true) -> TokenizerVocabulary {
        var tokens = ["<unk>", "<s>", "</s>"]
        var types: [Int32] = [2, 3, 3]
        if byteTokens {
            for b in 0..<256 {
                tokens.append("<0x" + String(format: "%02X", b) + ">")
                types.append(6)
            }
        }
        var scores = [Float](repeating: 0, count: tokens.count)
        for (text, score) in pieces {
            tokens.append(text)
            types.append(1)
            scores.append(score)
        }
        for (text, type) in special {
            tokens.append(text)
            types.append(type)
            scores.append(0)
        }
        return TokenizerVocabulary(model: "llama", tokens: tokens, scores: scores, tokenTypes: types,
                                   specialTokenIDs: [.unknown: 0, .bos: 1, .eos: 2], addSpacePrefix: addSpacePrefix)
    }
}

extension TokenizerVocabulary {
    /// Id of a byte-level token given as plain text.
    func byteLevelID(_ plain: String) -> Int32 {
        Int32(tokens.firstIndex(of: Vocabularies.byteLevel(plain))!)
    }

    /// Id of a token given exactly as stored.
    func id(_ stored: String) -> Int32 { Int32(tokens.firstIndex(of: stored)!) }
}
