/// The layout of a decoder-only transformer (Llama-style blocks: RMSNorm, grouped-query
/// attention with RoPE, SwiGLU), without its weights: enough to list every weight tensor, count
/// parameters and bytes, plan where a model would run, or synthesize a stand-in file.
///
/// ``catalogue`` holds well-known layouts, each checked against its published `config.json`.
public struct ModelShape: Sendable, Hashable, Codable {
    /// Catalogue name, lower case (`llama-2-7b`).
    public var name: String
    /// The GGUF `general.architecture` it is written as: `llama` or `qwen2`.
    public var architecture: String
    /// Transformer blocks (`num_hidden_layers`).
    public var blockCount: Int
    /// d_model (`hidden_size`).
    public var embeddingLength: Int
    /// d_ff (`intermediate_size`).
    public var feedForwardLength: Int
    /// Query heads (`num_attention_heads`).
    public var headCount: Int
    /// Key/value heads (`num_key_value_heads`); equal to ``headCount`` without grouped-query attention.
    public var headCountKV: Int
    /// Size of one head (`head_dim`, else `hidden_size / num_attention_heads`).
    public var headDim: Int
    /// Tokens (`vocab_size`): rows of the embedding and the output projection.
    public var vocabularySize: Int
    /// Trained context in tokens (`max_position_embeddings`).
    public var contextLength: Int
    /// RoPE base θ (`rope_theta`).
    public var ropeBase: Float
    /// RMSNorm ε (`rms_norm_eps`).
    public var rmsEpsilon: Float
    /// Whether the output projection is the token embedding (`tie_word_embeddings`).
    public var tiedEmbeddings: Bool
    /// Whether the Q, K and V projections carry biases (Qwen2).
    public var qkvBias: Bool
    /// Llama-3.1-style RoPE scaling, stored in a file as the `rope_freqs` tensor.
    public var ropeScaling: Llama3RopeScaling?

    public init(name: String, architecture: String, blockCount: Int, embeddingLength: Int, feedForwardLength: Int,
                headCount: Int, headCountKV: Int, headDim: Int? = nil, vocabularySize: Int, contextLength: Int,
                ropeBase: Float, rmsEpsilon: Float, tiedEmbeddings: Bool, qkvBias: Bool,
                ropeScaling: Llama3RopeScaling? = nil) {
        self.name = name
        self.architecture = architecture
        self.blockCount = blockCount
        self.embeddingLength = embeddingLength
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.headDim = headDim ?? (headCount > 0 ? embeddingLength / headCount : 0)
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.ropeBase = ropeBase
        self.rmsEpsilon = rmsEpsilon
        self.tiedEmbeddings = tiedEmbeddings
        self.qkvBias = qkvBias
        self.ropeScaling = ropeScaling
    }

    /// Width of the concatenated query heads.
    public var qDim: Int { headCount * headDim }
    /// Width of the concatenated key (or value) heads.
    public var kvDim: Int { headCountKV * headDim }

    // MARK: catalogue

    /// The catalogue entry called `name` (case-insensitive).
    public static func named(_ name: String) throws(ModelShapeError) -> ModelShape {
        let wanted = name.lowercased()
        guard let shape = catalogue.first(where: { $0.name == wanted }) else {
            throw .unknownName(name, known: catalogue.map(\.name))
        }
        return shape
    }

    /// The same layout with only the first `count` blocks (a smaller file of the same widths).
    public func withBlockCount(_ count: Int) throws(ModelShapeError) -> ModelShape {
        guard count >= 1, count <= blockCount else { throw .badBlockCount(count, shape: name, available: blockCount) }
        var s = self
        s.blockCount = count
        return s
    }

    /// Checks the numbers a runtime relies on: positive sizes, heads that divide evenly, an
    /// even head size, a known architecture.
    public func validate() throws(ModelShapeError) {
        let sizes = [("blockCount", blockCount), ("embeddingLength", embeddingLength),
                     ("feedForwardLength", feedForwardLength), ("headCount", headCount),
                     ("headCountKV", headCountKV), ("headDim", headDim), ("vocabularySize", vocabularySize),
                     ("contextLength", contextLength)]
        for (field, value) in sizes where value < 1 {
            throw .badField(shape: name, field: field, reason: "\(value) is not positive")
        }
        guard headCount % headCountKV == 0 else {
            throw .badField(shape: name, field: "headCountKV", reason: "\(headCountKV) does not divide the \(headCount) query heads")
        }
        guard headDim % 2 == 0 else { throw .badField(shape: name, field: "headDim", reason: "\(headDim) is odd (RoPE rotates pairs)") }
        guard Self.architectures.contains(architecture) else {
            throw .badField(shape: name, field: "architecture",
                            reason: "'\(architecture)' (known: \(Self.architectures.joined(separator: ", ")))")
        }
        guard ropeBase > 0, rmsEpsilon > 0 else {
            throw .badField(shape: name, field: "ropeBase/rmsEpsilon", reason: "must be positive")
        }
    }

    /// Architectures a shape can name.
    public static let architectures = ["llama", "qwen2"]

    // MARK: tensors

    /// Every weight tensor in model order: the token embedding, then each block (attention norm,
    /// Q, K, V with their biases, attention output, feed-forward norm, gate, up, down), then the
    /// output norm, the output projection unless tied, and the RoPE frequency divisors when the
    /// shape has Llama-3 scaling.
    public var tensors: [WeightTensor] {
        let d = embeddingLength
        var out: [WeightTensor] = [WeightTensor(role: .tokenEmbedding, layer: nil, dims: [d, vocabularySize])]
        out.reserveCapacity(4 + blockCount * 12)
        for i in 0..<blockCount {
            out.append(WeightTensor(role: .attentionNorm, layer: i, dims: [d]))
            out.append(WeightTensor(role: .query, layer: i, dims: [d, qDim]))
            out.append(WeightTensor(role: .key, layer: i, dims: [d, kvDim]))
            out.append(WeightTensor(role: .value, layer: i, dims: [d, kvDim]))
            if qkvBias {
                out.append(WeightTensor(role: .queryBias, layer: i, dims: [qDim]))
                out.append(WeightTensor(role: .keyBias, layer: i, dims: [kvDim]))
                out.append(WeightTensor(role: .valueBias, layer: i, dims: [kvDim]))
            }
            out.append(WeightTensor(role: .attentionOutput, layer: i, dims: [qDim, d]))
            out.append(WeightTensor(role: .feedForwardNorm, layer: i, dims: [d]))
            out.append(WeightTensor(role: .gate, layer: i, dims: [d, feedForwardLength]))
            out.append(WeightTensor(role: .up, layer: i, dims: [d, feedForwardLength]))
            out.append(WeightTensor(role: .down, layer: i, dims: [feedForwardLength, d]))
        }
        out.append(WeightTensor(role: .outputNorm, layer: nil, dims: [d]))
        if !tiedEmbeddings { out.append(WeightTensor(role: .output, layer: nil, dims: [d, vocabularySize])) }
        if ropeScaling != nil { out.append(WeightTensor(role: .ropeFrequencies, layer: nil, dims: [headDim / 2])) }
        return out
    }

    /// Learned parameters (the figure model cards publish): every tensor but the RoPE divisors.
    public var parameterCount: Int {
        tensors.reduce(0) { $0 + ($1.role.isParameter ? $1.elementCount : 0) }
    }

    /// Bytes of all weight tensors in a file made "all `type`" (see ``WeightTensor/storageType(requested:)``),
    /// without the file's header and alignment padding.
    public func weightBytes(type: TensorType) -> Int {
        tensors.reduce(0) { $0 + $1.byteCount(requested: type) }
    }

    /// Bytes of the weights one block holds when stored as `type`.
    public func blockBytes(type: TensorType) -> Int {
        tensors.reduce(0) { $0 + ($1.layer == 0 ? $1.byteCount(requested: type) : 0) }
    }
}
