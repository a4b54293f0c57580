import CEdgeKernels
import EdgeCore
import EdgeRuntime
import Foundation
import XCTest

/// Calibration and the sparse feed-forward on a synthesized model: the statistics file round-trips
/// and is refused for another model; with every neuron selected the sparse path gives the dense
/// logits bit for bit (exact gather); a token at a time (gathered rows, neuron-major W_down) and a
/// batch (dense rows, masked) give the same logits; a real level changes the logits and computes
/// the fraction of neurons it says.
final class SparseFeedForwardTests: XCTestCase {
    private var directory: URL!
    private var path: String!
    private static let ids: [Int32] = [5, 17, 200, 3, 999, 42, 7, 512, 64, 1, 300, 11]

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-sparse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("tiny.gguf").path
        try ModelSynthesizer(shape: ModelSynthesizerTests.tinyLlama, type: .q8_0, seed: 5).write(toFile: path)
    }

    override func tearDownWithError() throws {
        _ = edge_sparse_exact_set(0)
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private func statistics() async throws -> NeuronStatistics {
        let engine = try Engine(modelPath: path, options: EngineOptions(threads: 2, contextLength: 128))
        return try await Calibration.run(engine: engine, text: CalibrationText.builtIn, source: "built-in", tokens: 96, chunkTokens: 48)
    }

    private func engine(_ level: SparsityLevel?, _ stats: NeuronStatistics) throws -> Engine {
        var o = EngineOptions(threads: 2, contextLength: 128)
        if let level { o.sparsity = SparsityRequest(level: level, statistics: .loaded(stats)) }
        return try Engine(modelPath: path, options: o)
    }

    /// Logits of every token: evaluated one at a time, or as one batch.
    private func logits(_ engine: Engine, oneAtATime: Bool) async throws -> [Float] {
        let s = try engine.makeSession()
        if !oneAtATime { return try await s.evaluate(Self.ids, allLogits: true) }
        var out: [Float] = []
        for id in Self.ids { out += try await s.evaluate([id], allLogits: true) }
        return out
    }

    func testStatisticsRoundTripAndAreBoundToTheirModel() async throws {
        let stats = try await statistics()
        let shape = ModelSynthesizerTests.tinyLlama
        XCTAssertEqual(stats.layers.count, shape.blockCount)
        XCTAssertEqual(stats.tokens, 96)
        for l in stats.layers {
            XCTAssertEqual(l.quantiles.count, NeuronStatistics.quantileSteps + 1)
            XCTAssertEqual(Set(l.hotOrder).count, shape.feedForwardLength)
            XCTAssertLessThan(l.threshold(sparsity: 0.2), l.threshold(sparsity: 0.6))
            // Half the neurons fire at the 50% threshold, on average.
            let mean = l.fireRate.reduce(0, +) / Float(l.fireRate.count)
            XCTAssertEqual(mean, 0.5, accuracy: 0.05)
            XCTAssertGreaterThanOrEqual(l.fireRate[Int(l.hotOrder.first!)], l.fireRate[Int(l.hotOrder.last!)])
        }
        XCTAssertEqual(stats.curve.map(\.level), Calibration.levels)
        // auto: within the quality bound and faster than dense, as measured.
        XCTAssertEqual(stats.sparseTokensPerSecond.count, stats.curve.count)
        XCTAssertGreaterThan(stats.denseTokensPerSecond, 0)
        let eligible = zip(stats.curve, stats.sparseTokensPerSecond).filter { p, t in
            XCTAssertEqual(t != nil, p.perplexityIncrease <= NeuronStatistics.autoBound, "speed is measured where quality allows")
            return p.perplexityIncrease <= NeuronStatistics.autoBound && t! >= NeuronStatistics.autoSpeedup * stats.denseTokensPerSecond
        }
        XCTAssertEqual(stats.autoLevel, eligible.map(\.0.level).max() ?? 0)

        let file = directory.appendingPathComponent("tiny.neurons.gguf").path
        try stats.write(to: file)
        let model = try Model(path: path)
        let back = try NeuronStatistics.read(from: file, layers: shape.blockCount, feedForward: shape.feedForwardLength,
                                             model: ModelFingerprint(of: model.file))
        XCTAssertTrue(back == stats, "the statistics read back differ from those written")

        // Another model file (other weights, same shape) is refused, as are a wrong shape and no file.
        let other = directory.appendingPathComponent("other.gguf").path
        try ModelSynthesizer(shape: shape, type: .q8_0, seed: 6).write(toFile: other)
        XCTAssertThrowsError(try NeuronStatistics.read(from: file, layers: shape.blockCount, feedForward: shape.feedForwardLength,
                                                       model: ModelFingerprint(of: try Model(path: other).file))) {
            guard case .modelMismatch = $0 as? NeuronStatisticsError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try NeuronStatistics.read(from: file, layers: 3, feedForward: shape.feedForwardLength, model: nil)) {
            guard case .notStatistics = $0 as? NeuronStatisticsError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try NeuronStatistics.read(from: path, layers: 2, feedForward: 512, model: nil)) {
            guard case .notStatistics = $0 as? NeuronStatisticsError else { return XCTFail("a model file is not statistics: \($0)") }
        }
        XCTAssertThrowsError(try NeuronStatistics.read(from: file + ".absent", layers: 2, feedForward: 512, model: nil)) {
            XCTAssertEqual($0 as? NeuronStatisticsError, .missing(path: file + ".absent"))
        }
        // The engine reads the default path beside the model and refuses the other model's file.
        var o = EngineOptions(threads: 1, contextLength: 64)
        o.sparsity = SparsityRequest(level: .fraction(0.3), statistics: .file(file))
        XCTAssertThrowsError(try Engine(modelPath: other, options: o))
        o.sparsity = SparsityRequest(level: .fraction(0.3))
        XCTAssertThrowsError(try Engine(modelPath: path, options: o)) {
            XCTAssertEqual($0 as? NeuronStatisticsError, .missing(path: NeuronStatistics.defaultPath(forModel: self.path)))
        }
    }

    func testEveryNeuronSelectedIsTheDensePathBitForBit() async throws {
        let stats = try await statistics()
        _ = edge_sparse_exact_set(1)
        let dense = try await logits(try engine(nil, stats), oneAtATime: true)
        let sparse = try engine(.fraction(0), stats)
        XCTAssertEqual(sparse.sparse?.thresholds, [0, 0])
        let a = try await logits(sparse, oneAtATime: true)
        XCTAssertEqual(a.map(\.bitPattern), dense.map(\.bitPattern))
        let b = try await logits(sparse, oneAtATime: false)
        let denseBatch = try await logits(try engine(nil, stats), oneAtATime: false)
        XCTAssertEqual(b.map(\.bitPattern), denseBatch.map(\.bitPattern))
    }

    func testATokenAtATimeAndABatchSkipTheSameNeurons() async throws {
        let stats = try await statistics()
        _ = edge_sparse_exact_set(1)
        let denseOne = try await logits(try engine(nil, stats), oneAtATime: true)
        let denseBatch = try await logits(try engine(nil, stats), oneAtATime: false)
        let sparseEngine = try engine(.fraction(0.5), stats)
        let one = try await logits(sparseEngine, oneAtATime: true)
        let batch = try await logits(sparseEngine, oneAtATime: false)
        // Whatever separates a batch from single tokens densely (attention's blocking) separates
        // them sparsely too, and no more: the sparse paths compute the same feed-forward.
        let denseGap = zip(denseOne, denseBatch).map { abs($0 - $1) }.max()!
        let sparseGap = zip(one, batch).map { abs($0 - $1) }.max()!
        if denseGap == 0 { XCTAssertEqual(one.map(\.bitPattern), batch.map(\.bitPattern)) } else { XCTAssertLessThanOrEqual(sparseGap, 4 * denseGap) }
        // And skipping half the neurons does change the logits.
        XCTAssertGreaterThan(zip(one, denseOne).map { abs($0 - $1) }.max()!, 1e-3)

        // The fraction computed is about what the level says (thresholds from 96 tokens of text,
        // applied to 12 other tokens).
        let result = try await Benchmark.run(BenchmarkTest(.generation, tokens: 8), on: sparseEngine, repetitions: 1)
        let density = try XCTUnwrap(result.feedForwardDensity)
        XCTAssertEqual(density, 0.5, accuracy: 0.2)
    }

    func testLevelsParseAndBadRequestsAreTypedErrors() async throws {
        XCTAssertEqual(try SparsityLevel(parsing: "auto"), .auto)
        XCTAssertEqual(try SparsityLevel(parsing: "off"), .off)
        XCTAssertEqual(try SparsityLevel(parsing: "0.4"), .fraction(0.4))
        XCTAssertEqual(try SparsityLevel(parsing: "40%"), .fraction(0.4))
        for bad in ["0.99", "-0.1", "half", "nan", "120%"] {
            XCTAssertThrowsError(try SparsityLevel(parsing: bad), bad)
        }
        let stats = try await statistics()
        var o = EngineOptions(threads: 1, contextLength: 64)
        o.sparsity = SparsityRequest(level: .fraction(0.3), statistics: .loaded(stats))
        o.memoryBudget = 64 << 20
        XCTAssertThrowsError(try Engine(modelPath: path, options: o)) {
            guard case .badParameter(name: "sparsity", _) = $0 as? RuntimeError else { return XCTFail("\($0)") }
        }
        // auto with no level within bound runs dense.
        var none = stats
        none.autoLevel = 0
        XCTAssertNil(try engine(.auto, none).sparse)
        none.autoLevel = 0.2
        XCTAssertEqual(try engine(.auto, none).sparse?.level, 0.2)
    }
}
