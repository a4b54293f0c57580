import EdgeCore

/// Why a kernel refused its input. Each case names the operation and the sizes it was given.
public enum KernelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `type` has no kernel here (see ``TensorType/supported``).
    case unsupportedType(TensorType)
    /// `op` was given `count` elements of `type` in `byteCount` bytes: the count is not a whole
    /// number of blocks, or the bytes are fewer than `expectedBytes`.
    case shape(op: String, type: TensorType, count: Int, byteCount: Int, expectedBytes: Int?)

    public var description: String {
        switch self {
        case .unsupportedType(let type):
            return "no kernel for tensor type \(type)"
        case .shape(let op, let type, let count, let byteCount, let expected):
            let need = expected.map { "\($0) bytes" } ?? "a multiple of \(type.blockSize) elements"
            return "\(op): \(count) elements of \(type) in \(byteCount) bytes, need \(need)"
        }
    }
}
