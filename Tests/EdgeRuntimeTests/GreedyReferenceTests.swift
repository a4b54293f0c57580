import XCTest
import EdgeRuntime
import EdgeDevices

/// Greedy decoding and step-0 logits against llama.cpp's traces (../shared/reference/greedy).
///
/// Two arithmetic paths are checked, each against the reference that matches it (see the
/// reference README, "Suggested tolerances"):
/// - the F32-activation path against `f32_activation_reference` (llama.cpp on the same weights
///   dequantized to F32): step-0 top-10 within 0.05 and the 64 greedy ids, compared with the gap
///   rule, for the first 32 steps;
/// - the fast path (8-bit activation blocks, integer dots: llama.cpp's scheme) against the main
///   run at the F32-level tolerances of that README (1.0 for SmolLM2 Q8_0/Q4_1, 2.0 for Q4_K_M,
///   0.1 for aidreams Q8_0/Q4_0, 1e-3 for the F32 file): our activation rounding is llama.cpp's,
///   but the quantized path is chaotic (one flipped int8 rounding moves every later activation),
///   so matching the main run to 0.05 would need bit-identical float summation order everywhere.
final class GreedyReferenceTests: XCTestCase {
    struct Entry {
        let prompt: String
        let promptIDs: [Int32]
        let mainIDs: [Int32]
        let mainTop10: [[(Int, Float)]]   // per step
        let f32IDs: [Int32]?
        let f32Top10: [(Int, Float)]?
    }

    static func entries(_ name: String) throws -> [Entry] {
        let raw = try Shared.json("reference/greedy/\(name).json") as! [[String: Any]]
        return raw.map { e in
            let steps = e["steps"] as! [[String: Any]]
            let f32 = e["f32_activation_reference"] as? [String: Any]
            return Entry(
                prompt: e["prompt"] as! String,
                promptIDs: (e["prompt_ids"] as! [Int]).map(Int32.init),
                mainIDs: (e["generated_ids"] as! [Int]).map(Int32.init),
                mainTop10: steps.map { ($0["top10"] as! [[Double]]).map { (Int($0[0]), Float($0[1])) } },
                f32IDs: (f32?["generated_ids"] as? [Int]).map { $0.map(Int32.init) },
                f32Top10: (f32?["step0_top10"] as? [[Double]]).map { $0.map { (Int($0[0]), Float($0[1])) } })
        }
    }

    /// Runs greedy decoding for `steps` steps; returns the ids chosen and each step's logits gap
    /// (top-1 minus top-2) and the step-0 logits.
    static func greedy(_ pass: ForwardPass, node: CPUNode, prompt: [Int32], steps: Int) async throws
        -> (ids: [Int32], gaps: [Float], step0: [Float]) {
        var logits = try await node.run { pool in try pass.evaluate(prompt, allLogits: false, pool: pool) }
        let step0 = logits
        var ids: [Int32] = [], gaps: [Float] = []
        for s in 0..<steps {
            let best = Sampler.argmax(logits)
            var second = -Float.infinity
            for (i, v) in logits.enumerated() where i != best && v > second { second = v }
            ids.append(Int32(best))
            gaps.append(logits[best] - second)
            if s + 1 < steps {
                let t = Int32(best)
                logits = try await node.run { pool in try pass.evaluate([t], allLogits: false, pool: pool) }
            }
        }
        return (ids, gaps, step0)
    }

    /// The gap rule: our choice may differ from the reference's only at a step where one of the two
    /// runs sees a top-1/top-2 gap of at most 2 x tol; comparison stops at the first such
    /// legitimate parting. Returns the number of steps compared, or fails.
    @discardableResult
    static func checkGapRule(ours: [Int32], ourGaps: [Float], reference: [Int32], referenceGaps: [Float]?,
                             tol: Float, context: String, file: StaticString = #filePath, line: UInt = #line) -> Int {
        let n = min(ours.count, reference.count)
        for s in 0..<n where ours[s] != reference[s] {
            let refGap = referenceGaps.map { s < $0.count ? $0[s] : Float.infinity } ?? Float.infinity
            let gap = min(refGap, ourGaps[s])
            XCTAssertLessThanOrEqual(gap, 2 * tol, "\(context): step \(s) chose \(ours[s]), reference \(reference[s]) with a gap of \(gap)",
                                     file: file, line: line)
            return s
        }
        return n
    }

    func testF32ActivationPathMatchesF32Reference() async throws {
        let node = try CPUNode(threads: 2)
        for name in Shared.greedyModels {
            let model = try Model(path: try Shared.model(name + ".gguf"))
            let isF32File = name.hasSuffix("F32")
            var worst: Float = 0, compared: [Int] = []
            for e in try Self.entries(name) {
                let pass = try ForwardPass(weights: model.weights, contextLength: 512, f32Activations: true)
                let run = try await Self.greedy(pass, node: node, prompt: e.promptIDs, steps: 32)
                // The F32 file's main run is itself the F32 reference.
                let refTop = isF32File ? e.mainTop10[0] : e.f32Top10!
                let refIDs = isF32File ? e.mainIDs : e.f32IDs!
                let tol: Float = isF32File ? 1e-3 : 0.05
                for (id, v) in refTop {
                    worst = max(worst, abs(run.step0[id] - v))
                    XCTAssertEqual(run.step0[id], v, accuracy: tol, "\(name) \(e.prompt.debugDescription): step-0 logit of \(id)")
                }
                let refGaps: [Float]? = isF32File ? e.mainTop10.map { $0[0].1 - $0[1].1 } : nil
                compared.append(Self.checkGapRule(ours: run.ids, ourGaps: run.gaps, reference: refIDs, referenceGaps: refGaps,
                                                  tol: tol, context: "\(name) \(e.prompt.debugDescription)"))
            }
            print("F32 path, \(name): step-0 top-10 max |diff| \(worst); greedy steps agreeing before a legitimate parting: \(compared)")
        }
    }

    func testFastPathMatchesMainRun() async throws {
        let node = try CPUNode(threads: 2)
        for name in Shared.greedyModels {
            let model = try Model(path: try Shared.model(name + ".gguf"))
            let tol: Float = name.hasSuffix("F32") ? 1e-3 : name.hasSuffix("Q4_K_M") ? 2.0 : name.hasPrefix("Smol") ? 1.0 : 0.1
            var worst: Float = 0, compared: [Int] = []
            for e in try Self.entries(name) {
                let pass = try ForwardPass(weights: model.weights, contextLength: 512)
                let run = try await Self.greedy(pass, node: node, prompt: e.promptIDs, steps: 32)
                for (id, v) in e.mainTop10[0] {
                    worst = max(worst, abs(run.step0[id] - v))
                    XCTAssertEqual(run.step0[id], v, accuracy: tol, "\(name) \(e.prompt.debugDescription): step-0 logit of \(id)")
                }
                let gaps = e.mainTop10.map { $0[0].1 - $0[1].1 }
                compared.append(Self.checkGapRule(ours: run.ids, ourGaps: run.gaps, reference: e.mainIDs, referenceGaps: gaps,
                                                  tol: tol, context: "\(name) \(e.prompt.debugDescription)"))
            }
            print("fast path, \(name): step-0 top-10 max |diff| \(worst) (tol \(tol)); steps agreeing before a legitimate parting: \(compared)")
        }
    }

    /// Thread count and batching never change the fast path's results.
    func testThreadsAndBatchingDoNotChangeLogits() async throws {
        let model = try Model(path: try Shared.model("SmolLM2-135M-Instruct.Q4_K_M.gguf"))
        let prompt = try Self.entries("SmolLM2-135M-Instruct.Q4_K_M").last!.promptIDs
        var results: [[Float]] = []
        for threads in [1, 2] {
            let node = try CPUNode(threads: threads)
            let pass = try ForwardPass(weights: model.weights, contextLength: 128, maxBatch: 512)
            results.append(try await node.run { pool in try pass.evaluate(prompt, allLogits: true, pool: pool) })
            // Batches of 7 tokens must give the same logits as one batch.
            let small = try ForwardPass(weights: model.weights, contextLength: 128, maxBatch: 7)
            results.append(try await node.run { pool in try small.evaluate(prompt, allLogits: true, pool: pool) })
        }
        for r in results.dropFirst() { XCTAssertTrue(r == results[0], "logits differ between thread counts or batch sizes") }
    }
}
