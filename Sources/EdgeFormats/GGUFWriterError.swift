/// Why ``GGUFWriter`` refused to build or write a file. The writer checks everything a reader
/// (ours or llama.cpp's) would check, so it never produces a file that ``GGUFFile`` rejects.
public enum GGUFWriterError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A GGUF version other than 2 or 3.
    case badVersion(UInt32)
    /// An alignment that is not a power of two and a multiple of 8 (spec) up to 1 MiB.
    case badAlignment(Int)
    /// A metadata key that is empty, not ASCII or longer than 65535 bytes (spec rules for keys).
    case badKey(key: String, reason: String)
    /// The same metadata key added twice.
    case duplicateKey(String)
    /// A metadata value the format cannot hold: mixed array element types, nesting too deep, or a
    /// `general.alignment` that disagrees with the writer's alignment.
    case badValue(key: String, reason: String)
    /// A tensor whose name, rank, dimensions or row length is invalid; `reason` says which.
    case badTensor(name: String, reason: String)
    /// The same tensor name added twice.
    case duplicateTensor(String)
    /// A tensor's data is not exactly the size its type and dimensions give.
    case tensorDataSize(name: String, expected: Int, got: Int)
    /// A tensor added without data was to be written by a call that takes no `fill` closure.
    case missingTensorData(name: String)
    /// A system call failed while writing; `reason` is the system's message.
    case io(path: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case let .badVersion(v): "cannot write GGUF version \(v) (supported: 2, 3)"
        case let .badAlignment(a): "cannot write alignment \(a): it must be a power of two, a multiple of 8 and at most 1048576"
        case let .badKey(key, reason): "cannot write metadata key '\(key)': \(reason)"
        case let .duplicateKey(key): "metadata key '\(key)' added twice"
        case let .badValue(key, reason): "cannot write metadata '\(key)': \(reason)"
        case let .badTensor(name, reason): "cannot write tensor '\(name)': \(reason)"
        case let .duplicateTensor(name): "tensor '\(name)' added twice"
        case let .tensorDataSize(name, expected, got):
            "tensor '\(name)' needs exactly \(expected) bytes of data, got \(got)"
        case let .missingTensorData(name): "tensor '\(name)' has no data and no fill closure was given"
        case let .io(path, operation, reason): "cannot write \(path): \(operation) failed: \(reason)"
        }
    }
}
