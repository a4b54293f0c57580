import EdgeCore
import EdgeFormats
import EdgeTokenizer

/// Why ``ModelSynthesizer`` could not make a model file.
public enum SynthesisError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The shape's numbers are unusable (see ``ModelShape/validate()``).
    case shape(ModelShapeError)
    /// The weights were asked for in a type the synthesizer cannot fill; `supported` lists those it can.
    case unsupportedType(TensorType, supported: [TensorType])
    /// The shape's vocabulary size is one the synthetic vocabulary cannot have.
    case vocabulary(TokenizerError)
    /// The GGUF writer refused the layout or failed to write the file.
    case write(GGUFWriterError)

    public var description: String {
        switch self {
        case let .shape(e): "\(e)"
        case let .unsupportedType(t, supported):
            "cannot synthesize \(t) weights (supported: \(supported.map(\.description).joined(separator: ", ")))"
        case let .vocabulary(e): "synthetic vocabulary: \(e)"
        case let .write(e): "\(e)"
        }
    }
}
