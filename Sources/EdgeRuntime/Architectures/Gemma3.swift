extension ArchitectureSpec {
    /// Gemma 3 (text): the token embedding scaled by sqrt(d_model); per layer, RMSNorm before and
    /// after both the attention and the feed-forward branch (`post_attention_norm`,
    /// `post_ffw_norm`), per-head Q/K RMSNorm, GeGLU (tanh GELU), NeoX RoPE. Layers interleave
    /// sliding-window attention (window `attention.sliding_window`, RoPE base
    /// `rope.freq_base_swa`, default 10000, unscaled) with global attention (`rope.freq_base`, with
    /// the file's linear scaling): by `attention.sliding_window_pattern` (per-layer flags, or a
    /// period n whose last layer is global; default 6, llama.cpp's rule). Q·K is scaled by
    /// 1/sqrt(head_dim), except for the 62-layer 27B model, which uses 1/sqrt(d_model / heads)
    /// (Gemma's `query_pre_attn_scalar`, which GGUF does not store). An optional final-logit
    /// soft-cap (`final_logit_softcapping`; Gemma 2's attention soft-cap is not read for Gemma 3, as
    /// in llama.cpp). (GGUF conversion already adds Gemma's +1 to every norm gain.)
    static let gemma3 = ArchitectureSpec(name: "gemma3", ropeStyle: .neox, readHyperparameters: { c, r in
        c.embeddingScale = Float(c.embeddingLength).squareRoot()
        c.attentionScale = c.blockCount == 62
            ? 1 / Float(c.embeddingLength / c.headCount).squareRoot()
            : 1 / Float(c.headDim).squareRoot()
        if let window = try r.positive(HyperparameterKey.slidingWindow) {
            c.slidingWindow = window
            if let flags = try r.layerFlags(HyperparameterKey.slidingWindowPattern, count: c.blockCount) {
                c.slidingWindowLayers = flags
            } else {
                let period = try r.int(HyperparameterKey.slidingWindowPattern) ?? 6
                guard period >= 0 else {
                    throw RuntimeError.badHyperparameter(key: r.key(HyperparameterKey.slidingWindowPattern), reason: "\(period)")
                }
                c.slidingWindowLayers = (0..<c.blockCount).map { period == 0 || $0 % period < period - 1 }
            }
            c.ropeBaseSliding = try r.float(HyperparameterKey.ropeBaseSliding) ?? 10000
        }
        if let cap = try r.float(HyperparameterKey.finalLogitSoftcap), cap != 0 { c.finalLogitSoftcap = cap }
    }) { c, i in
        var shape = plainAttention(c)
        if c.isSliding(i), let base = c.ropeBaseSliding {
            shape.ropeBase = base
            shape.ropeFrequencyScale = 1
            shape.window = c.slidingWindow
        }
        return LayerProgram(ops: LayerPrograms.attention(headNorms: true, postNorm: true)
                                + LayerPrograms.feedForward(.geglu, postNorm: true),
                            attention: shape)
    }
}
