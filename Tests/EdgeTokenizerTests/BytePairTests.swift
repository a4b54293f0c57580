import EdgeTokenizer
import XCTest

/// Byte-level BPE on small vocabularies: merge order, pre-tokenizer cuts, specials, decoding.
final class BytePairTests: XCTestCase {
    private func encode(_ v: TokenizerVocabulary, _ text: String, parseSpecial: Bool = false) throws -> [Int32] {
        try Tokenizer(vocabulary: v).encode(text, addSpecial: true, parseSpecial: parseSpecial)
    }

    func testLowestRankMergesFirst() throws {
        let bcFirst = Vocabularies.bytePair(pre: "gpt-2", merges: [("b", "c"), ("a", "b")])
        XCTAssertEqual(try encode(bcFirst, "abc"), [bcFirst.byteLevelID("a"), bcFirst.byteLevelID("bc")])
        let abFirst = Vocabularies.bytePair(pre: "gpt-2", merges: [("a", "b"), ("b", "c")])
        XCTAssertEqual(try encode(abFirst, "abc"), [abFirst.byteLevelID("ab"), abFirst.byteLevelID("c")])
        // Equal ranks: the leftmost pair merges first.
        let aa = Vocabularies.bytePair(pre: "gpt-2", merges: [("a", "a")])
        XCTAssertEqual(try encode(aa, "aaa"), [aa.byteLevelID("aa"), aa.byteLevelID("a")])
        XCTAssertEqual(try encode(aa, "aaaa"), [aa.byteLevelID("aa"), aa.byteLevelID("aa")])
    }

    func testBytesWithoutMergesAreByteTokens() throws {
        let v = Vocabularies.bytePair(pre: "gpt-2", merges: [])
        // "é" is C3 A9: two byte tokens; a tab and a newline are bytes 9 and 10.
        // Ids 0-255 of these vocabularies are the byte tokens.
        XCTAssertEqual(try encode(v, "é\t\n"), [0xC3, 0xA9, 9, 10])
        XCTAssertEqual(try encode(v, ""), [])
    }

    /// A long word merges to one token (the merge loop is a priority queue, not rescans).
    func testLongWordMerges() throws {
        var merges: [(String, String)] = []
        var word = "a"
        for _ in 0..<9 {
            merges.append((word, word))
            word += word
        }
        let v = Vocabularies.bytePair(pre: "gpt-2", merges: merges)
        XCTAssertEqual(try encode(v, String(repeating: "a", count: 512)), [v.byteLevelID(word)])
    }

    /// How `12345` is cut before merging, per pre-tokenizer.
    func testDigitSplittingByPreTokenizer() throws {
        let merges = [("1", "2"), ("12", "3"), ("123", "4"), ("4", "5")]
        func ids(_ pre: String) throws -> [String] {
            let v = Vocabularies.bytePair(pre: pre, merges: merges)
            let t = try Tokenizer(vocabulary: v)
            return t.encode("12345", addSpecial: false, parseSpecial: false).map { String(decoding: t.piece($0, renderSpecial: false), as: UTF8.self) }
        }
        XCTAssertEqual(try ids("gpt-2"), ["1234", "5"])
        XCTAssertEqual(try ids("llama-bpe"), ["123", "45"])
        XCTAssertEqual(try ids("default"), ["123", "45"])
        XCTAssertEqual(try ids("falcon"), ["123", "45"])
        XCTAssertEqual(try ids("qwen2"), ["1", "2", "3", "4", "5"])
        XCTAssertEqual(try ids("smollm"), ["1", "2", "3", "4", "5"])
        XCTAssertEqual(try ids("starcoder"), ["1", "2", "3", "4", "5"])
    }

    func testGPT2WordCuts() throws {
        let t = "gpt-2"
        XCTAssertEqual(try cuts(t, "Hello world"), ["Hello", " world"])
        XCTAssertEqual(try cuts(t, "a  b"), ["a", " ", " b"])
        XCTAssertEqual(try cuts(t, "it's"), ["it", "'s"])
        XCTAssertEqual(try cuts(t, "IT'S"), ["IT", "'", "S"])
        XCTAssertEqual(try cuts(t, "x½ 42!?"), ["x", "½", " 42", "!?"])
        XCTAssertEqual(try cuts(t, "Καλή μέρα"), ["Καλή", " μέρα"])
        XCTAssertEqual(try cuts(t, "end  "), ["end", "  "])
        XCTAssertEqual(try cuts(t, "a\n\nb"), ["a", "\n", "\n", "b"])
    }

    func testLlama3WordCuts() throws {
        let t = "llama-bpe"
        XCTAssertEqual(try cuts(t, "IT'S"), ["IT", "'S"])
        XCTAssertEqual(try cuts(t, "(hello) 1234567"), ["(hello", ")", " ", "123", "456", "7"])
        XCTAssertEqual(try cuts(t, "a  \n\n  b"), ["a", "  \n\n", " ", " b"])
        XCTAssertEqual(try cuts(t, "x ...\n\ny"), ["x", " ...\n\n", "y"])
        XCTAssertEqual(try cuts(t, "tab\tend "), ["tab", "\tend", " "])
    }

    func testOtherPreTokenizerCuts() throws {
        XCTAssertEqual(try cuts("default", "x<=y, 12345"), ["x", "<=", "y", ",", " ", "123", "45"])
        XCTAssertEqual(try cuts("qwen2", "I'M 2024!\n\nok"), ["I", "'M", " ", "2", "0", "2", "4", "!\n\n", "ok"])
        XCTAssertEqual(try cuts("smollm", "Apollo 11, it's"), ["Apollo", " ", "1", "1", ",", " it", "'s"])
        // Non-ASCII white space is white space (only an ASCII space joins the next word); a
        // combining mark is not a letter.
        XCTAssertEqual(try cuts("gpt-2", "a\u{3000}b"), ["a", "\u{3000}", "b"])
        XCTAssertEqual(try cuts("llama-bpe", "a\u{3000}b"), ["a", "\u{3000}b"])
        XCTAssertEqual(try cuts("gpt-2", "e\u{301}t\u{E9}"), ["e", "\u{301}", "t\u{E9}"])
    }

    /// Llama 3 takes a word that is itself a token without merging.
    func testIgnoreMerges() throws {
        let merges = [("a", "b")]
        let l3 = Vocabularies.bytePair(pre: "llama-bpe", merges: merges, special: [("abc", 1)])
        XCTAssertEqual(try Tokenizer(vocabulary: l3).encode("abc", addSpecial: false, parseSpecial: false), [l3.id("abc")])
        let dbrx = Vocabularies.bytePair(pre: "dbrx", merges: merges, special: [("abc", 1)])
        XCTAssertEqual(try Tokenizer(vocabulary: dbrx).encode("abc", addSpecial: false, parseSpecial: false),
                       [dbrx.byteLevelID("ab"), dbrx.byteLevelID("c")])
    }

    /// The words `pre` cuts `text` into. Tokenized with a vocabulary that has a merge for every
    /// split of every substring of `text`, so each byte run the pre-tokenizer leaves together merges
    /// into one token, and nothing merges across a cut.
    private func cuts(_ pre: String, _ text: String) throws -> [String] {
        let bytes = Array(text.utf8)
        var merges: [([UInt8], [UInt8])] = []
        for length in 2...max(2, bytes.count) where length <= bytes.count {
            var seen = Set<[UInt8]>()
            for start in 0...(bytes.count - length) {
                let piece = Array(bytes[start..<(start + length)])
                guard seen.insert(piece).inserted else { continue }
                for k in 1..<length { merges.append((Array(piece[..<k]), Array(piece[k...]))) }
            }
        }
        let t = try Tokenizer(vocabulary: Vocabularies.bytePair(pre: pre, byteMerges: merges))
        return t.encode(text, addSpecial: false, parseSpecial: false).map {
            String(decoding: t.piece($0, renderSpecial: false), as: UTF8.self)
        }
    }
}
