import EdgeTokenizer
import XCTest

final class StreamingDecoderTests: XCTestCase {
    /// With one token per byte, a character comes out only when its last byte arrives.
    func testCharacterSplitAcrossByteTokensComesOutWhole() throws {
        let t = try Tokenizer(vocabulary: Vocabularies.bytePair(pre: "gpt-2", merges: []))
        let text = "né 👍🏽 ок"
        let ids = t.encode(text, addSpecial: false, parseSpecial: false)
        XCTAssertEqual(ids.count, text.utf8.count)
        var decoder = StreamingDecoder(tokenizer: t)
        var outputs: [String] = []
        for id in ids { outputs.append(decoder.append(id)) }
        outputs.append(decoder.finish())
        XCTAssertEqual(outputs.joined(), text)
        XCTAssertFalse(outputs.joined().unicodeScalars.contains("\u{FFFD}"))
        // "n", then nothing for é's first byte, then "é".
        XCTAssertEqual(Array(outputs.prefix(3)), ["n", "", "é"])
        // The thumbs-up is four byte tokens: three empty strings, then the character.
        XCTAssertEqual(Array(outputs[4..<8]), ["", "", "", "👍"])
    }

    func testFinishFlushesAnUnfinishedCharacter() throws {
        let t = try Tokenizer(vocabulary: Vocabularies.bytePair(pre: "gpt-2", merges: []))
        var decoder = StreamingDecoder(tokenizer: t)
        XCTAssertEqual(decoder.append(0xE2), "")
        XCTAssertEqual(decoder.append(0x82), "")
        XCTAssertEqual(decoder.pendingByteCount, 2)
        XCTAssertEqual(decoder.finish(), "\u{FFFD}")
        XCTAssertEqual(decoder.pendingByteCount, 0)
        // A stray continuation byte is not held back.
        XCTAssertEqual(decoder.append(0x80), "\u{FFFD}")
        XCTAssertEqual(decoder.append(0x41), "A")
    }

    func testSentencePieceByteFallback() throws {
        let v = Vocabularies.sentencePiece(pieces: [("▁", -1), ("a", -1)])
        let t = try Tokenizer(vocabulary: v)
        var decoder = StreamingDecoder(tokenizer: t)
        // <0xC3> <0xA9> is "é"; the BOS renders as nothing.
        XCTAssertEqual([1, v.id("a"), 3 + 0xC3, 3 + 0xA9].map { decoder.append($0) }, ["", "a", "", "é"])
        var special = StreamingDecoder(tokenizer: t, renderSpecial: true)
        XCTAssertEqual(special.append(1), "<s>")
    }

    /// SmolLM2 spells emoji as byte-level pieces that are not valid UTF-8 alone.
    func testRealVocabularyEmoji() throws {
        let t = try SharedReference.tokenizer("SmolLM2-135M-Instruct.Q8_0.gguf")
        let text = "Apollo 11 🚀 — 👨‍👩‍👧 ok"
        let ids = t.encode(text, addSpecial: false, parseSpecial: false)
        var decoder = StreamingDecoder(tokenizer: t)
        var out = ""
        for id in ids {
            let s = decoder.append(id)
            XCTAssertFalse(s.unicodeScalars.contains("\u{FFFD}"), "token \(id) gave a broken character")
            out += s
        }
        out += decoder.finish()
        XCTAssertEqual(out, text)
    }
}
