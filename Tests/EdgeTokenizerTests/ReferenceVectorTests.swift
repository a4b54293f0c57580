import EdgeTokenizer
import Foundation
import XCTest

/// Checks against llama.cpp's output in `shared/reference` (see its README): every tokenizer
/// vector, the eval text's ids and every greedy prompt must match exactly.
final class ReferenceVectorTests: XCTestCase {
    struct VectorFile: Decodable {
        let tokenizer: String
        let cases: [Case]
    }

    struct Case: Decodable {
        let name: String
        let text_hex: String
        let results: [Result]
    }

    struct Result: Decodable {
        let add_special: Bool
        let parse_special: Bool
        let ids: [Int32]
        let pieces_hex: [String]
        let concat_pieces: String
        let concat_pieces_special: String
        let detok_keep_special: String
        let detok_remove_special: String
    }

    private func checkVectors(_ file: String) throws {
        let vectors = try JSONDecoder().decode(VectorFile.self, from: SharedReference.data("reference/tokenize/\(file)"))
        let tokenizer = try SharedReference.tokenizer(SharedReference.modelFile(forVocabulary: vectors.tokenizer))
        var checked = 0
        for c in vectors.cases {
            let text = String(decoding: [UInt8](hex: c.text_hex), as: UTF8.self)
            XCTAssertEqual(Array(text.utf8).hex, c.text_hex, "\(c.name): input is not valid UTF-8")
            for r in c.results {
                let label = "\(vectors.tokenizer) '\(c.name)' add_special=\(r.add_special) parse_special=\(r.parse_special)"
                let ids = tokenizer.encode(text, addSpecial: r.add_special, parseSpecial: r.parse_special)
                XCTAssertEqual(ids, r.ids, "ids of \(label)")
                XCTAssertEqual(r.ids.map { tokenizer.piece($0, renderSpecial: true).hex }, r.pieces_hex, "pieces of \(label)")
                XCTAssertEqual(r.ids.flatMap { tokenizer.piece($0, renderSpecial: false) }, Array(r.concat_pieces.utf8),
                               "concatenated pieces of \(label)")
                XCTAssertEqual(r.ids.flatMap { tokenizer.piece($0, renderSpecial: true) },
                               Array(r.concat_pieces_special.utf8), "concatenated special pieces of \(label)")
                XCTAssertEqual(tokenizer.detokenize(r.ids, removeSpecial: false, unparseSpecial: true),
                               Array(r.detok_keep_special.utf8), "detokenize (keep special) of \(label)")
                XCTAssertEqual(tokenizer.detokenize(r.ids, removeSpecial: true, unparseSpecial: false),
                               Array(r.detok_remove_special.utf8), "detokenize (remove special) of \(label)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 188, "47 strings x 4 variants")
    }

    func testSmolLM2TokenizerVectors() throws { try checkVectors("SmolLM2-135M-Instruct.json") }

    func testAidreamsTokenizerVectors() throws { try checkVectors("aidreams260K.json") }

    struct Perplexity: Decodable {
        struct Model: Decodable {
            let model: String
            let tokenizer: String
            let n_tokens: Int
            let add_bos: Bool
        }

        let models: [Model]
        let eval_text_token_ids: [String: [Int32]]
    }

    /// llama-perplexity reads the file, drops one trailing newline and tokenizes with
    /// add_special=true, parse_special=false.
    func testEvalTextTokenIDs() throws {
        let reference = try JSONDecoder().decode(Perplexity.self, from: SharedReference.data("reference/perplexity.json"))
        var bytes = [UInt8](try SharedReference.data("reference/eval-text.txt"))
        if bytes.last == 0x0A { bytes.removeLast() }
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertEqual(reference.eval_text_token_ids.count, 2)
        for (name, expected) in reference.eval_text_token_ids {
            let tokenizer = try SharedReference.tokenizer(SharedReference.modelFile(forVocabulary: name))
            XCTAssertEqual(tokenizer.encode(text, addSpecial: true, parseSpecial: false), expected, name)
        }
        for model in reference.models {
            let tokenizer = try SharedReference.tokenizer(SharedReference.modelFile(forVocabulary: model.tokenizer))
            XCTAssertEqual(tokenizer.encode(text, addSpecial: true, parseSpecial: false).count, model.n_tokens, model.model)
            XCTAssertEqual(tokenizer.addBOS, model.add_bos, model.model)
        }
    }

    struct GreedyEntry: Decodable {
        struct Chat: Decodable { let rendered: String }
        struct Vocab: Decodable {
            let n_vocab: Int
            let add_bos: Bool
            let add_eos: Bool
            let bos_id: Int32
            let eos_id: Int32
        }

        let model: String
        let prompt: String
        let prompt_format: String
        let chat: Chat?
        let vocab: Vocab
        let prompt_ids: [Int32]
        let generated_ids: [Int32]
        let generated_text_hex: String
        let stop: String
    }

    /// Prompts are tokenized as llama-completion does (add_special and parse_special true);
    /// generated text is the concatenation of pieces with control tokens rendered as nothing.
    func testGreedyPromptIDsAndGeneratedText() throws {
        let directory = try SharedReference.url("reference/greedy")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(files.count, 6)
        var entries = 0
        for file in files {
            let list = try JSONDecoder().decode([GreedyEntry].self, from: Data(contentsOf: directory.appendingPathComponent(file)))
            for e in list {
                let tokenizer = try SharedReference.tokenizer(SharedReference.modelFile(forVocabulary: e.model))
                let prompt = e.prompt_format == "chat" ? try XCTUnwrap(e.chat?.rendered) : e.prompt
                XCTAssertEqual(tokenizer.encode(prompt, addSpecial: true, parseSpecial: true), e.prompt_ids,
                               "\(e.model) \(e.prompt_format) prompt \(e.prompt.debugDescription)")
                XCTAssertEqual(e.generated_ids.flatMap { tokenizer.piece($0, renderSpecial: false) }.hex,
                               e.generated_text_hex, "\(e.model) generated text")
                XCTAssertEqual(tokenizer.vocabularySize, e.vocab.n_vocab)
                XCTAssertEqual(tokenizer.addBOS, e.vocab.add_bos)
                XCTAssertEqual(tokenizer.addEOS, e.vocab.add_eos)
                XCTAssertEqual(tokenizer.bos, e.vocab.bos_id)
                XCTAssertEqual(tokenizer.eos, e.vocab.eos_id)
                if e.stop == "end_of_generation", let last = e.generated_ids.last {
                    XCTAssertTrue(tokenizer.isEndOfGeneration(last), "\(e.model): generation ended at \(last)")
                }
                for id in e.generated_ids.dropLast() {
                    XCTAssertFalse(tokenizer.isEndOfGeneration(id), "\(e.model): \(id) did not end generation")
                }
                entries += 1
            }
        }
        XCTAssertEqual(entries, 33)
    }

    func testEndOfGenerationSets() throws {
        XCTAssertEqual(try SharedReference.tokenizer("SmolLM2-135M-Instruct.Q8_0.gguf").endOfGenerationIDs, [0, 2, 4])
        XCTAssertEqual(try SharedReference.tokenizer("aidreams260K.F32.gguf").endOfGenerationIDs, [2])
    }

    /// The quantized files carry the same vocabulary as the ones the vectors use.
    func testOtherModelFilesTokenizeAlike() throws {
        let text = "Tokenizers are easy to get almost right, 1969 — 🚀 <|im_end|> <s>"
        for (a, b) in [("SmolLM2-135M-Instruct.Q8_0.gguf", "SmolLM2-135M-Instruct.Q4_K_M.gguf"),
                       ("aidreams260K.F32.gguf", "aidreams260K.Q8_0.gguf"), ("aidreams260K.F32.gguf", "aidreams260K.Q4_0.gguf")] {
            let ta = try SharedReference.tokenizer(a), tb = try SharedReference.tokenizer(b)
            XCTAssertEqual(ta.encode(text, addSpecial: true, parseSpecial: true),
                           tb.encode(text, addSpecial: true, parseSpecial: true), "\(a) vs \(b)")
        }
    }
}
