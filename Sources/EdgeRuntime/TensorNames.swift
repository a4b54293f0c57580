import EdgeCore

/// GGUF tensor names: the only place they are spelled (foreign names at the border).
enum TensorNames {
    static let tokenEmbedding = "token_embd.weight"
    static let outputNorm = "output_norm.weight"
    static let output = "output.weight"
    static let ropeFrequencies = "rope_freqs.weight"

    static func attnNorm(_ i: Int) -> String { "blk.\(i).attn_norm.weight" }
    static func wq(_ i: Int) -> String { "blk.\(i).attn_q.weight" }
    static func wk(_ i: Int) -> String { "blk.\(i).attn_k.weight" }
    static func wv(_ i: Int) -> String { "blk.\(i).attn_v.weight" }
    static func bq(_ i: Int) -> String { "blk.\(i).attn_q.bias" }
    static func bk(_ i: Int) -> String { "blk.\(i).attn_k.bias" }
    static func bv(_ i: Int) -> String { "blk.\(i).attn_v.bias" }
    static func wo(_ i: Int) -> String { "blk.\(i).attn_output.weight" }
    static func ffnNorm(_ i: Int) -> String { "blk.\(i).ffn_norm.weight" }
    static func gate(_ i: Int) -> String { "blk.\(i).ffn_gate.weight" }
    static func up(_ i: Int) -> String { "blk.\(i).ffn_up.weight" }
    static func down(_ i: Int) -> String { "blk.\(i).ffn_down.weight" }

    /// The GGUF name of a tensor given by its role (llama.cpp's `LLM_TENSOR_*` names).
    static func name(of t: WeightTensor) -> String {
        let i = t.layer ?? 0
        switch t.role {
        case .tokenEmbedding: return tokenEmbedding
        case .outputNorm: return outputNorm
        case .output: return output
        case .ropeFrequencies: return ropeFrequencies
        case .attentionNorm: return attnNorm(i)
        case .query: return wq(i)
        case .key: return wk(i)
        case .value: return wv(i)
        case .queryBias: return bq(i)
        case .keyBias: return bk(i)
        case .valueBias: return bv(i)
        case .attentionOutput: return wo(i)
        case .feedForwardNorm: return ffnNorm(i)
        case .gate: return gate(i)
        case .up: return up(i)
        case .down: return down(i)
        }
    }
}
