import Foundation
import XCTest

/// `edgert perplexity` against `llama-perplexity -c 128` (`reference/perplexity.json`).
final class PerplexityCommandTests: XCTestCase {
    func testFinalEstimateMatchesLlamaCpp() throws {
        let model = try Shared.model("aidreams260K.F32.gguf")
        let text = try Shared.reference("eval-text.txt")
        let reference = try Shared.json("perplexity.json", as: PerplexityReference.self)
        let expected = try XCTUnwrap(reference.models.first { $0.model == "aidreams260K.F32.gguf" })

        let r = try CLI.run(["perplexity", "--model", model, "--file", text, "--ctx", "128"])
        XCTAssertEqual(r.status, 0, r.summary)
        let last = try XCTUnwrap(r.outLines.last, r.summary)
        let prefix = "Final estimate: PPL = "
        XCTAssertTrue(last.hasPrefix(prefix), r.summary)
        let value = try XCTUnwrap(Double(last.dropFirst(prefix.count)), "no number in \(last)")
        // llama.cpp prints 4 decimals; 0.01% allows for summation order, not for a wrong method.
        XCTAssertEqual(value, expected.final_ppl, accuracy: expected.final_ppl * 1e-4, r.summary)
        XCTAssertTrue(r.outLines.contains { $0.contains("chunks: \(expected.n_chunks) of 128") }, r.summary)
        // Running values per chunk go to standard error, the last one being the final estimate.
        XCTAssertTrue(r.errLines.contains { $0.hasPrefix("[\(expected.n_chunks)/\(expected.n_chunks)] ") }, r.summary)
    }

    func testUnreadableTextFileIsReported() throws {
        let model = try Shared.model("aidreams260K.F32.gguf")
        let missing = "/nonexistent-edgert-test/eval.txt"
        let r = try CLI.run(["perplexity", "--model", model, "--file", missing, "--ctx", "128"])
        XCTAssertFalse(r.crashed, r.summary)
        XCTAssertNotEqual(r.status, 0, r.summary)
        XCTAssertTrue(r.err.contains(missing), r.summary)
    }
}
