/// One weight tensor of a ``ModelShape``: its role, its block and its dimensions.
public struct WeightTensor: Sendable, Hashable, Codable {
    public let role: WeightRole
    /// The transformer block it belongs to; nil for the model-level tensors.
    public let layer: Int?
    /// Innermost first (ggml's `ne`): `dims[0]` is the row length, `dims[1]` (matrices) the rows.
    public let dims: [Int]

    public init(role: WeightRole, layer: Int?, dims: [Int]) {
        self.role = role
        self.layer = layer
        self.dims = dims
    }

    public var elementCount: Int { dims.reduce(1, *) }

    /// The type this tensor is stored in when a file is made "all `requested`", as llama.cpp's
    /// quantizer (`llama-quant.cpp`) does it: vectors stay F32; a matrix whose rows are not whole
    /// blocks of `requested` falls back, K-quants to a legacy type of 32-value blocks (Q4_K to
    /// Q5_0, Q5_K to Q5_1, Q6_K to Q8_0, Q2_K and Q3_K to IQ4_NL), and anything whose rows are still
    /// not whole blocks to F16.
    public func storageType(requested: TensorType) -> TensorType {
        guard role.isMatrix else { return .f32 }
        if requested.rowBytes(dims[0]) != nil { return requested }
        let legacy: TensorType? = switch requested {
        case .q4_K: .q5_0
        case .q5_K: .q5_1
        case .q6_K: .q8_0
        case .q2_K, .q3_K: .iq4_nl
        default: nil
        }
        if let legacy, legacy.rowBytes(dims[0]) != nil { return legacy }
        return .f16
    }

    /// Bytes the tensor takes when stored as ``storageType(requested:)`` gives.
    public func byteCount(requested: TensorType) -> Int {
        let type = storageType(requested: requested)
        // storageType picks a type whose rows are whole blocks (F32 and F16 always are).
        return type.rowBytes(dims[0])! * (elementCount / dims[0])
    }
}
