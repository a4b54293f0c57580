import EdgeFormats

/// How a model applies rotary position embeddings.
public enum RopeStyle: Sendable {
    /// Rotates adjacent pairs (2i, 2i+1) — Llama as converted to GGUF.
    case normal
    /// Rotates pairs (i, i + d/2) — GPT-NeoX style, used by Qwen2.
    case neox
}

/// The hyperparameters of a decoder-only transformer, read from GGUF metadata (the blueprint).
public struct ModelConfig: Sendable, Equatable {
    public var architecture: String
    public var contextLength: Int
    public var embeddingLength: Int       // d_model
    public var blockCount: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var headCountKV: Int
    public var headDim: Int
    public var rmsEpsilon: Float
    public var ropeBase: Float
    public var ropeDimensions: Int
    /// Multiplies every rotary angle (1 / linear scaling factor).
    public var ropeFrequencyScale: Float
    public var ropeStyle: RopeStyle
    public var vocabularySize: Int

    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { headCountKV * headDim }

    /// Reads the `<arch>.*` keys. `spec` supplies the architecture's defaults.
    init(gguf: GGUFFile, spec: ArchitectureSpec, vocabularySize: Int) throws {
        let a = spec.name
        func req(_ k: String) throws -> Int {
            let v = try gguf.int("\(a).\(k)")
            guard v > 0, v <= 1 << 24 else { throw RuntimeError.badHyperparameter(key: "\(a).\(k)", reason: "\(v) is out of range") }
            return v
        }
        architecture = a
        contextLength = try req("context_length")
        embeddingLength = try req("embedding_length")
        blockCount = try req("block_count")
        feedForwardLength = try req("feed_forward_length")
        headCount = try req("attention.head_count")
        headCountKV = try gguf.optionalInt("\(a).attention.head_count_kv") ?? headCount
        guard headCountKV > 0, headCount % headCountKV == 0 else {
            throw RuntimeError.badHyperparameter(key: "\(a).attention.head_count_kv",
                                                 reason: "\(headCountKV) does not divide the \(headCount) query heads")
        }
        guard embeddingLength % headCount == 0 || gguf.value("\(a).attention.key_length") != nil else {
            throw RuntimeError.badHyperparameter(key: "\(a).embedding_length", reason: "not a multiple of the head count")
        }
        headDim = try gguf.optionalInt("\(a).attention.key_length") ?? embeddingLength / headCount
        if let vl = try gguf.optionalInt("\(a).attention.value_length"), vl != headDim {
            throw RuntimeError.badHyperparameter(key: "\(a).attention.value_length", reason: "\(vl) differs from key_length \(headDim)")
        }
        guard headDim % 2 == 0, headDim <= 512 else {
            throw RuntimeError.badHyperparameter(key: "\(a).attention.key_length", reason: "head size \(headDim) (even, at most 512)")
        }
        rmsEpsilon = Float(try gguf.optionalFloat("\(a).attention.layer_norm_rms_epsilon") ?? 1e-5)
        ropeBase = Float(try gguf.optionalFloat("\(a).rope.freq_base") ?? 10000)
        ropeDimensions = try gguf.optionalInt("\(a).rope.dimension_count") ?? headDim
        guard ropeDimensions > 0, ropeDimensions <= headDim, ropeDimensions % 2 == 0 else {
            throw RuntimeError.badHyperparameter(key: "\(a).rope.dimension_count", reason: "\(ropeDimensions) for head size \(headDim)")
        }
        var scale: Float = 1
        if let type = try gguf.optionalString("\(a).rope.scaling.type"), type != "none" {
            let factor = Float(try gguf.optionalFloat("\(a).rope.scaling.factor") ?? 1)
            switch type {
            case "linear":
                guard factor > 0 else { throw RuntimeError.badHyperparameter(key: "\(a).rope.scaling.factor", reason: "\(factor)") }
                scale = 1 / factor
            case "llama3":
                break  // expressed by the rope_freqs tensor, applied per dimension
            case "yarn" where factor == 1:
                break
            default:
                throw RuntimeError.badHyperparameter(key: "\(a).rope.scaling.type",
                                                     reason: "'\(type)' scaling is not supported (supported: linear, llama3)")
            }
        } else if let s = try gguf.optionalFloat("\(a).rope.scale_linear"), s > 0 {
            scale = Float(1 / s)
        }
        ropeFrequencyScale = scale
        ropeStyle = spec.ropeStyle
        self.vocabularySize = vocabularySize
    }
}
