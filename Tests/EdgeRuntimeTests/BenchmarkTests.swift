import XCTest
import EdgeRuntime

/// The llama-bench style tests: repetitions, names, statistics and the context check. Shapes, not
/// speeds.
final class BenchmarkTests: XCTestCase {
    func testStatisticsAreLlamaBenchs() {
        // Sample standard deviation (n - 1), as llama-bench: values 2, 4, 4, 4, 5, 5, 7, 9 give 2.138.
        XCTAssertEqual(BenchmarkResult.standardDeviation([2, 4, 4, 4, 5, 5, 7, 9]), 2.13809, accuracy: 1e-5)
        XCTAssertEqual(BenchmarkResult.standardDeviation([3]), 0)
        XCTAssertEqual(BenchmarkResult.mean([1, 2, 6]), 3)
        // avg_ts is the mean of the per-repetition rates, not tokens over the mean time.
        let r = BenchmarkResult(test: BenchmarkTest(.generation, tokens: 10), threads: 1, batchSize: 1, sampleSeconds: [1, 0.5])
        XCTAssertEqual(r.sampleTokensPerSecond, [10, 20])
        XCTAssertEqual(r.meanTokensPerSecond, 15)
        XCTAssertEqual(r.meanSeconds, 0.75)
    }

    func testNames() {
        XCTAssertEqual(BenchmarkTest(.prompt, tokens: 512).description, "pp512")
        XCTAssertEqual(BenchmarkTest(.generation, tokens: 128).description, "tg128")
    }

    func testRunsTheRepetitionsAsked() async throws {
        let engine = try Engine(modelPath: try Shared.model("aidreams260K.Q8_0.gguf"),
                                options: EngineOptions(threads: 1, contextLength: 16))
        for test in [BenchmarkTest(.prompt, tokens: 16), BenchmarkTest(.generation, tokens: 8)] {
            let seen = Counter()
            let r = try await Benchmark.run(test, on: engine, repetitions: 3) { index, seconds in
                XCTAssertGreaterThan(seconds, 0)
                seen.add(index)
            }
            XCTAssertEqual(r.sampleSeconds.count, 3)
            XCTAssertEqual(seen.values, [0, 1, 2])
            XCTAssertEqual(r.threads, 1)
            XCTAssertNil(r.streamedBytesPerToken, "nothing streams without a budget")
            XCTAssertTrue(r.sampleSeconds.allSatisfy { $0 > 0 })
        }
    }

    func testTestLongerThanTheContextFailsBeforeAnyWork() async throws {
        let engine = try Engine(modelPath: try Shared.model("aidreams260K.Q8_0.gguf"),
                                options: EngineOptions(threads: 1, contextLength: 16))
        do {
            _ = try await Benchmark.run(BenchmarkTest(.generation, tokens: 17), on: engine, repetitions: 1)
            XCTFail("expected badParameter")
        } catch let e as RuntimeError {
            guard case let .badParameter(name, reason) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(name, "benchmark test")
            XCTAssertTrue(reason.contains("tg17 needs 17 positions"), reason)
        }
    }
}

/// Collects progress callbacks (called one after another by the benchmark).
private final class Counter: @unchecked Sendable {
    // Invariant for @unchecked Sendable: Benchmark.run calls progress sequentially, never concurrently.
    private(set) var values: [Int] = []
    func add(_ v: Int) { values.append(v) }
}
