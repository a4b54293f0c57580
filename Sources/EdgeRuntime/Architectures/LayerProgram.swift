import EdgeCore

/// The buffers a layer program reads and writes, each (batch, width) row-major floats.
public enum ActivationSlot: Int, Sendable, CaseIterable {
    /// (d_model) the residual stream.
    case residual
    /// (d_model) a normalized copy of the stream.
    case normed
    /// (n_head * head_dim)
    case query
    /// (n_kv * head_dim)
    case key
    /// (n_kv * head_dim)
    case value
    /// (n_head * head_dim) the attention's output.
    case attention
    /// (d_model) a branch's output before it joins the stream.
    case branch
    /// (d_ff) the feed-forward gate, and the GLU's result.
    case gate
    /// (d_ff)
    case up
}

extension ActivationSlot {
    /// Floats per token of this slot in a model of `config`'s shape.
    public func width(_ config: ModelConfig) -> Int {
        switch self {
        case .residual, .normed, .branch: config.embeddingLength
        case .query, .attention: config.qDim
        case .key, .value: config.kvDim
        case .gate, .up: config.feedForwardLength
        }
    }
}

/// Gated linear units: out = act(gate) * up.
public enum GLUKind: Sendable, Equatable {
    /// act = SiLU (x / (1 + e^-x)): Llama, Qwen, Phi-3.
    case swiglu
    /// act = GELU, tanh approximation: Gemma.
    case geglu
}

/// One operation of a layer, in the small vocabulary every architecture is written in. Each has a
/// scalar reference in CEdgeKernels (`edge_ops.h`) and a test against an independent float64
/// forward pass (`Tests/EdgeRuntimeTests/oracle/forward.py`).
public enum LayerOp: Sendable, Equatable {
    /// output = rmsnorm(input) * weight (RMSNorm with a learned gain; in place when input == output).
    case rmsNorm(WeightRole, input: ActivationSlot, output: ActivationSlot)
    /// output = input · weightᵀ (weights of any supported type; activations rounded to the
    /// weight's activation type on the fast path).
    case matmul(WeightRole, input: ActivationSlot, output: ActivationSlot)
    /// slot += bias.
    case bias(WeightRole, ActivationSlot)
    /// Per-head RMSNorm of Q or K with a (head_dim) gain shared by the heads (Qwen3, Gemma 3).
    case headNorm(WeightRole, ActivationSlot)
    /// Rotary position embedding of Q or K, with the layer's base and scale (``AttentionShape``).
    case rope(ActivationSlot)
    /// K and V into the layer's cache, then causal grouped-query attention of Q over it:
    /// query → attention.
    case attention
    /// gate = act(gate) * up.
    case glu(GLUKind)
    /// output += input (a residual add).
    case add(ActivationSlot, into: ActivationSlot)
}

/// How one layer attends: RoPE parameters, score scale, window and soft-cap.
public struct AttentionShape: Sendable, Equatable {
    public var ropeBase: Float
    /// Multiplies every rotary angle (1 / linear scaling factor).
    public var ropeFrequencyScale: Float
    /// Applied to q·k before the softmax.
    public var scale: Float
    /// Positions a query sees (itself included); nil: every earlier position.
    public var window: Int?
    /// Scores s become cap · tanh(s / cap); nil: no cap.
    public var softcap: Float?

    public init(ropeBase: Float, ropeFrequencyScale: Float, scale: Float, window: Int? = nil, softcap: Float? = nil) {
        self.ropeBase = ropeBase
        self.ropeFrequencyScale = ropeFrequencyScale
        self.scale = scale
        self.window = window
        self.softcap = softcap
    }
}

/// One layer of an architecture: its operations in order, and how its attention is shaped.
public struct LayerProgram: Sendable, Equatable {
    public var ops: [LayerOp]
    public var attention: AttentionShape

    public init(ops: [LayerOp], attention: AttentionShape) {
        self.ops = ops
        self.attention = attention
    }

    /// The matrices the program multiplies with, in the order it reads them.
    public var matrices: [WeightRole] {
        ops.compactMap { if case let .matmul(role, _, _) = $0 { role } else { nil } }
    }

    /// The vectors (norm gains and biases) the program reads.
    public var vectors: [WeightRole] {
        ops.compactMap {
            switch $0 {
            case let .rmsNorm(role, _, _), let .bias(role, _), let .headNorm(role, _): role
            default: nil
            }
        }
    }
}

/// Building blocks the architecture files share.
public enum LayerPrograms {
    /// attn_norm → Q, K, V (+ biases) → (Q/K norms) → RoPE → attention → W_o, added to the stream.
    public static func attention(bias: Bool = false, headNorms: Bool = false, postNorm: Bool = false) -> [LayerOp] {
        var ops: [LayerOp] = [
            .rmsNorm(.attentionNorm, input: .residual, output: .normed),
            .matmul(.query, input: .normed, output: .query),
            .matmul(.key, input: .normed, output: .key),
            .matmul(.value, input: .normed, output: .value),
        ]
        if bias { ops += [.bias(.queryBias, .query), .bias(.keyBias, .key), .bias(.valueBias, .value)] }
        if headNorms { ops += [.headNorm(.queryNorm, .query), .headNorm(.keyNorm, .key)] }
        ops += [.rope(.query), .rope(.key), .attention, .matmul(.attentionOutput, input: .attention, output: .branch)]
        if postNorm { ops.append(.rmsNorm(.postAttentionNorm, input: .branch, output: .branch)) }
        ops.append(.add(.branch, into: .residual))
        return ops
    }

    /// ffn_norm → gate, up → GLU → down, added to the stream.
    public static func feedForward(_ glu: GLUKind, postNorm: Bool = false) -> [LayerOp] {
        var ops: [LayerOp] = [
            .rmsNorm(.feedForwardNorm, input: .residual, output: .normed),
            .matmul(.gate, input: .normed, output: .gate),
            .matmul(.up, input: .normed, output: .up),
            .glu(glu),
            .matmul(.down, input: .gate, output: .branch),
        ]
        if postNorm { ops.append(.rmsNorm(.postFeedForwardNorm, input: .branch, output: .branch)) }
        ops.append(.add(.branch, into: .residual))
        return ops
    }
}
