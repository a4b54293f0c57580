import EdgeTokenizer
import XCTest

/// Special-token parsing, rendering and the end-of-generation rule on small vocabularies.
final class SpecialTokenTests: XCTestCase {
    private let special: [(String, Int32)] = [("<|x|>", 3), ("<|x|><|y|>", 3), ("<u>", 4)]

    func testControlParsedOnlyWhenAskedUserDefinedAlways() throws {
        let v = Vocabularies.bytePair(pre: "gpt-2", merges: [], special: special)
        let t = try Tokenizer(vocabulary: v)
        let x = v.id("<|x|>"), xy = v.id("<|x|><|y|>"), u = v.id("<u>")
        XCTAssertEqual(t.encode("a<|x|>b", addSpecial: false, parseSpecial: true), [v.byteLevelID("a"), x, v.byteLevelID("b")])
        XCTAssertFalse(t.encode("a<|x|>b", addSpecial: false, parseSpecial: false).contains(x))
        XCTAssertEqual(t.encode("<u>", addSpecial: false, parseSpecial: false), [u])
        XCTAssertEqual(t.encode("<u><u>", addSpecial: false, parseSpecial: true), [u, u])
        // Longest special text first.
        XCTAssertEqual(t.encode("<|x|><|y|><|x|>", addSpecial: false, parseSpecial: true), [xy, x])
    }

    func testRendering() throws {
        let v = Vocabularies.bytePair(pre: "gpt-2", merges: [], special: special)
        let t = try Tokenizer(vocabulary: v)
        let x = v.id("<|x|>"), u = v.id("<u>")
        XCTAssertEqual(t.piece(x, renderSpecial: false), [])
        XCTAssertEqual(t.piece(x, renderSpecial: true), Array("<|x|>".utf8))
        XCTAssertEqual(t.piece(u, renderSpecial: false), Array("<u>".utf8))
        XCTAssertEqual(t.piece(v.byteLevelID(" "), renderSpecial: false), [0x20])
        XCTAssertEqual(t.attributes(of: x), .control)
        XCTAssertEqual(t.attributes(of: u), .userDefined)
        XCTAssertNil(t.attributes(of: 9999))
        XCTAssertEqual(t.detokenize([v.byteLevelID("a"), x, u], removeSpecial: false, unparseSpecial: true), Array("a<|x|><u>".utf8))
        XCTAssertEqual(t.detokenize([v.byteLevelID("a"), x, u], removeSpecial: false, unparseSpecial: false), Array("a<u>".utf8))
    }

    func testAddSpecialFollowsTheVocabulary() throws {
        let v = Vocabularies.bytePair(pre: "gpt-2", merges: [], special: [("<bos>", 3), ("<eos>", 3)],
                                      ids: [.bos: 256, .eos: 257], addBOS: true, addEOS: true)
        let t = try Tokenizer(vocabulary: v)
        XCTAssertEqual(t.encode("a", addSpecial: true, parseSpecial: false), [256, v.byteLevelID("a"), 257])
        XCTAssertEqual(t.encode("a", addSpecial: false, parseSpecial: false), [v.byteLevelID("a")])
        XCTAssertEqual(t.encode("", addSpecial: true, parseSpecial: false), [256, 257])
        XCTAssertEqual(t.detokenize([256, v.byteLevelID("a"), 257], removeSpecial: true, unparseSpecial: true), Array("a".utf8))
        XCTAssertEqual(t.detokenize([256, v.byteLevelID("a"), 257], removeSpecial: false, unparseSpecial: true),
                       Array("<bos>a<eos>".utf8))
        // llama-bpe adds BOS unless the file says otherwise.
        var l3 = Vocabularies.bytePair(pre: "llama-bpe", merges: [], special: [("<|begin_of_text|>", 3)], ids: [.bos: 256])
        XCTAssertTrue(try Tokenizer(vocabulary: l3).addBOS)
        l3.addBOS = false
        XCTAssertFalse(try Tokenizer(vocabulary: l3).addBOS)
    }

    func testEndOfGenerationRule() throws {
        // <|im_end|> is typed normal here: its name makes it a control token that ends generation.
        let v = Vocabularies.bytePair(pre: "gpt-2", merges: [],
                                      special: [("<|im_end|>", 1), ("<|endoftext|>", 3), ("<reponame>", 3),
                                                ("<|fim_pad|>", 3), ("<|im_start|>", 3), ("<stop>", 3), ("<|eom_id|>", 3)],
                                      ids: [.eos: 261])
        let t = try Tokenizer(vocabulary: v)
        XCTAssertEqual(t.endOfGenerationIDs, Set(["<|im_end|>", "<|endoftext|>", "<reponame>", "<|fim_pad|>", "<stop>", "<|eom_id|>"].map { v.id($0) }))
        XCTAssertEqual(t.attributes(of: v.id("<|im_end|>")), [.normal, .control])
        XCTAssertEqual(t.piece(v.id("<|im_end|>"), renderSpecial: false), [])
        XCTAssertFalse(t.isEndOfGeneration(v.id("<|im_start|>")))
        // The file's end-of-turn id counts too.
        var w = v
        w.specialTokenIDs[.eot] = Int(v.id("<|im_start|>"))
        XCTAssertTrue(try Tokenizer(vocabulary: w).isEndOfGeneration(v.id("<|im_start|>")))
    }

    /// gpt-oss: `<|end|>` separates messages when `<|return|>` and `<|call|>` exist.
    func testEndIsNotEndOfGenerationNextToReturnAndCall() throws {
        // Ids: 256 <|end|>, 257 <|return|>, 258 <|call|>. (Without an EOS key a byte-level
        // vocabulary's EOS is id 11, llama.cpp's default, so the tests name one.)
        let v = Vocabularies.bytePair(pre: "gpt-2", merges: [], special: [("<|end|>", 3), ("<|return|>", 3), ("<|call|>", 3)],
                                      ids: [.eos: 257])
        let t = try Tokenizer(vocabulary: v)
        XCTAssertEqual(t.endOfGenerationIDs, [v.id("<|return|>"), v.id("<|call|>")])
        XCTAssertEqual(t.piece(v.id("<|end|>"), renderSpecial: false), Array("<|end|>".utf8))
        let alone = Vocabularies.bytePair(pre: "gpt-2", merges: [], special: [("<|end|>", 3)], ids: [.eos: 256])
        XCTAssertEqual(try Tokenizer(vocabulary: alone).endOfGenerationIDs, [alone.id("<|end|>")])
    }
}
