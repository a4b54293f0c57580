import Foundation
import EdgeTokenizer

/// Result of a perplexity run.
public struct PerplexityResult: Sendable {
    public var tokenCount: Int
    public var chunkCount: Int
    /// Running perplexity after each chunk (exp of the mean NLL of chunks 1...k).
    public var running: [Double]
    /// Each chunk's own perplexity.
    public var perChunk: [Double]
    public var value: Double
    /// Standard error estimate, as llama-perplexity prints after "+/-".
    public var uncertainty: Double
    public var seconds: Double
    /// With a sparse feed-forward: the same text through the dense one, compared token by token.
    public var dense: DenseComparison?
}

/// How a sparse run's predictions differ from the dense run's on the same scored tokens.
public struct DenseComparison: Sendable {
    /// Perplexity of the dense run.
    public var perplexity: Double
    /// Mean KL divergence KL(dense || sparse) of the next-token distributions, in nats.
    public var meanKLDivergence: Double
    /// Fraction of scored positions where both runs rank the same token first.
    public var top1Agreement: Double
    /// Fraction of feed-forward neurons the sparse run computed.
    public var density: Double
}

/// Perplexity the way llama.cpp's `llama-perplexity` computes it (see
/// ../shared/reference/README.md): the whole text tokenized once (one trailing newline dropped,
/// BOS only if the model asks for it, special-token text not parsed), cut into non-overlapping
/// chunks of `contextLength` tokens, each evaluated alone from an empty cache with its first token
/// replaced by BOS when the model adds one, and only the second half of each chunk scored.
public enum Perplexity {
    public static func evaluate(engine: Engine, text: String, contextLength n: Int,
                                progress: (Int, Int, Double) -> Void = { _, _, _ in }) async throws -> PerplexityResult {
        guard n >= 4 else { throw RuntimeError.badParameter(name: "perplexity context", reason: "\(n) is below 4") }
        guard n <= engine.contextLength else {
            throw RuntimeError.badParameter(name: "perplexity context", reason: "\(n) exceeds the engine's context of \(engine.contextLength)")
        }
        var body = text
        if body.hasSuffix("\n") { body.removeLast() }
        let tok = engine.tokenizer
        let tokens = tok.encode(body, addSpecial: true, parseSpecial: false)
        let chunks = tokens.count / n
        guard chunks > 0 else {
            throw RuntimeError.badParameter(name: "perplexity text", reason: "\(tokens.count) tokens, fewer than one chunk of \(n)")
        }
        let session = try engine.makeSession()
        let sparse = engine.sparse != nil
        var denseNLL = 0.0, kld = 0.0, agree = 0
        let vocab = engine.model.config.vocabularySize
        let first = n / 2
        var nllSum = 0.0, nll2Sum = 0.0
        var count = 0
        var running: [Double] = [], perChunk: [Double] = []
        let t0 = monotonicSeconds()
        for c in 0..<chunks {
            var chunk = Array(tokens[(c * n)..<((c + 1) * n)])
            if tok.addBOS, let bos = tok.bos { chunk[0] = bos }
            var denseLogits: [Float] = []
            if sparse {
                await session.useSparseFeedForward(false)
                await session.reset()
                denseLogits = try await session.evaluate(chunk, allLogits: true)
                await session.useSparseFeedForward(true)
            }
            await session.reset()
            let logits = try await session.evaluate(chunk, allLogits: true)
            var chunkNLL = 0.0
            for j in first..<(n - 1) {
                let row = logits[(j * vocab)..<((j + 1) * vocab)]
                let target = Int(chunk[j + 1])
                let (maxLogit, logZ) = Perplexity.logPartition(row)
                if sparse {
                    let d = denseLogits[(j * vocab)..<((j + 1) * vocab)]
                    let (dMax, dZ) = Perplexity.logPartition(d)
                    denseNLL += -(Double(d[d.startIndex + target] - dMax) - dZ)
                    // KL(p_dense || p_sparse) = sum p_d (log p_d - log p_s)
                    var k = 0.0
                    for i in 0..<vocab {
                        let ld = Double(d[d.startIndex + i] - dMax) - dZ
                        let ls = Double(row[row.startIndex + i] - maxLogit) - logZ
                        k += exp(ld) * (ld - ls)
                    }
                    kld += k
                    if Perplexity.argmax(d) == Perplexity.argmax(row) { agree += 1 }
                }
                let nll = -(Double(row[row.startIndex + target] - maxLogit) - logZ)
                chunkNLL += nll
                nllSum += nll
                nll2Sum += nll * nll
                count += 1
            }
            perChunk.append(exp(chunkNLL / Double(n - 1 - first)))
            running.append(exp(nllSum / Double(count)))
            progress(c + 1, chunks, running.last!)
        }
        let mean = nllSum / Double(count)
        let mean2 = nll2Sum / Double(count)
        let ppl = exp(mean)
        let unc = count > 1 ? ppl * ((mean2 - mean * mean) / Double(count - 1)).squareRoot() : 0
        var comparison: DenseComparison?
        if sparse {
            let counts = await session.sparseCounts
            comparison = DenseComparison(perplexity: exp(denseNLL / Double(count)), meanKLDivergence: kld / Double(count),
                                         top1Agreement: Double(agree) / Double(count),
                                         density: counts.total > 0 ? Double(counts.selected) / Double(counts.total) : 1)
        }
        return PerplexityResult(tokenCount: tokens.count, chunkCount: chunks, running: running, perChunk: perChunk,
                                value: ppl, uncertainty: unc, seconds: monotonicSeconds() - t0, dense: comparison)
    }

    /// Offset of the row's largest value (the first, on ties).
    static func argmax(_ row: ArraySlice<Float>) -> Int {
        var best = row.startIndex
        for i in row.indices where row[i] > row[best] { best = i }
        return best - row.startIndex
    }

    /// The row's largest logit m and log(sum exp(v - m)).
    static func logPartition(_ row: ArraySlice<Float>) -> (Float, Double) {
        let m = row.max()!
        var sumExp = 0.0
        for v in row { sumExp += Double(expf(v - m)) }
        return (m, log(sumExp))
    }
}
