import EdgeCore
import EdgeFormats
import Foundation

/// Small GGUF files the error tests write: each is valid up to exactly one fault.
enum TestModelFiles {
    /// A file that starts like a GGUF file but with the magic `GGML`.
    static func writeBadMagic(to path: String) throws {
        var bytes = Array("GGML".utf8)
        bytes += [3, 0, 0, 0] + [UInt8](repeating: 0, count: 56)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The first `fraction` of `source`, as a truncated download would leave it.
    static func writeTruncatedCopy(of source: String, fraction: Double, to path: String) throws -> Int {
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        let kept = Int(Double(data.count) * fraction)
        try data.prefix(kept).write(to: URL(fileURLWithPath: path))
        return kept
    }

    /// A well-formed GGUF that declares `general.architecture = gpt2`.
    static func writeGPT2(to path: String) throws {
        var w = try GGUFWriter()
        try w.addMetadata("general.architecture", .string("gpt2"))
        try w.addMetadata("general.name", .string("edgert CLI test: unsupported architecture"))
        try w.addMetadata("gpt2.context_length", .uint32(64))
        try w.addMetadata("gpt2.embedding_length", .uint32(32))
        try w.addMetadata("gpt2.block_count", .uint32(1))
        try w.addTensor(name: "token_embd.weight", type: .f32, dims: [32, 4], data: [UInt8](repeating: 0, count: 32 * 4 * 4))
        try w.write(toFile: path)
    }

    /// A one-block llama model (d_model 256, 4 query heads of 64, 1 KV head, feed-forward 256,
    /// an 8-token SentencePiece vocabulary) whose weights are zeros: every matrix Q8_0 except
    /// `blk.0.attn_q.weight`, which is stored as `attnQType`. Norms are F32.
    ///
    /// 256 columns because K-quant rows are whole 256-value blocks (ggml's QK_K).
    static func writeTinyLlama(to path: String, attnQType: TensorType) throws {
        let d = 256, ff = 256, heads = 4, kvHeads = 1, headDim = d / heads
        let tokens = ["<unk>", "<s>", "</s>", "\u{2581}", "a", "b", "\u{2581}a", "\u{2581}b"]
        var w = try GGUFWriter()
        try w.addMetadata("general.architecture", .string("llama"))
        try w.addMetadata("general.name", .string("edgert CLI test: tiny llama"))
        try w.addMetadata("llama.context_length", .uint32(64))
        try w.addMetadata("llama.embedding_length", .uint32(UInt32(d)))
        try w.addMetadata("llama.block_count", .uint32(1))
        try w.addMetadata("llama.feed_forward_length", .uint32(UInt32(ff)))
        try w.addMetadata("llama.attention.head_count", .uint32(UInt32(heads)))
        try w.addMetadata("llama.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        try w.addMetadata("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        try w.addMetadata("llama.rope.dimension_count", .uint32(UInt32(headDim)))
        try w.addMetadata("tokenizer.ggml.model", .string("llama"))
        try w.addMetadata("tokenizer.ggml.tokens", .stringArray(tokens))
        try w.addMetadata("tokenizer.ggml.scores", .float32Array(tokens.indices.map { -Float($0) }))
        // token_type: 2 unknown, 3 control, 1 normal (llama.cpp's llama_token_type).
        try w.addMetadata("tokenizer.ggml.token_type", .int32Array([2, 3, 3] + Array(repeating: 1, count: tokens.count - 3)))
        try w.addMetadata("tokenizer.ggml.bos_token_id", .uint32(1))
        try w.addMetadata("tokenizer.ggml.eos_token_id", .uint32(2))
        try w.addMetadata("tokenizer.ggml.unknown_token_id", .uint32(0))

        func zeros(_ name: String, _ type: TensorType, _ dims: [Int]) throws {
            let size = try GGUFWriter.byteCount(name: name, type: type, dims: dims)
            try w.addTensor(name: name, type: type, dims: dims, data: [UInt8](repeating: 0, count: size))
        }
        func norm(_ name: String) throws {
            // RMSNorm weights of 1.0 in F32.
            let one = withUnsafeBytes(of: Float(1).bitPattern.littleEndian) { Array($0) }
            try w.addTensor(name: name, type: .f32, dims: [d], data: Array((0..<d).map { _ in one }.joined()))
        }
        try zeros("token_embd.weight", .q8_0, [d, tokens.count])
        try norm("output_norm.weight")
        try norm("blk.0.attn_norm.weight")
        try zeros("blk.0.attn_q.weight", attnQType, [d, heads * headDim])
        try zeros("blk.0.attn_k.weight", .q8_0, [d, kvHeads * headDim])
        try zeros("blk.0.attn_v.weight", .q8_0, [d, kvHeads * headDim])
        try zeros("blk.0.attn_output.weight", .q8_0, [heads * headDim, d])
        try norm("blk.0.ffn_norm.weight")
        try zeros("blk.0.ffn_gate.weight", .q8_0, [d, ff])
        try zeros("blk.0.ffn_up.weight", .q8_0, [d, ff])
        try zeros("blk.0.ffn_down.weight", .q8_0, [ff, d])
        try w.write(toFile: path)
    }
}
