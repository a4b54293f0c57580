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
            let manifest = ModelManifest(model: model)
            let spans = manifest.blocks(target: 4096).map { AlignedBuffer.span(offset: $0.offset, length: $0.length) }
            for budget in [0, weights / 3, weights * 2 / 3] {
                // The residency the planner's streaming step decides for the budget; the placement
                // executes it.
                func decide(_ budget: Int) throws -> StreamingPlan {
                    try StreamingPlanner.plan(StreamingRequest(budget: budget, fixedBytes: 0, blockBytes: spans,
                                                               diskBytesPerSecond: 1e9, computeBytesPerSecond: 1e10))
                }
                let plan: StreamingPlan
                do {
                    plan = try decide(budget)
                } catch let PlanError.budgetTooSmall(_, minimum, _, _) {
                    XCTAssertEqual(budget, 0, "\(name): budget \(budget) refused, minimum \(minimum)")
                    plan = try decide(minimum)
                    XCTAssertEqual(plan.window, 1, "\(name): at the minimum one slot")
                    XCTAssertFalse(plan.resident.contains(true), "\(name): at the minimum nothing is resident")
                }
                let placement = try WeightPlacement(budgeted: model.weights, manifest: manifest, path: path, blockTarget: 4096,
                                                    resident: plan.resident, windowSlots: plan.window, diskBytesPerSecond: 1e9,
                                                    progress: nil)
                XCTAssertEqual(placement.residentBytes, plan.residentBytes, "\(name): the resident blocks planned are loaded")
                XCTAssertEqual(placement.windowSlots, plan.window)
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
        // The engine planned once (no profile: estimated rates, the disk measured) and executed it.
        let plan = streamed.plan
        XCTAssertEqual(plan.hostKind, .estimated)
        XCTAssertEqual(plan.strategy, "cpu+disk")
        XCTAssertGreaterThan(plan.blocks.filter { $0.tier == .streamed }.count, 0)
        XCTAssertGreaterThan(streamed.placement.residentBytes, 0)
        XCTAssertEqual(streamed.placement.residentBytes, plan.blocks.filter { $0.tier == .resident }.reduce(0) { $0 + AlignedBuffer.span(offset: $1.offset, length: $1.bytes) })
        XCTAssertEqual(streamed.placement.windowSlots, plan.window.slots)
        XCTAssertGreaterThan(streamed.placement.diskBytesPerSecond, 0, "the disk was measured before planning")
        let cpu = try XCTUnwrap(plan.devices.first { $0.id == .cpu(0) })
        XCTAssertEqual(cpu.capacityBytes, 64 << 20)
        XCTAssertLessThanOrEqual(cpu.plannedBytes, 64 << 20)
        XCTAssertTrue(mapped.plan.blocks.allSatisfy { $0.tier == .resident }, "unbudgeted: nothing planned to stream")
        XCTAssertNil(mapped.placement.scheduler)
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
            // The planner's error, the one the engine reports: no second search in the engine.
            guard case let PlacementError.budgetTooSmall(device, budget, minimum, detail) = error else { return XCTFail("\(error)") }
            named = minimum
            XCTAssertEqual(device, .cpu(0))
            XCTAssertEqual(budget, 40 << 20)
            XCTAssertGreaterThan(minimum, 40 << 20)
            // 4096 positions of K and V (30 layers, 192 values, 2 bytes) alone take 45 MiB.
            XCTAssertGreaterThan(minimum, 30 * 4096 * 2 * 192 * 2)
            XCTAssertTrue(detail.contains("KV cache for 4096 tokens"), detail)
            XCTAssertTrue("\(error)".contains("smallest budget that works"), "\(error)")
        }
        // The budget named works, and 64 KiB less does not.
        options.memoryBudget = named
        XCTAssertNoThrow(try Engine(modelPath: path, options: options), "the named minimum \(named) must load")
        options.memoryBudget = named - (64 << 10)
        XCTAssertThrowsError(try Engine(modelPath: path, options: options))
    }
}
