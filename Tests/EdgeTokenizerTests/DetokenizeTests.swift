import EdgeTokenizer
import XCTest

/// Detokenizing byte-level vocabularies, with and without llama.cpp's space clean-up.
final class DetokenizeTests: XCTestCase {
    private func roundTrip(_ pre: String, _ text: String) throws -> String {
        let t = try Tokenizer(vocabulary: Vocabularies.bytePair(pre: pre, merges: []))
        let ids = t.encode(text, addSpecial: false, parseSpecial: false)
        return String(decoding: t.detokenize(ids, removeSpecial: false, unparseSpecial: false), as: UTF8.self)
    }

    func testCleanUpSpaces() throws {
        // `default` and `gpt-2` clean up, as Hugging Face's clean_up_tokenization_spaces does.
        XCTAssertEqual(try roundTrip("gpt-2", "Hi , there . Yes ! Why ?"), "Hi, there. Yes! Why?")
        XCTAssertEqual(try roundTrip("default", "it 's I 'm we 're you 've"), "it's I'm we're you've")
        XCTAssertEqual(try roundTrip("default", "don 't I 'd we 'll"), "don 't I 'd we 'll")
        XCTAssertEqual(try roundTrip("default", "a ' b"), "a'b")
        XCTAssertEqual(try roundTrip("default", "a ' ' b"), "a'' b")
        XCTAssertEqual(try roundTrip("default", "  ."), " .")
        // smollm and qwen2 do not.
        XCTAssertEqual(try roundTrip("smollm", "Hi , there 's"), "Hi , there 's")
        XCTAssertEqual(try roundTrip("qwen2", "a ' b ."), "a ' b .")
    }

    func testPiecesAreBytes() throws {
        let t = try Tokenizer(vocabulary: Vocabularies.bytePair(pre: "gpt-2", merges: []))
        let ids = t.encode("👍", addSpecial: false, parseSpecial: false)
        XCTAssertEqual(ids.count, 4)
        XCTAssertEqual(ids.flatMap { t.piece($0, renderSpecial: false) }, Array("👍".utf8))
        XCTAssertEqual(t.detokenize(ids, removeSpecial: true, unparseSpecial: false), Array("👍".utf8))
    }
}
