import Foundation
import XCTest

/// `--balance` and `--thread-speeds`: the text does not depend on the balance mode, the balancer's
/// state is shown by `run --verbose` and `bench`, and bad values are rejected.
final class BalanceOptionTests: XCTestCase {
    private var threads: String { ProcessInfo.processInfo.activeProcessorCount >= 2 ? "2" : "1" }

    /// Greedy text is byte-identical with the static split and the dynamic balancer: which thread
    /// computes a row never changes a result.
    func testGreedyTextIsTheSameInBothModes() throws {
        let model = try Shared.model("SmolLM2-135M-Instruct.Q8_0.gguf")
        func run(_ balance: String) throws -> CLIResult {
            let r = try CLI.run(["run", "--model", model, "-n", "24", "--temp", "0", "-t", threads, "--balance", balance,
                                 "--verbose", "--", "The capital of France is"])
            XCTAssertEqual(r.status, 0, r.summary)
            return r
        }
        let s = try run("static"), d = try run("dynamic")
        XCTAssertFalse(s.out.isEmpty)
        XCTAssertEqual(s.out, d.out, "static:\n\(s.summary)\ndynamic:\n\(d.summary)")
        // --verbose shows the balancer before and after generating: mode, speeds, one entry per thread.
        for (r, mode) in [(s, "static"), (d, "dynamic")] {
            let lines = r.errLines.filter { $0.hasPrefix("balancer: \(mode), starting speeds ") }
            XCTAssertEqual(lines.count, 2, r.summary)
            for line in lines {
                XCTAssertEqual(line.components(separatedBy: " speed ").count - 1, Int(threads), line)
                XCTAssertTrue(line.contains("thread 0"), line)
            }
        }
        let staticLast = try XCTUnwrap(s.errLines.last { $0.hasPrefix("balancer: ") })
        if threads == "2" { XCTAssertEqual(staticLast.components(separatedBy: "share 50.0%").count - 1, 2, staticLast) }
    }

    func testBenchReportsTheModeAndTheBalancerState() throws {
        let model = try Shared.model("aidreams260K.F32.gguf")
        let r = try CLI.run(["bench", "--model", model, "-p", "none", "-n", "4", "-t", "1", "-r", "1", "--no-roofline",
                             "--json", "--balance", "static", "--thread-speeds", "1"])
        XCTAssertEqual(r.status, 0, r.summary)
        let records = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]], r.summary)
        XCTAssertEqual(records.first?["balance"] as? String, "static", r.summary)
        XCTAssertGreaterThan(records.first?["region_ns"] as? Double ?? 0, 0, r.summary)
        XCTAssertTrue(r.errLines.contains { $0.hasPrefix("bench: tg4, 1 thread: balancer: static, starting speeds given: 1.00; thread 0") },
                      r.summary)
        XCTAssertTrue(r.errLines.contains { $0.hasPrefix("bench: one empty parallel region, 1 thread: ") }, r.summary)
    }

    func testBadValuesAreRejected() throws {
        let model = try Shared.model("aidreams260K.F32.gguf")
        let bogus = try CLI.run(["run", "--model", model, "-n", "1", "--balance", "fastest", "hi"])
        XCTAssertNotEqual(bogus.status, 0, bogus.summary)
        XCTAssertTrue(bogus.err.contains("'fastest' is not a balance mode"), bogus.summary)
        let negative = try CLI.run(["run", "--model", model, "-n", "1", "--thread-speeds", "1,-2", "hi"])
        XCTAssertNotEqual(negative.status, 0, negative.summary)
        XCTAssertTrue(negative.err.contains("'-2' is not a positive number"), negative.summary)
        let count = try CLI.run(["run", "--model", model, "-n", "1", "-t", "1", "--thread-speeds", "1,2", "hi"])
        XCTAssertEqual(count.status, 1, count.summary)
        XCTAssertTrue(count.err.contains("thread speeds"), count.summary)
    }
}
