import XCTest
import EdgeRuntime

/// Perplexity on ../shared/reference/eval-text.txt against llama-perplexity's results
/// (reference/perplexity.json), computed the way that README describes (chunks of 128).
final class PerplexityReferenceTests: XCTestCase {
    func run(f32: Bool) async throws -> [(String, Double, Double, Double)] {
        let ref = try Shared.json("reference/perplexity.json") as! [String: Any]
        let text = try String(contentsOf: try Shared.requireRoot().appendingPathComponent("reference/eval-text.txt"), encoding: .utf8)
        var rows: [(String, Double, Double, Double)] = []
        for m in ref["models"] as! [[String: Any]] {
            let name = m["model"] as! String
            let path = try Shared.model(name)
            var options = EngineOptions(threads: 2, contextLength: 128)
            options.f32Activations = f32
            let engine = try Engine(modelPath: path, options: options)
            let r = try await Perplexity.evaluate(engine: engine, text: text, contextLength: 128)
            XCTAssertEqual(r.tokenCount, m["n_tokens"] as! Int, "\(name): token count")
            XCTAssertEqual(r.chunkCount, m["n_chunks"] as! Int, "\(name): chunk count")
            let isF32File = name.contains("F32")
            let f32Ref = m["f32_activation_reference"] as? [String: Any]
            // The reference that matches this arithmetic path, and the README's bound for it.
            let (expected, tol): (Double, Double) = isF32File
                ? (m["final_ppl"] as! Double, 1e-4)
                : f32 ? (f32Ref!["final_ppl"] as! Double, 1e-3) : (m["final_ppl"] as! Double, 0.01)
            let rel = abs(r.value - expected) / expected
            XCTAssertLessThanOrEqual(rel, tol, "\(name): perplexity \(r.value), reference \(expected)")
            if f32, !isF32File, let chunks = f32Ref?["chunk_ppl"] as? [Double] {
                for (i, (ours, theirs)) in zip(r.perChunk, chunks).enumerated() {
                    XCTAssertEqual(ours, theirs, accuracy: theirs * 0.03, "\(name) chunk \(i + 1)")
                }
            }
            rows.append((name, r.value, expected, rel))
        }
        return rows
    }

    func testFastPathPerplexityWithinOnePercent() async throws {
        for (n, v, e, rel) in try await run(f32: false) {
            print(String(format: "perplexity (fast path) %@: %.4f vs llama.cpp %.4f (%.3f%%)", n, v, e, rel * 100))
        }
    }

    func testF32PathPerplexityMatchesF32Reference() async throws {
        for (n, v, e, rel) in try await run(f32: true) {
            print(String(format: "perplexity (F32 path) %@: %.4f vs llama.cpp F32-activation run %.4f (%.3f%%)", n, v, e, rel * 100))
        }
    }
}
