import EdgeTokenizer
import XCTest

/// SentencePiece-style BPE on small vocabularies: score order, byte fallback, the leading space.
final class SentencePieceTests: XCTestCase {
    func testHighestScoreMergesFirst() throws {
        // "ab" becomes "▁ab" after the leading space; "▁a" and "ab" compete.
        let prefer = Vocabularies.sentencePiece(pieces: [("▁", -5), ("a", -5), ("b", -5), ("▁a", -1), ("ab", -2)])
        XCTAssertEqual(try Tokenizer(vocabulary: prefer).encode("ab", addSpecial: false, parseSpecial: false),
                       [prefer.id("▁a"), prefer.id("b")])
        let other = Vocabularies.sentencePiece(pieces: [("▁", -5), ("a", -5), ("b", -5), ("▁a", -2), ("ab", -1)])
        XCTAssertEqual(try Tokenizer(vocabulary: other).encode("ab", addSpecial: false, parseSpecial: false),
                       [other.id("▁"), other.id("ab")])
        // Equal scores: leftmost first.
        let tie = Vocabularies.sentencePiece(pieces: [("▁", -5), ("a", -5), ("b", -5), ("▁a", -1), ("ab", -1)])
        XCTAssertEqual(try Tokenizer(vocabulary: tie).encode("ab", addSpecial: false, parseSpecial: false),
                       [tie.id("▁a"), tie.id("b")])
    }

    func testMergesContinueIntoLongerPieces() throws {
        let v = Vocabularies.sentencePiece(pieces: [("▁", -9), ("h", -9), ("i", -9), ("▁h", -3), ("▁hi", -1)])
        let t = try Tokenizer(vocabulary: v)
        XCTAssertEqual(t.encode("hi hi", addSpecial: true, parseSpecial: false), [1, v.id("▁hi"), v.id("▁hi")])
    }

    func testByteFallbackAndUnknown() throws {
        let v = Vocabularies.sentencePiece(pieces: [("▁", -1), ("a", -1)])
        let t = try Tokenizer(vocabulary: v)
        // é (C3 A9) is not a piece: its bytes' tokens <0xC3> <0xA9> are ids 3 + byte.
        XCTAssertEqual(t.encode("aé", addSpecial: false, parseSpecial: false), [v.id("▁"), v.id("a"), 3 + 0xC3, 3 + 0xA9])
        XCTAssertEqual(t.detokenize([v.id("▁"), v.id("a"), 3 + 0xC3, 3 + 0xA9], removeSpecial: false, unparseSpecial: false),
                       Array("aé".utf8))
        XCTAssertEqual(t.piece(3 + 0x0A, renderSpecial: false), [0x0A])
        // Without byte tokens an unknown character becomes <unk>.
        let noBytes = Vocabularies.sentencePiece(pieces: [("▁", -1), ("a", -1)], byteTokens: false)
        XCTAssertEqual(try Tokenizer(vocabulary: noBytes).encode("aé", addSpecial: false, parseSpecial: false),
                       [noBytes.id("▁"), noBytes.id("a"), 0, 0])
    }

    func testLeadingSpaceRule() throws {
        let pieces: [(String, Float)] = [("▁", -1), ("a", -1), ("▁a", 0)]
        let v = Vocabularies.sentencePiece(pieces: pieces, special: [("<x>", 3)])
        let t = try Tokenizer(vocabulary: v)
        XCTAssertTrue(t.addSpacePrefix)
        XCTAssertTrue(t.addBOS)
        XCTAssertEqual(t.encode("a", addSpecial: true, parseSpecial: false), [1, v.id("▁a")])
        XCTAssertEqual(t.encode("a", addSpecial: false, parseSpecial: false), [v.id("▁a")])
        // After a special token the text gets a space again.
        XCTAssertEqual(t.encode("a<x>a", addSpecial: false, parseSpecial: true), [v.id("▁a"), v.id("<x>"), v.id("▁a")])
        // Detokenizing removes the added space, unless a BOS leads (and with removeSpecial the BOS goes).
        XCTAssertEqual(t.detokenize([v.id("▁a")], removeSpecial: false, unparseSpecial: false), Array("a".utf8))
        XCTAssertEqual(t.detokenize([1, v.id("▁a")], removeSpecial: false, unparseSpecial: true), Array("<s> a".utf8))
        XCTAssertEqual(t.detokenize([1, v.id("▁a")], removeSpecial: true, unparseSpecial: false), Array(" a".utf8))
        XCTAssertEqual(t.detokenize([1, v.id("▁a")], removeSpecial: false, unparseSpecial: false), Array(" a".utf8))

        let noPrefix = Vocabularies.sentencePiece(pieces: pieces, addSpacePrefix: false)
        let u = try Tokenizer(vocabulary: noPrefix)
        XCTAssertEqual(u.encode("a", addSpecial: true, parseSpecial: false), [1, noPrefix.id("a")])
        XCTAssertEqual(u.detokenize([noPrefix.id("▁a")], removeSpecial: false, unparseSpecial: false), Array(" a".utf8))
    }

    func testControlAndUnknownTokensNeedParseSpecial() throws {
        let v = Vocabularies.sentencePiece(pieces: [("▁", -1), ("<", -1), ("s", -1), (">", -1), ("k", -1), ("n", -1), ("u", -1)])
        let t = try Tokenizer(vocabulary: v)
        XCTAssertEqual(t.encode("<s>", addSpecial: false, parseSpecial: true), [1])
        XCTAssertEqual(t.encode("<unk>", addSpecial: false, parseSpecial: true), [0])
        let plain = t.encode("<s>", addSpecial: false, parseSpecial: false)
        XCTAssertFalse(plain.contains(1))
        XCTAssertEqual(t.detokenize(plain, removeSpecial: false, unparseSpecial: false), Array("<s>".utf8))
        XCTAssertEqual(t.piece(0, renderSpecial: false), [])
        XCTAssertEqual(t.piece(0, renderSpecial: true), Array("<unk>".utf8))
        XCTAssertEqual(t.piece(-1, renderSpecial: true), [])
        XCTAssertEqual(t.piece(Int32(v.tokens.count), renderSpecial: true), [])
    }
}
