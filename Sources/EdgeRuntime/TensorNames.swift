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
}
