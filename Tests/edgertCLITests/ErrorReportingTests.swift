import Foundation
import XCTest

/// Bad input and bad arguments end edgert with status 1 and one `error: …` line that names the
/// fault. Never a signal (a trap or crash).
final class ErrorReportingTests: XCTestCase {
    /// Asserts the run failed cleanly with one `error:` line on standard error and nothing on
    /// standard output; returns that line.
    @discardableResult
    private func assertReportedError(_ r: CLIResult, mentions parts: [String],
                                     file: StaticString = #filePath, line: UInt = #line) -> String {
        XCTAssertFalse(r.crashed, "ended by a signal\n\(r.summary)", file: file, line: line)
        XCTAssertEqual(r.status, 1, r.summary, file: file, line: line)
        XCTAssertEqual(r.out, "", "nothing goes to standard output\n\(r.summary)", file: file, line: line)
        let errors = r.errLines.filter { $0.hasPrefix("error: ") }
        XCTAssertEqual(errors.count, 1, "one error line\n\(r.summary)", file: file, line: line)
        XCTAssertEqual(r.errLines.last, errors.first, "the error is the last line\n\(r.summary)", file: file, line: line)
        let message = errors.first ?? ""
        for part in parts {
            XCTAssertTrue(message.contains(part), "\(part.debugDescription) missing from: \(message)", file: file, line: line)
        }
        return message
    }

    /// A load failure prints the error line and nothing else.
    private func assertLoadFails(model path: String, mentions parts: [String],
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        for command in [["run", "-n", "4"], ["tokenize"]] {
            let r = try CLI.run(command + ["--model", path, "--", "Hello"])
            assertReportedError(r, mentions: parts, file: file, line: line)
            XCTAssertEqual(r.errLines.count, 1, r.summary, file: file, line: line)
        }
    }

    func testBadMagicIsReported() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("bad-magic.gguf")
        try TestModelFiles.writeBadMagic(to: path)
        // "GGML" read as a little-endian uint32 is 0x4c4d4747.
        try assertLoadFails(model: path, mentions: ["not a GGUF file", "4c4d4747"])
    }

    func testTruncatedFileIsReported() throws {
        let source = try Shared.model("aidreams260K.Q8_0.gguf")
        let tmp = try TemporaryFolder()
        let path = tmp.path("truncated.gguf")
        // Half the file: the header is whole, the later tensors' data is missing.
        let kept = try TestModelFiles.writeTruncatedCopy(of: source, fraction: 0.5, to: path)
        try assertLoadFails(model: path, mentions: ["tensor '", "lies outside the file (\(kept) bytes)"])

        // A cut inside the header: the counts promise more than the file holds.
        let short = tmp.path("truncated-header.gguf")
        _ = try TestModelFiles.writeTruncatedCopy(of: source, fraction: 0.003, to: short)
        try assertLoadFails(model: short, mentions: ["corrupt file"])
    }

    func testUnsupportedArchitectureListsSupportedOnes() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("gpt2.gguf")
        try TestModelFiles.writeGPT2(to: path)
        let r = try CLI.run(["run", "--model", path, "-n", "4", "--", "Hello"])
        assertReportedError(r, mentions: ["'gpt2'", "supported: gemma3, llama, phi3, qwen2, qwen3"])
        XCTAssertEqual(r.errLines.count, 1, r.summary)
    }

    func testUnsupportedTensorTypeNamesTensorAndType() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("tiny-iq2xs.gguf")
        try TestModelFiles.writeTinyLlama(to: path, attnQType: .iq2_xs)
        let r = try CLI.run(["run", "--model", path, "-n", "4", "--", "ab"])
        assertReportedError(r, mentions: ["blk.0.attn_q.weight", "IQ2_XS"])
        XCTAssertEqual(r.errLines.count, 1, r.summary)
    }

    /// Control for the test above: the same file with a supported type loads and generates, so
    /// the failure there is the tensor type and nothing else.
    func testTinyLlamaWithSupportedTypesRuns() throws {
        let tmp = try TemporaryFolder()
        let path = tmp.path("tiny-q8.gguf")
        try TestModelFiles.writeTinyLlama(to: path, attnQType: .q8_0)
        let r = try CLI.run(["run", "--model", path, "-n", "2", "--temp", "0", "--", "ab"])
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertTrue(r.errLines.contains { $0.hasPrefix("generation: ") }, r.summary)
    }

    func testMissingModelFileNamesThePath() throws {
        let path = "/nonexistent-edgert-test/model.gguf"
        try assertLoadFails(model: path, mentions: ["cannot open model file \(path)"])
    }

    func testOverlongPromptGivesTheCounts() throws {
        let model = try Shared.model("aidreams260K.F32.gguf")
        let traces = try Shared.json("greedy/aidreams260K.F32.json", as: [GreedyTrace].self)
        let trace = try XCTUnwrap(traces.first)
        let r = try CLI.run(["run", "--model", model, "--ctx", "16", "-n", "32", "--", trace.prompt])
        // The prompt is tokenized as llama.cpp does (BOS, parse_special), so the count is the trace's.
        assertReportedError(r, mentions: ["prompt of \(trace.prompt_ids.count) tokens", "plus 32 tokens",
                                          "context holds 16"])
    }

    /// Rejected before any work: status 1, one `error:` line naming the option.
    func testInvalidCountsAreRejectedBeforeLoading() throws {
        let model = try Shared.model("aidreams260K.F32.gguf")
        func rejected(_ args: [String], mentions part: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try CLI.run(args)
            XCTAssertFalse(r.crashed, r.summary, file: file, line: line)
            XCTAssertEqual(r.status, 1, r.summary, file: file, line: line)
            XCTAssertEqual(r.out, "", r.summary, file: file, line: line)
            XCTAssertTrue(r.err.contains(part), "\(part.debugDescription) missing\n\(r.summary)", file: file, line: line)
            XCTAssertFalse(r.err.contains("load:"), "rejected before loading\n\(r.summary)", file: file, line: line)
        }
        // `-1` after `-n` reads as an option, so ArgumentParser reports the value missing;
        // written `-n=-1`, the value reaches RunCommand.validate().
        try rejected(["run", "--model", model, "-n", "-1", "--", "Hello"], mentions: "-n")
        try rejected(["run", "--model", model, "-n=-1", "--", "Hello"], mentions: "-n must be 0 or more (got -1)")
        try rejected(["run", "--model", model, "--threads", "0", "--", "Hello"], mentions: "--threads must be at least 1 (got 0)")
        try rejected(["perplexity", "--model", model, "--file", "x.txt", "--threads", "0"],
                     mentions: "--threads must be at least 1 (got 0)")
        try rejected(["run", "--model", model, "--ctx", "0", "--", "Hello"], mentions: "--ctx must be at least 1 (got 0)")
    }
}
