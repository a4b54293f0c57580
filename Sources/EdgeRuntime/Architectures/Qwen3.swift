extension ArchitectureSpec {
    /// Qwen3 (dense): the Qwen2 block without Q/K/V biases and with a per-head RMSNorm on Q and on
    /// K before RoPE (`attn_q_norm`, `attn_k_norm`, head_dim values each). The head size comes from
    /// `attention.key_length` (128), not d_model / heads. NeoX-style RoPE.
    ///
    /// This file is the whole architecture: the common keys are read by ``ModelConfig``, the
    /// tensors follow from the program's roles (`TensorNames`), and the registry line is in
    /// ``Architectures/all``.
    static let qwen3 = ArchitectureSpec(name: "qwen3", ropeStyle: .neox) { c, _ in
        LayerProgram(ops: LayerPrograms.attention(headNorms: true) + LayerPrograms.feedForward(.swiglu),
                     attention: plainAttention(c))
    }
}
