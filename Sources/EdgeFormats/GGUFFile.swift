import EdgeCore

/// One tensor's entry in a GGUF file: name, type, shape and where its bytes are.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: TensorType
    /// Dimensions, innermost first (ggml's `ne`): `dims[0]` is the row length.
    public let dims: [Int]
    /// Absolute byte offset of the tensor's data in the file.
    public let fileOffset: Int
    /// Size of the tensor's data in bytes.
    public let byteCount: Int

    public var elementCount: Int { dims.reduce(1, *) }
    /// Number of rows (product of all dimensions but the first).
    public var rowCount: Int { dims.dropFirst().reduce(1, *) }
    public var rowBytes: Int { byteCount / max(rowCount, 1) }
}

/// A parsed GGUF file (versions 2 and 3): metadata, tensor index and the memory-mapped data.
/// Weights are never copied: ``data(of:)`` points into the mapping.
///
/// Every count, length, dimension and offset read from the file is checked against the file
/// size before it is used, so a truncated or hostile file gives a ``FormatError`` that names
/// the field and its offset, never a crash or an allocation sized by an unchecked number.
///
/// What the reader accepts, and where it departs from the spec (ggml docs/gguf.md):
/// - versions 2 and 3, little-endian only (a big-endian file is named as such in the error);
/// - `general.alignment` must be a uint32 power of two up to 1 MiB. The spec asks for a multiple
///   of 8; like llama.cpp's reader, 1, 2 and 4 are accepted too;
/// - tensors have 1 to 4 dimensions, each at least 1 (llama.cpp allows 0) and below 2^31, with at
///   most 2^48 elements; rows are whole blocks of the tensor's type;
/// - tensor data offsets are relative to the data section, multiples of the alignment, and lie
///   inside the file. Tensors may come in any order and with gaps (llama.cpp's reader insists on
///   file order without gaps), but their byte ranges must not overlap: so the sum of all
///   `byteCount`s never exceeds the file size, and a planner may add them up safely;
/// - strings are decoded as UTF-8, with invalid sequences replaced by U+FFFD.
public final class GGUFFile: Sendable {
    public let path: String
    public let version: UInt32
    public let fileSize: Int
    /// Metadata in file order.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    public let tensorsByName: [String: Int]
    public let alignment: Int
    /// Absolute offset of the tensor data section.
    public let dataOffset: Int
    private let mapping: MappedFile

    /// Deepest array nesting accepted (real files use 1).
    public static let maxArrayDepth = 3
    /// Most elements of arrays that are neither string, int32 nor float32 arrays the reader keeps
    /// in one file. Each such element is boxed (24 bytes in memory for as little as 1 byte in the
    /// file), so this bounds the memory a hostile file can make the reader take to about 400 MB.
    /// Real files hold a few hundred thousand at most (T5's `precompiled_charsmap`).
    public static let maxBoxedArrayElements = 1 << 24

    /// Throws ``FormatError/fileChanged(path:reason:)`` when the file changed on disk since it was
    /// mapped (see ``MappedFile/checkUnchanged()``).
    public func checkUnchanged() throws(FormatError) { try mapping.checkUnchanged() }

    public convenience init(path: String) throws(FormatError) {
        try self.init(mapping: MappedFile(path: path))
    }

    public init(mapping: MappedFile) throws(FormatError) {
        self.mapping = mapping
        path = mapping.path
        fileSize = mapping.size
        guard mapping.size > 0 else { throw .cannotOpen(path: mapping.path, reason: "file is empty (0 bytes)") }
        var r = Reader(bytes: mapping.bytes)

        let magic = try r.u32("magic")
        guard magic == 0x4655_4747 else { throw .badMagic(found: magic) }
        version = try r.u32("version")
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }
        let tensorCountOffset = r.offset
        let tensorCount = try r.u64("tensor count")
        let kvCountOffset = r.offset
        let kvCount = try r.u64("metadata count")
        // A tensor info needs at least 8 (name len) + 4 (rank) + 8 (one dim) + 4 (type) + 8 (offset) bytes,
        // a key/value at least 8 (key len) + 4 (type) + 1 (value) bytes.
        guard tensorCount <= UInt64(r.remaining / 32) else {
            throw .implausibleCount(field: "tensor count", offset: tensorCountOffset, count: tensorCount)
        }
        guard kvCount <= UInt64(r.remaining / 13) else {
            throw .implausibleCount(field: "metadata count", offset: kvCountOffset, count: kvCount)
        }

        var keys: [String] = []
        var meta: [String: GGUFValue] = [:]
        keys.reserveCapacity(Int(kvCount))
        for i in 0..<Int(kvCount) {
            let keyOffset = r.offset
            let key = try r.string("key of metadata entry \(i)")
            let typeOffset = r.offset
            let rawType = try r.u32("value type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw .unknownValueType(key: key, offset: typeOffset, raw: rawType)
            }
            let value = try r.value(type, key: key, depth: 0)
            guard meta[key] == nil else { throw .duplicateKey(key: key, offset: keyOffset) }
            meta[key] = value
            keys.append(key)
        }
        metadataKeys = keys
        metadata = meta

        var align = 32
        if let a = meta["general.alignment"] {
            guard case let .uint32(v) = a else { throw .badAlignment(value: "a value of type \(a.typeName)") }
            guard v > 0, v & (v - 1) == 0, v <= 1 << 20 else { throw .badAlignment(value: "\(v)") }
            align = Int(v)
        }
        alignment = align

        struct RawInfo { let name: String; let at: Int; let type: TensorType; let dims: [Int]; let offset: UInt64 }
        var raws: [RawInfo] = []
        raws.reserveCapacity(Int(tensorCount))
        var seen: [String: Int] = [:]
        for i in 0..<Int(tensorCount) {
            let at = r.offset
            let name = try r.string("name of tensor \(i)")
            let rank = try r.u32("rank of tensor '\(name)'")
            guard rank >= 1, rank <= 4 else { throw .tensorRank(name: name, offset: at, rank: rank) }
            var dims64: [UInt64] = []
            for d in 0..<Int(rank) { dims64.append(try r.u64("dimension \(d) of tensor '\(name)'")) }
            var dims: [Int] = []
            var product = 1
            for d in dims64 {
                guard d >= 1, d <= UInt64(Int32.max) else { throw .tensorDimensions(name: name, offset: at, dims: dims64) }
                let (p, o) = product.multipliedReportingOverflow(by: Int(d))
                guard !o, p <= Int(1) << 48 else { throw .tensorDimensions(name: name, offset: at, dims: dims64) }
                product = p
                dims.append(Int(d))
            }
            let typeOffset = r.offset
            let rawType = try r.u32("type of tensor '\(name)'")
            guard let type = TensorType(rawValue: rawType) else {
                throw .unknownTensorType(name: name, offset: typeOffset, raw: rawType)
            }
            let off = try r.u64("data offset of tensor '\(name)'")
            guard seen[name] == nil else { throw .duplicateTensor(name: name) }
            seen[name] = i
            raws.append(RawInfo(name: name, at: at, type: type, dims: dims, offset: off))
        }

        // The data section starts at the next multiple of the alignment after the header.
        let headerEnd = r.offset
        let dataStart = (headerEnd + align - 1) / align * align
        dataOffset = dataStart
        let dataSize = max(0, fileSize - dataStart)

        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(raws.count)
        for raw in raws {
            guard let rowBytes = raw.type.rowBytes(raw.dims[0]) else {
                throw .tensorRowNotWholeBlocks(name: raw.name, type: raw.type, rowLength: raw.dims[0])
            }
            let rows = raw.dims.dropFirst().reduce(1, *)
            let (size, o) = rowBytes.multipliedReportingOverflow(by: rows)
            guard !o else { throw .tensorDimensions(name: raw.name, offset: raw.at, dims: raw.dims.map(UInt64.init)) }
            guard raw.offset % UInt64(align) == 0 else {
                throw .tensorMisaligned(name: raw.name, offset: raw.offset, alignment: align)
            }
            guard raw.offset <= UInt64(dataSize), UInt64(size) <= UInt64(dataSize) - raw.offset else {
                throw .tensorOutOfBounds(name: raw.name, offset: raw.offset, size: size, fileSize: fileSize)
            }
            infos.append(GGUFTensorInfo(name: raw.name, type: raw.type, dims: raw.dims,
                                        fileOffset: dataStart + Int(raw.offset), byteCount: size))
        }
        // No two tensors may share bytes. Sorted by start, each must begin at or after the end of
        // the one before it (all sizes are at least one byte: every dimension is at least 1).
        let byStart = raws.indices.sorted { raws[$0].offset < raws[$1].offset }
        for (prev, next) in zip(byStart, byStart.dropFirst()) {
            let prevEnd = raws[prev].offset + UInt64(infos[prev].byteCount)
            guard raws[next].offset >= prevEnd else {
                throw .tensorsOverlap(name: raws[next].name, other: raws[prev].name, offset: raws[next].offset)
            }
        }
        tensors = infos
        tensorsByName = seen
    }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorsByName[name].map { tensors[$0] }
    }

    /// The bytes of a tensor, inside the mapping (valid as long as this file object lives).
    /// `tensor` must come from this file's ``tensors``; passing another file's tensor whose range
    /// does not fit this file is a programming error and traps.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        precondition(tensor.fileOffset >= dataOffset && tensor.byteCount >= 0
                     && tensor.byteCount <= fileSize - tensor.fileOffset,
                     "tensor '\(tensor.name)' does not lie inside \(path)")
        return UnsafeRawBufferPointer(rebasing: mapping.bytes[tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount)])
    }

    /// Base address of the whole mapping.
    public var mappedBytes: UnsafeRawBufferPointer { mapping.bytes }

    /// Drops the mapping's resident pages (see ``MappedFile/dropResidentPages()``); the parsed
    /// metadata and tensor index are copies and stay valid.
    public func dropResidentPages() { mapping.dropResidentPages() }

    // MARK: typed metadata access

    public func value(_ key: String) -> GGUFValue? { metadata[key] }

    public func int(_ key: String) throws(FormatError) -> Int {
        guard let v = metadata[key] else { throw .missingKey(key) }
        guard let i = v.intValue else { throw .keyType(key: key, expected: "integer", found: v.typeName) }
        return i
    }

    public func optionalInt(_ key: String) throws(FormatError) -> Int? {
        guard let v = metadata[key] else { return nil }
        guard let i = v.intValue else { throw .keyType(key: key, expected: "integer", found: v.typeName) }
        return i
    }

    public func optionalFloat(_ key: String) throws(FormatError) -> Double? {
        guard let v = metadata[key] else { return nil }
        guard let d = v.doubleValue else { throw .keyType(key: key, expected: "number", found: v.typeName) }
        return d
    }

    public func string(_ key: String) throws(FormatError) -> String {
        guard let v = metadata[key] else { throw .missingKey(key) }
        guard let s = v.stringValue else { throw .keyType(key: key, expected: "string", found: v.typeName) }
        return s
    }

    public func optionalString(_ key: String) throws(FormatError) -> String? {
        guard let v = metadata[key] else { return nil }
        guard let s = v.stringValue else { throw .keyType(key: key, expected: "string", found: v.typeName) }
        return s
    }

    public func optionalBool(_ key: String) throws(FormatError) -> Bool? {
        guard let v = metadata[key] else { return nil }
        guard let b = v.boolValue else { throw .keyType(key: key, expected: "bool", found: v.typeName) }
        return b
    }

    public func optionalStringArray(_ key: String) throws(FormatError) -> [String]? {
        guard let v = metadata[key] else { return nil }
        if case let .stringArray(a) = v { return a }
        if case let .array(_, items) = v, items.isEmpty { return [] }
        throw .keyType(key: key, expected: "array of string", found: v.typeName)
    }

    public func optionalFloatArray(_ key: String) throws(FormatError) -> [Float]? {
        guard let v = metadata[key] else { return nil }
        switch v {
        case let .float32Array(a): return a
        case let .array(_, items):
            var out: [Float] = []
            for item in items {
                guard let d = item.doubleValue else { throw .keyType(key: key, expected: "array of float32", found: v.typeName) }
                out.append(Float(d))
            }
            return out
        default: throw .keyType(key: key, expected: "array of float32", found: v.typeName)
        }
    }

    public func optionalIntArray(_ key: String) throws(FormatError) -> [Int32]? {
        guard let v = metadata[key] else { return nil }
        switch v {
        case let .int32Array(a): return a
        case let .array(_, items):
            var out: [Int32] = []
            for item in items {
                guard let i = item.intValue, let i32 = Int32(exactly: i) else {
                    throw .keyType(key: key, expected: "array of int32", found: v.typeName)
                }
                out.append(i32)
            }
            return out
        default: throw .keyType(key: key, expected: "array of int32", found: v.typeName)
        }
    }
}

/// A bounds-checked little-endian cursor over the file's bytes.
struct Reader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    var remaining: Int { bytes.count - offset }
    /// Boxed array elements still allowed (see ``GGUFFile/maxBoxedArrayElements``).
    var boxedBudget = GGUFFile.maxBoxedArrayElements

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func need(_ n: Int, _ field: @autoclosure () -> String) throws(FormatError) {
        guard n >= 0, n <= remaining else {
            throw .truncated(field: field(), offset: offset, needed: n, fileSize: bytes.count)
        }
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type, _ field: @autoclosure () -> String) throws(FormatError) -> T {
        try need(MemoryLayout<T>.size, field())
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    mutating func u32(_ field: @autoclosure () -> String) throws(FormatError) -> UInt32 { try load(UInt32.self, field()) }
    mutating func u64(_ field: @autoclosure () -> String) throws(FormatError) -> UInt64 { try load(UInt64.self, field()) }

    mutating func string(_ field: @autoclosure () -> String) throws(FormatError) -> String {
        let at = offset
        let len = try u64("length of \(field())")
        guard len <= UInt64(remaining) else {
            throw .truncated(field: field(), offset: at, needed: Int(clamping: len), fileSize: bytes.count)
        }
        let n = Int(len)
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]), as: UTF8.self)
        offset += n
        return s
    }

    mutating func value(_ type: GGUFValueType, key: String, depth: Int) throws(FormatError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try load(UInt8.self, "value of '\(key)'"))
        case .int8: return .int8(try load(Int8.self, "value of '\(key)'"))
        case .uint16: return .uint16(try load(UInt16.self, "value of '\(key)'"))
        case .int16: return .int16(try load(Int16.self, "value of '\(key)'"))
        case .uint32: return .uint32(try load(UInt32.self, "value of '\(key)'"))
        case .int32: return .int32(try load(Int32.self, "value of '\(key)'"))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self, "value of '\(key)'")))
        case .bool:
            let at = offset
            let b = try load(UInt8.self, "value of '\(key)'")
            guard b <= 1 else { throw .badValue(key: key, reason: "bool byte \(b) at offset \(at)") }
            return .bool(b == 1)
        case .string: return .string(try string("value of '\(key)'"))
        case .uint64: return .uint64(try load(UInt64.self, "value of '\(key)'"))
        case .int64: return .int64(try load(Int64.self, "value of '\(key)'"))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self, "value of '\(key)'")))
        case .array:
            let at = offset
            guard depth < GGUFFile.maxArrayDepth else { throw .nestingTooDeep(key: key, offset: at) }
            let rawElem = try u32("element type of '\(key)'")
            guard let elem = GGUFValueType(rawValue: rawElem) else {
                throw .unknownValueType(key: key, offset: at, raw: rawElem)
            }
            let countAt = offset
            let count = try u64("element count of '\(key)'")
            guard count <= UInt64(remaining / elem.minimumBytes) else {
                throw .implausibleCount(field: "element count of '\(key)'", offset: countAt, count: count)
            }
            let n = Int(count)
            switch elem {
            case .string:
                var a: [String] = []
                a.reserveCapacity(n)
                for i in 0..<n { a.append(try string("element \(i) of '\(key)'")) }
                return .stringArray(a)
            case .int32:
                try need(4 * n, "elements of '\(key)'")
                var a = [Int32](repeating: 0, count: n)
                for i in 0..<n { a[i] = Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4 * i, as: Int32.self)) }
                offset += 4 * n
                return .int32Array(a)
            case .float32:
                try need(4 * n, "elements of '\(key)'")
                var a = [Float](repeating: 0, count: n)
                for i in 0..<n {
                    a[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self)))
                }
                offset += 4 * n
                return .float32Array(a)
            default:
                guard n <= boxedBudget else {
                    throw .implausibleCount(field: "element count of '\(key)'", offset: countAt, count: count)
                }
                boxedBudget -= n
                var a: [GGUFValue] = []
                a.reserveCapacity(n)
                for _ in 0..<n { a.append(try value(elem, key: key, depth: depth + 1)) }
                return .array(elementType: elem, a)
            }
        }
    }
}
