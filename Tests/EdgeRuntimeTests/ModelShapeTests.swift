import EdgeCore
import Foundation
import XCTest

/// The catalogue of well-known layouts: parameter counts against the published sizes, tensor
/// lists, bytes per type, llama.cpp's quantizer fallbacks, Llama-3 RoPE divisors.
final class ModelShapeTests: XCTestCase {
    /// Parameter counts as Hugging Face reports them for each checkpoint (the sum of the
    /// safetensors' elements), and the size the model card or paper gives, in billions.
    static let published: [String: (exact: Int, card: Double)] = [
        "smollm2-135m": (134_515_008, 0.135),
        "qwen2.5-0.5b": (494_032_768, 0.49),
        "llama-3.2-1b": (1_235_814_400, 1.23),
        "qwen2.5-3b": (3_085_938_688, 3.09),
        "llama-3.2-3b": (3_212_749_824, 3.21),
        "llama-2-7b": (6_738_415_616, 6.74),
        "qwen2.5-7b": (7_615_616_512, 7.61),
        "llama-3-8b": (8_030_261_248, 8.03),
        "llama-3.1-8b": (8_030_261_248, 8.03),
        "llama-2-70b": (68_976_648_192, 69.0),
    ]

    func testParameterCountsMatchPublishedSizes() throws {
        XCTAssertEqual(Set(ModelShape.catalogueNames), Set(Self.published.keys), "every entry has a published size")
        for shape in ModelShape.catalogue {
            let (exact, card) = try XCTUnwrap(Self.published[shape.name])
            XCTAssertEqual(shape.parameterCount, exact, shape.name)
            XCTAssertEqual(Double(shape.parameterCount) / 1e9, card, accuracy: card * 0.01, shape.name)
            XCTAssertNoThrow(try shape.validate(), shape.name)
        }
    }

    func testNamedIsCaseInsensitiveAndUnknownNamesListTheCatalogue() throws {
        XCTAssertEqual(try ModelShape.named("Llama-2-7B").name, "llama-2-7b")
        XCTAssertThrowsError(try ModelShape.named("llama-9-1b")) { error in
            XCTAssertEqual(error as? ModelShapeError, .unknownName("llama-9-1b", known: ModelShape.catalogueNames))
            XCTAssertTrue("\(error)".contains("qwen2.5-7b"), "\(error)")
        }
    }

    func testTensorListAndBytes() throws {
        let s = try ModelShape.named("qwen2.5-0.5b")
        let t = s.tensors
        // Embedding, 12 per block (with Q/K/V biases), output norm; tied, no RoPE scaling.
        XCTAssertEqual(t.count, 1 + 24 * 12 + 1)
        XCTAssertEqual(t.first, WeightTensor(role: .tokenEmbedding, layer: nil, dims: [896, 151_936]))
        XCTAssertEqual(t.filter { $0.layer == 3 }.map(\.role),
                       [.attentionNorm, .query, .key, .value, .queryBias, .keyBias, .valueBias, .attentionOutput,
                        .feedForwardNorm, .gate, .up, .down])
        XCTAssertEqual(t.first { $0.role == .key }?.dims, [896, 128])
        XCTAssertEqual(t.first { $0.role == .down }?.dims, [4864, 896])
        XCTAssertFalse(t.contains { $0.role == .output })

        let l = try ModelShape.named("llama-3.1-8b")
        XCTAssertEqual(l.tensors.filter { $0.layer == nil }.map(\.role), [.tokenEmbedding, .outputNorm, .output, .ropeFrequencies])
        XCTAssertEqual(l.tensors.last?.dims, [64])
        XCTAssertEqual(l.parameterCount, l.tensors.filter { $0.role != .ropeFrequencies }.reduce(0) { $0 + $1.elementCount })

        // Q8_0: 34 bytes per 32 values for matrices; F32 vectors.
        let matrices = l.tensors.filter(\.role.isMatrix).reduce(0) { $0 + $1.elementCount }
        let vectors = l.tensors.filter { !$0.role.isMatrix }.reduce(0) { $0 + $1.elementCount }
        XCTAssertEqual(l.weightBytes(type: .q8_0), matrices / 32 * 34 + vectors * 4)
        XCTAssertEqual(l.weightBytes(type: .f16), matrices * 2 + vectors * 4)
        XCTAssertEqual(l.blockBytes(type: .q8_0) * l.blockCount + (l.weightBytes(type: .q8_0) - l.blockBytes(type: .q8_0) * l.blockCount),
                       l.weightBytes(type: .q8_0))
        // Llama-2-7B all in Q4_0 (18 bytes per 32 values): 3.53 GiB.
        XCTAssertEqual(Double(try ModelShape.named("llama-2-7b").weightBytes(type: .q4_0)) / Double(1 << 30), 3.53, accuracy: 0.01)
    }

    /// The quantizer's fallbacks, as the shared test models show them: SmolLM2's rows of 576 are
    /// not whole 256-value K-quant blocks (Q4_K became Q5_0, Q6_K became Q8_0, ffn_down's rows of
    /// 1536 stayed K-quants), aidreams260K's ffn_down rows of 172 fell back to F16.
    func testStorageTypeFallbacks() {
        let q = WeightTensor(role: .query, layer: 0, dims: [576, 576])
        let down = WeightTensor(role: .down, layer: 0, dims: [1536, 576])
        XCTAssertEqual(q.storageType(requested: .q4_K), .q5_0)
        XCTAssertEqual(q.storageType(requested: .q6_K), .q8_0)
        XCTAssertEqual(q.storageType(requested: .q5_K), .q5_1)
        XCTAssertEqual(q.storageType(requested: .q8_0), .q8_0)
        XCTAssertEqual(down.storageType(requested: .q4_K), .q4_K)
        XCTAssertEqual(WeightTensor(role: .down, layer: 0, dims: [172, 64]).storageType(requested: .q8_0), .f16)
        XCTAssertEqual(WeightTensor(role: .attentionNorm, layer: 0, dims: [576]).storageType(requested: .q4_0), .f32)
        XCTAssertEqual(q.byteCount(requested: .q4_K), 576 * 576 / 32 * 22)
    }

    func testWithBlockCount() throws {
        let s = try ModelShape.named("llama-2-7b")
        let two = try s.withBlockCount(2)
        XCTAssertEqual(two.blockCount, 2)
        XCTAssertEqual(two.tensors.count, 1 + 2 * 9 + 2)
        XCTAssertThrowsError(try s.withBlockCount(0)) {
            XCTAssertEqual($0 as? ModelShapeError, .badBlockCount(0, shape: "llama-2-7b", available: 32))
        }
        XCTAssertThrowsError(try s.withBlockCount(33))
    }

    func testValidateNamesTheField() {
        var s = ModelShape.catalogue[0]
        s.headCountKV = 2   // 9 query heads
        XCTAssertThrowsError(try s.validate()) {
            guard case .badField(_, "headCountKV", _)? = $0 as? ModelShapeError else { return XCTFail("\($0)") }
        }
        s.headCountKV = 3
        s.architecture = "gpt2"
        XCTAssertThrowsError(try s.validate()) {
            guard case .badField(_, "architecture", _)? = $0 as? ModelShapeError else { return XCTFail("\($0)") }
        }
    }

    /// Llama 3.2's divisors (base 500000, 64 dimensions, factor 32, low 1, high 4, original
    /// context 8192): wavelengths 2π·500000^(i/32) below 8192/4 = 2048 keep their frequency
    /// (i ≤ 14), above 8192 are divided by 32 (i ≥ 18); i = 15 has wavelength 2948.3, so
    /// s = (8192/2948.3 − 1)/3 = 0.5926 and the divisor 1/((1 − s)/32 + s) = 1.6513.
    func testLlama3RopeDivisors() throws {
        let s = try ModelShape.named("llama-3.2-1b")
        let d = try XCTUnwrap(s.ropeScaling).frequencyDivisors(ropeDimensions: s.headDim, base: Double(s.ropeBase))
        XCTAssertEqual(d.count, 32)
        XCTAssertEqual(Array(d[0...14]), [Float](repeating: 1, count: 15))
        XCTAssertEqual(Array(d[18...]), [Float](repeating: 32, count: 14))
        XCTAssertEqual(d[15], 1.6513, accuracy: 1e-4)
        XCTAssertEqual(d[16], 3.2923, accuracy: 1e-4)
        XCTAssertEqual(d[17], 9.6667, accuracy: 1e-4)
    }

    func testCodableRoundTrip() throws {
        let data = try JSONEncoder().encode(ModelShape.catalogue)
        XCTAssertEqual(try JSONDecoder().decode([ModelShape].self, from: data), ModelShape.catalogue)
    }
}
