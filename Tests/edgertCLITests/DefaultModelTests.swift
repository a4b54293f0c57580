import Foundation
import XCTest

/// `edgert run` without `--model` looks for the default model: `EDGERT_MODEL`, then
/// `models/` in the working directory, then `models/` in the four folders from the executable's
/// up (the checkout it was built in: `<root>/.build/<triple>/<config>/edgert`).
final class DefaultModelTests: XCTestCase {
    static let defaultModel = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// Does `models/<default>` exist where the binary at `binary` would look?
    private func defaultModelBeside(_ binary: URL) -> Bool {
        var dir = binary.resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("models/\(Self.defaultModel)").path) {
                return true
            }
            dir.deleteLastPathComponent()
        }
        return false
    }

    private func assertExplainsFetching(_ r: CLIResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(r.crashed, r.summary, file: file, line: line)
        XCTAssertEqual(r.status, 1, r.summary, file: file, line: line)
        XCTAssertEqual(r.errLines.count, 1, r.summary, file: file, line: line)
        let message = r.errLines.first ?? ""
        for part in ["error: ", Self.defaultModel, "scripts/fetch-model.sh", "/nonexistent.gguf", "--model"] {
            XCTAssertTrue(message.contains(part), "\(part.debugDescription) missing from: \(message)", file: file, line: line)
        }
    }

    /// The built binary, run from an empty folder with `EDGERT_MODEL` pointing nowhere.
    /// Which case applies depends on the checkout: after scripts/fetch-model.sh (as scripts/setup.sh
    /// and CI do) the binary finds `<checkout>/models/` through its own path and runs; in a checkout
    /// without the model it must say how to fetch it.
    func testDefaultModelFromTheCheckout() throws {
        let binary = try CLI.binary()
        let cwd = try TemporaryFolder()
        let args = ["run", "--ctx", "64", "-n", "2", "--temp", "0", "--", "Hello"]
        let r = try CLI.run(args, environment: ["EDGERT_MODEL": "/nonexistent.gguf"], directory: cwd.url)
        if defaultModelBeside(binary) {
            XCTAssertEqual(r.status, 0, r.summary)
            XCTAssertTrue(r.errLines.first?.contains(Self.defaultModel) ?? false, "the load line names the model\n\(r.summary)")
            XCTAssertTrue(r.errLines.contains { $0.hasPrefix("generation: ") }, r.summary)
        } else {
            assertExplainsFetching(r)
        }
    }

    /// A copy of the binary outside any checkout, so no `models/` can be found: the message must
    /// say how to get the model. This case is the same on every machine.
    func testMissingDefaultModelExplainsFetching() throws {
        let place = try TemporaryFolder()
        let copy = place.url.appendingPathComponent("edgert")
        try FileManager.default.copyItem(at: CLI.binary(), to: copy)
        guard !defaultModelBeside(copy) else {
            throw XCTSkip("\(place.url.path) or a folder above it holds models/\(Self.defaultModel)")
        }
        let r = try CLI.run(["run", "-n", "2", "--", "Hello"], environment: ["EDGERT_MODEL": "/nonexistent.gguf"],
                            directory: place.url, executable: copy)
        assertExplainsFetching(r)
    }
}
