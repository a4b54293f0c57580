import EdgeCore
import EdgeDevices
import EdgeFormats
import EdgeKernels
import EdgeRuntime
import Foundation
import XCTest

/// Synthesized model files: they load, their tokenizer round-trips text, a forward pass over
/// them gives finite, varied logits, their weights have the intended scale in every type, the
/// same seed gives the same bytes, and their layout is the one llama.cpp writes.
final class ModelSynthesizerTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-synth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Rows of 256 (so K-quants fit), Llama-3 RoPE scaling, a separate output projection.
    static let tinyLlama = ModelShape(
        name: "tiny-llama", architecture: "llama", blockCount: 2, embeddingLength: 256, feedForwardLength: 512,
        headCount: 4, headCountKV: 2, vocabularySize: 1000, contextLength: 256, ropeBase: 10000, rmsEpsilon: 1e-5,
        tiedEmbeddings: false, qkvBias: false,
        ropeScaling: Llama3RopeScaling(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 64))

    /// Q/K/V biases, NeoX RoPE, tied output, one KV head.
    static let tinyQwen = ModelShape(
        name: "tiny-qwen2", architecture: "qwen2", blockCount: 2, embeddingLength: 256, feedForwardLength: 768,
        headCount: 4, headCountKV: 1, vocabularySize: 800, contextLength: 256, ropeBase: 1_000_000, rmsEpsilon: 1e-6,
        tiedEmbeddings: true, qkvBias: true)

    /// Logits of the last token of `ids`.
    private func lastLogits(_ model: Model, _ ids: [Int32]) async throws -> [Float] {
        let node = try CPUNode(threads: 2)
        let pass = try ForwardPass(weights: model.weights, contextLength: 64)
        return try await node.run { pool in try pass.evaluate(ids, allLogits: false, pool: pool) }
    }

    private static func standardDeviation(_ x: [Float]) -> Double {
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
        return (x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(x.count)).squareRoot()
    }

    func testEveryTypeLoadsAndRunsWithFiniteVariedLogits() async throws {
        for shape in [Self.tinyLlama, Self.tinyQwen] {
            for type in ModelSynthesizer.supportedTypes {
                let label = "\(shape.name) \(type)"
                let synth = try ModelSynthesizer(shape: shape, type: type, seed: 1)
                let file = path("\(shape.name).\(type).gguf")
                let layout = try synth.write(toFile: file)
                let model = try Model(path: file)
                let c = model.config
                XCTAssertEqual([c.blockCount, c.embeddingLength, c.feedForwardLength, c.headCount, c.headCountKV, c.headDim,
                                c.vocabularySize, c.contextLength],
                               [shape.blockCount, shape.embeddingLength, shape.feedForwardLength, shape.headCount,
                                shape.headCountKV, shape.headDim, shape.vocabularySize, shape.contextLength], label)
                XCTAssertEqual(c.architecture, shape.architecture, label)
                XCTAssertEqual(c.ropeBase, shape.ropeBase, label)
                XCTAssertEqual(c.rmsEpsilon, shape.rmsEpsilon, label)
                XCTAssertEqual(model.weights.tiedOutput, shape.tiedEmbeddings, label)
                XCTAssertEqual(model.weights.ropeFactors,
                               shape.ropeScaling?.frequencyDivisors(ropeDimensions: shape.headDim, base: Double(shape.ropeBase)), label)
                // The file holds exactly the planned tensors, in order, of the predicted sizes.
                XCTAssertEqual(model.file.tensors.map(\.name), synth.tensors.map(\.name), label)
                XCTAssertEqual(model.file.tensors.map(\.type), synth.tensors.map(\.type), label)
                XCTAssertEqual(model.file.tensors.map(\.byteCount), synth.tensors.map(\.byteCount), label)
                XCTAssertEqual(model.file.tensors, layout.tensors, label)
                XCTAssertEqual(model.weightBytes, shape.weightBytes(type: type), label)
                let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int
                XCTAssertEqual(size, layout.fileSize, label)

                let logits = try await lastLogits(model, [3, 300, 17, 45, 260, 99])
                XCTAssertEqual(logits.count, shape.vocabularySize, label)
                XCTAssertTrue(logits.allSatisfy(\.isFinite), label)
                // Unit-scale activations through an output of σ 1/√d: logits of σ near 1.
                let sd = Self.standardDeviation(logits)
                XCTAssertGreaterThan(sd, 0.3, label)
                XCTAssertLessThan(sd, 5, label)
                try FileManager.default.removeItem(atPath: file)
            }
        }
    }

    /// Decoded with the reference dequantizer, every type's matrices have mean 0 and standard
    /// deviation 1/√(row length) within the spread the synthesizer puts in (block scales jittered
    /// ±25%, a few % from the K-quants' sub-block scales), and only finite values.
    func testDecodedWeightsHaveTheIntendedScale() throws {
        for type in ModelSynthesizer.supportedTypes {
            let file = path("scale.\(type).gguf")
            try ModelSynthesizer(shape: Self.tinyQwen, type: type, seed: 3).write(toFile: file)
            let gguf = try GGUFFile(path: file)
            for name in ["blk.1.ffn_up.weight", "blk.0.ffn_down.weight", "token_embd.weight"] {
                let t = try XCTUnwrap(gguf.tensor(named: name))
                let values = try Dequantizer.dequantize(t.type, gguf.data(of: t), count: t.elementCount)
                let sigma = 1 / Double(t.dims[0]).squareRoot()
                let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
                XCTAssertTrue(values.allSatisfy(\.isFinite), "\(type) \(name)")
                XCTAssertLessThan(abs(mean), 0.03 * sigma, "\(type) \(name)")
                XCTAssertEqual(Self.standardDeviation(values) / sigma, 1, accuracy: 0.1, "\(type) \(name)")
            }
            let bias = try Dequantizer.dequantize(.f32, gguf.data(of: XCTUnwrap(gguf.tensor(named: "blk.0.attn_q.bias"))), count: 256)
            XCTAssertEqual(Self.standardDeviation(bias), 0.02, accuracy: 0.005)
            let norm = try Dequantizer.dequantize(.f32, gguf.data(of: XCTUnwrap(gguf.tensor(named: "output_norm.weight"))), count: 256)
            XCTAssertEqual(norm, [Float](repeating: 1, count: 256))
            try FileManager.default.removeItem(atPath: file)
        }
    }

    func testSameSeedSameBytesOtherSeedOtherBytes() throws {
        let shape = Self.tinyLlama
        let a = path("a.gguf"), b = path("b.gguf"), c = path("c.gguf"), oneBlock = path("one.gguf")
        try ModelSynthesizer(shape: shape, type: .q4_K, seed: 7).write(toFile: a)
        try ModelSynthesizer(shape: shape, type: .q4_K, seed: 7).write(toFile: b, uncached: false)
        try ModelSynthesizer(shape: shape, type: .q4_K, seed: 8).write(toFile: c)
        try ModelSynthesizer(shape: shape.withBlockCount(1), type: .q4_K, seed: 7).write(toFile: oneBlock)
        let (da, db, dc) = try (Data(contentsOf: URL(fileURLWithPath: a)), Data(contentsOf: URL(fileURLWithPath: b)),
                                Data(contentsOf: URL(fileURLWithPath: c)))
        XCTAssertEqual(da, db)
        XCTAssertEqual(da.count, dc.count)
        XCTAssertNotEqual(da, dc)

        // Every tensor differs between seeds; a cut-down shape keeps the weights of its blocks.
        let (fa, fc, f1) = try (GGUFFile(path: a), GGUFFile(path: c), GGUFFile(path: oneBlock))
        for t in fa.tensors where t.name.hasSuffix("_q.weight") || t.name == "token_embd.weight" {
            let other = try XCTUnwrap(fc.tensor(named: t.name))
            XCTAssertNotEqual(Array(fa.data(of: t)), Array(fc.data(of: other)), t.name)
        }
        XCTAssertEqual(f1.tensors.count, fa.tensors.count - 9)
        for t in f1.tensors {
            let full = try XCTUnwrap(fa.tensor(named: t.name))
            XCTAssertEqual(Array(f1.data(of: t)), Array(fa.data(of: full)), t.name)
        }
    }

    /// Two blocks of SmolLM2-135M against the real file llama.cpp quantized: the same tensor
    /// names in the same order, with the same shapes and types, and the same `llama.*` metadata.
    /// Then the engine loads it, its tokenizer round-trips text and it generates.
    func testSmolLM2LayoutMatchesLlamaCppFile() async throws {
        let shape = try ModelShape.named("smollm2-135m").withBlockCount(2)
        let file = path("smollm2-2.gguf")
        try ModelSynthesizer(shape: shape, type: .q8_0).write(toFile: file)
        let ours = try GGUFFile(path: file)

        let reference = try GGUFFile(path: Shared.model("SmolLM2-135M-Instruct.Q8_0.gguf"))
        let kept = reference.tensors.filter { !$0.name.hasPrefix("blk.") || $0.name.hasPrefix("blk.0.") || $0.name.hasPrefix("blk.1.") }
        XCTAssertEqual(ours.tensors.map(\.name), kept.map(\.name))
        XCTAssertEqual(ours.tensors.map(\.dims), kept.map(\.dims))
        XCTAssertEqual(ours.tensors.map(\.type), kept.map(\.type))
        for key in reference.metadataKeys where key.hasPrefix("llama.") && key != "llama.block_count" {
            XCTAssertEqual(ours.value(key), reference.value(key), key)
        }
        XCTAssertEqual(ours.value("llama.block_count"), .uint32(2))
        XCTAssertEqual(ours.value("general.file_type"), reference.value("general.file_type"))

        let engine = try Engine(modelPath: file, options: EngineOptions(threads: 2, contextLength: 128))
        let tok = engine.tokenizer
        XCTAssertEqual(tok.vocabularySize, 49152)
        for text in ["Once upon a time, in 2024, there were 3 bears.", "héllo wörld 🙂\n\tand spaces  "] {
            let ids = tok.encode(text, addSpecial: true, parseSpecial: false)
            XCTAssertEqual(ids.first, tok.bos)
            XCTAssertEqual(tok.detokenize(ids, removeSpecial: true, unparseSpecial: false), Array(text.utf8))
        }
        let session = try engine.makeSession()
        var sampling = SamplingParameters()
        sampling.temperature = 0
        var generated = 0
        for try await event in session.generate(prompt: tok.encode("Once upon a time", addSpecial: true, parseSpecial: false),
                                                maxTokens: 5, sampling: sampling) {
            if case .token = event { generated += 1 }
        }
        XCTAssertEqual(generated, 5)
    }

    func testProgressReachesTheTotal() throws {
        var reports: [SynthesisProgress] = []
        try ModelSynthesizer(shape: Self.tinyQwen, type: .q8_0).write(toFile: path("p.gguf")) { reports.append($0) }
        let total = Self.tinyQwen.weightBytes(type: .q8_0)
        XCTAssertEqual(reports.last?.bytesWritten, total)
        XCTAssertEqual(reports.last?.totalBytes, total)
        XCTAssertEqual(reports.map(\.bytesWritten), reports.map(\.bytesWritten).sorted())
        XCTAssertEqual(reports.last?.tensorIndex, (reports.last?.tensorCount ?? 0) - 1)
    }

    func testErrorsNameTheProblem() throws {
        XCTAssertThrowsError(try ModelSynthesizer(shape: Self.tinyLlama, type: .q2_K)) {
            XCTAssertEqual($0 as? SynthesisError, .unsupportedType(.q2_K, supported: ModelSynthesizer.supportedTypes))
        }
        var small = Self.tinyLlama
        small.vocabularySize = 100
        XCTAssertThrowsError(try ModelSynthesizer(shape: small, type: .q8_0)) {
            guard case .vocabulary? = $0 as? SynthesisError else { return XCTFail("\($0)") }
        }
        var odd = Self.tinyLlama
        odd.headDim = 63
        XCTAssertThrowsError(try ModelSynthesizer(shape: odd, type: .q8_0)) {
            guard case .shape(.badField(_, "headDim", _))? = $0 as? SynthesisError else { return XCTFail("\($0)") }
        }
        let missing = path("no/such/dir/x.gguf")
        XCTAssertThrowsError(try ModelSynthesizer(shape: Self.tinyLlama, type: .q8_0).write(toFile: missing)) {
            guard case .write(.io(_, "open", _))? = $0 as? SynthesisError else { return XCTFail("\($0)") }
        }
    }
}
