import XCTest
import EdgeRuntime

/// Perplexity on ../shared/reference/eval-text.txt against llama-perplexity's results
/// (reference/perplexity.json), computed the way that README describes (chunks of 128).
final class PerplexityReferenceTests: XCTestCase {
    /// The fast path's bound on the 30-block SmolLM2 files, set from measurement, not from a wish:
    /// - the 8-bit activation blocks are byte-identical to llama.cpp's on real activations, and
    ///   its block dot products differ from ours by float order only (about 1e-7 relative, mean
    ///   signed difference ~0): scripts/oracle/act_rounding.py; since attention in a prompt of 64+
    ///   rows runs in F32 as llama.cpp's does, layer 0's attention output agrees to 1.6e-6 (7.8e-4
    ///   with the one-query F16 rounding it had before);
    /// - yet one int8 rounding flipped by float order changes every later activation, and a
    ///   single perplexity figure is one draw: over 8 copies of each file whose RMSNorm epsilon is
    ///   nudged by 0-7% (scripts/oracle/ppl-spread.py, 2026-12-07, AMD EPYC AVX-512), llama.cpp's
    ///   own values span 0.6% (Q8_0) to 1.5% (Q4_K_M) of their median, and edgert's medians sit
    ///   0.11-0.22% below llama.cpp's. llama.cpp's AVX2 and AVX-512 builds differ by 1.2% on Q4_K_M.
    /// So one figure cannot be held closer to one llama.cpp figure than llama.cpp's own draws are
    /// to each other: 1.5% is that spread. The small aidreams files (a few blocks, little
    /// amplification) keep 0.1%.
    static let chaoticBound = 0.015

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
            // The reference that matches this arithmetic path, and the bound for it.
            let (expected, tol): (Double, Double) = isF32File
                ? (m["final_ppl"] as! Double, 1e-4)
                : f32 ? (f32Ref!["final_ppl"] as! Double, 3e-4)
                : (m["final_ppl"] as! Double, name.hasPrefix("SmolLM2") ? Self.chaoticBound : 1e-3)
            let rel = abs(r.value - expected) / expected
            XCTAssertLessThanOrEqual(rel, tol, "\(name): perplexity \(r.value), reference \(expected)")
            if f32, !isF32File, let chunks = f32Ref?["chunk_ppl"] as? [Double] {
                for (i, (ours, theirs)) in zip(r.perChunk, chunks).enumerated() {
                    // Measured: within 0.03% per chunk (8 chunks, 3 files); no chaos on this path.
                    XCTAssertEqual(ours, theirs, accuracy: theirs * 1e-3, "\(name) chunk \(i + 1)")
                }
            }
            rows.append((name, r.value, expected, rel))
        }
        return rows
    }

    func testFastPathPerplexityWithinBounds() async throws {
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
