import Foundation
import XCTest
import EdgeCore
import EdgeDevices
import EdgeFormats
import EdgePlanner
import EdgeRuntime

/// Weights streamed from disk through the sliding window give the same logits, bit for bit, as
/// weights mapped in place: the kernels are the same, only where the bytes come from differs.
final class StreamingTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-stream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// Logits of `calls` consecutive evaluations (all rows) on one sequence.
    private func logits(_ model: Model, _ calls: [[Int32]], placement: WeightPlacement?, maxBatch: Int = 512) async throws -> [Float] {
        let node = try CPUNode(threads: 2)
        let pass = try ForwardPass(weights: model.weights, contextLength: 64, maxBatch: maxBatch, placement: placement)
        return try await node.run { pool in try calls.flatMap { try pass.evaluate($0, allLogits: true, pool: pool) } }
    }

    func testTinyModelsStreamBitIdentically() async throws {
        let ids = TinyModelOracleTests.prompt
        for (i, (name, spec)) in TinyModelOracleTests.variants.enumerated() where i < 2 || i == 5 {
            let path = directory.appendingPathComponent("m\(i).gguf").path
            try spec.write(to: path)
            let model = try Model(path: path)
            let mapped = try await logits(model, [ids], placement: nil)
            // Budgets from the smallest possible (one slot, nothing resident) to most of the model,
            // with blocks cut to 4 KiB so that matrices stream in row chunks.
            let weights = model.weights.bytesPerToken + model.weights.tokenEmbedding.byteCount
            for budget in [0, weights / 3, weights * 2 / 3] {
                let placement: WeightPlacement
                do {
                    placement = try WeightPlacement(budgeted: model.weights, manifest: ModelManifest(model: model), path: path, budget: budget, fixedBytes: 0,
                                                    computeBytesPerSecond: 1e10, diskBytesPerSecond: 1e9, progress: nil,
                                                    blockTarget: 4096)
                } catch let PlanError.budgetTooSmall(_, minimum, _, _) {
                    XCTAssertEqual(budget, 0, "\(name): budget \(budget) refused, minimum \(minimum)")
                    placement = try WeightPlacement(budgeted: model.weights, manifest: ModelManifest(model: model), path: path, budget: minimum, fixedBytes: 0,
                                                    computeBytesPerSecond: 1e10, diskBytesPerSecond: 1e9, progress: nil,
                                                    blockTarget: 4096)
                    XCTAssertEqual(placement.plan?.window, 1, "\(name): at the minimum one slot")
                    XCTAssertEqual(placement.residentBytes, 0)
                }
                let plan = try XCTUnwrap(placement.plan)
                XCTAssertGreaterThan(plan.streamedBlockCount, 0, "\(name) budget \(budget): something streams")
                XCTAssertTrue(placement.outputChunkCount > 1, "\(name): the output matrix streams in row chunks")
                let streamed = try await logits(model, [ids], placement: placement)
                XCTAssert(streamed == mapped, "\(name), budget \(budget): streamed logits differ from mapped")
                // Token by token, the window cycles through the blocks once per token.
                let single = try await logits(model, ids.map { [$0] }, placement: placement)
                XCTAssert(single == mapped, "\(name), budget \(budget): token-by-token streamed logits differ")
                let st = try XCTUnwrap(placement.scheduler).statistics()
                XCTAssertEqual(st.acquisitions, (1 + ids.count) * plan.streamedBlockCount)
            }
        }
    }

    /// SmolLM2 Q8_0 (145 MB) with a 64 MiB budget: the same logits and greedy tokens as mapped.
    func testRealModelUnderSixtyFourMiB() async throws {
        let path = try Shared.model("SmolLM2-135M-Instruct.Q8_0.gguf")
        var options = EngineOptions(threads: 2, contextLength: 96)
        let mapped = try Engine(modelPath: path, options: options)
        options.memoryBudget = 64 << 20
        let streamed = try Engine(modelPath: path, options: options)
        let plan = try XCTUnwrap(streamed.placement.plan)
        XCTAssertGreaterThan(plan.streamedBlockCount, 0)
        XCTAssertGreaterThan(plan.residentBytes, 0)
        XCTAssertLessThanOrEqual(plan.plannedBytes, 64 << 20)
        let ids = mapped.tokenizer.encode("The capital of France is", addSpecial: true, parseSpecial: false)
        let a = try await mapped.makeSession().evaluate(ids, allLogits: true)
        let b = try await streamed.makeSession().evaluate(ids, allLogits: true)
        XCTAssert(a == b, "prompt logits differ between mapped and streamed weights")

        func greedy(_ e: Engine) async throws -> [Int32] {
            var out: [Int32] = []
            for try await ev in try e.makeSession().generate(prompt: ids, maxTokens: 24, sampling: .greedy) {
                if case let .token(id, _) = ev, id >= 0 { out.append(id) }
            }
            return out
        }
        let ga = try await greedy(mapped), gb = try await greedy(streamed)
        XCTAssertEqual(ga, gb)
        XCTAssertGreaterThan(ga.count, 4)
    }

    func testBudgetBelowMinimumIsATypedErrorWithTheMinimum() throws {
        let path = try Shared.model("SmolLM2-135M-Instruct.Q8_0.gguf")
        var options = EngineOptions(threads: 1, contextLength: 4096)
        options.memoryBudget = 40 << 20
        var named = 0
        XCTAssertThrowsError(try Engine(modelPath: path, options: options)) { error in
            guard case let PlanError.budgetTooSmall(budget, minimum, fixed, slot) = error else { return XCTFail("\(error)") }
            named = minimum
            XCTAssertEqual(budget, 40 << 20)
            XCTAssertGreaterThanOrEqual(minimum, fixed + slot - (40 << 20) / 8, "the minimum covers the buffers and one slot")
            XCTAssertGreaterThan(minimum, 40 << 20)
            // 4096 positions of K and V (30 layers, 192 values, 2 bytes) alone take 45 MiB.
            XCTAssertGreaterThan(fixed, 30 * 4096 * 2 * 192 * 2)
            XCTAssertTrue("\(error)".contains("smallest budget that works"), "\(error)")
        }
        // The budget named works, and 64 KiB less does not.
        options.memoryBudget = named
        XCTAssertNoThrow(try Engine(modelPath: path, options: options), "the named minimum \(named) must load")
        options.memoryBudget = named - (64 << 10)
        XCTAssertThrowsError(try Engine(modelPath: path, options: options))
    }
}
