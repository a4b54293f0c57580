import EdgeDevices

/// One speed test in the manner of llama.cpp's llama-bench.
///
/// - `pp N` (prompt processing): N token ids evaluated as one prompt from an empty cache, in
///   batches of the engine's batch size; only the last token's logits are computed.
/// - `tg N` (text generation): N tokens evaluated one at a time from an empty context, each a
///   forward pass of one token with its logits.
///
/// The token ids are drawn from a seeded generator over the whole vocabulary before the clock
/// starts, so neither tokenization nor sampling is timed: in `tg` the next token is the next
/// pre-drawn id, not one chosen from the logits (llama-bench does the same with `rand()`).
public struct BenchmarkTest: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable { case prompt, generation }

    public let kind: Kind
    /// Tokens evaluated per repetition (N).
    public let tokens: Int

    public init(_ kind: Kind, tokens: Int) {
        self.kind = kind
        self.tokens = tokens
    }

    /// `pp512`, `tg128`: llama-bench's names.
    public var description: String { (kind == .prompt ? "pp" : "tg") + "\(tokens)" }
    /// Positions of context the test fills.
    public var positions: Int { tokens }
}

/// The timed repetitions of one test on one engine.
public struct BenchmarkResult: Sendable {
    public let test: BenchmarkTest
    /// Threads of the engine's pool.
    public let threads: Int
    /// Most tokens in one batch.
    public let batchSize: Int
    /// Wall-clock seconds of each timed repetition (evaluation only).
    public let sampleSeconds: [Double]
    /// Bytes read from disk per evaluated token over the timed repetitions; nil when no weight streams.
    public let streamedBytesPerToken: Double?
    /// Fraction of feed-forward neurons the sparse feed-forward computed over the timed
    /// repetitions; nil when it is off.
    public var feedForwardDensity: Double?

    public init(test: BenchmarkTest, threads: Int, batchSize: Int, sampleSeconds: [Double], streamedBytesPerToken: Double? = nil,
                feedForwardDensity: Double? = nil) {
        self.feedForwardDensity = feedForwardDensity
        self.test = test
        self.threads = threads
        self.batchSize = batchSize
        self.sampleSeconds = sampleSeconds
        self.streamedBytesPerToken = streamedBytesPerToken
    }

    /// Tokens per second of each repetition.
    public var sampleTokensPerSecond: [Double] { sampleSeconds.map { Double(test.tokens) / $0 } }
    public var meanSeconds: Double { Self.mean(sampleSeconds) }
    public var standardDeviationSeconds: Double { Self.standardDeviation(sampleSeconds) }
    /// Mean of the per-repetition rates (as llama-bench's `avg_ts`, not tokens over mean time).
    public var meanTokensPerSecond: Double { Self.mean(sampleTokensPerSecond) }
    public var standardDeviationTokensPerSecond: Double { Self.standardDeviation(sampleTokensPerSecond) }

    public static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }

    /// Sample standard deviation (n - 1 in the denominator, as llama-bench); 0 for fewer than two values.
    public static func standardDeviation(_ xs: [Double]) -> Double {
        guard xs.count > 1 else { return 0 }
        let m = mean(xs)
        return (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)).squareRoot()
    }
}

/// Runs ``BenchmarkTest``s on an engine. Measures; never prints.
public enum Benchmark {
    /// Seed of the token ids every test evaluates.
    public static let defaultSeed: UInt64 = 0x5eed_1234

    /// Runs `test` `repetitions` times on a fresh sequence state of `engine`, after one untimed
    /// warm-up run of the same test when `warmup` is set. The state is cleared before every run.
    /// `progress` is called after each timed repetition with its index (from 0) and seconds.
    /// - Parameter feedForward: the sparse feed-forward to run instead of the engine's own (a
    ///   calibration compares levels); `.some(nil)` runs dense.
    public static func run(_ test: BenchmarkTest, on engine: Engine, repetitions: Int, warmup: Bool = true,
                           seed: UInt64 = defaultSeed, feedForward: SparseFeedForward?? = .none,
                           progress: @Sendable (Int, Double) -> Void = { _, _ in }) async throws -> BenchmarkResult {
        guard test.tokens >= 1 else { throw RuntimeError.badParameter(name: "benchmark test", reason: "\(test) evaluates no token") }
        guard repetitions >= 1 else { throw RuntimeError.badParameter(name: "repetitions", reason: "\(repetitions) < 1") }
        guard test.positions <= engine.contextLength else {
            throw RuntimeError.badParameter(name: "benchmark test",
                                            reason: "\(test) needs \(test.positions) positions but the context holds \(engine.contextLength)")
        }
        let pass = try ForwardPass(weights: engine.model.weights, contextLength: engine.contextLength,
                                   maxBatch: engine.batchSize, f32Activations: engine.options.f32Activations,
                                   placement: engine.placement, peers: engine.peers, gpu: engine.gpuLayers, gpuSplit: engine.gpuSplit)
        pass.sparse = feedForward ?? engine.sparse
        var rng = SeededGenerator(seed: seed)
        let vocab = Int32(engine.model.config.vocabularySize)
        let ids = (0..<test.tokens).map { _ in Int32.random(in: 0..<vocab, using: &rng) }
        let kind = test.kind

        // One repetition on the node's driver thread: seconds of evaluation only.
        let once: @Sendable (WorkerPool) throws -> Double = { pool in
            pass.reset()
            let t0 = monotonicSeconds()
            switch kind {
            case .prompt:
                _ = try pass.evaluate(ids, allLogits: false, pool: pool)
            case .generation:
                for id in ids { _ = try pass.evaluate([id], allLogits: false, pool: pool) }
            }
            return monotonicSeconds() - t0
        }

        if warmup { _ = try await engine.node.run(once) }
        let scheduler = engine.placement.scheduler
        let before = scheduler?.statistics()
        let countsBefore = pass.sparseCounts
        var samples: [Double] = []
        for r in 0..<repetitions {
            let s = try await engine.node.run(once)
            samples.append(s)
            progress(r, s)
        }
        var streamed: Double?
        if let scheduler, let before {
            let read = scheduler.statistics().bytesLoaded - before.bytesLoaded
            streamed = Double(read) / Double(test.tokens * repetitions)
        }
        let counts = pass.sparseCounts
        let evaluated = counts.total - countsBefore.total
        return BenchmarkResult(test: test, threads: engine.node.pool.threadCount, batchSize: engine.batchSize,
                               sampleSeconds: samples, streamedBytesPerToken: streamed,
                               feedForwardDensity: pass.sparse == nil || evaluated == 0 ? nil
                                   : Double(counts.selected - countsBefore.selected) / Double(evaluated))
    }
}
