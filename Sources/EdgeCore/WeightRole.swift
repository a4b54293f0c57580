/// What a weight tensor of a decoder-only transformer does, in the model's own terms (the file
/// format's names for them live with the format's reader and writer, not here).
public enum WeightRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// (vocab, d_model): one row per token.
    case tokenEmbedding
    /// (d_model): the RMSNorm gain before the output projection.
    case outputNorm
    /// (vocab, d_model): the output projection, absent when tied to the token embedding.
    case output
    /// (rope_dims / 2): Llama-3 RoPE frequency divisors, computed from the configuration rather
    /// than learned (not counted as parameters).
    case ropeFrequencies
    /// (d_model): RMSNorm gain before attention.
    case attentionNorm
    /// (n_head * head_dim, d_model)
    case query
    /// (n_kv * head_dim, d_model)
    case key
    /// (n_kv * head_dim, d_model)
    case value
    /// (n_head * head_dim)
    case queryBias
    /// (n_kv * head_dim)
    case keyBias
    /// (n_kv * head_dim)
    case valueBias
    /// (d_model, n_head * head_dim)
    case attentionOutput
    /// (head_dim): RMSNorm gain applied to each query head (Qwen3, Gemma 3).
    case queryNorm
    /// (head_dim): RMSNorm gain applied to each key head.
    case keyNorm
    /// (d_model): RMSNorm gain on the attention branch before it joins the stream (Gemma 2/3).
    case postAttentionNorm
    /// (d_model): RMSNorm gain before the feed-forward block.
    case feedForwardNorm
    /// (d_model): RMSNorm gain on the feed-forward branch before it joins the stream (Gemma 2/3).
    case postFeedForwardNorm
    /// (d_ff, d_model): the SwiGLU gate projection.
    case gate
    /// (d_ff, d_model)
    case up
    /// (d_model, d_ff)
    case down

    /// Whether the role is a matrix (quantizable) rather than a vector kept in F32.
    public var isMatrix: Bool {
        switch self {
        case .tokenEmbedding, .output, .query, .key, .value, .attentionOutput, .gate, .up, .down: true
        case .outputNorm, .ropeFrequencies, .attentionNorm, .queryBias, .keyBias, .valueBias, .feedForwardNorm, .queryNorm,
             .keyNorm, .postAttentionNorm, .postFeedForwardNorm: false
        }
    }

    /// Whether the role is learned (counted in a model's published parameter count).
    public var isParameter: Bool { self != .ropeFrequencies }
}
