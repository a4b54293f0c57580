import Foundation
import XCTest

/// `edgert run`: greedy output against llama.cpp's trace, the statistics on standard error, seeds.
final class RunCommandTests: XCTestCase {
    /// aidreams260K F32 computes in F32 throughout, so its greedy trace is reproduced exactly.
    func testGreedyOutputMatchesLlamaCppTrace() throws {
        let model = try Shared.model("aidreams260K.F32.gguf")
        let traces = try Shared.json("greedy/aidreams260K.F32.json", as: [GreedyTrace].self)
        let trace = try XCTUnwrap(traces.first { $0.prompt_format == "raw" })
        let steps = 16
        XCTAssertGreaterThanOrEqual(trace.steps.count, steps)

        let r = try CLI.run(["run", "--model", model, "-n", "\(steps)", "--temp", "0", "--", trace.prompt])
        XCTAssertEqual(r.status, 0, r.summary)
        // Standard output is the generated text alone (no prompt echo), then one newline.
        var expected = trace.generatedBytes(steps: steps)
        expected.append(0x0A)
        XCTAssertEqual(r.stdout, expected,
                       "expected \(String(decoding: expected, as: UTF8.self).debugDescription)\n\(r.summary)")

        // Statistics go to standard error, one line each.
        let err = r.errLines
        let prompt = try XCTUnwrap(err.first { $0.hasPrefix("prompt: ") }, r.summary)
        XCTAssertTrue(prompt.hasPrefix("prompt: \(trace.prompt_ids.count) tokens in "), prompt)
        XCTAssertTrue(prompt.hasSuffix(" tokens/s"), prompt)
        let generation = try XCTUnwrap(err.first { $0.hasPrefix("generation: ") }, r.summary)
        XCTAssertTrue(generation.hasPrefix("generation: \(steps) tokens, "), generation)
        XCTAssertTrue(generation.contains(" tokens/s"), generation)
        let memory = try XCTUnwrap(err.first { $0.hasPrefix("peak memory") }, r.summary)
        XCTAssertNotNil(memory.range(of: #"^peak memory \(RSS\): [0-9]+\.[0-9] MiB$"#, options: .regularExpression),
                        "peak memory should be measured on this host: \(memory)")
        XCTAssertFalse(err.contains { $0.hasPrefix("error:") }, r.summary)
    }

    /// Sampling with a seed is reproducible; another seed draws another text. 24 tokens at
    /// temperature 0.9 from a 49152-token vocabulary make an accidental collision implausible.
    func testSeedMakesSamplingReproducible() throws {
        let model = try Shared.model("SmolLM2-135M-Instruct.Q8_0.gguf")
        func sample(seed: Int) throws -> CLIResult {
            let r = try CLI.run(["run", "--model", model, "--ctx", "128", "-n", "24", "--temp", "0.9",
                                 "--seed", "\(seed)", "--", "Once upon a time"])
            XCTAssertEqual(r.status, 0, r.summary)
            XCTAssertTrue(r.errLines.contains { $0.hasPrefix("generation: ") }, r.summary)
            return r
        }
        let first = try sample(seed: 7)
        let again = try sample(seed: 7)
        let other = try sample(seed: 8)
        XCTAssertFalse(first.out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, first.summary)
        XCTAssertEqual(first.stdout, again.stdout, "the same seed must give the same text")
        XCTAssertNotEqual(first.stdout, other.stdout, "seeds 7 and 8 gave the same 24 tokens")
    }
}
