import EdgeCore
import EdgeDevices

/// Why a model could not be loaded or run.
public enum RuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `general.architecture` names an architecture edgert does not implement.
    case unknownArchitecture(String, supported: [String])
    /// A tensor the architecture needs is absent from the file.
    case missingTensor(String)
    /// A tensor's shape differs from what the hyperparameters imply.
    case tensorShape(name: String, expected: [Int], found: [Int])
    /// A tensor is stored in a type the kernels do not compute with.
    case unsupportedTensorType(name: String, type: TensorType)
    /// A hyperparameter is missing or out of range.
    case badHyperparameter(key: String, reason: String)
    /// The prompt plus the tokens to generate exceed the context.
    case promptTooLong(promptTokens: Int, requestedTokens: Int, contextLength: Int)
    /// The context is full: no room for another token.
    case contextFull(contextLength: Int)
    /// A token id outside the vocabulary.
    case tokenOutOfRange(id: Int32, vocabularySize: Int)
    /// An invalid run or sampling parameter.
    case badParameter(name: String, reason: String)
    /// An empty prompt where at least one token is needed.
    case emptyPrompt
    /// A device that does not run an operation the model needs (`at`: the tensor or layer).
    case unsupportedOperation(device: String, operation: String, type: TensorType?, at: String)
    /// No budget was given and what this process may use (`allowance`, in words) is below the
    /// `minimum` bytes the model needs even when streamed.
    case notEnoughMemory(allowance: String, minimum: Int)
    /// The GPU could not be found, opened or run.
    case gpu(GPUError)

    public var description: String {
        switch self {
        case let .unknownArchitecture(a, supported):
            "unsupported model architecture '\(a)' (supported: \(supported.joined(separator: ", ")))"
        case let .missingTensor(n): "model file lacks tensor '\(n)'"
        case let .tensorShape(n, e, f): "tensor '\(n)' has shape \(f), expected \(e)"
        case let .unsupportedTensorType(n, t):
            "tensor '\(n)' has type \(t), which edgert cannot compute with (supported: \(TensorType.supported.map(\.description).sorted().joined(separator: ", ")))"
        case let .badHyperparameter(k, r): "model hyperparameter '\(k)': \(r)"
        case let .promptTooLong(p, r, c):
            "prompt of \(p) tokens plus \(r) tokens to generate needs \(p + r) positions, but the context holds \(c) (use --ctx or fewer tokens)"
        case let .contextFull(c): "context of \(c) tokens is full"
        case let .tokenOutOfRange(id, n): "token id \(id) is outside the vocabulary of \(n)"
        case let .badParameter(n, r): "invalid \(n): \(r)"
        case .emptyPrompt: "the prompt is empty (nothing to evaluate)"
        case let .unsupportedOperation(d, op, t, at):
            "\(d) does not run \(op)\(t.map { " on \($0) weights" } ?? "") (needed by \(at))"
        case let .gpu(e): e.description
        case let .notEnoughMemory(a, m):
            "this process may use only \(a); even streamed from disk the model needs at least "
                + String(format: "%.1f MiB", Double(m) / 1048576) + " (KV cache, activations, one streamed block): raise the memory limit or use a smaller --ctx"
        }
    }
}
