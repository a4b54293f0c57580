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
        let vocab = engine.model.config.vocabularySize
        let first = n / 2
        var nllSum = 0.0, nll2Sum = 0.0
        var count = 0
        var running: [Double] = [], perChunk: [Double] = []
        let t0 = monotonicSeconds()
        for c in 0..<chunks {
            var chunk = Array(tokens[(c * n)..<((c + 1) * n)])
            if tok.addBOS, let bos = tok.bos { chunk[0] = bos }
            await session.reset()
            let logits = try await session.evaluate(chunk, allLogits: true)
            var chunkNLL = 0.0
            for j in first..<(n - 1) {
                let row = logits[(j * vocab)..<((j + 1) * vocab)]
                let target = Int(chunk[j + 1])
                let maxLogit = row.max()!
                var sumExp = 0.0
                for v in row { sumExp += Double(expf(v - maxLogit)) }
                let nll = -(Double(row[row.startIndex + target] - maxLogit) - log(sumExp))
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
        return PerplexityResult(tokenCount: tokens.count, chunkCount: chunks, running: running, perChunk: perChunk,
                                value: ppl, uncertainty: unc, seconds: monotonicSeconds() - t0)
    }
}
