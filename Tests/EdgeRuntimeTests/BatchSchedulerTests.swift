import EdgeCore
import EdgeDevices
import EdgeRuntime
import Foundation
import XCTest

/// Continuous batching: several sequences through one forward pass give each the logits and the
/// text it gets alone; the scheduler's slots, queue, cancellation, prefix reuse and stop strings.
final class BatchSchedulerTests: XCTestCase {
    private var directory: URL!
    private var path: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("tiny.gguf").path
        try ModelSynthesizer(shape: ModelSynthesizerTests.tinyLlama, type: .q8_0, seed: 11).write(toFile: path)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private func engine(_ path: String, context: Int = 256) throws -> Engine {
        try Engine(modelPath: path, options: EngineOptions(threads: min(2, WorkerPool.allowedCPUs().count), contextLength: context))
    }

    private static let prompts: [[Int32]] = [
        [1, 17, 99, 42, 7, 250, 7, 3, 88, 120, 5, 61, 9],
        [1, 4, 200],
        [1, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52],
        [1, 2],
    ]

    /// Token ids and text of one stream, and its figures.
    private static func collect(_ stream: AsyncThrowingStream<GenerationEvent, Error>) async throws -> (ids: [Int32], text: String, stats: GenerationStats) {
        var ids: [Int32] = [], text = "", stats: GenerationStats?
        for try await event in stream {
            switch event {
            case let .token(id, t):
                if id >= 0 { ids.append(id) }
                text += t
            case let .finished(s): stats = s
            }
        }
        return (ids, text, try XCTUnwrap(stats, "the stream ended without its figures"))
    }

    func testSequencesInOneBatchGetTheLogitsTheyGetAlone() async throws {
        let engine = try engine(path)
        let pass = try ForwardPass(weights: engine.model.weights, contextLength: 64, maxBatch: 64)
        let caches = try Self.prompts.map { _ in try pass.makeCache() }
        // Alone: each prompt through the pass's own cache, then one more token.
        var alone: [[Float]] = []
        for p in Self.prompts {
            pass.reset()
            let first = try await engine.node.run { pool in try pass.evaluate(p, allLogits: false, pool: pool) }
            let next = try await engine.node.run { pool in try pass.evaluate([7], allLogits: false, pool: pool) }
            alone.append(first + next)
        }
        // Together: all prompts in one step, then one token each in the next.
        let vocab = engine.model.config.vocabularySize
        let sequences = Array(zip(caches, Self.prompts)).map { (cache: $0.0, tokens: $0.1) }
        let step1 = try await engine.node.run { pool in try pass.evaluate(sequences, pool: pool) }
        let step2 = try await engine.node.run { pool in try pass.evaluate(caches.map { (cache: $0, tokens: [Int32(7)]) }, pool: pool) }
        XCTAssertEqual(step1.count, Self.prompts.count * vocab)
        for k in Self.prompts.indices {
            let together = Array(step1[k * vocab..<(k + 1) * vocab]) + Array(step2[k * vocab..<(k + 1) * vocab])
            let differing = zip(alone[k], together).filter { $0.0.bitPattern != $0.1.bitPattern }.count
            XCTAssertEqual(differing, 0, "sequence \(k): \(differing) logits differ from its run alone")
            XCTAssertEqual(caches[k].filled, Self.prompts[k].count + 1)
        }
        // A step may not name one cache twice, nor exceed the pass's batch.
        await XCTAssertThrowsErrorAsync(try await engine.node.run { pool in
            try pass.evaluate([(caches[0], [1]), (caches[0], [2])], pool: pool)
        })
        await XCTAssertThrowsErrorAsync(try await engine.node.run { pool in
            try pass.evaluate([(caches[1], [Int32](repeating: 3, count: 65))], pool: pool)
        })
    }

    func testConcurrentStreamsGiveTheTextTheyGiveAlone() async throws {
        let engine = try engine(path)
        var alone: [[Int32]] = []
        for p in Self.prompts {
            let session = try engine.makeSession()
            var ids: [Int32] = []
            for try await case let .token(id, _) in session.generate(prompt: p, maxTokens: 24) where id >= 0 { ids.append(id) }
            alone.append(ids)
        }
        var options = SchedulerOptions(parallel: 4, maxQueue: 4)
        options.promptChunk = 5   // prompts cut in chunks between other slots' tokens
        let scheduler = try BatchScheduler(engine: engine, options: options)
        let streams = try Self.prompts.map { try scheduler.submit(GenerationRequest(prompt: $0, maxTokens: 24)) }
        let results = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
            for (k, s) in streams.enumerated() { group.addTask { (k, try await Self.collect(s).ids) } }
            var out = [[Int32]](repeating: [], count: streams.count)
            for try await (k, ids) in group { out[k] = ids }
            return out
        }
        for k in Self.prompts.indices {
            XCTAssertEqual(results[k], alone[k], "stream \(k) differs from the same prompt generated alone")
        }
        await scheduler.drained()
        XCTAssertEqual(scheduler.load, SchedulerLoad(running: 0, queued: 0))
    }

    func testSampledStreamsWithASeedRepeat() async throws {
        let engine = try engine(path)
        let scheduler = try BatchScheduler(engine: engine, options: SchedulerOptions(parallel: 2, maxQueue: 2))
        var sampling = SamplingParameters()
        sampling.temperature = 1.0
        sampling.seed = 42
        let request = GenerationRequest(prompt: Self.prompts[0], maxTokens: 20, sampling: sampling)
        let a = try scheduler.submit(request), b = try scheduler.submit(request)
        async let ra = Self.collect(a)
        async let rb = Self.collect(b)
        let (x, y) = try await (ra, rb)
        XCTAssertEqual(x.ids, y.ids, "the same seed gives the same tokens, in any slot")
        XCTAssertEqual(x.ids.count, 20)
    }

    func testAFullQueueIsRefusedAndACancelledStreamFreesItsSlot() async throws {
        let engine = try engine(path)
        let scheduler = try BatchScheduler(engine: engine, options: SchedulerOptions(parallel: 1, maxQueue: 1))
        let long = try scheduler.submit(GenerationRequest(prompt: Self.prompts[0], maxTokens: 200))
        let queued = try scheduler.submit(GenerationRequest(prompt: Self.prompts[1], maxTokens: 4))
        XCTAssertThrowsError(try scheduler.submit(GenerationRequest(prompt: Self.prompts[2], maxTokens: 4))) { error in
            XCTAssertEqual(error as? SchedulerError, .queueFull(slots: 1, queueLength: 1))
        }
        // Read two tokens of the long stream, then drop it.
        let consumer = Task {
            var n = 0
            for try await event in long {
                if case .token = event { n += 1 }
                if n == 2 { break }
            }
            return n
        }
        let read = try await consumer.value
        XCTAssertEqual(read, 2)
        // The queued request gets the slot long before 200 tokens would have been generated.
        let result = try await Self.collect(queued)
        XCTAssertEqual(result.stats.generatedTokens, 4)
        await scheduler.drained()
        XCTAssertEqual(scheduler.load, SchedulerLoad(running: 0, queued: 0))
        XCTAssertNoThrow(try scheduler.submit(GenerationRequest(prompt: Self.prompts[2], maxTokens: 1)))
        await scheduler.drained()
    }

    func testAPromptLongerThanTheContextIsRefusedWithBothNumbers() throws {
        let engine = try engine(path, context: 32)
        let scheduler = try BatchScheduler(engine: engine)
        XCTAssertThrowsError(try scheduler.submit(GenerationRequest(prompt: [Int32](repeating: 5, count: 30), maxTokens: 8))) { error in
            XCTAssertEqual(error as? RuntimeError, .promptTooLong(promptTokens: 30, requestedTokens: 8, contextLength: 32))
        }
        XCTAssertThrowsError(try scheduler.submit(GenerationRequest(prompt: [], maxTokens: 8)))
        scheduler.close()
        XCTAssertThrowsError(try scheduler.submit(GenerationRequest(prompt: [1], maxTokens: 1))) { error in
            XCTAssertEqual(error as? SchedulerError, .closed)
        }
    }

    func testAFollowUpReusesTheSlotsPrefixAndGivesTheSameText() async throws {
        let engine = try engine(path)
        let scheduler = try BatchScheduler(engine: engine, options: SchedulerOptions(parallel: 1, maxQueue: 1))
        let first = try await Self.collect(try scheduler.submit(GenerationRequest(prompt: Self.prompts[0], maxTokens: 6)))
        XCTAssertEqual(first.stats.cachedPromptTokens, 0)
        // The conversation goes on: the previous prompt and answer, then more.
        let followUp = Self.prompts[0] + first.ids + [9, 10, 11]
        let second = try await Self.collect(try scheduler.submit(GenerationRequest(prompt: followUp, maxTokens: 8)))
        // Every token evaluated before stays (the last sampled token was never evaluated).
        XCTAssertEqual(second.stats.cachedPromptTokens, Self.prompts[0].count + first.ids.count - 1)
        let fresh = try BatchScheduler(engine: engine)
        let reference = try await Self.collect(try fresh.submit(GenerationRequest(prompt: followUp, maxTokens: 8)))
        XCTAssertEqual(reference.stats.cachedPromptTokens, 0)
        XCTAssertEqual(second.ids, reference.ids, "reusing the cached prefix changes no token")
    }

    func testAStopStringEndsTheTextAndNeverAppears() async throws {
        let engine = try engine(path)
        let scheduler = try BatchScheduler(engine: engine)
        let full = try await Self.collect(try scheduler.submit(GenerationRequest(prompt: Self.prompts[2], maxTokens: 40)))
        let scalars = Array(full.text.unicodeScalars)
        guard scalars.count >= 12 else { throw XCTSkip("the tiny model's 40 tokens made only \(scalars.count) characters") }
        // A stop string from the middle of the text: the output is what came before it.
        var stopView = String.UnicodeScalarView()
        stopView.append(contentsOf: scalars[6..<10])
        let stop = String(stopView)
        let cut = try await Self.collect(try scheduler.submit(GenerationRequest(prompt: Self.prompts[2], maxTokens: 40, stop: [stop, "never generated \u{1}"])))
        let expected = String(full.text[..<full.text.range(of: stop)!.lowerBound])
        XCTAssertEqual(cut.text, expected)
        XCTAssertFalse(cut.text.contains(stop))
        XCTAssertEqual(cut.stats.stopReason, .stopString)
    }

    func testTheStopMatcherHoldsBackAPossibleStart() {
        var m = StopMatcher(["</s>", "STOP"])
        XCTAssertEqual(m.feed("Hello <").release, "Hello ")
        XCTAssertEqual(m.feed("/").release, "")
        XCTAssertEqual(m.feed("x>").release, "</x>", "not a stop string after all")
        XCTAssertEqual(m.feed("ST").release, "")
        let end = m.feed("OP and more")
        XCTAssertEqual(end.release, "")
        XCTAssertTrue(end.stopped)
        var n = StopMatcher(["ab"])
        XCTAssertEqual(n.feed("xa").release, "x")
        XCTAssertEqual(n.finish(), "a", "held text comes out at the end")
        var none = StopMatcher([])
        XCTAssertEqual(none.feed("ab").release, "ab")
    }
}

/// XCTAssertThrowsError for an async expression.
func XCTAssertThrowsErrorAsync<T>(_ expression: @autoclosure () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async {
    do {
        _ = try await expression()
        XCTFail("no error was thrown", file: file, line: line)
    } catch {}
}
