import Foundation
import XCTest
import EdgeCore
import EdgeDevices
import EdgeFormats
import EdgeRuntime

// MARK: - Tiny synthetic models

/// The blueprint of a tiny decoder model that the tests write as GGUF v3 with seeded random
/// weights, plus the faults the loading tests inject. Defaults: d_model 64, 2 blocks, 4 query heads
/// over 2 KV heads (grouped-query, group of 2), head size 16, d_ff 96, vocabulary 300.
struct TinyModelSpec: Sendable {
    var architecture = "llama"
    var embedding = 64
    var blocks = 2
    var heads = 4
    var kvHeads = 2
    var feedForward = 96
    var vocabulary = 300
    var contextLength = 64
    var ropeBase: Float = 10000
    /// `<arch>.rope.dimension_count` (partial rotary when below the head size); nil: not written.
    var ropeDimensions: Int?
    /// `rope_freqs.weight` (Llama-3 frequency factors, ropeDimensions / 2 of them); nil: absent.
    var ropeFactors: [Float]?
    var eps: Float = 1e-6
    /// No `output.weight`: the output projection is the token embedding.
    var tiedOutput = false
    /// Q, K and V biases (Qwen2).
    var qkvBias = false
    /// `attention.key_length` (a head size other than embedding / heads: Qwen3, Gemma 3); nil: not written.
    var keyLength: Int?
    /// Per-head Q and K RMSNorm gains (Qwen3, Gemma 3).
    var qkNorm = false
    /// Gemma 3's norms after the attention and feed-forward branches (and GeGLU, the embedding scale).
    var gemma = false
    /// Phi-3's fused `attn_qkv` and `ffn_up` (gate rows, then up rows).
    var fused = false
    /// `attention.sliding_window`, `attention.sliding_window_pattern`, `rope.freq_base_swa`.
    var slidingWindow: Int?
    var slidingPattern: Int?
    var ropeBaseSliding: Float?
    /// `final_logit_softcapping`.
    var finalSoftcap: Float?
    /// A SentencePiece-style vocabulary in the metadata (unknown, BOS, EOS, the 256 byte tokens,
    /// then pieces), so that llama.cpp loads the file; edgert's forward pass does not read it.
    var withVocabulary = false
    /// Type of every matrix (token embedding and output included); norms and biases stay F32.
    var matrixType: TensorType = .f32
    var seed: UInt64 = 1

    // Faults for the loading tests.
    var omitTensors: Set<String> = []
    var typeOverrides: [String: TensorType] = [:]
    var dimsOverrides: [String: [Int]] = [:]
    var headCountKVOverride: Int?

    var headDim: Int { keyLength ?? embedding / heads }

    static func llama(_ matrixType: TensorType = .f32, tied: Bool = false) -> TinyModelSpec {
        var s = TinyModelSpec()
        s.matrixType = matrixType
        s.tiedOutput = tied
        return s
    }

    static func qwen2(_ matrixType: TensorType = .f32, tied: Bool = false) -> TinyModelSpec {
        var s = TinyModelSpec()
        s.architecture = "qwen2"
        s.ropeBase = 1_000_000
        s.qkvBias = true
        s.matrixType = matrixType
        s.tiedOutput = tied
        s.seed = 2
        return s
    }

    static func qwen3(_ matrixType: TensorType = .f32, tied: Bool = false) -> TinyModelSpec {
        var s = TinyModelSpec()
        s.architecture = "qwen3"
        s.ropeBase = 1_000_000
        s.keyLength = 32          // q_dim 128 against d_model 64
        s.qkNorm = true
        s.matrixType = matrixType
        s.tiedOutput = tied
        s.seed = 8
        return s
    }

    /// Two layers: layer 0 attends through a window of 4 positions (pattern 2), layer 1 globally.
    static func gemma3(_ matrixType: TensorType = .f32, tied: Bool = true) -> TinyModelSpec {
        var s = TinyModelSpec()
        s.architecture = "gemma3"
        s.ropeBase = 1_000_000
        s.keyLength = 32
        s.kvHeads = 1
        s.qkNorm = true
        s.gemma = true
        s.slidingWindow = 4
        s.slidingPattern = 2
        s.ropeBaseSliding = 10000
        s.matrixType = matrixType
        s.tiedOutput = tied
        s.seed = 9
        return s
    }

    static func phi3(_ matrixType: TensorType = .f32, tied: Bool = false) -> TinyModelSpec {
        var s = TinyModelSpec()
        s.architecture = "phi3"
        s.fused = true
        s.matrixType = matrixType
        s.tiedOutput = tied
        s.seed = 10
        return s
    }

    /// One tensor as the file will hold it: GGUF dims (dims[0] = row length = input size) and
    /// values row-major; `matrix` tensors take `matrixType`, the others stay F32.
    private struct Planned {
        let name: String
        let dims: [Int]
        let matrix: Bool
        let values: [Float]
    }

    /// Writes the model to `path`.
    func write(to path: String) throws {
        var rng = SplitMix64(seed: seed)
        let a = architecture, d = embedding, hd = headDim
        var w = try GGUFWriter()
        try w.addMetadata("general.architecture", .string(a))
        // (Not naming the architecture: llama.cpp gives a name containing "phi3" Phi-3's special tokens.)
        try w.addMetadata("general.name", .string("tiny oracle model"))
        try w.addMetadata("\(a).context_length", .uint32(UInt32(contextLength)))
        try w.addMetadata("\(a).embedding_length", .uint32(UInt32(d)))
        try w.addMetadata("\(a).block_count", .uint32(UInt32(blocks)))
        try w.addMetadata("\(a).feed_forward_length", .uint32(UInt32(feedForward)))
        try w.addMetadata("\(a).attention.head_count", .uint32(UInt32(heads)))
        try w.addMetadata("\(a).attention.head_count_kv", .uint32(UInt32(headCountKVOverride ?? kvHeads)))
        try w.addMetadata("\(a).attention.layer_norm_rms_epsilon", .float32(eps))
        try w.addMetadata("\(a).rope.freq_base", .float32(ropeBase))
        if let ropeDimensions { try w.addMetadata("\(a).rope.dimension_count", .uint32(UInt32(ropeDimensions))) }
        if let keyLength {
            try w.addMetadata("\(a).attention.key_length", .uint32(UInt32(keyLength)))
            try w.addMetadata("\(a).attention.value_length", .uint32(UInt32(keyLength)))
        }
        if let slidingWindow { try w.addMetadata("\(a).attention.sliding_window", .uint32(UInt32(slidingWindow))) }
        if let slidingPattern { try w.addMetadata("\(a).attention.sliding_window_pattern", .uint32(UInt32(slidingPattern))) }
        if let ropeBaseSliding { try w.addMetadata("\(a).rope.freq_base_swa", .float32(ropeBaseSliding)) }
        if let finalSoftcap { try w.addMetadata("\(a).final_logit_softcapping", .float32(finalSoftcap)) }
        if withVocabulary {
            precondition(vocabulary >= 259, "3 special tokens and 256 byte tokens")
            let tokens = ["<unk>", "<s>", "</s>"] + (0..<256).map { String(format: "<0x%02X>", $0) }
                + (259..<vocabulary).map { "\u{2581}t\($0)" }
            try w.addMetadata("tokenizer.ggml.model", .string("llama"))
            try w.addMetadata("tokenizer.ggml.tokens", .stringArray(tokens))
            try w.addMetadata("tokenizer.ggml.scores", .float32Array(tokens.indices.map { -Float($0) }))
            try w.addMetadata("tokenizer.ggml.token_type", .int32Array(tokens.indices.map { $0 == 0 ? 2 : $0 < 3 ? 3 : $0 < 259 ? 6 : 1 }))
            try w.addMetadata("tokenizer.ggml.unknown_token_id", .uint32(0))
            try w.addMetadata("tokenizer.ggml.bos_token_id", .uint32(1))
            try w.addMetadata("tokenizer.ggml.eos_token_id", .uint32(2))
        }

        // Scales keep every activation O(1): a matrix of n inputs has values of standard deviation
        // c / sqrt(n), so it maps unit-RMS inputs to outputs of RMS ~c. Q and K get c = 1.5 so that
        // attention scores (RMS ~1.5^2 = 2.25) make softmax far from uniform; embedding and output
        // 0.25 = 2 / sqrt(64), so logits have RMS ~2 whether the output is tied or not.
        var plan: [Planned] = []
        func matrix(_ name: String, inputs: Int, outputs: Int, gain: Float) {
            plan.append(Planned(name: name, dims: [inputs, outputs], matrix: true,
                                values: rng.uniform(count: inputs * outputs, std: gain / Float(inputs).squareRoot())))
        }
        func vector(_ name: String, _ values: [Float]) {
            plan.append(Planned(name: name, dims: [values.count], matrix: false, values: values))
        }
        func norm(_ n: Int) -> [Float] { rng.uniform(count: n, std: 0.1).map { 1 + $0 } }

        let qDim = heads * hd, kvDim = kvHeads * hd
        plan.append(Planned(name: "token_embd.weight", dims: [d, vocabulary], matrix: true,
                            values: rng.uniform(count: d * vocabulary, std: 0.25)))
        vector("output_norm.weight", norm(d))
        if !tiedOutput { matrix("output.weight", inputs: d, outputs: vocabulary, gain: 2) }
        if let ropeFactors { vector("rope_freqs.weight", ropeFactors) }
        for i in 0..<blocks {
            let b = "blk.\(i)."
            vector(b + "attn_norm.weight", norm(d))
            if fused {
                // Q, K (gain 1.5) and V (gain 1) rows in one tensor.
                let q = rng.uniform(count: d * qDim, std: 1.5 / Float(d).squareRoot())
                let k = rng.uniform(count: d * kvDim, std: 1.5 / Float(d).squareRoot())
                let v = rng.uniform(count: d * kvDim, std: 1 / Float(d).squareRoot())
                plan.append(Planned(name: b + "attn_qkv.weight", dims: [d, qDim + 2 * kvDim], matrix: true, values: q + k + v))
            } else {
                matrix(b + "attn_q.weight", inputs: d, outputs: qDim, gain: 1.5)
                matrix(b + "attn_k.weight", inputs: d, outputs: kvDim, gain: 1.5)
                matrix(b + "attn_v.weight", inputs: d, outputs: kvDim, gain: 1)
            }
            if qkvBias {
                vector(b + "attn_q.bias", rng.uniform(count: qDim, std: 0.5))
                vector(b + "attn_k.bias", rng.uniform(count: kvDim, std: 0.5))
                vector(b + "attn_v.bias", rng.uniform(count: kvDim, std: 0.5))
            }
            if qkNorm {
                vector(b + "attn_q_norm.weight", norm(hd))
                vector(b + "attn_k_norm.weight", norm(hd))
            }
            matrix(b + "attn_output.weight", inputs: qDim, outputs: d, gain: 1)
            if gemma { vector(b + "post_attention_norm.weight", norm(d)) }
            vector(b + "ffn_norm.weight", norm(d))
            if fused {
                matrix(b + "ffn_up.weight", inputs: d, outputs: 2 * feedForward, gain: 1)
            } else {
                matrix(b + "ffn_gate.weight", inputs: d, outputs: feedForward, gain: 1)
                matrix(b + "ffn_up.weight", inputs: d, outputs: feedForward, gain: 1)
            }
            matrix(b + "ffn_down.weight", inputs: feedForward, outputs: d, gain: 1)
            if gemma { vector(b + "post_ffw_norm.weight", norm(d)) }
        }

        for t in plan where !omitTensors.contains(t.name) {
            let type = typeOverrides[t.name] ?? (t.matrix ? matrixType : .f32)
            if let dims = dimsOverrides[t.name] {
                let n = dims.reduce(1, *)
                try w.addTensor(name: t.name, type: type, dims: dims,
                                data: try TinyEncoding.encode(rng.uniform(count: n, std: 0.1), as: type, dims: dims))
            } else {
                try w.addTensor(name: t.name, type: type, dims: t.dims,
                                data: try TinyEncoding.encode(t.values, as: type, dims: t.dims))
            }
        }
        try w.write(toFile: path)
    }
}

/// Tensor bytes in the types the tiny models use.
enum TinyEncoding {
    /// F32, F16 and Q8_0 are encoded exactly as ggml lays them out; any other type gets zero bytes of
    /// the right size (enough for the loading tests, which never compute with it).
    static func encode(_ values: [Float], as type: TensorType, dims: [Int]) throws -> [UInt8] {
        var out: [UInt8] = []
        switch type {
        case .f32:
            out.reserveCapacity(4 * values.count)
            for v in values { append(v.bitPattern, to: &out) }
        case .f16:
            out.reserveCapacity(2 * values.count)
            for v in values { append(Float16(v).bitPattern, to: &out) }
        case .q8_0:
            // ggml's reference quantizer: per block of 32, d = max|x| / 127 stored as F16,
            // q = round(x / d) as int8 (blocks of 34 bytes).
            precondition(values.count % 32 == 0, "Q8_0 rows are whole blocks of 32")
            for blockStart in stride(from: 0, to: values.count, by: 32) {
                let block = values[blockStart..<blockStart + 32]
                let amax = block.map(abs).max() ?? 0
                let dq = amax / 127
                let inv: Float = dq == 0 ? 0 : 1 / dq
                append(Float16(dq).bitPattern, to: &out)
                for v in block { out.append(UInt8(bitPattern: Int8((v * inv).rounded(.toNearestOrAwayFromZero)))) }
            }
        default:
            out = [UInt8](repeating: 0, count: try GGUFWriter.byteCount(name: "encoded", type: type, dims: dims))
        }
        return out
    }

    private static func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }
}

/// Seeded values for the synthetic models (SplitMix64 from EdgeCore), so every run writes the same model.
extension SplitMix64 {
    /// `count` values uniform on (-sqrt(3) std, sqrt(3) std), whose standard deviation is `std`.
    mutating func uniform(count: Int, std: Float) -> [Float] {
        let half = 3.0.squareRoot() * Double(std)
        return (0..<count).map { _ in Float((Double(next() >> 11) / Double(1 << 53) * 2 - 1) * half) }
    }
}

// MARK: - The oracle

/// Runs `oracle/forward.py` (numpy float64, gguf-py's reader) beside this file.
enum ForwardOracle {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("oracle/forward.py").path

    /// Why the oracle cannot run here (python3, numpy or gguf missing), or nil when it can.
    static let unavailableReason: String? = {
        do {
            let (status, _, err) = try run(["-c", "import numpy, gguf"])
            return status == 0 ? nil : "python3 cannot import numpy and gguf (\(err.trimmingCharacters(in: .whitespacesAndNewlines)))"
        } catch {
            return "python3 cannot be started: \(error)"
        }
    }()

    static func requireAvailable() throws {
        if let unavailableReason { throw XCTSkip("forward oracle unavailable: \(unavailableReason); pip install numpy gguf") }
    }

    /// Logits of every position, (ids.count, vocab) row-major, in float64.
    static func logits(model path: String, ids: [Int32]) throws -> [Double] {
        try requireAvailable()
        let (status, out, err) = try run([script, path, ids.map(String.init).joined(separator: ",")])
        guard status == 0 else { throw OracleFailure(message: "forward.py exited with \(status): \(err)") }
        let json = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        guard let rows = json?["logits"] as? [[Double]] else { throw OracleFailure(message: "forward.py printed no logits") }
        return rows.flatMap { $0 }
    }

    struct OracleFailure: Error { let message: String }

    private static func run(_ args: [String]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read stdout to its end before waiting: the logits (~70 KB) exceed a pipe's buffer.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

// MARK: - Error bounds

/// How far edgert's logits may lie from the float64 oracle, derived from where edgert rounds.
///
/// Unit roundoff of F16 round-to-nearest-even: u = 2^-11 (relative error at most u, and for a
/// rounding error spread uniformly over ±u, a standard deviation of u/sqrt(3)). F32 arithmetic
/// (2^-24) sits three orders of magnitude below and is ignored.
///
/// Reference path (f32Activations: true): weights are dequantized exactly (F16 and Q8_0 values are
/// exact in F32) and every matmul, norm and RoPE is F32, so the error comes from attention, which
/// rounds Q, K and V to F16 (the KV cache is F16, Q is rounded to meet it) and accumulates the
/// weighted sum of V in an F16 accumulator. Per attention output, relative to the head's |V|:
///   - V rounded once:                                   1 rounding
///   - Q and K rounded: each score s moves by ~u·|s|, and a softmax average moves by ~2 max|δs|;
///     with |s| up to s_max ≈ 4 for these weights:      ~ (2 s_max)² rounding-equivalents in variance
///   - the F16 accumulator is rounded after each of T positions and again at each rescale of
///     the running maximum:                              ≤ 2T roundings
/// Independent roundings add in quadrature: ε = (u/√3) · sqrt(1 + (2 s_max)² + 2T).
/// The attention's error enters the residual stream through W_o with gain ~1 (W_o's values have
/// standard deviation 1/sqrt(fan-in)); each later block carries an earlier error with gain ≤ 2
/// (identity plus a unit-gain branch), so the final stream of L blocks carries at most
/// ε (2^L − 1), and the logits (a unit-gain map of the normalized stream) that much times
/// RMS(logits). The largest of the vocab × T errors of a normal distribution lies within 4 of its
/// standard deviations (P(|z| > 4) = 6e-5, times 3600 logits: 0.2 — so a tail factor of 5).
///
/// Fast path (f32Activations: false): additionally, the input of each of the 4 matmul groups of a
/// block (QKV, W_o, gate/up, down) and of the output projection is rounded to the weight type's
/// activation type: nothing for F32 weights; F16 (relative u/√3 per value) for F16 weights; Q8_0
/// for Q8_0 weights, whose step is max|block of 32| / 127, with max/RMS ≈ 2.5 for such blocks, so a
/// relative standard deviation of 2.5 / (127 √12) ≈ 5.7e-3 per value. A dot product of independent
/// errors keeps that relative size; 4L + 1 roundings in quadrature, the same gain and tail factor.
///
/// Measured on the 7 variants (d_model 64, 2 blocks, 12 positions, logit RMS ~2): the f32 path lies
/// 0.005-0.014 from the oracle against bounds of ~0.08; rounding only Q, K and V to F16 inside the
/// oracle moves it by 0.003-0.009, so the F16 accumulator accounts for the rest. The fast path with
/// Q8_0 weights lies 0.18 away (bound 0.6), with F16 weights 0.007 (bound 0.1). Faults the bound
/// catches, by the oracle's own numbers: the other RoPE pairing moves logits by 5-8, ignoring
/// partial rotary by 5-7, ignoring the rope_freqs factors by 0.6; an RMSNorm eps of 1e-5 instead
/// of 1e-6 (0.001-0.002) is below what F16 attention lets any bound see.
enum TinyTolerance {
    static let u = 1.0 / 2048
    static let tail = 5.0
    static let scoreMax = 4.0

    /// Relative standard deviation of one rounding of an activation to the activation type of
    /// `weights` (the fast path's matmul input).
    static func activationRounding(_ weights: TensorType) -> Double {
        switch weights {
        case .f32: 0
        case .f16: u / 3.0.squareRoot()
        case .q8_0: 2.5 / (127 * 12.0.squareRoot())
        default: .infinity
        }
    }

    /// `geglu`: the GELU's input and output are rounded to F16 (ggml's table), two more roundings
    /// per block entering the stream through W_down with gain ~1.
    static func reference(positions t: Int, blocks l: Int, logitRMS: Double, geglu: Bool = false) -> Double {
        let eps = u / 3.0.squareRoot() * (1 + (2 * scoreMax) * (2 * scoreMax) + 2 * Double(t) + (geglu ? 2 : 0)).squareRoot()
        return tail * eps * (pow(2, Double(l)) - 1) * logitRMS
    }

    static func fast(positions t: Int, blocks l: Int, weights: TensorType, logitRMS: Double, geglu: Bool = false) -> Double {
        let act = activationRounding(weights) * Double(4 * l + 1).squareRoot()
        return reference(positions: t, blocks: l, logitRMS: logitRMS, geglu: geglu) + tail * act * (pow(2, Double(l)) - 1) * logitRMS
    }
}

// MARK: - Tests

/// edgert's forward pass on tiny synthetic `llama` and `qwen2` models against an independent
/// float64 numpy forward pass (`oracle/forward.py`), plus the invariances of batching, threading
/// and prompt splitting, and the typed errors of loading a bad file.
final class TinyModelOracleTests: XCTestCase {
    /// 12 ids of the vocabulary of 300, both ends included, one repeated.
    static let prompt: [Int32] = [1, 17, 299, 42, 0, 256, 7, 7, 123, 88, 250, 3]

    static let variants: [(name: String, spec: TinyModelSpec)] = {
        var llama3 = TinyModelSpec.llama()
        llama3.seed = 3
        // Llama-3 style factors: high-frequency pairs untouched, low-frequency pairs slowed by up to 8.
        llama3.ropeFactors = [1, 1, 1, 1.5, 2.5, 4, 8, 8]
        var llamaPartial = TinyModelSpec.llama()
        llamaPartial.seed = 4
        llamaPartial.ropeDimensions = 8
        var qwenPartial = TinyModelSpec.qwen2()
        qwenPartial.seed = 5
        qwenPartial.ropeDimensions = 8
        var llamaQ8 = TinyModelSpec.llama(.q8_0, tied: true)
        llamaQ8.seed = 6
        var qwenF16 = TinyModelSpec.qwen2(.f16, tied: true)
        qwenF16.seed = 7
        var gemmaCapped = TinyModelSpec.gemma3(.f16)
        gemmaCapped.finalSoftcap = 5
        gemmaCapped.seed = 11
        // gemma-3-270m's widths (head size 256, q_dim 1024 against d_model 640, one KV head), with
        // three layers (two windowed, one global) and a small vocabulary.
        var gemmaShaped = TinyModelSpec.gemma3(.q8_0)
        gemmaShaped.embedding = 640
        gemmaShaped.heads = 4
        gemmaShaped.kvHeads = 1
        gemmaShaped.keyLength = 256
        gemmaShaped.feedForward = 2048
        gemmaShaped.blocks = 3
        gemmaShaped.vocabulary = 512
        gemmaShaped.slidingPattern = 3
        gemmaShaped.seed = 12
        return [
            ("llama F32, separate output", .llama()),
            ("llama Q8_0, tied output", llamaQ8),
            ("llama F32, rope_freqs factors", llama3),
            ("llama F32, partial rotary 8 of 16", llamaPartial),
            ("qwen2 F32, separate output", .qwen2()),
            ("qwen2 F16, tied output", qwenF16),
            ("qwen2 F32, partial rotary 8 of 16", qwenPartial),
            ("qwen3 F32, head 32 (q_dim 128), Q/K norms", .qwen3()),
            ("qwen3 Q8_0, tied output", .qwen3(.q8_0, tied: true)),
            ("gemma3 F32, window 4 on layer 0, post-norms, GeGLU", .gemma3()),
            ("gemma3 F16, final soft-cap 5", gemmaCapped),
            ("gemma3 Q8_0, gemma-3-270m widths, 3 layers", gemmaShaped),
            ("phi3 F32, fused QKV and gate-up", .phi3()),
            ("phi3 Q8_0, fused, tied output", .phi3(.q8_0, tied: true)),
        ]
    }()

    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("edgert-tiny-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Set EDGERT_KEEP_TINY_MODELS=1 to keep the written models (their folder is printed), e.g. to
    /// run `oracle/forward.py` on them by hand.
    override func tearDownWithError() throws {
        guard let directory else { return }
        if ProcessInfo.processInfo.environment["EDGERT_KEEP_TINY_MODELS"] != nil {
            print("tiny models kept in \(directory.path)")
        } else {
            try FileManager.default.removeItem(at: directory)
        }
    }

    private func write(_ spec: TinyModelSpec, _ file: String) throws -> String {
        let path = directory.appendingPathComponent(file).path
        try spec.write(to: path)
        return path
    }

    /// All logits of `ids` evaluated in `calls` consecutive `evaluate` calls on one sequence.
    private func logits(_ model: Model, _ ids: [Int32], f32: Bool, threads: Int = 2, maxBatch: Int = 512,
                        split calls: [Int]? = nil) async throws -> [Float] {
        let node = try CPUNode(threads: threads)
        let pass = try ForwardPass(weights: model.weights, contextLength: 64, maxBatch: maxBatch, f32Activations: f32)
        var parts: [[Int32]] = []
        var start = 0
        for n in calls ?? [ids.count] {
            parts.append(Array(ids[start..<start + n]))
            start += n
        }
        precondition(start == ids.count, "the split covers the prompt")
        let calls = parts
        return try await node.run { pool in
            try calls.flatMap { try pass.evaluate($0, allLogits: true, pool: pool) }
        }
    }

    func testLogitsAgreeWithFloat64Oracle() async throws {
        try ForwardOracle.requireAvailable()
        let ids = Self.prompt
        var report: [String] = []
        for (i, (name, spec)) in Self.variants.enumerated() {
            let path = try write(spec, "variant\(i).gguf")
            let model = try Model(path: path)
            XCTAssertEqual(model.config.architecture, spec.architecture)
            XCTAssertEqual(model.weights.tiedOutput, spec.tiedOutput, name)
            XCTAssertEqual(model.config.ropeDimensions, spec.ropeDimensions ?? spec.headDim, name)
            XCTAssertEqual(model.weights.ropeFactors, spec.ropeFactors, name)
            let oracle = try ForwardOracle.logits(model: path, ids: ids)
            XCTAssertEqual(oracle.count, ids.count * spec.vocabulary)
            let rms = (oracle.reduce(0) { $0 + $1 * $1 } / Double(oracle.count)).squareRoot()

            let reference = try await logits(model, ids, f32: true)
            let fast = try await logits(model, ids, f32: false)
            let refTol = TinyTolerance.reference(positions: ids.count, blocks: spec.blocks, logitRMS: rms, geglu: spec.gemma)
            let fastTol = TinyTolerance.fast(positions: ids.count, blocks: spec.blocks, weights: spec.matrixType, logitRMS: rms,
                                             geglu: spec.gemma)
            let refErr = maxError(reference, oracle), fastErr = maxError(fast, oracle)
            XCTAssertLessThanOrEqual(refErr.value, refTol,
                                     "\(name), f32 activations: position \(refErr.index / spec.vocabulary), id \(refErr.index % spec.vocabulary)")
            XCTAssertLessThanOrEqual(fastErr.value, fastTol,
                                     "\(name), fast path: position \(fastErr.index / spec.vocabulary), id \(fastErr.index % spec.vocabulary)")
            // The argmax of each position agrees where the oracle's top two are clearly apart.
            for p in 0..<ids.count {
                let o = oracle[p * spec.vocabulary..<(p + 1) * spec.vocabulary]
                let r = reference[p * spec.vocabulary..<(p + 1) * spec.vocabulary]
                let sorted = o.sorted(by: >)
                if sorted[0] - sorted[1] > 2 * refTol {
                    XCTAssertEqual(r.firstIndex(of: r.max()!)! - r.startIndex, o.firstIndex(of: sorted[0])! - o.startIndex,
                                   "\(name): argmax at position \(p)")
                }
            }
            report.append(String(format: "%@: logit RMS %.3f; f32 path max|diff| %.2e (bound %.2e); fast path %.2e (bound %.2e)",
                                 name, rms, refErr.value, refTol, fastErr.value, fastTol))
        }
        print("TinyModelOracleTests vs float64 oracle, \(ids.count) positions:\n  " + report.joined(separator: "\n  "))
    }

    /// The same variants through llama.cpp (`scripts/oracle/llama_logits.c`, built against a
    /// llama.cpp build by `scripts/oracle/build-llama-logits.sh`; EDGERT_LLAMA_LOGITS names the
    /// binary): edgert's fast path and llama.cpp round activations alike (none for F32 weights, F16
    /// for F16, Q8_0 for Q8_0, byte for byte: see scripts/oracle/act_rounding.py) and attend in F16
    /// alike, so the two must lie within the reference path's bound of each other, not the fast
    /// path's (measured: 5e-7 apart with Q8_0 weights, up to 4e-3 with F32/F16 weights).
    /// Skips visibly when the binary is not there (a user's clone, CI without llama.cpp).
    func testLogitsAgreeWithLlamaCpp() async throws {
        let env = ProcessInfo.processInfo.environment["EDGERT_LLAMA_LOGITS"]
        let binary = env ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build/llama_logits").standardized.path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("llama.cpp logits oracle not built (\(binary)): run scripts/oracle/build-llama-logits.sh LLAMA_CPP_DIR")
        }
        let ids = Self.prompt
        var report: [String] = []
        for (i, (name, var spec)) in Self.variants.enumerated() {
            if spec.ropeDimensions != nil {
                // llama.cpp refuses partial rotary for llama ("invalid n_rot") and asserts for qwen2.
                report.append("\(name): not run (llama.cpp requires RoPE over the whole head for this architecture)")
                continue
            }
            spec.withVocabulary = true
            let path = try write(spec, "llama\(i).gguf")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = [path, ids.map(String.init).joined(separator: ",")]
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0,
                  let rows = (try JSONSerialization.jsonObject(with: o) as? [String: Any])?["logits"] as? [[Double]] else {
                XCTFail("\(name): llama_logits exited with \(p.terminationStatus): \(String(decoding: e, as: UTF8.self))")
                continue
            }
            let theirs = rows.flatMap { $0 }
            let model = try Model(path: path)
            let ours = try await logits(model, ids, f32: false)
            let rms = (theirs.reduce(0) { $0 + $1 * $1 } / Double(max(theirs.count, 1))).squareRoot()
            let bound = TinyTolerance.reference(positions: ids.count, blocks: spec.blocks, logitRMS: rms, geglu: spec.gemma)
            let worst = maxError(ours, theirs)
            XCTAssertLessThanOrEqual(worst.value, bound, "\(name): position \(worst.index / spec.vocabulary), id \(worst.index % spec.vocabulary)")
            report.append(String(format: "%@: max|edgert - llama.cpp| %.2e (bound %.2e)", name, worst.value, bound))
        }
        print("TinyModelOracleTests vs llama.cpp, \(ids.count) positions:\n  " + report.joined(separator: "\n  "))
    }

    private func maxError(_ got: [Float], _ want: [Double]) -> (value: Double, index: Int) {
        precondition(got.count == want.count, "\(got.count) logits against \(want.count)")
        var worst = (value: 0.0, index: 0)
        for i in want.indices {
            let e = abs(Double(got[i]) - want[i])
            if !(e <= worst.value) { worst = (e.isNaN ? .infinity : e, i) }
        }
        return worst
    }

    /// Token by token (12 calls of one token, and a pass whose maxBatch is 1), batched in one
    /// call, split across two calls, on 1 and on 2 threads: the logits are bit for bit the same,
    /// on both paths.
    func testBatchingThreadingAndSplittingAreBitIdentical() async throws {
        let ids = Self.prompt
        for (i, (name, spec)) in Self.variants.enumerated() {
            let model = try Model(path: try write(spec, "inv\(i).gguf"))
            for f32 in [true, false] {
                let label = "\(name), \(f32 ? "f32 activations" : "fast path")"
                let batched = try await logits(model, ids, f32: f32)
                XCTAssertEqual(batched.count, ids.count * spec.vocabulary)
                let oneThread = try await logits(model, ids, f32: f32, threads: 1)
                XCTAssert(batched == oneThread, "\(label): 1 thread differs from 2, max |diff| \(maxDiff(batched, oneThread))")
                let single = try await logits(model, ids, f32: f32, split: Array(repeating: 1, count: ids.count))
                XCTAssert(batched == single, "\(label): token by token differs from one batch, max |diff| \(maxDiff(batched, single))")
                let chunked = try await logits(model, ids, f32: f32, maxBatch: 1)
                XCTAssert(batched == chunked, "\(label): maxBatch 1 differs from one batch, max |diff| \(maxDiff(batched, chunked))")
                let split = try await logits(model, ids, f32: f32, split: [5, 7])
                XCTAssert(batched == split, "\(label): 5 + 7 tokens differ from 12 at once, max |diff| \(maxDiff(batched, split))")
            }
        }
    }

    private func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    // MARK: typed loading errors

    private func loadError(_ spec: TinyModelSpec, _ file: String) throws -> RuntimeError? {
        let path = try write(spec, file)
        do {
            _ = try Model(path: path)
            return nil
        } catch let e as RuntimeError {
            return e
        }
    }

    func testUnknownArchitectureListsSupported() throws {
        var spec = TinyModelSpec.llama()
        spec.architecture = "gpt2"
        guard case let .unknownArchitecture(name, supported) = try loadError(spec, "gpt2.gguf") else {
            return XCTFail("expected unknownArchitecture")
        }
        XCTAssertEqual(name, "gpt2")
        XCTAssert(supported.contains("llama") && supported.contains("qwen2"), "\(supported)")
        XCTAssertEqual(supported, supported.sorted())
        XCTAssert(RuntimeError.unknownArchitecture(name, supported: supported).description.contains("qwen2"))
    }

    func testUnsupportedMatrixTypeNamesTensorAndType() throws {
        // IQ2_XS rows are blocks of 256, so this model is 256 wide.
        var spec = TinyModelSpec.qwen2()
        spec.embedding = 256
        spec.feedForward = 256
        spec.vocabulary = 32
        spec.blocks = 1
        spec.typeOverrides = ["blk.0.ffn_gate.weight": .iq2_xs]
        XCTAssertEqual(try loadError(spec, "iq2xs.gguf"), .unsupportedTensorType(name: "blk.0.ffn_gate.weight", type: .iq2_xs))
    }

    func testMissingTensor() throws {
        var spec = TinyModelSpec.llama()
        spec.omitTensors = ["blk.1.ffn_up.weight"]
        XCTAssertEqual(try loadError(spec, "missing.gguf"), .missingTensor("blk.1.ffn_up.weight"))
        var qwen = TinyModelSpec.qwen2()
        qwen.omitTensors = ["blk.0.attn_k.bias"]
        XCTAssertEqual(try loadError(qwen, "missing-bias.gguf"), .missingTensor("blk.0.attn_k.bias"),
                       "qwen2 requires its Q/K/V biases")
    }

    func testWrongShape() throws {
        var spec = TinyModelSpec.llama()
        spec.dimsOverrides = ["blk.0.attn_k.weight": [64, 64]]   // 4 KV heads' worth instead of 2
        XCTAssertEqual(try loadError(spec, "shape.gguf"),
                       .tensorShape(name: "blk.0.attn_k.weight", expected: [64, 32], found: [64, 64]))
        var transposed = TinyModelSpec.llama()
        transposed.dimsOverrides = ["blk.1.ffn_down.weight": [64, 96]]   // (d_ff, d_model) the wrong way round
        XCTAssertEqual(try loadError(transposed, "transposed.gguf"),
                       .tensorShape(name: "blk.1.ffn_down.weight", expected: [96, 64], found: [64, 96]))
    }

    func testKVHeadsNotDividingHeads() throws {
        var spec = TinyModelSpec.qwen2()
        spec.headCountKVOverride = 3
        guard case let .badHyperparameter(key, reason) = try loadError(spec, "kvheads.gguf") else {
            return XCTFail("expected badHyperparameter")
        }
        XCTAssertEqual(key, "qwen2.attention.head_count_kv")
        XCTAssert(reason.contains("3") && reason.contains("4"), reason)
    }
}
