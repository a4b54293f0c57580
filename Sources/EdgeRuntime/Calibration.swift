import Foundation
import CEdgeKernels

/// Measures ``NeuronStatistics`` by running the dense model over a calibration text.
///
/// The text is tokenized once and cut into chunks of `chunkTokens`, each evaluated from an empty
/// cache, up to `tokens` tokens. Two passes over the same chunks: the first builds, per layer, a
/// histogram of the selection score |SiLU(gate)| (log-spaced bins, 200 per decade from 1e-7 to
/// 1e5, plus one for exact zeros) and each neuron's mean score; the quantiles follow from the
/// histogram (log-linear inside a bin). The second counts, per neuron, the tokens on which its
/// score reaches the layer's 50% threshold: its fire rate, by which the neurons are ordered hot
/// to cold. A third pass runs the same chunks through the sparse feed-forward at each of
/// ``levels`` and measures the perplexity (every position after the first 16 of a chunk) against
/// dense: the quality curve. Last, generation speed (tg32, median of 3) dense and at each level
/// within ``NeuronStatistics/autoBound``: `--sparsity auto` takes the highest level within the
/// bound that was also ``NeuronStatistics/autoSpeedup`` times faster than dense here.
public enum Calibration {
    /// What a calibration run reports as it goes: (pass 1, 2 or 3, steps done, steps in the pass).
    public typealias Progress = @Sendable (Int, Int, Int) -> Void

    /// The sparsity levels the quality curve is measured at.
    public static let levels: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]

    /// - Parameter host: names the host the speed figures are measured on (stored with them).
    public static func run(engine: Engine, text: String, source: String, tokens wanted: Int = 2048, chunkTokens: Int = 512,
                           host: String = ProcessInfo.processInfo.hostName,
                           progress: Progress = { _, _, _ in }) async throws -> NeuronStatistics {
        let weights = engine.model.weights
        for (li, l) in weights.layers.enumerated() { try SparseFeedForward.checkProgram(l, layer: li) }
        guard wanted >= 16 else { throw RuntimeError.badParameter(name: "calibration tokens", reason: "\(wanted) is below 16") }
        let chunk = min(chunkTokens, engine.contextLength)
        guard chunk >= 2 else { throw RuntimeError.badParameter(name: "calibration chunk", reason: "\(chunk) tokens") }
        let all = engine.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        let count = min(wanted, all.count)
        guard count >= 16 else {
            throw RuntimeError.badParameter(name: "calibration text", reason: "\(all.count) tokens; at least 16 are needed")
        }
        let chunks = stride(from: 0, to: count, by: chunk).map { Array(all[$0..<min($0 + chunk, count)]) }
        let width = engine.model.config.feedForwardLength
        let acc = Accumulator(layers: weights.layers.count, width: width)
        let session = try engine.makeSession()
        for pass in 1...2 {
            let observer: @Sendable (Int, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Void
            if pass == 1 {
                observer = { layer, gate, _, rows in acc.histogram(layer: layer, gate: gate, rows: rows) }
            } else {
                observer = { layer, gate, _, rows in acc.fire(layer: layer, gate: gate, rows: rows) }
            }
            await session.observeFeedForward(observer)
            var done = 0
            for c in chunks {
                await session.reset()
                _ = try await session.evaluate(c)
                done += c.count
                progress(pass, done, count)
            }
            if pass == 1 { acc.finishHistogram() }
        }
        await session.observeFeedForward(nil)
        var stats = NeuronStatistics(model: ModelFingerprint(of: weights.file), tokens: count, source: source,
                                     layers: acc.layers(tokens: count))
        // The sparse path runs on mapped weights, one node, 8-bit activations (as the engine
        // requires): elsewhere there is no curve, and auto stays dense.
        guard engine.placement.disk == nil, engine.peers.isEmpty, !engine.options.f32Activations else { return stats }
        // The quality curve: mean NLL of the same tokens, dense and at each level.
        let vocab = engine.model.config.vocabularySize
        func meanNLL(_ ffn: SparseFeedForward?) async throws -> Double {
            await session.useSparseFeedForward(ffn)
            var sum = 0.0, n = 0
            for c in chunks where c.count > 17 {
                await session.reset()
                let logits = try await session.evaluate(c, allLogits: true)
                for j in 16..<(c.count - 1) {
                    let row = logits[(j * vocab)..<((j + 1) * vocab)]
                    let (m, z) = Perplexity.logPartition(row)
                    sum += -(Double(row[row.startIndex + Int(c[j + 1])] - m) - z)
                    n += 1
                }
            }
            return n > 0 ? sum / Double(n) : 0
        }
        let dense = try await meanNLL(nil)
        progress(3, 1, levels.count + 1)
        let first = try SparseFeedForward(weights: weights, statistics: stats, level: levels[0])
        var curve: [(level: Double, perplexityIncrease: Double)] = []
        for (k, level) in levels.enumerated() {
            let nll = try await meanNLL(k == 0 ? first : try SparseFeedForward(sharing: first, level: level))
            curve.append((level, exp(nll - dense) - 1))
            progress(3, k + 2, levels.count + 1)
        }
        await session.useSparseFeedForward(nil)
        stats.curve = curve
        // Speed, dense and at each level within the quality bound: auto must also be faster.
        let test = BenchmarkTest(.generation, tokens: min(32, engine.contextLength))
        func speed(_ ffn: SparseFeedForward?) async throws -> Double {
            try await Benchmark.run(test, on: engine, repetitions: 3, feedForward: .some(ffn)).sampleTokensPerSecond.sorted()[1]
        }
        stats.denseTokensPerSecond = try await speed(nil)
        var speeds: [Double?] = []
        for (k, point) in curve.enumerated() {
            speeds.append(point.perplexityIncrease <= NeuronStatistics.autoBound
                ? try await speed(k == 0 ? first : try SparseFeedForward(sharing: first, level: point.level)) : nil)
        }
        stats.sparseTokensPerSecond = speeds
        stats.speedHost = host
        stats.autoLevel = zip(curve, speeds).filter { point, tps in
            point.perplexityIncrease <= NeuronStatistics.autoBound && (tps ?? 0) >= NeuronStatistics.autoSpeedup * stats.denseTokensPerSecond
        }.map(\.0.level).max() ?? 0
        return stats
    }

    /// Per-layer sums the observer adds to, on the node's driver thread.
    ///
    /// Invariant for `@unchecked Sendable`: written only by the forward pass's observer, which
    /// runs on one thread at a time (the session serialises evaluations), and read after.
    final class Accumulator: @unchecked Sendable {
        static let decades = 12, perDecade = 200, lowest: Float = 1e-7
        static var bins: Int { decades * perDecade + 2 }   // [0]: zero, [last]: above the range
        let width: Int
        var histograms: [[Int64]]
        var scoreSums: [[Double]]
        var fireCounts: [[Int64]]
        var quantiles: [[Float]] = []
        /// Per layer, the 50% threshold the fire counts use (set with the quantiles).
        var fireThresholds: [Float] = []

        init(layers: Int, width: Int) {
            self.width = width
            histograms = Array(repeating: Array(repeating: 0, count: Self.bins), count: layers)
            scoreSums = Array(repeating: Array(repeating: 0, count: width), count: layers)
            fireCounts = Array(repeating: Array(repeating: 0, count: width), count: layers)
        }

        /// Lower edge of bin b >= 1.
        static func edge(_ b: Int) -> Float { lowest * powf(10, Float(b - 1) / Float(perDecade)) }

        func histogram(layer: Int, gate: UnsafePointer<Float>, rows: Int) {
            histograms[layer].withUnsafeMutableBufferPointer { h in
                scoreSums[layer].withUnsafeMutableBufferPointer { sums in
                    edge_sparse_histogram(gate, Int64(rows), Int64(width), Self.lowest, Int32(Self.perDecade), Int64(Self.bins),
                                          h.baseAddress, sums.baseAddress)
                }
            }
        }

        func finishHistogram() {
            quantiles = histograms.map { h in
                let total = Int(h.reduce(0, +))
                var out: [Float] = []
                var b = 0, below = 0   // values in bins < b
                for k in 0...NeuronStatistics.quantileSteps {
                    let target = Double(total) * Double(k) / Double(NeuronStatistics.quantileSteps)
                    while b < h.count - 1, Double(below + Int(h[b])) < target { below += Int(h[b]); b += 1 }
                    if b == 0 || h[b] == 0 { out.append(b == 0 ? 0 : Self.edge(b)); continue }
                    // Log-linear inside the bin.
                    let f = Float(max(0, min(1, (target - Double(below)) / Double(h[b]))))
                    let lo = Self.edge(b), hi = b == h.count - 1 ? lo : Self.edge(b + 1)
                    out.append(lo * powf(hi / lo, f))
                }
                // Non-decreasing by construction; guard rounding.
                for k in 1..<out.count where out[k] < out[k - 1] { out[k] = out[k - 1] }
                return out
            }
            fireThresholds = quantiles.map { NeuronStatistics.Layer.threshold(quantiles: $0, sparsity: 0.5) }
        }

        func fire(layer: Int, gate: UnsafePointer<Float>, rows: Int) {
            let tau = fireThresholds[layer]
            fireCounts[layer].withUnsafeMutableBufferPointer { edge_sparse_fire_count(gate, Int64(rows), Int64(width), tau, $0.baseAddress) }
        }

        func layers(tokens: Int) -> [NeuronStatistics.Layer] {
            (0..<histograms.count).map { l in
                let rate = fireCounts[l].map { Float(Double($0) / Double(max(tokens, 1))) }
                let mean = scoreSums[l].map { Float($0 / Double(max(tokens, 1))) }
                let order = (0..<width).sorted { (a: Int, b: Int) -> Bool in
                    if rate[a] != rate[b] { return rate[a] > rate[b] }
                    if mean[a] != mean[b] { return mean[a] > mean[b] }
                    return a < b
                }
                return NeuronStatistics.Layer(quantiles: quantiles[l], fireRate: rate, meanScore: mean, hotOrder: order.map(Int32.init))
            }
        }
    }
}
