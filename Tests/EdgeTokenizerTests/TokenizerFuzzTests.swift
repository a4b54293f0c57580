import EdgeCore
import EdgeTokenizer
import Foundation
import XCTest

/// A seeded fuzz campaign over the tokenizers with hostile text: long runs without a split point,
/// digit and whitespace floods, mixed scripts, combining marks, emoji sequences, control
/// characters, fragments of special tokens. Every text encodes to ids inside the vocabulary, the
/// byte-level tokenizers give the text back byte for byte, and random id sequences (special tokens
/// and out-of-range ids included) detokenize without a trap.
final class TokenizerFuzzTests: XCTestCase {
    /// Pieces hostile text is made of.
    private static let pieces: [String] = [
        "a", "Z", "é", "ß", "İ", "ﬁ", "你", "好", "日本語", "한국어", "עברית", "العربية", "ไทย", "Ⅻ", "½", "①",
        "0", "7", "12345678901234567890", " ", "  ", "\t", "\n", "\r\n", "\u{00A0}", "\u{2028}", "\u{3000}",
        "\u{0301}", "\u{200D}", "\u{FE0F}", "👩‍👩‍👧‍👦", "🏳️‍🌈", "😀", "\u{0000}", "\u{0007}", "\u{001B}[31m", "\u{FFFD}", "\u{10FFFF}",
        "<", ">", "|", "<|", "|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<unk>", "<|im_",
        "'s", "'S", "'ll", "don't", "...", "!!!", "http://x.y/z?q=1&r=2", "{{ x }}", "\\", "\"", "```",
    ]

    private func hostileText(_ rng: inout SplitMix64) -> String {
        var s = ""
        let parts = 1 + Int(rng.next() % 40)
        for _ in 0..<parts {
            let piece = Self.pieces[Int(rng.next() % UInt64(Self.pieces.count))]
            // Mostly single pieces, sometimes a long run of one (no split point for thousands of bytes).
            let repeats = rng.next() % 8 == 0 ? 1 + Int(rng.next() % 3000) : 1
            s += String(repeating: piece, count: repeats)
        }
        return s
    }

    private func fuzz(_ t: Tokenizer, name: String, rounds: Int, byteExact: Bool, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let vocab = t.vocabularySize
        let started = Date()
        var tokens = 0
        for round in 0..<rounds {
            let text = hostileText(&rng)
            let parseSpecial = rng.next() & 1 == 0
            let ids = t.encode(text, addSpecial: rng.next() & 1 == 0, parseSpecial: parseSpecial)
            tokens += ids.count
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocab }) {
                XCTFail("\(name) seed \(seed) round \(round): id \(bad) outside the vocabulary of \(vocab)")
            }
            if byteExact {
                let plain = t.encode(text, addSpecial: false, parseSpecial: false)
                let back = t.detokenize(plain, removeSpecial: false, unparseSpecial: false)
                XCTAssertEqual(back, Array(text.utf8), "\(name) seed \(seed) round \(round): \(text.prefix(80).debugDescription)")
            }
            // Random ids, out-of-range ones among them: no trap, whatever the flags.
            let random = (0..<Int(rng.next() % 64)).map { _ in Int32(truncatingIfNeeded: Int64(rng.next() % UInt64(vocab + 8)) - 4) }
            _ = t.detokenize(random, removeSpecial: rng.next() & 1 == 0, unparseSpecial: rng.next() & 1 == 0)
            for id in random.prefix(4) { _ = t.piece(id, renderSpecial: true) }
        }
        print(String(format: "tokenizer fuzz %@: %d texts, %d tokens in %.2f s", name, rounds, tokens, Date().timeIntervalSince(started)))
    }

    func testSyntheticByteLevelVocabularies() throws {
        for (i, pre) in ["qwen2", "smollm"].enumerated() {
            let t = try Tokenizer(vocabulary: SyntheticVocabulary.make(size: 4096, preTokenizer: pre, addBOS: true))
            fuzz(t, name: "synthetic \(pre)", rounds: 300, byteExact: true, seed: 100 + UInt64(i))
        }
    }

    func testSmolLM2ByteLevelBPE() throws {
        fuzz(try SharedReference.tokenizer("SmolLM2-135M-Instruct.Q8_0.gguf"), name: "SmolLM2", rounds: 300, byteExact: true, seed: 200)
    }

    /// SentencePiece-style BPE adds a space prefix and maps unknown characters to byte tokens, so
    /// only the vocabulary bound is checked.
    func testAidreamsSentencePiece() throws {
        fuzz(try SharedReference.tokenizer("aidreams260K.F32.gguf"), name: "aidreams", rounds: 300, byteExact: false, seed: 300)
    }

    /// One word of 200 KB (no pre-tokenizer split) and 100 KB of digits: the merge loop must
    /// finish (it is not quadratic in the word's length) and round-trip.
    func testLongWordsWithoutSplitPoints() throws {
        let t = try Tokenizer(vocabulary: SyntheticVocabulary.make(size: 4096, preTokenizer: "smollm", addBOS: false))
        for text in [String(repeating: "abcdefghij", count: 20_000), String(repeating: "9", count: 100_000),
                     String(repeating: "é", count: 50_000), String(repeating: "\n", count: 100_000)] {
            let started = Date()
            let ids = t.encode(text, addSpecial: false, parseSpecial: false)
            XCTAssertEqual(t.detokenize(ids, removeSpecial: false, unparseSpecial: false), Array(text.utf8))
            print(String(format: "tokenizer: %d bytes (%@…) -> %d tokens in %.2f s", text.utf8.count, String(text.prefix(3)).debugDescription,
                         ids.count, Date().timeIntervalSince(started)))
        }
    }
}
