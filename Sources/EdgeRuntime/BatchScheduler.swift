import Foundation
import EdgeDevices
import EdgeTokenizer

/// One generation asked of a ``BatchScheduler``.
public struct GenerationRequest: Sendable {
    /// Token ids of the prompt (at least one).
    public var prompt: [Int32]
    /// Most tokens to generate.
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Generation stops before the first of these strings; none of it is output.
    public var stop: [String]
    /// Seconds the request may take from submission; past them it ends with
    /// ``StopReason/timeLimit`` at the next step (nil: no limit).
    public var timeLimit: Double?

    public init(prompt: [Int32], maxTokens: Int, sampling: SamplingParameters = .greedy, stop: [String] = [],
                timeLimit: Double? = nil) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
        self.timeLimit = timeLimit
    }
}

/// A request accepted by ``BatchScheduler/schedule(_:)``: its events, and a way to end it early
/// (the events then end with ``StopReason/cancelled`` figures at the next step).
public struct ScheduledGeneration: Sendable {
    public let events: AsyncThrowingStream<GenerationEvent, Error>
    fileprivate let job: Job

    /// Ends the request at the next step; its slot is free for the next request.
    public func cancel() { job.cancel() }
}

/// How a ``BatchScheduler`` shares its engine.
public struct SchedulerOptions: Sendable {
    /// Sequence slots: requests generating at once, each with its own KV cache.
    public var parallel: Int = 1
    /// Requests that may wait for a slot; beyond them ``BatchScheduler/submit(_:)`` throws
    /// ``SchedulerError/queueFull(slots:queueLength:)``.
    public var maxQueue: Int = 16
    /// Most prompt tokens evaluated in one step (with the generating slots' next tokens), so that
    /// running streams keep flowing and a cancelled request leaves within one chunk.
    public var promptChunk: Int = 128
    /// Reuse the longest common prefix of a slot's previous tokens (its KV entries) for the next
    /// request given that slot. Off for models with sliding-window layers (their ring caches do
    /// not keep old positions).
    public var reusePrefix = true

    public init(parallel: Int = 1, maxQueue: Int = 16) {
        self.parallel = parallel
        self.maxQueue = maxQueue
    }
}

/// Why the scheduler refused a request.
public enum SchedulerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Every slot is busy and the queue (of `queueLength` places) is full.
    case queueFull(slots: Int, queueLength: Int)
    /// The scheduler was closed (shutting down) and takes no new request.
    case closed

    public var description: String {
        switch self {
        case let .queueFull(s, q): "all \(s) slots are busy and the queue of \(q) is full: try again later"
        case .closed: "the server is shutting down and takes no new request"
        }
    }
}

/// What the scheduler holds now.
public struct SchedulerLoad: Sendable, Equatable {
    /// Requests in a slot (evaluating their prompt or generating).
    public var running: Int
    /// Requests waiting for a slot.
    public var queued: Int

    public init(running: Int, queued: Int) {
        self.running = running
        self.queued = queued
    }
}

/// Continuous batching over one loaded model: up to `parallel` sequences, each with its own KV
/// cache, advance together one step at a time, and each step reads every weight once for all of
/// them (one matrix product of a row per sequence: the x16 kernels tile over rows). A new request
/// joins between steps; a long prompt is evaluated in chunks of ``SchedulerOptions/promptChunk``
/// tokens while others generate. A request whose consumer goes away (the stream is dropped or its
/// task cancelled) leaves its slot at the next step.
///
/// The steps run on the engine's CPU node's driver thread as one job while any request is in a
/// slot; a ``Session`` of the same engine waits for that job to end.
///
/// Invariant for `@unchecked Sendable`: `queue`, `active`, `looping` and `isClosed` are touched
/// only with `lock` held; `slots` and the pass only by the step loop, which runs on one thread at
/// a time (the driver thread, started only when `looping` was false).
public final class BatchScheduler: @unchecked Sendable {
    public let engine: Engine
    public let options: SchedulerOptions
    private let pass: ForwardPass
    private let slots: [Slot]
    private let reusePrefix: Bool
    private let lock = NSLock()
    private var queue: [Job] = []
    /// The jobs in slots (for ``cancelAll()``).
    private var active: [Job] = []
    private var running: Int { active.count }
    private var looping = false
    private var isClosed = false

    public init(engine: Engine, options: SchedulerOptions = SchedulerOptions()) throws {
        guard (1...256).contains(options.parallel) else {
            throw RuntimeError.badParameter(name: "parallel", reason: "\(options.parallel) slots is not in 1...256")
        }
        guard (0...100_000).contains(options.maxQueue) else {
            throw RuntimeError.badParameter(name: "queue length", reason: "\(options.maxQueue) is not in 0...100000")
        }
        guard options.promptChunk >= 1 else {
            throw RuntimeError.badParameter(name: "prompt chunk", reason: "\(options.promptChunk) is not positive")
        }
        guard engine.batchSize >= options.parallel else {
            throw RuntimeError.badParameter(name: "parallel", reason: "\(options.parallel) slots need a batch of at least \(options.parallel) tokens; the engine's is \(engine.batchSize)")
        }
        self.engine = engine
        self.options = options
        pass = try ForwardPass(weights: engine.model.weights, contextLength: engine.contextLength,
                               maxBatch: engine.batchSize, f32Activations: engine.options.f32Activations,
                               placement: engine.placement, peers: engine.peers, gpu: engine.gpuLayers, gpuSplit: engine.gpuSplit)
        pass.sparse = engine.sparse
        var slots = [Slot(cache: pass.kv)]
        for _ in 1..<options.parallel { slots.append(Slot(cache: try pass.makeCache())) }
        self.slots = slots
        reusePrefix = options.reusePrefix && !engine.model.weights.layers.contains { $0.program.attention.window != nil }
    }

    /// Requests in slots and waiting.
    public var load: SchedulerLoad {
        lock.withLock { SchedulerLoad(running: running, queued: queue.count) }
    }

    /// Queues `request`; its tokens (and then its figures) arrive on the stream. Throws at once when
    /// the request cannot run (a prompt longer than the context, a bad sampling parameter) or
    /// cannot wait (``SchedulerError``). Dropping the stream, or cancelling the task iterating it,
    /// frees the request's slot at the next step.
    public func submit(_ request: GenerationRequest) throws -> AsyncThrowingStream<GenerationEvent, Error> {
        try schedule(request).events
    }

    /// As ``submit(_:)``, with a handle that can end the request without dropping its stream.
    public func schedule(_ request: GenerationRequest) throws -> ScheduledGeneration {
        guard !request.prompt.isEmpty else { throw RuntimeError.emptyPrompt }
        guard request.maxTokens >= 0 else {
            throw RuntimeError.badParameter(name: "token count", reason: "\(request.maxTokens) is negative")
        }
        let vocab = engine.model.config.vocabularySize
        if let bad = request.prompt.first(where: { $0 < 0 || Int($0) >= vocab }) {
            throw RuntimeError.tokenOutOfRange(id: bad, vocabularySize: vocab)
        }
        // As Session: the prompt and every token to generate need a position.
        guard request.maxTokens <= engine.contextLength - request.prompt.count else {
            throw RuntimeError.promptTooLong(promptTokens: request.prompt.count, requestedTokens: request.maxTokens,
                                             contextLength: engine.contextLength)
        }
        let sampler = try Sampler(request.sampling)
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, Error>.makeStream()
        let job = Job(request: request, sampler: sampler, continuation: continuation)
        let start: Bool = try lock.withLock {
            if isClosed { throw SchedulerError.closed }
            guard running + queue.count < slots.count + options.maxQueue else {
                throw SchedulerError.queueFull(slots: slots.count, queueLength: options.maxQueue)
            }
            queue.append(job)
            defer { looping = true }
            return !looping
        }
        continuation.onTermination = { _ in job.cancel() }
        if start { startLoop() }
        return ScheduledGeneration(events: stream, job: job)
    }

    /// Takes no new request (``SchedulerError/closed``); the ones queued and running go on.
    public func close() {
        lock.withLock { isClosed = true }
    }

    /// Ends every running and queued request at the next step, with `reason` in its figures
    /// (``StopReason/cancelled`` by default; a server cutting requests short at shutdown says so).
    public func cancelAll(reason: StopReason = .cancelled) {
        let jobs: [Job] = lock.withLock { queue + active }
        for job in jobs { job.cancel(reason) }
    }

    /// Returns when no request is running or queued.
    public func drained() async {
        while true {
            let load = self.load
            if load.running == 0 && load.queued == 0 { return }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    private func startLoop() {
        let node = engine.node
        Task.detached { [self] in
            do {
                try await node.run { pool in self.loop(pool: pool) }
            } catch {
                // The node could not run the job: fail everything waiting.
                self.failAll(error)
            }
        }
    }

    private func failAll(_ error: Error) {
        let jobs: [Job] = lock.withLock {
            defer { queue.removeAll(); looping = false }
            return queue
        }
        for job in jobs { job.continuation.finish(throwing: error) }
    }

    // MARK: The step loop (driver thread)

    /// Steps until no request is in a slot or waiting.
    private func loop(pool: WorkerPool) {
        while true {
            admit()
            let active = slots.indices.filter { slots[$0].job != nil }
            if active.isEmpty {
                let done: Bool = lock.withLock {
                    if queue.isEmpty { looping = false; return true }
                    return false
                }
                if done { return }
                continue
            }
            step(active, pool: pool)
        }
    }

    /// Drops cancelled requests and gives free slots to waiting ones, first come first served; each
    /// takes the free slot whose previous tokens share the longest prefix with its prompt.
    private func admit() {
        let now = monotonicSeconds()
        for i in slots.indices {
            guard let job = slots[i].job else { continue }
            if let reason = job.cancelReason { finish(i, reason: reason) } else if job.isPastDeadline(now) { finish(i, reason: .timeLimit) }
        }
        var free = slots.indices.filter { slots[$0].job == nil }
        let (taken, dropped): ([Job], [Job]) = lock.withLock {
            var dropped: [Job] = [], kept: [Job] = []
            for job in queue {
                if job.isCancelled { dropped.append(job) } else { kept.append(job) }
            }
            queue = kept
            let taken = Array(queue.prefix(free.count))
            queue.removeFirst(taken.count)
            active += taken
            return (taken, dropped)
        }
        for job in dropped {
            // Its consumer is gone unless the scheduler itself ended it (shutdown): then it gets
            // its (empty) figures.
            if let reason = job.cancelReason, reason != .cancelled {
                var stats = GenerationStats()
                stats.promptTokens = job.request.prompt.count
                stats.stopReason = reason
                job.continuation.yield(.finished(stats))
            }
            job.continuation.finish()
        }
        for job in taken {
            let now = monotonicSeconds()
            // The free slot sharing the longest prefix (its cached positions stay valid).
            var best = free[0], bestLength = -1
            for i in free {
                let length = reusePrefix ? Self.commonPrefix(slots[i].tokens, job.request.prompt) : 0
                if length > bestLength { best = i; bestLength = length }
            }
            free.removeAll { $0 == best }
            // At least the last prompt token is evaluated: its logits give the first token.
            let reuse = min(max(bestLength, 0), job.request.prompt.count - 1)
            slots[best].assign(job, reuse: reuse, tokenizer: engine.tokenizer, now: now)
        }
    }

    static func commonPrefix(_ a: [Int32], _ b: [Int32]) -> Int {
        var n = 0
        while n < a.count, n < b.count, a[n] == b[n] { n += 1 }
        return n
    }

    /// One forward pass over every active slot's next tokens, then a token sampled for each slot
    /// that finished its prompt.
    private func step(_ active: [Int], pool: WorkerPool) {
        // Generating slots first (one token each), then prompts in chunks from what is left.
        let generating = active.filter { slots[$0].pendingPrompt.isEmpty }
        // Prompt tokens in chunks: a step (and so a cancellation, or another stream's next
        // token) never waits for more than one chunk of a long prompt.
        var room = min(pass.maxBatch - generating.count, options.promptChunk)
        var batch: [(slot: Int, tokens: [Int32])] = generating.map { ($0, [slots[$0].nextToken!]) }
        for i in active where !slots[i].pendingPrompt.isEmpty && room > 0 {
            let take = Array(slots[i].pendingPrompt.prefix(room))
            room -= take.count
            batch.append((i, take))
        }
        let logits: [Float]
        do {
            logits = try pass.evaluate(batch.map { (slots[$0.slot].cache, $0.tokens) }, pool: pool)
        } catch {
            for (i, _) in batch { fail(i, error) }
            return
        }
        let vocab = engine.model.config.vocabularySize
        let now = monotonicSeconds()
        for (k, (i, tokens)) in batch.enumerated() {
            let slot = slots[i]
            slot.tokens += tokens
            if !slot.pendingPrompt.isEmpty && slot.nextToken == nil {
                slot.pendingPrompt.removeFirst(tokens.count)
                if !slot.pendingPrompt.isEmpty { continue }
                slot.stats.promptSeconds = now - slot.assignedAt
            } else {
                slot.stats.evaluatedGenerationTokens += 1
            }
            let row = Array(logits[k * vocab..<(k + 1) * vocab])
            sample(i, logits: row, now: now)
        }
    }

    /// Samples slot `i`'s next token from `logits` and releases its text, or finishes it.
    private func sample(_ i: Int, logits: [Float], now: Double) {
        let slot = slots[i]
        guard let job = slot.job else { return }
        if let reason = job.cancelReason { finish(i, reason: reason); return }
        if job.isPastDeadline(now) { finish(i, reason: .timeLimit); return }
        guard slot.generated < job.request.maxTokens else { finish(i, reason: .maxTokens); return }
        let token = job.sampler.sample(logits, recent: slot.recent)
        slot.generated += 1
        if slot.generated == 1 {
            slot.stats.timeToFirstTokenSeconds = now - job.submittedAt
            slot.generationStart = now
        }
        if engine.tokenizer.isEndOfGeneration(token) { finish(i, reason: .endOfGeneration); return }
        let (text, stopped) = slot.stop.feed(slot.decoder.append(token))
        job.continuation.yield(.token(id: token, text: text))
        if stopped { finish(i, reason: .stopString, flush: false); return }
        if slot.generated == job.request.maxTokens { finish(i, reason: .maxTokens); return }
        slot.recent.append(token)
        slot.nextToken = token
    }

    /// Ends slot `i`'s request: the held text, the figures, the end of its stream; frees the slot.
    private func finish(_ i: Int, reason: StopReason, flush: Bool = true) {
        let slot = slots[i]
        guard let job = slot.job else { return }
        if flush && reason != .cancelled {
            let (tail, stopped) = slot.stop.feed(slot.decoder.finish())
            let rest = stopped ? tail : tail + slot.stop.finish()
            if !rest.isEmpty { job.continuation.yield(.token(id: -1, text: rest)) }
            if stopped {
                return finishJob(i, job, reason: .stopString)
            }
        }
        finishJob(i, job, reason: reason)
    }

    private func finishJob(_ i: Int, _ job: Job, reason: StopReason) {
        let slot = slots[i]
        var stats = slot.stats
        stats.stopReason = reason
        stats.generatedTokens = slot.generated
        if slot.generated > 0 { stats.generationSeconds = monotonicSeconds() - slot.generationStart }
        stats.peakResidentBytes = ProcessMemory.peakResidentBytes()
        job.continuation.yield(.finished(stats))
        job.continuation.finish()
        slot.release()
        lock.withLock { active.removeAll { $0 === job } }
    }

    private func fail(_ i: Int, _ error: Error) {
        let slot = slots[i]
        guard let job = slot.job else { return }
        job.continuation.finish(throwing: error)
        // What the failed pass wrote is not known: forget the sequence.
        slot.release()
        slot.tokens = []
        slot.cache.filled = 0
        lock.withLock { active.removeAll { $0 === job } }
    }
}

/// A request and its stream, shared by the submitter (who may cancel it) and the step loop.
///
/// Invariant for `@unchecked Sendable`: `cancelled` is touched only with `lock` held; `sampler` only
/// by the step loop.
final class Job: @unchecked Sendable {
    let request: GenerationRequest
    var sampler: Sampler
    let continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation
    let submittedAt = monotonicSeconds()
    private let lock = NSLock()
    /// Why it was ended early, once it was.
    private var cancelled: StopReason?

    init(request: GenerationRequest, sampler: Sampler, continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation) {
        self.request = request
        self.sampler = sampler
        self.continuation = continuation
    }

    func cancel(_ reason: StopReason = .cancelled) { lock.withLock { if cancelled == nil { cancelled = reason } } }
    var cancelReason: StopReason? { lock.withLock { cancelled } }
    func isPastDeadline(_ now: Double) -> Bool { request.timeLimit.map { now - submittedAt > $0 } ?? false }
    var isCancelled: Bool { cancelReason != nil }
}

/// A sequence slot: its KV cache, the tokens in it, and the request it serves. Touched only by the
/// step loop.
private final class Slot {
    let cache: KVCache
    /// Tokens whose KV entries are in the cache, in order (kept after a request for prefix reuse).
    var tokens: [Int32] = []
    var job: Job?
    var pendingPrompt: ArraySlice<Int32> = []
    /// The token sampled last, to be evaluated in the next step.
    var nextToken: Int32?
    var recent: [Int32] = []
    var generated = 0
    var decoder: StreamingDecoder!
    var stop = StopMatcher([])
    var stats = GenerationStats()
    var assignedAt = 0.0
    var generationStart = 0.0

    init(cache: KVCache) { self.cache = cache }

    func assign(_ job: Job, reuse: Int, tokenizer: Tokenizer, now: Double) {
        self.job = job
        let prompt = job.request.prompt
        tokens = Array(prompt[..<reuse])
        cache.filled = reuse
        pendingPrompt = prompt[reuse...]
        nextToken = nil
        recent = prompt
        generated = 0
        decoder = StreamingDecoder(tokenizer: tokenizer)
        stop = StopMatcher(job.request.stop)
        stats = GenerationStats()
        stats.promptTokens = prompt.count
        stats.cachedPromptTokens = reuse
        assignedAt = now
    }

    func release() {
        job = nil
        nextToken = nil
        pendingPrompt = []
    }
}
