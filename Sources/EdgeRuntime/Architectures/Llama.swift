extension ArchitectureSpec {
    /// Llama 2 and 3, TinyLlama, SmolLM/SmolLM2, Mistral (without sliding window): RMSNorm,
    /// grouped-query attention, SwiGLU, RoPE on adjacent pairs (GGUF conversion permutes Q/K for it),
    /// Llama-3 frequency factors through the optional `rope_freqs` tensor, Q/K/V biases when a file
    /// has them.
    static let llama = ArchitectureSpec(name: "llama", ropeStyle: .normal) { c, _ in
        LayerProgram(ops: LayerPrograms.attention(bias: true) + LayerPrograms.feedForward(.swiglu),
                     attention: plainAttention(c))
    }
}
