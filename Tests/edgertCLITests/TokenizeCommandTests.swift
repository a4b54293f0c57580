import Foundation
import XCTest

/// `edgert tokenize` against llama.cpp's tokenizer vectors (`reference/tokenize/*.json`).
final class TokenizeCommandTests: XCTestCase {
    /// Parses the single JSON array line `--json` prints.
    private func ids(_ r: CLIResult, file: StaticString = #filePath, line: UInt = #line) throws -> [Int] {
        XCTAssertEqual(r.status, 0, r.summary, file: file, line: line)
        XCTAssertFalse(r.crashed, r.summary, file: file, line: line)
        XCTAssertEqual(r.outLines.count, 1, "--json prints one line\n\(r.summary)", file: file, line: line)
        let parsed = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [Int]
        return try XCTUnwrap(parsed, "not a JSON array of ids\n\(r.summary)", file: file, line: line)
    }

    func testSentencePieceIDsMatchLlamaCpp() throws {
        let model = try Shared.model("aidreams260K.F32.gguf")
        let vectors = try Shared.json("tokenize/aidreams260K.json", as: TokenizeVectors.self)
        let text = "Hello world"

        let withBOS = try ids(CLI.run(["tokenize", "--model", model, "--json", "--", text]))
        XCTAssertEqual(withBOS, try vectors.ids(for: text, addSpecial: true, parseSpecial: false))
        XCTAssertEqual(withBOS.first, 1, "aidreams260K asks for BOS (id 1)")

        let noBOS = try ids(CLI.run(["tokenize", "--model", model, "--json", "--no-bos", "--", text]))
        XCTAssertEqual(noBOS, try vectors.ids(for: text, addSpecial: false, parseSpecial: false))
        XCTAssertEqual(noBOS, Array(withBOS.dropFirst()), "--no-bos drops exactly the BOS")
    }

    func testSpecialFlagTurnsControlTextIntoItsToken() throws {
        let model = try Shared.model("SmolLM2-135M-Instruct.Q8_0.gguf")
        let vectors = try Shared.json("tokenize/SmolLM2-135M-Instruct.json", as: TokenizeVectors.self)
        let text = "<|im_start|>user\nhi<|im_end|>"

        let special = try ids(CLI.run(["tokenize", "--model", model, "--json", "--special", "--", text]))
        XCTAssertEqual(special.first, 1, "<|im_start|> is the special id 1")
        XCTAssertEqual(special, try vectors.ids(for: text, addSpecial: true, parseSpecial: true))

        let plain = try ids(CLI.run(["tokenize", "--model", model, "--json", "--", text]))
        XCTAssertEqual(plain, try vectors.ids(for: text, addSpecial: true, parseSpecial: false))
        XCTAssertFalse(plain.contains(1), "without --special the control text is ordinary text")
    }

    /// Without `--json`: one line per token, the id and the quoted piece.
    func testTableOutputListsIDAndPiece() throws {
        let model = try Shared.model("aidreams260K.F32.gguf")
        let vectors = try Shared.json("tokenize/aidreams260K.json", as: TokenizeVectors.self)
        let expected = try vectors.ids(for: "Hello world", addSpecial: true, parseSpecial: false)
        let r = try CLI.run(["tokenize", "--model", model, "--", "Hello world"])
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertEqual(r.outLines.map { $0.prefix { $0 != "\t" } }, expected.map { Substring("\($0)") }, r.summary)
        XCTAssertEqual(r.outLines.first, "1\t\"<s>\"", "the BOS piece, quoted\n\(r.summary)")
    }
}
