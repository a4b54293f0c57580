/// What distinguishes one decoder architecture from another inside edgert's shared forward pass.
/// Adding an architecture is one file that defines its spec plus an entry in ``Architectures/all``.
public struct ArchitectureSpec: Sendable {
    /// `general.architecture` value, also the prefix of its hyperparameter keys.
    public let name: String
    public let ropeStyle: RopeStyle
    /// Whether Q, K and V projections carry biases (required when true).
    public let qkvBias: Bool
}

/// The registry from a file's `general.architecture` to its spec.
public enum Architectures {
    public static let all: [String: ArchitectureSpec] = [
        ArchitectureSpec.llama.name: .llama,
        ArchitectureSpec.qwen2.name: .qwen2,
    ]

    public static var supportedNames: [String] { all.keys.sorted() }

    public static func spec(for name: String) throws(RuntimeError) -> ArchitectureSpec {
        guard let s = all[name] else { throw .unknownArchitecture(name, supported: supportedNames) }
        return s
    }
}
