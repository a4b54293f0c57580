import Foundation
import EdgeTokenizer
import EdgeDevices

/// Why generation stopped.
public enum StopReason: String, Sendable {
    case endOfGeneration = "end of generation token"
    case maxTokens = "token limit"
    case cancelled = "cancelled"
    /// A stop string of the request was generated (it is not part of the output).
    case stopString = "stop string"
    /// The request's time limit passed (``GenerationRequest/timeLimit``).
    case timeLimit = "time limit"
    /// The server shut down before the request ended (``BatchScheduler/cancelAll(reason:)``).
    case shutdown = "shutdown"
}

/// Figures of one generation.
public struct GenerationStats: Sendable {
    public var promptTokens = 0
    /// Prompt tokens whose KV entries were reused from the slot's previous request
    /// (``BatchScheduler``): not evaluated again.
    public var cachedPromptTokens = 0
    /// Seconds from submission to the first generated token (``BatchScheduler``; 0 for a
    /// ``Session``, whose prompt time is `promptSeconds`).
    public var timeToFirstTokenSeconds = 0.0
    public var promptSeconds = 0.0
    public var generatedTokens = 0
    /// Time to evaluate the generated tokens (each one's forward pass after the first is sampled).
    public var generationSeconds = 0.0
    public var evaluatedGenerationTokens = 0
    public var stopReason = StopReason.maxTokens
    public var peakResidentBytes: Int?
    /// Weight streaming while generating (nil when nothing streams).
    public var streaming: StreamingFigures?

    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    public var generationTokensPerSecond: Double {
        generationSeconds > 0 ? Double(evaluatedGenerationTokens) / generationSeconds : 0
    }
}

/// What the weight scheduler did during the generation phase (tokens after the first).
public struct StreamingFigures: Sendable {
    /// Forward passes (one per generated token evaluated).
    public var passes = 0
    /// Bytes read from disk.
    public var bytesRead = 0
    /// Seconds the loader spent reading.
    public var loadSeconds = 0.0
    /// Seconds compute waited for a block: reading not hidden behind compute.
    public var exposedSeconds = 0.0

    public var bytesPerToken: Double { passes > 0 ? Double(bytesRead) / Double(passes) : 0 }
    /// Reading that overlapped compute.
    public var hiddenSeconds: Double { max(0, loadSeconds - exposedSeconds) }

    init(from a: SchedulerStatistics, to b: SchedulerStatistics, passes: Int) {
        self.passes = passes
        bytesRead = b.bytesLoaded - a.bytesLoaded
        loadSeconds = b.loadSeconds - a.loadSeconds
        exposedSeconds = b.exposedSeconds - a.exposedSeconds
    }
}

/// What a generation stream yields.
public enum GenerationEvent: Sendable {
    /// A generated token and the text it completes (may be empty while a UTF-8 character is split).
    case token(id: Int32, text: String)
    /// The end, with its figures.
    case finished(GenerationStats)
}

/// One sequence: its KV cache and the tokens evaluated so far. Calls are serialised by the actor;
/// the computation itself runs on the engine's CPU node.
public actor Session {
    public nonisolated let engine: Engine
    private let pass: ForwardPass
    /// Tokens evaluated so far.
    public private(set) var history: [Int32] = []

    init(engine: Engine) throws {
        self.engine = engine
        pass = try ForwardPass(weights: engine.model.weights, contextLength: engine.contextLength,
                               maxBatch: engine.batchSize, f32Activations: engine.options.f32Activations,
                               placement: engine.placement, peers: engine.peers, gpu: engine.gpuLayers, gpuSplit: engine.gpuSplit)
        pass.sparse = engine.sparse
    }

    /// Runs the engine's sparse feed-forward (when it has one) or the dense one, from the next
    /// evaluation on (perplexity compares the two on one session).
    public func useSparseFeedForward(_ on: Bool) { pass.sparse = on ? engine.sparse : nil }

    /// Runs this sparse feed-forward (made for the engine's model), or the dense one with nil.
    public func useSparseFeedForward(_ ffn: SparseFeedForward?) { pass.sparse = ffn }

    /// Neurons the sparse feed-forward selected and evaluated so far.
    public var sparseCounts: (selected: Int, total: Int) { pass.sparseCounts }

    /// Called with (layer, gate, up, rows) at each dense SwiGLU (``ForwardPass/feedForwardObserver``).
    public func observeFeedForward(_ observer: (@Sendable (Int, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Void)?) {
        pass.feedForwardObserver = observer
    }

    /// Positions left in the context.
    public var remainingContext: Int { engine.contextLength - history.count }

    /// Forgets everything evaluated.
    public func reset() {
        pass.reset()
        history.removeAll()
    }

    /// Appends `tokens` to the sequence and returns the logits of the last one (vocab), or of every
    /// one ((tokens.count, vocab) row-major) with `allLogits`.
    public func evaluate(_ tokens: [Int32], allLogits: Bool = false) async throws -> [Float] {
        let pass = self.pass
        let out = try await engine.node.run { pool in try pass.evaluate(tokens, allLogits: allLogits, pool: pool) }
        history += tokens
        return out
    }

    /// Evaluates `prompt`, then samples up to `maxTokens` tokens, streaming them. Stops early at an
    /// end-of-generation token. Cancelling the consuming task (or dropping the stream) stops it
    /// before the next token.
    public nonisolated func generate(prompt: [Int32], maxTokens: Int,
                                     sampling: SamplingParameters = .greedy) -> AsyncThrowingStream<GenerationEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await self.runGeneration(prompt: prompt, maxTokens: maxTokens, sampling: sampling) {
                        continuation.yield($0)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func runGeneration(prompt: [Int32], maxTokens: Int, sampling: SamplingParameters,
                               emit: @escaping @Sendable (GenerationEvent) -> Void) async throws {
        guard !prompt.isEmpty else { throw RuntimeError.emptyPrompt }
        guard maxTokens >= 0 else { throw RuntimeError.badParameter(name: "token count", reason: "\(maxTokens) is negative") }
        // The last sampled token is not evaluated, so prompt + maxTokens - 1 positions are needed;
        // we ask for prompt + maxTokens, as llama.cpp's check does, to leave it room.
        // Written so that no `maxTokens` can overflow the sum.
        guard maxTokens <= engine.contextLength - history.count - prompt.count else {
            throw RuntimeError.promptTooLong(promptTokens: history.count + prompt.count, requestedTokens: maxTokens,
                                             contextLength: engine.contextLength)
        }
        let initialSampler = try Sampler(sampling)
        let tokenizer = engine.tokenizer
        var stats = GenerationStats()
        stats.promptTokens = prompt.count

        let t0 = monotonicSeconds()
        let first = try await evaluate(prompt)
        stats.promptSeconds = monotonicSeconds() - t0

        // The token loop runs on the node's driver thread as one job: sampling, decoding and each
        // next forward pass without a hop between threads per token (two wake-ups through the
        // actors and the driver's queue cost ~0.1-0.8 ms a token on this project's VM, as much as a
        // small model's whole pass). Cancellation is checked before every token.
        let pass = self.pass
        let scheduler = engine.placement.scheduler
        let stop = CancelFlag()
        let start = history
        let promptStats = stats
        let loop = try await withTaskCancellationHandler {
            try await engine.node.run { pool -> TokenLoopResult in
                var stats = promptStats
                var sampler = initialSampler
                var decoder = StreamingDecoder(tokenizer: tokenizer)
                var recent = start
                var ids: [Int32] = []
                var logits = first
                var genStart = monotonicSeconds()
                var streamStart = scheduler?.statistics()
                var generated = 0
                while generated < maxTokens {
                    if stop.isSet { stats.stopReason = .cancelled; break }
                    let token = sampler.sample(logits, recent: recent)
                    generated += 1
                    if tokenizer.isEndOfGeneration(token) {
                        stats.stopReason = .endOfGeneration
                        break
                    }
                    emit(.token(id: token, text: decoder.append(token)))
                    if generated == maxTokens { break }
                    if generated == 1 {
                        genStart = monotonicSeconds()
                        streamStart = scheduler?.statistics()
                    }
                    do {
                        logits = try pass.evaluate([token], allLogits: false, pool: pool)
                    } catch {
                        // The tokens evaluated so far are in the cache: keep them in the history.
                        return TokenLoopResult(ids: ids, stats: stats, failure: error)
                    }
                    recent.append(token)
                    ids.append(token)
                    stats.evaluatedGenerationTokens += 1
                }
                stats.generationSeconds = monotonicSeconds() - genStart
                stats.generatedTokens = generated
                if let scheduler, let streamStart {
                    stats.streaming = StreamingFigures(from: streamStart, to: scheduler.statistics(), passes: stats.evaluatedGenerationTokens)
                }
                let tail = decoder.finish()
                if !tail.isEmpty { emit(.token(id: -1, text: tail)) }
                return TokenLoopResult(ids: ids, stats: stats, failure: nil)
            }
        } onCancel: {
            stop.set()
        }
        history += loop.ids
        if let failure = loop.failure { throw failure }
        stats = loop.stats
        stats.peakResidentBytes = ProcessMemory.peakResidentBytes()
        emit(.finished(stats))
    }
}

/// What the token loop did: the tokens evaluated (now in the cache), its figures, and the error
/// that stopped it, if one did.
private struct TokenLoopResult: Sendable {
    let ids: [Int32]
    let stats: GenerationStats
    let failure: (any Error)?
}

/// Set once, from any thread; read by the token loop before every token.
private final class CancelFlag: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `value` is only touched with `lock` held.
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
