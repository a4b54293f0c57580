extension ArchitectureSpec {
    /// Qwen2 / Qwen2.5: the Llama block with biases on the Q, K and V projections and
    /// NeoX-style RoPE.
    static let qwen2 = ArchitectureSpec(name: "qwen2", ropeStyle: .neox, qkvBias: true)
}
