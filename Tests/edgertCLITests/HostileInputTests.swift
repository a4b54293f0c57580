import Foundation
import XCTest

/// Values and files a hostile user hands the CLI end with status 1 and one `error:` line, before
/// any model is loaded where the value alone is wrong, and never with a signal. Regression tests
/// for what the fuzz campaign (scripts/fuzz.py) found: overflow traps on `-n` and `--ctx`, usage
/// errors with status 64 and a usage block, SIGBUS on a model file truncated while running.
final class HostileInputTests: XCTestCase {
    private func assertRejected(_ args: [String], mentions parts: [String], beforeLoading: Bool = true,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args)
        XCTAssertFalse(r.crashed, "ended by a signal\n\(r.summary)", file: file, line: line)
        XCTAssertEqual(r.status, 1, r.summary, file: file, line: line)
        let errors = r.errLines.filter { $0.hasPrefix("error: ") }
        XCTAssertEqual(errors.count, 1, r.summary, file: file, line: line)
        XCTAssertEqual(r.errLines.last, errors.first, "the error is the last line\n\(r.summary)", file: file, line: line)
        for part in parts {
            XCTAssertTrue(r.err.contains(part), "\(part.debugDescription) missing\n\(r.summary)", file: file, line: line)
        }
        if beforeLoading {
            XCTAssertEqual(r.errLines.count, 1, "nothing but the error line\n\(r.summary)", file: file, line: line)
        }
    }

    func testHugeCountsAreRejectedWithTheirBounds() throws {
        let model = try Shared.model("aidreams260K.Q8_0.gguf")
        let huge = "9223372036854775807"
        try assertRejected(["run", "--model", model, "-n", huge, "--", "Hello"], mentions: ["-n \(huge) is out of range", "0...4194304"])
        try assertRejected(["plan", "--model", model, "--ctx", huge], mentions: ["--ctx \(huge) is out of range", "1...4194304"])
        try assertRejected(["run", "--model", model, "--ctx", huge, "--", "Hello"], mentions: ["--ctx", "1...4194304"])
        try assertRejected(["bench", "--model", model, "-p", huge, "-n", "none"], mentions: ["-p \(huge) is out of range"])
        try assertRejected(["bench", "--model", model, "-r", "100000000"], mentions: ["-r 100000000 is out of range", "1...10000"])
        try assertRejected(["run", "--model", model, "-t", "100000", "--", "Hello"], mentions: ["--threads 100000 is out of range"])
        try assertRejected(["plan", "--model", model, "--prompt", huge], mentions: ["--prompt \(huge) is out of range"])
        try assertRejected(["run", "--model", model, "--memory-budget", "2000T", "--", "Hello"], mentions: ["--memory-budget", "out of range"])
        try assertRejected(["run", "--model", model, "-n", "99999999999999999999", "--", "Hello"], mentions: ["-n"])
    }

    func testSamplingValuesAreCheckedBeforeLoading() throws {
        let model = try Shared.model("aidreams260K.Q8_0.gguf")
        try assertRejected(["run", "--model", model, "--temp", "nan", "--", "Hello"], mentions: ["temperature", "nan"])
        try assertRejected(["run", "--model", model, "--temp", "inf", "--", "Hello"], mentions: ["temperature"])
        try assertRejected(["run", "--model", model, "--top-p", "2", "--", "Hello"], mentions: ["top-p", "(0, 1]"])
        try assertRejected(["run", "--model", model, "--min-p=-1", "--", "Hello"], mentions: ["min-p"])
        try assertRejected(["run", "--model", model, "--repeat-penalty", "0", "--", "Hello"], mentions: ["repetition penalty"])
        try assertRejected(["run", "--model", model, "--top-k=-5", "--", "Hello"], mentions: ["top-k", "-5"])
    }

    /// Not a number at all, and an unknown option: status 1, one line, no usage block.
    func testUsageErrorsAreOneLine() throws {
        let model = try Shared.model("aidreams260K.Q8_0.gguf")
        try assertRejected(["run", "--model", model, "-n", "abc", "--", "Hello"], mentions: ["'abc'", "-n"])
        try assertRejected(["run", "--model", model, "--no-such-option", "--", "Hello"], mentions: ["--no-such-option"])
        try assertRejected(["frobnicate"], mentions: ["frobnicate"])
        let help = try CLI.run(["run", "--help"])
        XCTAssertEqual(help.status, 0, help.summary)
        XCTAssertTrue(help.out.contains("USAGE"), help.summary)
    }

    /// Devices and FIFOs where a file is expected would never end (`/dev/zero`): refused by type.
    func testSpecialFilesAreRefused() throws {
        let model = try Shared.model("aidreams260K.Q8_0.gguf")
        try assertRejected(["perplexity", "--model", model, "--file", "/dev/zero"], mentions: ["/dev/zero", "not a regular file"])
        try assertRejected(["run", "--model", model, "--plan", "/dev/zero", "--", "Hello"], mentions: ["/dev/zero", "not a regular file"])
        try assertRejected(["plan", "--model", model, "--profile", "/dev/urandom"], mentions: ["/dev/urandom", "not a regular file"])
        try assertRejected(["run", "--model", "/dev/zero", "--", "Hello"], mentions: ["/dev/zero", "not a regular file"])
    }

    /// Another process truncates the model file while `bench` runs on it: the pass reading past
    /// the new end would raise SIGBUS; instead the run stops with a `changed underneath` error.
    func testModelTruncatedWhileRunningIsAnError() throws {
        // A Q4_K_M file: its Q5_0/Q6_K matrices are read from the mapping at every pass.
        let source = try Shared.model("SmolLM2-135M-Instruct.Q4_K_M.gguf")
        let tmp = try TemporaryFolder()
        let path = tmp.path("model.gguf")
        try FileManager.default.copyItem(atPath: source, toPath: path)
        let r = try CLI.run(["bench", "--model", path, "-p", "16", "-n", "256", "-r", "5", "-t", "1", "--no-roofline"], timeout: 120) { stderr in
            // Truncate once the engine is loaded and the benchmark has started.
            let start = Date()
            while !stderr().contains("bench: pp16") && Date().timeIntervalSince(start) < 60 { usleep(10_000) }
            XCTAssertEqual(truncate(path, 4096 * 16), 0)
        }
        XCTAssertFalse(r.crashed, "ended by a signal\n\(r.summary)")
        XCTAssertEqual(r.status, 1, r.summary)
        XCTAssertTrue(r.errLines.last?.hasPrefix("error: model file \(path) changed underneath") ?? false, r.summary)
        XCTAssertTrue(r.err.contains("truncated to 65536 bytes") || r.err.contains("size changed"), r.summary)
    }
}
