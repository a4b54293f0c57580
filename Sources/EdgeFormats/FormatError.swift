import EdgeCore

/// Why a model file could not be read. Every case names the field or tensor and, where there is
/// one, the byte offset in the file at which the problem was found.
public enum FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or mapped; `reason` is the system's message.
    case cannotOpen(path: String, reason: String)
    /// The first four bytes are not `GGUF`.
    case badMagic(found: UInt32)
    /// A GGUF version other than 2 or 3.
    case unsupportedVersion(UInt32)
    /// A field runs past the end of the file.
    case truncated(field: String, offset: Int, needed: Int, fileSize: Int)
    /// A count or length that cannot fit in the rest of the file (or exceeds
    /// ``GGUFFile/maxBoxedArrayElements``).
    case implausibleCount(field: String, offset: Int, count: UInt64)
    /// A metadata value type number that GGUF does not define.
    case unknownValueType(key: String, offset: Int, raw: UInt32)
    /// Arrays nested deeper than the reader allows.
    case nestingTooDeep(key: String, offset: Int)
    /// The same metadata key appears twice.
    case duplicateKey(key: String, offset: Int)
    /// `general.alignment` is not a uint32 power of two in 1...1 MiB. `value` is the number, or the
    /// type of the value when it is not a uint32.
    case badAlignment(value: String)
    /// A tensor with no dimensions or more than four.
    case tensorRank(name: String, offset: Int, rank: UInt32)
    /// A tensor dimension that is zero, negative or whose product overflows.
    case tensorDimensions(name: String, offset: Int, dims: [UInt64])
    /// A tensor type number that ggml does not define.
    case unknownTensorType(name: String, offset: Int, raw: UInt32)
    /// A row length that is not a whole number of the type's blocks.
    case tensorRowNotWholeBlocks(name: String, type: TensorType, rowLength: Int)
    /// A tensor data offset that is not a multiple of the file's alignment.
    case tensorMisaligned(name: String, offset: UInt64, alignment: Int)
    /// A tensor whose bytes lie (partly) outside the file.
    case tensorOutOfBounds(name: String, offset: UInt64, size: Int, fileSize: Int)
    /// Two tensors with the same name.
    case duplicateTensor(name: String)
    /// Two tensors whose data ranges share bytes. `offset` is where `name`'s data starts
    /// (relative to the data section), inside `other`'s data.
    case tensorsOverlap(name: String, other: String, offset: UInt64)
    /// A required metadata key is absent.
    case missingKey(String)
    /// A metadata key holds a value of another type than required.
    case keyType(key: String, expected: String, found: String)
    /// A metadata value is out of its valid range.
    case badValue(key: String, reason: String)
    /// The file changed while it was in use (truncated or rewritten in place by another process).
    case fileChanged(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open model file \(path): \(reason)"
        case let .badMagic(found):
            "not a GGUF file: magic is 0x\(String(found, radix: 16)) at offset 0 (expected 'GGUF')"
        case let .unsupportedVersion(v) where v.byteSwapped == 2 || v.byteSwapped == 3:
            "unsupported GGUF version field \(v) at offset 4: this is a big-endian GGUF v\(v.byteSwapped) file (only little-endian is supported)"
        case let .unsupportedVersion(v): "unsupported GGUF version \(v) at offset 4 (supported: 2, 3)"
        case let .truncated(field, offset, needed, size):
            "file truncated: \(field) at offset \(offset) needs \(needed) bytes, file has \(size)"
        case let .implausibleCount(field, offset, count):
            "corrupt file: \(field) at offset \(offset) is \(count), more than the file can hold or the reader allows"
        case let .unknownValueType(key, offset, raw):
            "corrupt file: metadata '\(key)' at offset \(offset) has unknown value type \(raw)"
        case let .nestingTooDeep(key, offset): "corrupt file: metadata '\(key)' at offset \(offset) nests arrays too deeply"
        case let .duplicateKey(key, offset): "corrupt file: metadata key '\(key)' repeated at offset \(offset)"
        case let .badAlignment(value):
            "corrupt file: general.alignment is \(value); it must be a uint32 power of two from 1 to 1048576"
        case let .tensorRank(name, offset, rank):
            "corrupt file: tensor '\(name)' at offset \(offset) has \(rank) dimensions (1 to 4 allowed)"
        case let .tensorDimensions(name, offset, dims):
            "corrupt file: tensor '\(name)' at offset \(offset) has invalid dimensions \(dims)"
        case let .unknownTensorType(name, offset, raw):
            "corrupt file: tensor '\(name)' at offset \(offset) has unknown type \(raw)"
        case let .tensorRowNotWholeBlocks(name, type, n):
            "corrupt file: tensor '\(name)' of type \(type) has rows of \(n) values, not a multiple of \(type.blockSize)"
        case let .tensorMisaligned(name, offset, alignment):
            "corrupt file: tensor '\(name)' data offset \(offset) is not a multiple of \(alignment)"
        case let .tensorOutOfBounds(name, offset, size, fileSize):
            "corrupt file: tensor '\(name)' (\(size) bytes at data offset \(offset)) lies outside the file (\(fileSize) bytes)"
        case let .duplicateTensor(name): "corrupt file: tensor '\(name)' appears twice"
        case let .fileChanged(path, reason): "model file \(path) changed underneath: \(reason); the operation was stopped"
        case let .tensorsOverlap(name, other, offset):
            "corrupt file: tensor '\(name)' data at data offset \(offset) overlaps the data of tensor '\(other)'"
        case let .missingKey(key): "model metadata lacks required key '\(key)'"
        case let .keyType(key, expected, found): "model metadata '\(key)' is \(found), expected \(expected)"
        case let .badValue(key, reason): "model metadata '\(key)' is invalid: \(reason)"
        }
    }
}
