import Foundation
import XCTest

/// `edgert bench`: the JSON array (llama-bench's field names), the markdown table and its notes,
/// and argument errors. Small tests on the 260K-parameter model, two repetitions: these check the
/// shape of the output, never a speed.
final class BenchCommandTests: XCTestCase {
    static let model = "aidreams260K.Q8_0.gguf"

    /// Two thread counts when this host has two CPUs, else the one count twice (a sweep either way).
    private var threadList: String { ProcessInfo.processInfo.activeProcessorCount >= 2 ? "1,2" : "1,1" }

    private func objects(_ r: CLIResult, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let parsed = try JSONSerialization.jsonObject(with: r.stdout)
        return try XCTUnwrap(parsed as? [[String: Any]], "standard output is not a JSON array of objects\n\(r.summary)",
                             file: file, line: line)
    }

    /// The cells of a markdown table line, trimmed.
    private func cells(_ line: String) -> [String] {
        line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func testJSONHasOneObjectPerTestAndThreadCount() throws {
        let model = try Shared.model(Self.model)
        let r = try CLI.run(["bench", "--model", model, "-p", "8,16", "-n", "8", "-t", threadList, "-r", "2", "--json"])
        XCTAssertEqual(r.status, 0, r.summary)
        let records = try objects(r)   // standard output is the JSON and nothing else
        let threads = threadList.split(separator: ",").map { Int($0)! }
        XCTAssertEqual(records.count, 3 * threads.count, r.summary)

        var seen: [String] = []
        for o in records {
            for key in ["model_filename", "model_type", "model_size", "model_n_params", "n_batch", "n_threads",
                        "n_prompt", "n_gen", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "samples_ts", "samples_ns"] {
                XCTAssertNotNil(o[key], "\(key) missing in \(o)")
            }
            XCTAssertEqual(o["model_filename"] as? String, model)
            XCTAssertTrue((o["model_type"] as? String ?? "").hasPrefix("llama "), "\(o)")
            for key in ["model_size", "model_n_params", "n_batch", "n_threads", "avg_ns"] {
                XCTAssertGreaterThan(o[key] as? Int ?? 0, 0, "\(key) in \(o)")
            }
            XCTAssertGreaterThan(o["avg_ts"] as? Double ?? 0, 0, "\(o)")
            XCTAssertGreaterThanOrEqual(o["stddev_ts"] as? Double ?? -1, 0, "\(o)")
            XCTAssertGreaterThanOrEqual(o["stddev_ns"] as? Int ?? -1, 0, "\(o)")
            let samples = o["samples_ts"] as? [Double] ?? []
            XCTAssertEqual(samples.count, 2, "samples_ts holds one rate per repetition: \(o)")
            XCTAssertTrue(samples.allSatisfy { $0 > 0 }, "\(o)")
            XCTAssertEqual((o["samples_ns"] as? [Int])?.count, 2, "\(o)")
            XCTAssertNil(o["memory_budget"], "no budget was given: \(o)")

            let prompt = o["n_prompt"] as? Int ?? -1, gen = o["n_gen"] as? Int ?? -1
            XCTAssertTrue((prompt > 0) != (gen > 0), "a test is either pp or tg: \(o)")
            if gen > 0 {
                // Generation rows carry the achieved weight bandwidth and the roofline.
                XCTAssertGreaterThan(o["weight_gbps"] as? Double ?? 0, 0, "\(o)")
                XCTAssertGreaterThan(o["roofline_gbps"] as? Double ?? 0, 0, "\(o)")
                XCTAssertGreaterThan(o["roofline_pct"] as? Double ?? 0, 0, "\(o)")
            } else {
                XCTAssertNil(o["weight_gbps"], "\(o)")
            }
            seen.append("\(o["n_threads"] as? Int ?? 0):\(prompt > 0 ? "pp\(prompt)" : "tg\(gen)")")
        }
        XCTAssertEqual(seen, threads.flatMap { t in ["\(t):pp8", "\(t):pp16", "\(t):tg8"] }, "one object per (threads × test), in order")
        // The notes go to standard error in JSON mode.
        XCTAssertTrue(r.err.contains("tokenization and sampling"), r.summary)
    }

    func testMarkdownTableHasHeaderRowsAndNotes() throws {
        let model = try Shared.model(Self.model)
        let r = try CLI.run(["bench", "--model", model, "-p", "8", "-n", "4", "-t", "1", "-r", "2", "--no-roofline"])
        XCTAssertEqual(r.status, 0, r.summary)
        let lines = r.outLines
        let header = cells(try XCTUnwrap(lines.first, r.summary))
        XCTAssertEqual(header, ["model file", "model", "size", "params", "threads", "test", "t/s", "weights GB/s"],
                       "--no-roofline drops the roofline columns\n\(r.summary)")
        XCTAssertTrue(lines.count > 1 && lines[1].hasPrefix("| ---"), r.summary)
        let rows = lines.filter { $0.hasPrefix("| \(Self.model) ") }.map(cells)
        XCTAssertEqual(rows.count, 2, r.summary)
        guard rows.count == 2 else { return }
        XCTAssertEqual(rows.map { $0[5] }, ["pp8", "tg4"], r.summary)
        XCTAssertEqual(rows.map { $0[4] }, ["1", "1"], r.summary)
        XCTAssertEqual(rows[0][7], "", "no weight bandwidth for a prompt test")
        XCTAssertGreaterThan(Double(rows[1][7]) ?? 0, 0, "weight GB/s of the generation test")
        // t/s as mean ± sd.
        for row in rows {
            XCTAssertNotNil(row[6].range(of: #"^[0-9]+\.[0-9]{2} ± [0-9]+\.[0-9]{2}$"#, options: .regularExpression), row[6])
        }
        XCTAssertTrue(lines.contains { $0.contains("tokenization and sampling") && $0.contains("model load time is not counted") },
                      r.summary)
        // Progress goes to standard error, never into the table.
        XCTAssertTrue(r.errLines.contains { $0.hasPrefix("bench: tg4, 1 thread:") }, r.summary)
    }

    func testRooflineColumnsInMarkdown() throws {
        let model = try Shared.model(Self.model)
        let r = try CLI.run(["bench", "--model", model, "-p", "none", "-n", "4", "-t", "1", "-r", "2", "--no-warmup"])
        XCTAssertEqual(r.status, 0, r.summary)
        let header = cells(try XCTUnwrap(r.outLines.first, r.summary))
        XCTAssertEqual(Array(header.suffix(3)), ["weights GB/s", "mem GB/s", "% roofline"], r.summary)
        let rows = r.outLines.filter { $0.hasPrefix("| \(Self.model) ") }.map(cells)
        XCTAssertEqual(rows.map { $0[5] }, ["tg4"], "-p none runs no prompt test\n\(r.summary)")
        guard let row = rows.first else { return }
        XCTAssertGreaterThan(Double(row[8]) ?? 0, 0, "mem GB/s: \(row)")
        XCTAssertNotNil(row[9].range(of: #"^[0-9]+%$"#, options: .regularExpression), "% roofline: \(row)")
        XCTAssertTrue(r.out.contains("can exceed 100"), "the cache footnote is printed\n\(r.summary)")
    }

    func testMemoryBudgetIsReported() throws {
        let model = try Shared.model(Self.model)
        // 3.3 MiB: the KV cache and the activations' reserve (an eighth of the budget) take 3.1 MiB, so
        // part of the 0.3 MiB of weights streams.
        let r = try CLI.run(["bench", "--model", model, "-p", "8", "-n", "8", "-t", "1", "-r", "2", "--memory-budget", "3.3M",
                             "--no-roofline", "--json"])
        XCTAssertEqual(r.status, 0, r.summary)
        let records = try objects(r)
        XCTAssertEqual(records.count, 2, r.summary)
        for o in records {
            XCTAssertEqual(o["memory_budget"] as? Int, Int((3.3 * 1048576).rounded()), "\(o)")
            XCTAssertGreaterThan(o["streamed_bytes_per_token"] as? Double ?? 0, 0, "\(o)")
            XCTAssertGreaterThan(o["streamed_gbps"] as? Double ?? 0, 0, "\(o)")
        }
    }

    /// Bad arguments stop before any work with ArgumentParser's usage status and a message that
    /// names the fault.
    func testBadArgumentsAreRejected() throws {
        let model = try Shared.model(Self.model)
        let cases: [([String], [String])] = [
            (["-p", "0"], ["-p", "at least 1", "-p none"]),
            (["-n", "8,0"], ["-n", "at least 1"]),
            (["-p", "8,x"], ["'x' is not a prompt count"]),
            (["-r", "0"], ["-r must be at least 1"]),
            (["-t", "0"], ["at least 1"]),
            (["-t", "two"], ["'two' is not a thread count"]),
            (["-t", "100000"], ["-t 100000", "thread counts must be 1 to"]),
            (["-p", "none", "-n", "none"], ["nothing to measure"]),
            (["--ctx", "4", "-p", "8", "-n", "2"], ["--ctx 4 is too small", "pp8 needs 8 positions"]),
        ]
        for (args, parts) in cases {
            let r = try CLI.run(["bench", "--model", model] + args)
            XCTAssertFalse(r.crashed, r.summary)
            XCTAssertEqual(r.status, 1, r.summary)
            XCTAssertEqual(r.out, "", r.summary)
            for part in parts { XCTAssertTrue(r.err.contains(part), "\(part.debugDescription) missing\n\(r.summary)") }
        }
    }

    func testMissingModelIsOneErrorLine() throws {
        let r = try CLI.run(["bench", "--model", "/nonexistent-edgert-test/model.gguf", "-p", "8", "-n", "8", "-r", "1"])
        XCTAssertFalse(r.crashed, r.summary)
        XCTAssertEqual(r.status, 1, r.summary)
        XCTAssertEqual(r.out, "", r.summary)
        XCTAssertEqual(r.errLines.filter { $0.hasPrefix("error: ") }.count, 1, r.summary)
        XCTAssertTrue(r.err.contains("/nonexistent-edgert-test/model.gguf"), r.summary)
    }
}
