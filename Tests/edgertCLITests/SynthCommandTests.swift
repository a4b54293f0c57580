import Foundation
import XCTest

/// `edgert synth`: writes a model `edgert run` runs, refuses to overwrite without `--force`, and
/// names the valid shapes and types when given others.
final class SynthCommandTests: XCTestCase {
    func testWritesAModelThatRuns() throws {
        let tmp = try TemporaryFolder()
        let out = tmp.path("tiny.gguf")
        let r = try CLI.run(["synth", "--shape", "smollm2-135m", "--layers", "2", "--type", "q4_0", "--out", out, "--seed", "5"])
        XCTAssertEqual(r.status, 0, r.summary)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: out)[.size] as? Int)
        XCTAssertEqual(r.outLines.count, 1, r.summary)
        XCTAssertTrue(r.out.hasPrefix("wrote \(out): "), r.summary)
        XCTAssertTrue(r.out.contains("(\(size) bytes, 20 tensors)"), r.summary)
        XCTAssertTrue(r.err.contains("smollm2-135m, 2 blocks, Q4_0, seed 5"), r.summary)
        XCTAssertTrue(r.errLines.contains { $0.hasPrefix("100%") }, "progress reaches 100%\n\(r.summary)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".partial"))

        let run = try CLI.run(["run", "--model", out, "-n", "6", "-t", "2", "--temp", "0", "Once upon a time"])
        XCTAssertEqual(run.status, 0, run.summary)
        XCTAssertFalse(run.out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, run.summary)
        XCTAssertTrue(run.err.contains("generation: 6 tokens"), run.summary)
        XCTAssertTrue(run.err.contains("tokens/s"), run.summary)
    }

    func testRefusesToOverwriteWithoutForce() throws {
        let tmp = try TemporaryFolder()
        let out = tmp.path("x.gguf")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: out))
        let args = ["synth", "--shape", "smollm2-135m", "--layers", "1", "--out", out]
        let refused = try CLI.run(args)
        XCTAssertEqual(refused.status, 1, refused.summary)
        XCTAssertEqual(refused.errLines.last, "error: \(out) already exists (pass --force to replace it)", refused.summary)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), Data("keep me".utf8))

        let forced = try CLI.run(args + ["--force"])
        XCTAssertEqual(forced.status, 0, forced.summary)
        XCTAssertGreaterThan(try Data(contentsOf: URL(fileURLWithPath: out)).count, 1 << 20)
    }

    func testSameSeedSameFile() throws {
        let tmp = try TemporaryFolder()
        for name in ["a", "b"] {
            let r = try CLI.run(["synth", "--shape", "qwen2.5-0.5b", "--layers", "1", "--type", "Q6_K", "--out", tmp.path(name)])
            XCTAssertEqual(r.status, 0, r.summary)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: tmp.path("a"))),
                       try Data(contentsOf: URL(fileURLWithPath: tmp.path("b"))))
    }

    /// Unknown shapes and types are usage errors (status 1) that list the valid names.
    func testUnknownShapeOrTypeListsTheValidOnes() throws {
        let tmp = try TemporaryFolder()
        let shape = try CLI.run(["synth", "--shape", "gpt-5", "--out", tmp.path("x")])
        XCTAssertEqual(shape.status, 1, shape.summary)
        XCTAssertTrue(shape.err.contains("unknown model shape 'gpt-5'"), shape.summary)
        XCTAssertTrue(shape.err.contains("llama-2-7b") && shape.err.contains("qwen2.5-7b"), shape.summary)

        let type = try CLI.run(["synth", "--shape", "llama-2-7b", "--type", "Q3_K", "--out", tmp.path("x")])
        XCTAssertEqual(type.status, 1, type.summary)
        XCTAssertTrue(type.err.contains("unknown weight type 'Q3_K'") && type.err.contains("Q8_0"), type.summary)

        let layers = try CLI.run(["synth", "--shape", "llama-3.2-1b", "--layers", "17", "--out", tmp.path("x")])
        XCTAssertEqual(layers.status, 1, layers.summary)
        XCTAssertTrue(layers.err.contains("it has 16"), layers.summary)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path("x")))

        let help = try CLI.run(["synth", "--help"])
        XCTAssertEqual(help.status, 0, help.summary)
        XCTAssertTrue(help.out.contains("llama-3.2-1b") && help.out.contains("Q4_K"), help.summary)
    }
}
