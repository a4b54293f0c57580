extension ModelShape {
    /// Well-known layouts, smallest first. Every number comes from the model's `config.json` on
    /// Hugging Face (cited above each entry); the parameter counts in the comments are what those
    /// numbers give, and match the published sizes.
    public static let catalogue: [ModelShape] = [
        smolLM2_135M, qwen25_0_5B, llama32_1B, qwen25_3B, llama32_3B,
        llama2_7B, qwen25_7B, llama3_8B, llama31_8B, llama2_70B,
    ]

    /// Names of the catalogue entries, in catalogue order.
    public static var catalogueNames: [String] { catalogue.map(\.name) }

    /// HuggingFaceTB/SmolLM2-135M config.json: hidden_size 576, intermediate_size 1536,
    /// num_hidden_layers 30, num_attention_heads 9, num_key_value_heads 3, vocab_size 49152,
    /// max_position_embeddings 8192, rope_theta 100000, rms_norm_eps 1e-5, tie_word_embeddings true.
    /// 134,515,008 parameters.
    static let smolLM2_135M = ModelShape(
        name: "smollm2-135m", architecture: "llama", blockCount: 30, embeddingLength: 576, feedForwardLength: 1536,
        headCount: 9, headCountKV: 3, vocabularySize: 49152, contextLength: 8192,
        ropeBase: 100_000, rmsEpsilon: 1e-5, tiedEmbeddings: true, qkvBias: false)

    /// Qwen/Qwen2.5-0.5B config.json: hidden_size 896, intermediate_size 4864, num_hidden_layers 24,
    /// num_attention_heads 14, num_key_value_heads 2, vocab_size 151936, max_position_embeddings
    /// 32768, rope_theta 1000000, rms_norm_eps 1e-6, tie_word_embeddings true; QKV biases
    /// (Qwen2 architecture). 494,032,768 parameters (model card: 0.49B).
    static let qwen25_0_5B = ModelShape(
        name: "qwen2.5-0.5b", architecture: "qwen2", blockCount: 24, embeddingLength: 896, feedForwardLength: 4864,
        headCount: 14, headCountKV: 2, vocabularySize: 151_936, contextLength: 32768,
        ropeBase: 1_000_000, rmsEpsilon: 1e-6, tiedEmbeddings: true, qkvBias: true)

    /// meta-llama/Llama-3.2-1B config.json: hidden_size 2048, intermediate_size 8192,
    /// num_hidden_layers 16, num_attention_heads 32, num_key_value_heads 8, head_dim 64,
    /// vocab_size 128256, max_position_embeddings 131072, rope_theta 500000, rms_norm_eps 1e-5,
    /// tie_word_embeddings true, rope_scaling llama3 (factor 32, low 1, high 4, original 8192).
    /// 1,235,814,400 parameters (model card: 1.23B).
    static let llama32_1B = ModelShape(
        name: "llama-3.2-1b", architecture: "llama", blockCount: 16, embeddingLength: 2048, feedForwardLength: 8192,
        headCount: 32, headCountKV: 8, headDim: 64, vocabularySize: 128_256, contextLength: 131_072,
        ropeBase: 500_000, rmsEpsilon: 1e-5, tiedEmbeddings: true, qkvBias: false,
        ropeScaling: Llama3RopeScaling(factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 8192))

    /// Qwen/Qwen2.5-3B config.json: hidden_size 2048, intermediate_size 11008, num_hidden_layers 36,
    /// num_attention_heads 16, num_key_value_heads 2, vocab_size 151936, max_position_embeddings
    /// 32768, rope_theta 1000000, rms_norm_eps 1e-6, tie_word_embeddings true; QKV biases.
    /// 3,085,938,688 parameters (model card: 3.09B).
    static let qwen25_3B = ModelShape(
        name: "qwen2.5-3b", architecture: "qwen2", blockCount: 36, embeddingLength: 2048, feedForwardLength: 11008,
        headCount: 16, headCountKV: 2, vocabularySize: 151_936, contextLength: 32768,
        ropeBase: 1_000_000, rmsEpsilon: 1e-6, tiedEmbeddings: true, qkvBias: true)

    /// meta-llama/Llama-3.2-3B config.json: hidden_size 3072, intermediate_size 8192,
    /// num_hidden_layers 28, num_attention_heads 24, num_key_value_heads 8, head_dim 128,
    /// vocab_size 128256, max_position_embeddings 131072, rope_theta 500000, rms_norm_eps 1e-5,
    /// tie_word_embeddings true, rope_scaling llama3 (factor 32, low 1, high 4, original 8192).
    /// 3,212,749,824 parameters (model card: 3.21B).
    static let llama32_3B = ModelShape(
        name: "llama-3.2-3b", architecture: "llama", blockCount: 28, embeddingLength: 3072, feedForwardLength: 8192,
        headCount: 24, headCountKV: 8, headDim: 128, vocabularySize: 128_256, contextLength: 131_072,
        ropeBase: 500_000, rmsEpsilon: 1e-5, tiedEmbeddings: true, qkvBias: false,
        ropeScaling: Llama3RopeScaling(factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 8192))

    /// meta-llama/Llama-2-7b-hf config.json: hidden_size 4096, intermediate_size 11008,
    /// num_hidden_layers 32, num_attention_heads 32, num_key_value_heads 32, vocab_size 32000,
    /// max_position_embeddings 4096, rope_theta 10000 (default), rms_norm_eps 1e-5, untied.
    /// 6,738,415,616 parameters (model card: 7B; the paper's Table 1 lists 6.7B).
    static let llama2_7B = ModelShape(
        name: "llama-2-7b", architecture: "llama", blockCount: 32, embeddingLength: 4096, feedForwardLength: 11008,
        headCount: 32, headCountKV: 32, vocabularySize: 32000, contextLength: 4096,
        ropeBase: 10000, rmsEpsilon: 1e-5, tiedEmbeddings: false, qkvBias: false)

    /// Qwen/Qwen2.5-7B config.json: hidden_size 3584, intermediate_size 18944, num_hidden_layers 28,
    /// num_attention_heads 28, num_key_value_heads 4, vocab_size 152064, max_position_embeddings
    /// 131072, rope_theta 1000000, rms_norm_eps 1e-6, tie_word_embeddings false; QKV biases.
    /// 7,615,616,512 parameters (model card: 7.61B).
    static let qwen25_7B = ModelShape(
        name: "qwen2.5-7b", architecture: "qwen2", blockCount: 28, embeddingLength: 3584, feedForwardLength: 18944,
        headCount: 28, headCountKV: 4, vocabularySize: 152_064, contextLength: 131_072,
        ropeBase: 1_000_000, rmsEpsilon: 1e-6, tiedEmbeddings: false, qkvBias: true)

    /// meta-llama/Meta-Llama-3-8B config.json: hidden_size 4096, intermediate_size 14336,
    /// num_hidden_layers 32, num_attention_heads 32, num_key_value_heads 8, vocab_size 128256,
    /// max_position_embeddings 8192, rope_theta 500000, rms_norm_eps 1e-5, untied.
    /// 8,030,261,248 parameters (model card: 8B).
    static let llama3_8B = ModelShape(
        name: "llama-3-8b", architecture: "llama", blockCount: 32, embeddingLength: 4096, feedForwardLength: 14336,
        headCount: 32, headCountKV: 8, vocabularySize: 128_256, contextLength: 8192,
        ropeBase: 500_000, rmsEpsilon: 1e-5, tiedEmbeddings: false, qkvBias: false)

    /// meta-llama/Llama-3.1-8B config.json: as Llama-3-8B, with max_position_embeddings 131072 and
    /// rope_scaling llama3 (factor 8, low 1, high 4, original 8192). 8,030,261,248 parameters.
    static let llama31_8B = ModelShape(
        name: "llama-3.1-8b", architecture: "llama", blockCount: 32, embeddingLength: 4096, feedForwardLength: 14336,
        headCount: 32, headCountKV: 8, vocabularySize: 128_256, contextLength: 131_072,
        ropeBase: 500_000, rmsEpsilon: 1e-5, tiedEmbeddings: false, qkvBias: false,
        ropeScaling: Llama3RopeScaling(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 8192))

    /// meta-llama/Llama-2-70b-hf config.json: hidden_size 8192, intermediate_size 28672,
    /// num_hidden_layers 80, num_attention_heads 64, num_key_value_heads 8, vocab_size 32000,
    /// max_position_embeddings 4096, rope_theta 10000 (default), rms_norm_eps 1e-5, untied.
    /// 68,976,648,192 parameters (model card: 70B; the paper's Table 1 lists 69B).
    static let llama2_70B = ModelShape(
        name: "llama-2-70b", architecture: "llama", blockCount: 80, embeddingLength: 8192, feedForwardLength: 28672,
        headCount: 64, headCountKV: 8, vocabularySize: 32000, contextLength: 4096,
        ropeBase: 10000, rmsEpsilon: 1e-5, tiedEmbeddings: false, qkvBias: false)
}
