extension ArchitectureSpec {
    /// Phi-3 / Phi-3.5 / Phi-4-mini: the Llama block with NeoX RoPE, Q, K and V fused in one
    /// `attn_qkv` tensor (Q's rows, then K's, then V's) and gate and up fused in `ffn_up` (2 d_ff
    /// rows, the gate's first). Files with LongRoPE carry `rope_factors_short` and
    /// `rope_factors_long` (the long ones are used when the run's context exceeds
    /// `rope.scaling.original_context_length`, as llama.cpp chooses) and `rope.scaling.attn_factor`,
    /// which scales the rotated Q and K and so multiplies q·k by its square. A sliding window in
    /// the file is ignored, as llama.cpp does for this architecture.
    static let phi3 = ArchitectureSpec(name: "phi3", ropeStyle: .neox, fusedGateUp: true, readHyperparameters: { c, r in
        if let f = try r.float(HyperparameterKey.ropeScalingAttentionFactor), f != 1 {
            guard f > 0, c.ropeDimensions == c.headDim else {
                throw RuntimeError.badHyperparameter(key: r.key(HyperparameterKey.ropeScalingAttentionFactor),
                                                     reason: "\(f) with partial rotary (\(c.ropeDimensions) of \(c.headDim)) is not supported")
            }
            c.attentionScale = f * f / Float(c.headDim).squareRoot()
        }
        c.ropeOriginalContext = try r.positive(HyperparameterKey.ropeOriginalContext)
    }) { c, _ in
        LayerProgram(ops: LayerPrograms.attention(bias: true) + LayerPrograms.feedForward(.swiglu),
                     attention: plainAttention(c))
    }
}
