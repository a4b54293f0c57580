extension ArchitectureSpec {
    /// Qwen2 / Qwen2.5: the Llama block with (required) biases on the Q, K and V projections and
    /// NeoX-style RoPE.
    static let qwen2 = ArchitectureSpec(name: "qwen2", ropeStyle: .neox, biasesRequired: true) { c, _ in
        LayerProgram(ops: LayerPrograms.attention(bias: true) + LayerPrograms.feedForward(.swiglu),
                     attention: plainAttention(c))
    }
}
