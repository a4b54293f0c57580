import EdgeCore
import EdgeFormats

/// A model file opened for inference: metadata, hyperparameters and bound weights.
/// Weights stay in the file's memory mapping; nothing is copied but norms and biases.
public final class Model: Sendable {
    public let path: String
    public let file: GGUFFile
    public let spec: ArchitectureSpec
    public let config: ModelConfig
    public let weights: ModelWeights

    /// Opens and validates `path`. Throws ``FormatError`` for an unreadable or corrupt file and
    /// ``RuntimeError`` for a valid file edgert cannot run (architecture, tensor types, shapes).
    public convenience init(path: String) throws {
        let file = try GGUFFile(path: path)
        try self.init(file: file)
    }

    public init(file: GGUFFile) throws {
        self.file = file
        path = file.path
        let arch = try file.string("general.architecture")
        let spec = try Architectures.spec(for: arch)
        self.spec = spec
        // Vocabulary size: the tokenizer's token list, else <arch>.vocab_size, else the embedding rows.
        var vocab = try file.optionalInt("\(arch).vocab_size")
        if let tokens = try file.optionalStringArray("tokenizer.ggml.tokens") { vocab = tokens.count }
        if vocab == nil, let emb = file.tensor(named: TensorNames.tokenEmbedding), emb.dims.count >= 2 { vocab = emb.dims[1] }
        guard let vocab, vocab > 0 else { throw RuntimeError.badHyperparameter(key: "tokenizer.ggml.tokens", reason: "no vocabulary") }
        let config = try ModelConfig(gguf: file, spec: spec, vocabularySize: vocab)
        self.config = config
        weights = try ModelWeights(file: file, config: config, spec: spec,
                                   programs: (0..<config.blockCount).map { spec.layer(config, $0) })
        try file.checkUnchanged()
    }

    /// Sum of the bytes of every weight tensor.
    public var weightBytes: Int { file.tensors.reduce(0) { $0 + $1.byteCount } }
}
