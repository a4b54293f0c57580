import Foundation
import XCTest

/// `edgert calibrate` writes the neuron statistics beside the model, with progress and the quality
/// curve; `run --sparsity` reads them and says what it runs; a missing or foreign statistics file
/// and a bad level are one error line each.
final class CalibrateCommandTests: XCTestCase {
    func testCalibrateThenRunSparse() throws {
        let tmp = try TemporaryFolder()
        let model = tmp.path("tiny.gguf")
        XCTAssertEqual(try CLI.run(["synth", "--shape", "smollm2-135m", "--layers", "2", "--type", "q8_0", "--out", model, "--seed", "3"]).status, 0)

        // No statistics yet.
        let missing = try CLI.run(["run", "--model", model, "--sparsity", "0.3", "-n", "4", "-t", "2", "hello"])
        XCTAssertEqual(missing.status, 1, missing.summary)
        XCTAssertEqual(missing.errLines.filter { $0.hasPrefix("error:") }.count, 1, missing.summary)
        XCTAssertTrue(missing.err.contains("no neuron statistics at \(model).neurons.gguf: run `edgert calibrate"), missing.summary)

        let cal = try CLI.run(["calibrate", "--model", model, "--tokens", "64", "-t", "2"], timeout: 120)
        XCTAssertEqual(cal.status, 0, cal.summary)
        XCTAssertTrue(FileManager.default.fileExists(atPath: model + ".neurons.gguf"))
        XCTAssertTrue(cal.out.contains("calibrated on 64 tokens (built-in)"), cal.summary)
        XCTAssertTrue(cal.out.contains("sparsity 30%: perplexity on the calibration text"), cal.summary)
        XCTAssertTrue(cal.out.contains("auto: "), cal.summary)
        XCTAssertTrue(cal.errLines.contains("pass 2/3: 64/64 tokens"), cal.summary)

        let run = try CLI.run(["run", "--model", model, "--sparsity", "30%", "-n", "4", "-t", "2", "--temp", "0", "hello"])
        XCTAssertEqual(run.status, 0, run.summary)
        XCTAssertTrue(run.err.contains("sparsity: 30% of feed-forward neurons skipped per token"), run.summary)
        XCTAssertTrue(run.err.contains("generation: 4 tokens"), run.summary)

        // Statistics of another model are refused by name.
        let other = tmp.path("other.gguf")
        XCTAssertEqual(try CLI.run(["synth", "--shape", "smollm2-135m", "--layers", "2", "--type", "q8_0", "--out", other, "--seed", "4"]).status, 0)
        let foreign = try CLI.run(["run", "--model", other, "--sparsity", "0.3", "--neuron-stats", model + ".neurons.gguf", "-n", "2", "hello"])
        XCTAssertEqual(foreign.status, 1, foreign.summary)
        XCTAssertTrue(foreign.err.contains("were measured on another model file"), foreign.summary)

        for bad in [["--sparsity", "1.5"], ["--sparsity", "lots"], ["--neuron-stats", "x.gguf"]] {
            let r = try CLI.run(["run", "--model", model, "-n", "2", "hello"] + bad)
            XCTAssertEqual(r.status, 1, r.summary)
            XCTAssertEqual(r.errLines.filter { $0.hasPrefix("error:") }.count, 1, r.summary)
        }
        let calSparse = try CLI.run(["calibrate", "--model", model, "--sparsity", "0.3"])
        XCTAssertEqual(calSparse.status, 1, calSparse.summary)
        XCTAssertTrue(calSparse.err.contains("drop --sparsity"), calSparse.summary)
    }
}
