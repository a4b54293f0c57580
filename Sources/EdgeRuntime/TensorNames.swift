import EdgeCore

/// GGUF tensor names (llama.cpp's `LLM_TENSOR_*` names): the only place they are spelled
/// (foreign names at the border).
enum TensorNames {
    static let tokenEmbedding = "token_embd.weight"
    static let outputNorm = "output_norm.weight"
    static let output = "output.weight"
    static let ropeFrequencies = "rope_freqs.weight"
    /// Phi-3's LongRoPE factors for contexts within the original one (first layer's copy).
    static let ropeFactorsShort = "rope_factors_short.weight"
    static let ropeFactorsLong = "rope_factors_long.weight"

    /// Fused Q, K and V rows (Phi-3): Q's rows, then K's, then V's.
    static func fusedQKV(_ i: Int) -> String { "blk.\(i).attn_qkv.weight" }

    /// The name of a per-layer role's own tensor (nil for model-level roles).
    static func name(_ role: WeightRole, layer i: Int) -> String {
        switch role {
        case .tokenEmbedding: tokenEmbedding
        case .outputNorm: outputNorm
        case .output: output
        case .ropeFrequencies: ropeFrequencies
        case .attentionNorm: "blk.\(i).attn_norm.weight"
        case .query: "blk.\(i).attn_q.weight"
        case .key: "blk.\(i).attn_k.weight"
        case .value: "blk.\(i).attn_v.weight"
        case .queryBias: "blk.\(i).attn_q.bias"
        case .keyBias: "blk.\(i).attn_k.bias"
        case .valueBias: "blk.\(i).attn_v.bias"
        case .queryNorm: "blk.\(i).attn_q_norm.weight"
        case .keyNorm: "blk.\(i).attn_k_norm.weight"
        case .attentionOutput: "blk.\(i).attn_output.weight"
        case .postAttentionNorm: "blk.\(i).post_attention_norm.weight"
        case .feedForwardNorm: "blk.\(i).ffn_norm.weight"
        case .gate: "blk.\(i).ffn_gate.weight"
        case .up: "blk.\(i).ffn_up.weight"
        case .down: "blk.\(i).ffn_down.weight"
        case .postFeedForwardNorm: "blk.\(i).post_ffw_norm.weight"
        }
    }

    /// The GGUF name of a tensor given by its role.
    static func name(of t: WeightTensor) -> String { name(t.role, layer: t.layer ?? 0) }
}
