import EdgeCore
import EdgeFormats

/// One decoder architecture, declared in a file of its own: the GGUF keys it reads beyond the
/// common ones, how its tensors are found, and its layer as a ``LayerProgram``. The forward pass
/// executes the program; it knows no architecture.
///
/// Adding an architecture is one file defining a `static let` spec (see `Qwen3.swift`) and a line in
/// ``Architectures/all``.
public struct ArchitectureSpec: Sendable {
    /// `general.architecture` value, also the prefix of its hyperparameter keys.
    public let name: String
    public let ropeStyle: RopeStyle
    /// Reads the architecture's own keys into the configuration, after the common ones
    /// (``ModelConfig``) are read. Throws ``RuntimeError/badHyperparameter(key:reason:)``.
    let readHyperparameters: @Sendable (inout ModelConfig, HyperparameterReader) throws -> Void
    /// `ffn_up` holds the gate's d_ff rows, then the up projection's (Phi-3). (A fused `attn_qkv`
    /// is used wherever a file has one, as llama.cpp does.)
    let fusedGateUp: Bool
    /// Q, K and V biases are required (true) or optional (false) when the program adds them.
    let biasesRequired: Bool
    /// The program of layer `i`.
    let layer: @Sendable (ModelConfig, Int) -> LayerProgram

    init(name: String, ropeStyle: RopeStyle, fusedGateUp: Bool = false, biasesRequired: Bool = false,
         readHyperparameters: @escaping @Sendable (inout ModelConfig, HyperparameterReader) throws -> Void = { _, _ in },
         layer: @escaping @Sendable (ModelConfig, Int) -> LayerProgram) {
        self.name = name
        self.ropeStyle = ropeStyle
        self.fusedGateUp = fusedGateUp
        self.biasesRequired = biasesRequired
        self.readHyperparameters = readHyperparameters
        self.layer = layer
    }

    /// The attention shape most architectures use: the configuration's RoPE, 1/sqrt(head_dim).
    static func plainAttention(_ c: ModelConfig) -> AttentionShape {
        AttentionShape(ropeBase: c.ropeBase, ropeFrequencyScale: c.ropeFrequencyScale,
                       scale: c.attentionScale ?? 1 / Float(c.headDim).squareRoot())
    }
}

/// Reads `<arch>.<key>` values of a GGUF file with range checks and typed errors.
public struct HyperparameterReader: Sendable {
    let file: GGUFFile
    let architecture: String

    func key(_ suffix: String) -> String { "\(architecture).\(suffix)" }

    func int(_ suffix: String) throws -> Int? { try file.optionalInt(key(suffix)) }

    /// A positive integer no larger than 2^24.
    func positive(_ suffix: String) throws -> Int? {
        guard let v = try file.optionalInt(key(suffix)) else { return nil }
        guard v > 0, v <= 1 << 24 else { throw RuntimeError.badHyperparameter(key: key(suffix), reason: "\(v) is out of range") }
        return v
    }

    func float(_ suffix: String) throws -> Float? {
        guard let v = try file.optionalFloat(key(suffix)) else { return nil }
        guard v.isFinite else { throw RuntimeError.badHyperparameter(key: key(suffix), reason: "\(v) is not finite") }
        return Float(v)
    }

    func string(_ suffix: String) throws -> String? { try file.optionalString(key(suffix)) }

    /// A per-layer array of booleans or integers (0/1) of `count` entries, when the key holds an
    /// array (nil when it is absent or a scalar).
    func layerFlags(_ suffix: String, count: Int) throws -> [Bool]? {
        guard let value = file.value(key(suffix)), value.intValue == nil else { return nil }
        let flags: [Bool]
        switch value {
        case let .array(_, items):
            flags = try items.map {
                guard let b = $0.boolValue else { throw RuntimeError.badHyperparameter(key: key(suffix), reason: "not booleans") }
                return b
            }
        case let .int32Array(items): flags = items.map { $0 != 0 }
        default: throw RuntimeError.badHyperparameter(key: key(suffix), reason: "not an array")
        }
        guard flags.count == count else {
            throw RuntimeError.badHyperparameter(key: key(suffix), reason: "\(flags.count) entries for \(count) layers")
        }
        return flags
    }
}

/// The registry from a file's `general.architecture` to its spec.
public enum Architectures {
    public static let all: [String: ArchitectureSpec] = [
        ArchitectureSpec.llama.name: .llama,
        ArchitectureSpec.qwen2.name: .qwen2,
        ArchitectureSpec.qwen3.name: .qwen3,
        ArchitectureSpec.gemma3.name: .gemma3,
        ArchitectureSpec.phi3.name: .phi3,
    ]

    public static var supportedNames: [String] { all.keys.sorted() }

    public static func spec(for name: String) throws(RuntimeError) -> ArchitectureSpec {
        guard let s = all[name] else { throw .unknownArchitecture(name, supported: supportedNames) }
        return s
    }
}
