import XCTest
import EdgeRuntime

/// Perplexity on ../shared/reference/eval-text.txt against llama-perplexity's results
/// (reference/perplexity.json), computed the way that README describes (chunks of 128).
final class PerplexityReferenceTests: XCTestCase {
    /// The fast path's bound on the 30-block SmolLM2 files, set from measurement (2026-12-07, AMD
    /// EPYC, AVX2), not from a wish:
    /// - the 8-bit activation blocks are byte-identical to llama.cpp's on real activations, and
    ///   its block dot products differ from ours by float order only (about 1e-7 relative, mean
    ///   signed difference ~0): scripts/oracle/act_rounding.py;
    /// - yet float order alone moves these files' perplexity by about a percent. llama.cpp's own
    ///   AVX2 build (same b11312, this host) gives Q8_0 30.5353 and Q4_K_M 32.5381 against its
    ///   AVX-512 reference's 30.6258 and 32.1532: -0.30% and +1.20%. Ours with the scalar kernels
    ///   (EDGERT_ISA=scalar) and with AVX2 give 30.4891 / 30.7510 on Q8_0 (their matmuls are
    ///   bit-identical; only attention and the element-wise ops' float order differ).
    /// So an exact implementation cannot be held closer to one llama.cpp build than llama.cpp's own
    /// builds are to each other: 1.5% is that 1.2% spread with a quarter of headroom. The small
    /// aidreams files (a few blocks, little amplification) keep 0.1%.
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
                : f32 ? (f32Ref!["final_ppl"] as! Double, 1e-3)
                : (m["final_ppl"] as! Double, name.hasPrefix("SmolLM2") ? Self.chaoticBound : 1e-3)
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
