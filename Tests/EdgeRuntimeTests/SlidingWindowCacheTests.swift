import EdgeCore
import EdgePlanner
import EdgeRuntime
import Foundation
import XCTest

/// A sliding-window layer's KV cache is a ring of window + batch - 1 rows, and the planner's
/// formula counts that (never less than the engine reserves), so a budget is not spent on
/// positions a windowed layer never reads again.
final class SlidingWindowCacheTests: XCTestCase {
    func testTheRingIsWhatThePlannerCounts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-swa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gemma3.gguf").path
        var spec = TinyModelSpec.gemma3()
        spec.contextLength = 8192
        try spec.write(to: path)   // 2 layers: layer 0 windowed (4 positions), layer 1 global
        let model = try Model(path: path)
        let manifest = ModelManifest(model: model)
        XCTAssertEqual(manifest.slidingWindow, 4)
        XCTAssertEqual(manifest.slidingWindowLayers, 1)
        let kvDim = model.config.kvDim, rowBytes = 2 * kvDim * 2   // K and V, F16
        for (context, batch) in [(4096, 512), (4096, 16), (64, 512)] {
            let pass = try ForwardPass(weights: model.weights, contextLength: context, maxBatch: batch)
            XCTAssertEqual(pass.kv.rows, [min(context, 4 + min(batch, context) - 1), context], "context \(context), batch \(batch)")
            let predicted = RuntimeFootprint.kvBytes(manifest, context: context)
            XCTAssertEqual(predicted, rowBytes * (context + min(context, 4 + 511)))
            XCTAssertLessThanOrEqual(pass.kv.reservedBytes, predicted)
        }
        // Without the window the formula is the whole context for every layer.
        var plain = manifest
        plain.slidingWindowLayers = nil
        XCTAssertEqual(RuntimeFootprint.kvBytes(plain, context: 4096), rowBytes * 2 * 4096)
    }
}
