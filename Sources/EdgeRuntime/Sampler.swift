import EdgeCore

/// How the next token is chosen from the logits.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 (or less) picks the most likely token (greedy).
    public var temperature: Float = 0.8
    /// Keep the k most likely tokens (0 = all).
    public var topK: Int = 40
    /// Keep the smallest set whose probability reaches p (1 = all).
    public var topP: Float = 0.95
    /// Drop tokens less likely than min-p times the most likely one (0 = none).
    public var minP: Float = 0.05
    /// Divide positive (multiply negative) logits of recently seen tokens by this (1 = off).
    public var repetitionPenalty: Float = 1.0
    /// How many recent tokens the repetition, presence and frequency penalties look at.
    public var repetitionWindow: Int = 64
    /// Subtracted from the logit of every token seen in the window (OpenAI's `presence_penalty`,
    /// -2...2; 0 = off).
    public var presencePenalty: Float = 0
    /// Subtracted from a token's logit once per time it occurs in the window (OpenAI's
    /// `frequency_penalty`, -2...2; 0 = off).
    public var frequencyPenalty: Float = 0
    /// Seed of the random draw: the same seed gives the same text.
    public var seed: UInt64 = 0xED6E_0001

    public init() {}

    public static var greedy: SamplingParameters { var p = SamplingParameters(); p.temperature = 0; return p }

    public func validate() throws(RuntimeError) {
        // 0 or less is greedy, as in llama.cpp.
        guard temperature.isFinite, temperature <= InputBounds.temperature.upperBound else {
            throw .badParameter(name: "temperature", reason: "\(temperature) is not a number up to \(InputBounds.temperature.upperBound)")
        }
        guard InputBounds.topK.contains(topK) else { throw .badParameter(name: "top-k", reason: "\(topK) is not in \(InputBounds.topK)") }
        guard topP > 0, topP <= 1 else { throw .badParameter(name: "top-p", reason: "\(topP) is not in (0, 1]") }
        guard minP >= 0, minP <= 1 else { throw .badParameter(name: "min-p", reason: "\(minP) is not in [0, 1]") }
        guard repetitionPenalty.isFinite, InputBounds.repetitionPenalty.contains(repetitionPenalty) else {
            throw .badParameter(name: "repetition penalty", reason: "\(repetitionPenalty) is not in \(InputBounds.repetitionPenalty)")
        }
        for (name, v) in [("presence penalty", presencePenalty), ("frequency penalty", frequencyPenalty)] where !(v.isFinite && (-2...2).contains(v)) {
            throw .badParameter(name: name, reason: "\(v) is not in -2...2")
        }
        guard repetitionWindow == 0 || InputBounds.contextTokens.contains(repetitionWindow) else {
            throw .badParameter(name: "repetition window", reason: "\(repetitionWindow) is not in 0...\(InputBounds.contextTokens.upperBound)")
        }
    }
}

/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }
}

/// Picks tokens from logits: repetition penalty, then top-k, top-p, min-p, temperature and a seeded
/// draw (the order of llama.cpp's default sampler chain); greedy argmax at temperature 0.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SeededGenerator

    public init(_ parameters: SamplingParameters) throws(RuntimeError) {
        try parameters.validate()
        self.parameters = parameters
        rng = SeededGenerator(seed: parameters.seed)
    }

    /// Index of the largest logit (lowest index on ties).
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for (i, v) in logits.enumerated() where v > bestValue { best = i; bestValue = v }
        return best
    }

    /// The ids of the k largest logits, largest first (ties: lower id first): one pass keeping the
    /// k best in a heap, then a sort of those k. A full sort of a 49K-128K vocabulary per token
    /// took as long as a small model's forward pass.
    public static func topK(_ logits: [Float], _ k: Int) -> [Int] {
        func better(_ a: Int, _ b: Int) -> Bool { logits[a] > logits[b] || (logits[a] == logits[b] && a < b) }
        var heap: [Int] = []   // a min-heap by `better`: heap[0] is the worst kept
        heap.reserveCapacity(k)
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var worst = i
                if l < heap.count, better(heap[worst], heap[l]) { worst = l }
                if r < heap.count, better(heap[worst], heap[r]) { worst = r }
                if worst == i { return }
                heap.swapAt(i, worst)
                i = worst
            }
        }
        for i in logits.indices {
            if heap.count < k {
                heap.append(i)
                var c = heap.count - 1
                while c > 0 {
                    let parent = (c - 1) / 2
                    guard better(heap[parent], heap[c]) else { break }
                    heap.swapAt(parent, c)
                    c = parent
                }
            } else if better(i, heap[0]) {
                heap[0] = i
                siftDown(0)
            }
        }
        return heap.sorted(by: better)
    }

    /// Chooses the next token. `recent` are the tokens seen so far (prompt and generated).
    public mutating func sample(_ logits: [Float], recent: [Int32]) -> Int32 {
        let p = parameters
        var logits = logits
        if p.repetitionWindow > 0, p.repetitionPenalty != 1 || p.presencePenalty != 0 || p.frequencyPenalty != 0 {
            // As llama.cpp's penalties sampler: the repetition penalty scales, then the frequency
            // and presence penalties subtract, over the window's tokens.
            var counts: [Int32: Int] = [:]
            for t in recent.suffix(p.repetitionWindow) where Int(t) < logits.count && t >= 0 { counts[t, default: 0] += 1 }
            for (t, n) in counts {
                var v = logits[Int(t)]
                if p.repetitionPenalty != 1 { v = v > 0 ? v / p.repetitionPenalty : v * p.repetitionPenalty }
                logits[Int(t)] = v - Float(n) * p.frequencyPenalty - p.presencePenalty
            }
        }
        if p.temperature <= 0 { return Int32(Self.argmax(logits)) }

        // Candidates sorted by logit, highest first (ties: lower id first); only the top k when set.
        var idx = p.topK > 0 && p.topK < logits.count
            ? Self.topK(logits, p.topK)
            : Array(0..<logits.count).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        // Probabilities at temperature 1 for top-p and min-p (as llama.cpp applies them before temp).
        let maxLogit = logits[idx[0]]
        var probs = idx.map { expf(logits[$0] - maxLogit) }
        var sum = probs.reduce(0, +)
        if p.topP < 1 {
            var cum: Float = 0
            var keep = probs.count
            for (i, pr) in probs.enumerated() {
                cum += pr / sum
                if cum >= p.topP { keep = i + 1; break }
            }
            idx.removeSubrange(keep...)
            probs.removeSubrange(keep...)
            sum = probs.reduce(0, +)
        }
        if p.minP > 0 {
            let threshold = p.minP * probs[0]
            let keep = max(1, probs.firstIndex { $0 < threshold } ?? probs.count)
            idx.removeSubrange(keep...)
            probs.removeSubrange(keep...)
        }
        // Temperature, then a draw.
        let weights = idx.map { expf((logits[$0] - maxLogit) / p.temperature) }
        let total = weights.reduce(0, +)
        var r = Float(Double(rng.next() >> 11) / Double(1 << 53)) * total
        for (i, w) in weights.enumerated() {
            r -= w
            if r <= 0 { return Int32(idx[i]) }
        }
        return Int32(idx[idx.count - 1])
    }
}

#if canImport(Glibc)
import Glibc
#endif
