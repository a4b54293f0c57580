import EdgeCore
import EdgeDevices
import EdgeRuntime
import Foundation
import XCTest

/// `--numa-nodes 2`: every matrix's rows cut between two CPU nodes, each with its own threads and
/// its own repacked copy, node 1 driven in lockstep through its relay. Cutting rows never changes
/// a result, so the logits must be bit for bit those of one node, through a prompt and through
/// token-by-token decoding, on the fast and the F32-activation paths. On this host the two nodes
/// are an override (its CPUs cut in two); on a two-socket host they are the real nodes.
final class NUMASplitTests: XCTestCase {
    private static let prompt: [Int32] = [1, 17, 99, 42, 7, 256, 7, 3, 88, 120]

    private func logits(_ path: String, nodes: Int, f32: Bool = false) async throws -> (logits: [Float], engine: Engine) {
        var o = EngineOptions(threads: 2, contextLength: 64)
        o.numaNodes = nodes
        o.f32Activations = f32
        let engine = try Engine(modelPath: path, options: o)
        let session = try engine.makeSession()
        var out = try await session.evaluate(Array(Self.prompt.prefix(6)), allLogits: true)
        for t in Self.prompt.dropFirst(6) { out += try await session.evaluate([t], allLogits: true) }
        return (out, engine)
    }

    func testTwoNodesGiveTheLogitsOfOneBitForBit() async throws {
        guard WorkerPool.allowedCPUs().count >= 2 else { throw XCTSkip("two nodes need two CPUs; this process may use one") }
        var checked: [String] = []
        for name in Shared.greedyModels {
            let path = try Shared.model(name + ".gguf")
            for f32 in name.hasPrefix("aidreams") ? [false, true] : [false] {
                let (one, single) = try await logits(path, nodes: 1, f32: f32)
                let (two, split) = try await logits(path, nodes: 2, f32: f32)
                XCTAssertEqual(single.placement.nodeCount, 1)
                XCTAssertEqual(split.placement.nodeCount, 2, name)
                XCTAssertEqual(split.peers.count, 1, name)
                if name.hasPrefix("SmolLM2") {
                    XCTAssertEqual(split.placement.splitMatrixCount, 30 * 7 + 1, "\(name): every matrix has rows on both nodes")
                }
                XCTAssertNotNil(split.peers.first?.relay)
                XCTAssertEqual(split.node.pool.threadCount + split.peers[0].pool.threadCount, 2)
                XCTAssertEqual(one.count, two.count)
                let differing = zip(one, two).filter { $0.0.bitPattern != $0.1.bitPattern }.count
                XCTAssertEqual(differing, 0, "\(name)\(f32 ? " (F32 activations)" : ""): \(differing) of \(one.count) logits differ")
                checked.append(name + (f32 ? " f32" : ""))
            }
        }
        print("NUMASplitTests: two nodes bit-identical to one on " + checked.joined(separator: ", "))
    }

    func testImpossibleSplitsAreNamed() throws {
        let path = try Shared.model("aidreams260K.Q8_0.gguf")
        var o = EngineOptions(threads: 1, contextLength: 16)
        o.numaNodes = 2
        XCTAssertThrowsError(try Engine(modelPath: path, options: o)) { error in
            XCTAssert("\(error)".contains("at least 2"), "\(error)")
        }
        o.threads = 2
        o.numaNodes = WorkerPool.allowedCPUs().count + 1
        XCTAssertThrowsError(try Engine(modelPath: path, options: o)) { error in
            XCTAssert("\(error)".contains("CPUs"), "\(error)")
        }
        o.numaNodes = 2
        o.memoryBudget = 64 << 20
        XCTAssertThrowsError(try Engine(modelPath: path, options: o)) { error in
            XCTAssert("\(error)".contains("NUMA") || "\(error)".contains("budget"), "\(error)")
        }
    }
}
