import EdgeTokenizer
import XCTest

/// Vocabularies that cannot be used are refused with an error that names the key.
final class TokenizerErrorTests: XCTestCase {
    private func error(_ vocabulary: TokenizerVocabulary) -> TokenizerError? {
        do {
            _ = try Tokenizer(vocabulary: vocabulary)
            return nil
        } catch {
            return error
        }
    }

    func testUnknownModelListsSupportedOnes() {
        let v = TokenizerVocabulary(model: "bert", tokens: ["a"])
        XCTAssertEqual(error(v), .unknownModel("bert", key: "tokenizer.ggml.model", supported: ["gpt2", "llama"]))
        XCTAssertTrue(error(v)!.description.contains("gpt2, llama"))
    }

    func testEmptyTokenList() {
        XCTAssertEqual(error(TokenizerVocabulary(model: "llama", tokens: [])), .emptyVocabulary(key: "tokenizer.ggml.tokens"))
    }

    func testBytePairWithoutMerges() {
        XCTAssertEqual(error(TokenizerVocabulary(model: "gpt2", tokens: ["a"])), .missingMerges(key: "tokenizer.ggml.merges"))
    }

    func testUnknownPreTokenizer() throws {
        var v = Vocabularies.bytePair(pre: "no-such-pre", merges: [])
        guard case let .unknownPreTokenizer(name, key, supported)? = error(v) else {
            return XCTFail("expected unknownPreTokenizer, got \(String(describing: error(v)))")
        }
        XCTAssertEqual(name, "no-such-pre")
        XCTAssertEqual(key, "tokenizer.ggml.pre")
        for known in ["default", "gpt-2", "llama-bpe", "qwen2", "smollm"] { XCTAssertTrue(supported.contains(known), known) }
        // Absent or empty means `default`, as in llama.cpp.
        v.preTokenizer = nil
        XCTAssertEqual(try Tokenizer(vocabulary: v).preTokenizerName, "default")
        v.preTokenizer = ""
        XCTAssertEqual(try Tokenizer(vocabulary: v).preTokenizerName, "default")
    }

    func testMismatchedArrayLengths() {
        var v = TokenizerVocabulary(model: "llama", tokens: ["<unk>", "<s>", "</s>"], scores: [0, 0])
        XCTAssertEqual(error(v), .arrayLengthMismatch(key: "tokenizer.ggml.scores", count: 2, expected: 3))
        v.scores = nil
        v.tokenTypes = [2, 3, 3, 1]
        XCTAssertEqual(error(v), .arrayLengthMismatch(key: "tokenizer.ggml.token_type", count: 4, expected: 3))
    }

    func testSpecialIDOutOfRange() {
        var v = TokenizerVocabulary(model: "llama", tokens: ["<unk>", "<s>", "</s>"], specialTokenIDs: [.eos: 7])
        XCTAssertEqual(error(v), .specialTokenOutOfRange(key: "tokenizer.ggml.eos_token_id", id: 7, vocabularySize: 3))
        v.specialTokenIDs = [.padding: -2]
        XCTAssertEqual(error(v), .specialTokenOutOfRange(key: "tokenizer.ggml.padding_token_id", id: -2, vocabularySize: 3))
    }

    /// Converters write 0xFFFFFFFF (or -1) for "no such token"; the default stays.
    func testNoneSentinelKeepsDefault() throws {
        let v = TokenizerVocabulary(model: "llama", tokens: ["<unk>", "<s>", "</s>"],
                                    specialTokenIDs: [.padding: 0xFFFF_FFFF, .separator: -1, .eos: 0xFFFF_FFFF])
        let t = try Tokenizer(vocabulary: v)
        XCTAssertEqual(t.eos, 2)
        XCTAssertEqual(t.bos, 1)
    }

    func testDuplicateToken() {
        let v = TokenizerVocabulary(model: "llama", tokens: ["<unk>", "a", "b", "a"])
        XCTAssertEqual(error(v), .duplicateToken(text: "a", firstID: 1, secondID: 3))
    }

    /// Token texts are compared as bytes: "é" precomposed and "e" + combining accent are two tokens.
    func testCanonicallyEquivalentTokensAreDistinct() throws {
        let v = TokenizerVocabulary(model: "llama", tokens: ["<unk>", "<s>", "</s>", "\u{E9}", "e\u{301}"])
        XCTAssertNil(error(v))
    }

    func testAddTokenWithoutToken() {
        // A byte-level vocabulary has no EOS unless the file names one (the default, 11, is a byte here).
        let v = TokenizerVocabulary(model: "gpt2", tokens: ["a", "b"], merges: [], addEOS: true)
        XCTAssertEqual(error(v), .missingSpecialToken(flagKey: "tokenizer.ggml.add_eos_token",
                                                      idKey: "tokenizer.ggml.eos_token_id"))
    }
}
