import Foundation
import XCTest
import EdgeCore
import EdgePlanner

/// A request with a number outside ``InputBounds`` is a `badRequest` naming the field and its
/// range — never an arithmetic-overflow trap in the cost model (`-n 9223372036854775807` used to
/// trap in `touchedFixed`, `--ctx 9223372036854775807` in the KV cache size).
final class RequestBoundsTests: XCTestCase {
    private func host() throws -> HostProfile {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.appendingPathComponent("Devices/xeon-2s-server.json")
        return try HostProfile.decode(try Data(contentsOf: url), file: url.lastPathComponent)
    }

    private func assertBadRequest(_ change: (inout PlacementRequest) -> Void, mentions parts: [String],
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        var r = PlacementRequest(manifest: try ModelManifest(shape: try ModelShape.named("smollm2-135m"), type: .q8_0),
                                 host: try host(), context: 4096)
        XCTAssertNoThrow(try PlacementPlanner.plan(r), "the unchanged request plans", file: file, line: line)
        change(&r)
        do {
            _ = try PlacementPlanner.plan(r)
            XCTFail("planned", file: file, line: line)
        } catch let .badRequest(message) {
            for part in parts { XCTAssertTrue(message.contains(part), "\(part) missing from: \(message)", file: file, line: line) }
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testOutOfBoundNumbersAreBadRequests() throws {
        try assertBadRequest({ $0.generateTokens = .max }, mentions: ["tokens to generate", "0...4194304"])
        try assertBadRequest({ $0.generateTokens = -1 }, mentions: ["tokens to generate"])
        try assertBadRequest({ $0.context = .max }, mentions: ["context length", "1...4194304"])
        try assertBadRequest({ $0.context = 0 }, mentions: ["context length"])
        try assertBadRequest({ $0.promptTokens = .max }, mentions: ["prompt length"])
        try assertBadRequest({ $0.batch = 0 }, mentions: ["batch size"])
        try assertBadRequest({ $0.threads = .max }, mentions: ["thread count"])
        try assertBadRequest({ $0.memoryBudget = .max }, mentions: ["memory budget"])
        try assertBadRequest({ $0.memoryBudget = -5 }, mentions: ["memory budget"])
        try assertBadRequest({ $0.gpuBudgets = [.gpu(0): .min] }, mentions: ["memory budget of gpu0"])
        try assertBadRequest({ $0.diskBytesPerSecond = .nan }, mentions: ["disk bandwidth"])
    }

    /// The largest values inside the bounds plan (or fail for lack of memory) without a trap.
    func testLargestInBoundValuesDoNotOverflow() throws {
        var r = PlacementRequest(manifest: try ModelManifest(shape: try ModelShape.named("llama-2-70b"), type: .q8_0),
                                 host: try host(), context: InputBounds.contextTokens.upperBound)
        r.generateTokens = InputBounds.generateTokens.upperBound
        r.promptTokens = InputBounds.contextTokens.upperBound - 1
        r.memoryBudget = InputBounds.memoryBytes.upperBound
        r.batch = InputBounds.batchTokens.upperBound
        do {
            _ = try PlacementPlanner.plan(r)
        } catch {
            XCTAssertFalse("\(error)".isEmpty)
        }
    }
}
