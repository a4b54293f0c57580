import EdgeTokenizer
import XCTest

/// The synthetic byte-level BPE vocabulary written into synthesized model files.
final class SyntheticVocabularyTests: XCTestCase {
    /// Texts that exercise every path of the byte-level encoding: merges, bytes, multi-byte
    /// characters, whitespace runs, digits, control bytes, special-token look-alikes.
    static let texts = [
        "Once upon a time there was a little house by the river.",
        "  leading and trailing spaces  ", "tabs\tand\nnewlines\r\n\n", "",
        "Numbers: 3.14159, 1,000,000 and 2024-05-12 08:30.",
        "Ünïcödé — “quotes”, 日本語のテキスト, emoji 🙂👍🏽 and 𝔘𝔫𝔦",
        "they'll say it's fine, isn't it? Yes! no... ok", "\u{0}\u{1}\u{7F} control bytes",
        "<|end_of_text|> is only text here", "a" + String(repeating: "the ", count: 50),
    ]

    func testSizeLayoutAndSpecialTokens() throws {
        for size in [258, 300, 5000, 49152] {
            let v = try SyntheticVocabulary.make(size: size, preTokenizer: "qwen2", addBOS: true)
            XCTAssertEqual(v.tokens.count, size)
            XCTAssertEqual(v.tokenTypes?.count, size)
            XCTAssertEqual(Set(v.tokens).count, size, "token texts are distinct")
            XCTAssertEqual(v.tokens.suffix(2), [SyntheticVocabulary.bosText, SyntheticVocabulary.eosText])
            XCTAssertEqual(v.tokenTypes?.suffix(2), [3, 3], "BOS and EOS are control tokens")
            XCTAssertEqual(v.specialTokenIDs[.bos], size - 2)
            XCTAssertEqual(v.specialTokenIDs[.eos], size - 1)
            XCTAssertLessThanOrEqual(v.merges?.count ?? 0, size - SyntheticVocabulary.minimumSize)
            let t = try Tokenizer(vocabulary: v)
            XCTAssertEqual(t.vocabularySize, size)
            XCTAssertEqual(t.bos, Int32(size - 2))
            XCTAssertEqual(t.eos, Int32(size - 1))
            XCTAssertTrue(t.isEndOfGeneration(Int32(size - 1)))
        }
    }

    func testTooSmallIsATypedError() {
        XCTAssertThrowsError(try SyntheticVocabulary.make(size: 257, preTokenizer: "qwen2", addBOS: false)) {
            XCTAssertEqual($0 as? TokenizerError, .vocabularyTooSmall(requested: 257, minimum: 258))
        }
        XCTAssertThrowsError(try SyntheticVocabulary.make(size: 1000, preTokenizer: "no-such-pre", addBOS: false)) {
            guard case .unknownPreTokenizer("no-such-pre", _, _)? = $0 as? TokenizerError else {
                return XCTFail("got \($0)")
            }
        }
    }

    /// encode then detokenize gives the text back, byte for byte, for both pre-tokenizers the
    /// synthesizer uses, with and without BOS.
    func testTextRoundTrips() throws {
        for pre in ["qwen2", "smollm"] {
            let t = try Tokenizer(vocabulary: SyntheticVocabulary.make(size: 32000, preTokenizer: pre, addBOS: true))
            for text in Self.texts {
                let plain = t.encode(text, addSpecial: false, parseSpecial: false)
                XCTAssertEqual(t.detokenize(plain, removeSpecial: false, unparseSpecial: false), Array(text.utf8),
                               "\(pre): \(text.debugDescription)")
                let withBOS = t.encode(text, addSpecial: true, parseSpecial: false)
                XCTAssertEqual(withBOS.first, t.bos)
                XCTAssertEqual(t.detokenize(withBOS, removeSpecial: true, unparseSpecial: false), Array(text.utf8))
            }
        }
    }

    /// The learned merges do work: common English words become one token, and English text takes
    /// far fewer tokens than bytes.
    func testMergesCompressEnglish() throws {
        let t = try Tokenizer(vocabulary: SyntheticVocabulary.make(size: 32000, preTokenizer: "qwen2", addBOS: false))
        for word in [" the", " and", " model", " time"] {
            XCTAssertEqual(t.encode(word, addSpecial: false, parseSpecial: false).count, 1, word)
        }
        let text = Self.texts[0]
        let ids = t.encode(text, addSpecial: false, parseSpecial: false)
        XCTAssertLessThan(ids.count, text.utf8.count / 3, "\(ids)")
        XCTAssertEqual(t.encode("<|end_of_text|>", addSpecial: false, parseSpecial: true), [t.eos!])
    }

    func testSameArgumentsSameVocabulary() throws {
        let a = try SyntheticVocabulary.make(size: 7000, preTokenizer: "smollm", addBOS: false)
        let b = try SyntheticVocabulary.make(size: 7000, preTokenizer: "smollm", addBOS: false)
        XCTAssertEqual(a, b)
        XCTAssertGreaterThan(a.merges?.count ?? 0, 300, "the training text yields some hundreds of merges")
    }
}
