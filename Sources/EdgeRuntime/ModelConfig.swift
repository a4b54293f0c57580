import EdgeFormats

/// How a model applies rotary position embeddings.
public enum RopeStyle: Sendable {
    /// Rotates adjacent pairs (2i, 2i+1) — Llama as converted to GGUF.
    case normal
    /// Rotates pairs (i, i + d/2) — GPT-NeoX style, used by Qwen2.
    case neox
}

/// The hyperparameters of a decoder-only transformer, read from GGUF metadata (the blueprint):
/// the common keys here, an architecture's own ones by its ``ArchitectureSpec``.
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

    // Set by the architectures that have them (nil or empty otherwise).
    /// Scale of q·k (nil: 1/sqrt(head_dim)).
    public var attentionScale: Float?
    /// Positions a sliding-window layer's query sees.
    public var slidingWindow: Int?
    /// Which layers attend through the window (empty: none).
    public var slidingWindowLayers: [Bool] = []
    /// RoPE base of the sliding-window layers (their angles are not scaled).
    public var ropeBaseSliding: Float?
    /// The final logits become cap · tanh(logit / cap).
    public var finalLogitSoftcap: Float?
    /// The token embedding's rows are multiplied by this (Gemma: sqrt(d_model)).
    public var embeddingScale: Float?
    /// The context the frequency factors were fitted for (LongRoPE: longer runs use the long factors).
    public var ropeOriginalContext: Int?

    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { headCountKV * headDim }

    /// Whether layer `i` attends through the sliding window.
    public func isSliding(_ i: Int) -> Bool { slidingWindow != nil && i < slidingWindowLayers.count && slidingWindowLayers[i] }

    /// Reads the `<arch>.*` keys common to every architecture, then the architecture's own.
    init(gguf: GGUFFile, spec: ArchitectureSpec, vocabularySize: Int) throws {
        let a = spec.name
        let r = HyperparameterReader(file: gguf, architecture: a)
        func req(_ k: String) throws -> Int {
            guard let v = try r.positive(k) else { throw FormatError.missingKey(r.key(k)) }
            return v
        }
        architecture = a
        contextLength = try req(HyperparameterKey.contextLength)
        embeddingLength = try req(HyperparameterKey.embeddingLength)
        blockCount = try req(HyperparameterKey.blockCount)
        feedForwardLength = try req(HyperparameterKey.feedForwardLength)
        headCount = try req(HyperparameterKey.headCount)
        headCountKV = try r.int(HyperparameterKey.headCountKV) ?? headCount
        guard headCountKV > 0, headCount % headCountKV == 0 else {
            throw RuntimeError.badHyperparameter(key: r.key(HyperparameterKey.headCountKV),
                                                 reason: "\(headCountKV) does not divide the \(headCount) query heads")
        }
        let keyLength = try r.int(HyperparameterKey.keyLength)
        guard embeddingLength % headCount == 0 || keyLength != nil else {
            throw RuntimeError.badHyperparameter(key: r.key(HyperparameterKey.embeddingLength), reason: "not a multiple of the head count")
        }
        headDim = keyLength ?? embeddingLength / headCount
        if let vl = try r.int(HyperparameterKey.valueLength), vl != headDim {
            throw RuntimeError.badHyperparameter(key: r.key(HyperparameterKey.valueLength), reason: "\(vl) differs from key_length \(headDim)")
        }
        guard headDim % 2 == 0, headDim > 0, headDim <= 512 else {
            throw RuntimeError.badHyperparameter(key: r.key(HyperparameterKey.keyLength), reason: "head size \(headDim) (even, at most 512)")
        }
        rmsEpsilon = try r.float(HyperparameterKey.rmsEpsilon) ?? 1e-5
        ropeBase = try r.float(HyperparameterKey.ropeBase) ?? 10000
        ropeDimensions = try r.int(HyperparameterKey.ropeDimensions) ?? headDim
        guard ropeDimensions > 0, ropeDimensions <= headDim, ropeDimensions % 2 == 0 else {
            throw RuntimeError.badHyperparameter(key: r.key(HyperparameterKey.ropeDimensions), reason: "\(ropeDimensions) for head size \(headDim)")
        }
        var scale: Float = 1
        if let type = try r.string(HyperparameterKey.ropeScalingType), type != "none" {
            let factor = try r.float(HyperparameterKey.ropeScalingFactor) ?? 1
            switch type {
            case "linear":
                guard factor > 0 else { throw RuntimeError.badHyperparameter(key: r.key(HyperparameterKey.ropeScalingFactor), reason: "\(factor)") }
                scale = 1 / factor
            case "llama3", "longrope":
                break  // expressed by frequency-factor tensors, applied per dimension
            case "yarn" where factor == 1:
                break
            default:
                throw RuntimeError.badHyperparameter(key: r.key(HyperparameterKey.ropeScalingType),
                                                     reason: "'\(type)' scaling is not supported (supported: linear, llama3, longrope)")
            }
        } else if let s = try r.float(HyperparameterKey.ropeScaleLinear), s > 0 {
            scale = 1 / s
        }
        ropeFrequencyScale = scale
        ropeStyle = spec.ropeStyle
        self.vocabularySize = vocabularySize
        try spec.readHyperparameters(&self, r)
    }
}

/// The `<arch>.`-relative GGUF hyperparameter keys (llama.cpp's `LLM_KV_*` names): the only place
/// they are spelled. The model reader and ``ModelSynthesizer`` both use them.
public enum HyperparameterKey {
    public static let contextLength = "context_length"
    public static let embeddingLength = "embedding_length"
    public static let blockCount = "block_count"
    public static let feedForwardLength = "feed_forward_length"
    public static let vocabularySize = "vocab_size"
    public static let headCount = "attention.head_count"
    public static let headCountKV = "attention.head_count_kv"
    public static let keyLength = "attention.key_length"
    public static let valueLength = "attention.value_length"
    public static let rmsEpsilon = "attention.layer_norm_rms_epsilon"
    public static let slidingWindow = "attention.sliding_window"
    public static let slidingWindowPattern = "attention.sliding_window_pattern"
    public static let ropeBase = "rope.freq_base"
    public static let ropeBaseSliding = "rope.freq_base_swa"
    public static let ropeDimensions = "rope.dimension_count"
    public static let ropeScalingType = "rope.scaling.type"
    public static let ropeScalingFactor = "rope.scaling.factor"
    public static let ropeScalingAttentionFactor = "rope.scaling.attn_factor"
    public static let ropeOriginalContext = "rope.scaling.original_context_length"
    public static let ropeScaleLinear = "rope.scale_linear"
    public static let finalLogitSoftcap = "final_logit_softcapping"
}
