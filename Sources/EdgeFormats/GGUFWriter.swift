import EdgeCore

/// Builds a GGUF file (version 3, or 2 on request; the two are laid out alike in little-endian).
///
/// Metadata is an ordered list of key/value pairs; tensors are written in the order they are
/// added, each at the next multiple of the alignment in the data section and padded with zero
/// bytes to the alignment. A tensor's bytes come either with it (``addTensor(name:type:dims:data:)``)
/// or, for files too large to hold in memory, from a `fill` closure at write time that streams
/// them in chunks through a ``GGUFDataSink`` (``write(toFile:fill:)``).
///
/// ```swift
/// var w = try GGUFWriter()                       // v3, alignment 32
/// try w.addMetadata("general.architecture", .string("llama"))
/// try w.addTensor(name: "norm.weight", type: .f32, dims: [576], data: normBytes)
/// try w.addTensor(name: "token_embd.weight", type: .q8_0, dims: [576, 49152])   // streamed
/// try w.write(toFile: path) { tensor, sink in
///     for chunk in chunks(of: tensor) { try sink.write(chunk) }
/// }
/// ```
///
/// The writer checks what a reader checks (ours and llama.cpp's), so a file it writes always
/// reads back: keys are non-empty ASCII of at most 65535 bytes (spec); tensor names are
/// non-empty and at most 63 bytes (llama.cpp keeps names in 64-byte buffers with a NUL);
/// tensors have 1 to 4 dimensions, each from 1 to 2^31-1, at most 2^48 elements and rows of whole
/// blocks; array elements all have the array's type; arrays nest at most
/// ``GGUFFile/maxArrayDepth`` deep.
public struct GGUFWriter: Sendable {
    /// The GGUF version written: 3 (default) or 2.
    public let version: UInt32
    /// Alignment of the data section and of every tensor in it, in bytes. When it is not the
    /// default 32 the writer adds `general.alignment` (uint32) to the metadata itself.
    public let alignment: Int
    /// Metadata in the order it will be written (without the `general.alignment` the writer adds).
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []

    private var keys: Set<String> = []
    private var pending: [PendingTensor] = []
    private var names: Set<String> = []

    /// A tensor as added: its shape and, unless it is to be streamed, its bytes.
    private struct PendingTensor: Sendable {
        let name: String
        let type: TensorType
        let dims: [Int]
        let byteCount: Int
        let data: [UInt8]?
    }

    /// - Parameters:
    ///   - version: 3 or 2.
    ///   - alignment: a power of two that is a multiple of 8 (spec), at most 1 MiB.
    public init(version: UInt32 = 3, alignment: Int = 32) throws(GGUFWriterError) {
        guard version == 2 || version == 3 else { throw .badVersion(version) }
        guard alignment >= 8, alignment <= 1 << 20, alignment & (alignment - 1) == 0 else {
            throw .badAlignment(alignment)
        }
        self.version = version
        self.alignment = alignment
    }

    /// Appends one metadata pair. `general.alignment` may be given only as `.uint32(alignment)`.
    public mutating func addMetadata(_ key: String, _ value: GGUFValue) throws(GGUFWriterError) {
        guard !key.isEmpty else { throw .badKey(key: key, reason: "it is empty") }
        guard key.utf8.count <= 65535 else { throw .badKey(key: key, reason: "it is longer than 65535 bytes") }
        guard key.utf8.allSatisfy({ $0 < 0x80 }) else { throw .badKey(key: key, reason: "it is not ASCII") }
        guard !keys.contains(key) else { throw .duplicateKey(key) }
        try Self.check(value, key: key, depth: 0)
        if key == "general.alignment", value != .uint32(UInt32(alignment)) {
            throw .badValue(key: key, reason: "it must be uint32(\(alignment)), the writer's alignment; set the alignment in init")
        }
        keys.insert(key)
        metadata.append((key, value))
    }

    /// Appends a tensor with its bytes, which must be exactly the size `type` and `dims` give.
    /// - Parameter dims: innermost first (ggml's `ne`): `dims[0]` is the row length.
    public mutating func addTensor(name: String, type: TensorType, dims: [Int], data: [UInt8]) throws(GGUFWriterError) {
        let size = try Self.byteCount(name: name, type: type, dims: dims)
        guard data.count == size else { throw .tensorDataSize(name: name, expected: size, got: data.count) }
        try append(PendingTensor(name: name, type: type, dims: dims, byteCount: size, data: data))
    }

    /// Appends a tensor whose bytes the `fill` closure of ``write(toFile:fill:)`` will stream.
    /// - Parameter dims: innermost first (ggml's `ne`): `dims[0]` is the row length.
    public mutating func addTensor(name: String, type: TensorType, dims: [Int]) throws(GGUFWriterError) {
        let size = try Self.byteCount(name: name, type: type, dims: dims)
        try append(PendingTensor(name: name, type: type, dims: dims, byteCount: size, data: nil))
    }

    private mutating func append(_ t: PendingTensor) throws(GGUFWriterError) {
        guard !names.contains(t.name) else { throw .duplicateTensor(t.name) }
        names.insert(t.name)
        pending.append(t)
    }

    /// Bytes of a tensor of `type` and `dims`, after checking them as the reader does.
    public static func byteCount(name: String, type: TensorType, dims: [Int]) throws(GGUFWriterError) -> Int {
        guard !name.isEmpty else { throw .badTensor(name: name, reason: "the name is empty") }
        guard name.utf8.count <= 63 else { throw .badTensor(name: name, reason: "the name is longer than 63 bytes") }
        guard (1...4).contains(dims.count) else {
            throw .badTensor(name: name, reason: "\(dims.count) dimensions (1 to 4 allowed)")
        }
        var elements = 1
        for d in dims {
            guard d >= 1, d <= Int(Int32.max) else { throw .badTensor(name: name, reason: "dimension \(d) in \(dims)") }
            let (p, o) = elements.multipliedReportingOverflow(by: d)
            guard !o, p <= 1 << 48 else { throw .badTensor(name: name, reason: "more than 2^48 elements in \(dims)") }
            elements = p
        }
        guard let rowBytes = type.rowBytes(dims[0]) else {
            throw .badTensor(name: name, reason: "rows of \(dims[0]) values are not whole \(type) blocks of \(type.blockSize)")
        }
        return rowBytes * (elements / dims[0])
    }

    /// Checks that `value` can be written as it is and reads back equal (up to the reader turning
    /// `.array` of string, int32 or float32 into the typed array cases).
    private static func check(_ value: GGUFValue, key: String, depth: Int) throws(GGUFWriterError) {
        switch value {
        case .stringArray, .int32Array, .float32Array, .array:
            guard depth < GGUFFile.maxArrayDepth else {
                throw .badValue(key: key, reason: "arrays nest more than \(GGUFFile.maxArrayDepth) deep")
            }
        default: return
        }
        guard case let .array(type, items) = value else { return }
        for (i, item) in items.enumerated() {
            guard item.valueType == type else {
                throw .badValue(key: key, reason: "element \(i) is \(item.typeName) in an array of \(type)")
            }
            try check(item, key: key, depth: depth + 1)
        }
    }

    // MARK: layout

    /// Where everything goes: computed from the metadata and tensors added so far.
    public func layout() throws(GGUFWriterError) -> GGUFLayout {
        var h = ByteWriter()
        h.bytes.append(contentsOf: [0x47, 0x47, 0x55, 0x46])  // "GGUF" at the byte level (spec)
        h.u32(version)
        h.u64(UInt64(pending.count))
        let addAlignment = alignment != 32 && !keys.contains("general.alignment")
        h.u64(UInt64(metadata.count + (addAlignment ? 1 : 0)))
        for (key, value) in metadata {
            h.string(key)
            h.u32(value.valueType.rawValue)
            h.payload(value)
        }
        if addAlignment {
            h.string("general.alignment")
            h.u32(GGUFValueType.uint32.rawValue)
            h.u32(UInt32(alignment))
        }
        var relative = 0
        var offsets: [Int] = []
        offsets.reserveCapacity(pending.count)
        for t in pending {
            h.string(t.name)
            h.u32(UInt32(t.dims.count))
            for d in t.dims { h.u64(UInt64(d)) }
            h.u32(t.type.rawValue)
            h.u64(UInt64(relative))
            offsets.append(relative)
            relative += padded(t.byteCount)
        }
        let dataOffset = padded(h.bytes.count)
        let infos = zip(pending, offsets).map { t, off in
            GGUFTensorInfo(name: t.name, type: t.type, dims: t.dims, fileOffset: dataOffset + off, byteCount: t.byteCount)
        }
        return GGUFLayout(header: h.bytes, dataOffset: dataOffset, tensors: infos, fileSize: dataOffset + relative)
    }

    private func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    // MARK: writing

    /// The whole file in memory. Every tensor must have been added with its data.
    public func bytes() throws(GGUFWriterError) -> [UInt8] {
        let out = GGUFOutput(memoryFor: "<memory>")
        do {
            try emit(to: out) { tensor, _ in throw GGUFWriterError.missingTensorData(name: tensor.name) }
        } catch let e as GGUFWriterError {
            throw e
        } catch {
            preconditionFailure("emit without a fill closure throws only GGUFWriterError, got \(error)")
        }
        return out.buffer
    }

    /// Writes the file to `path` (through `path.partial`, renamed into place once complete).
    /// Every tensor must have been added with its data.
    public func write(toFile path: String) throws(GGUFWriterError) {
        do {
            try write(toFile: path) { tensor, _ in throw GGUFWriterError.missingTensorData(name: tensor.name) }
        } catch let e as GGUFWriterError {
            throw e
        } catch {
            preconditionFailure("the fill closure throws only GGUFWriterError, got \(error)")
        }
    }

    /// Writes the file to `path`, calling `fill` once for each tensor added without data, in file
    /// order, to stream exactly `tensor.byteCount` bytes into the sink (in chunks of any size).
    /// The file is written as `path.partial` and renamed to `path` only when complete; on any
    /// error, the writer's or the closure's, the partial file is removed and the error rethrown.
    /// - Parameter uncached: write past the page cache (Linux `O_DIRECT` in whole aligned
    ///   buffers, macOS `F_NOCACHE`) where the file system allows it, else through it. For files
    ///   of gigabytes this is faster and steadier than filling the cache with dirty pages, and it
    ///   leaves the cache to the programs that will read the file.
    public func write(toFile path: String, uncached: Bool = false,
                      fill: (GGUFTensorInfo, GGUFDataSink) throws -> Void) throws {
        let temp = path + ".partial"
        let out = try GGUFOutput(creating: temp, uncached: uncached)
        do {
            try emit(to: out, fill: fill)
            try out.close()
            try out.rename(to: path)
        } catch {
            out.abandon()
            throw error
        }
    }

    /// Writes the file to an open file descriptor at its current position, calling `fill` as
    /// ``write(toFile:fill:)`` does. The descriptor is left open; `name` is used in errors.
    public func write(toFileDescriptor fd: Int32, name: String = "<file descriptor>",
                      fill: (GGUFTensorInfo, GGUFDataSink) throws -> Void) throws {
        let out = GGUFOutput(descriptor: fd, path: name)
        try emit(to: out, fill: fill)
        try out.flush()
    }

    private func emit(to out: GGUFOutput, fill: (GGUFTensorInfo, GGUFDataSink) throws -> Void) throws {
        let lay = try layout()
        try withRawBytes(lay.header) { (b) throws(GGUFWriterError) in try out.append(b) }
        try out.zeros(lay.dataOffset - lay.header.count)
        for (t, info) in zip(pending, lay.tensors) {
            if let data = t.data {
                try withRawBytes(data) { (b) throws(GGUFWriterError) in try out.append(b) }
            } else {
                let sink = GGUFDataSink(tensor: info, output: out)
                defer { sink.closed = true }
                try fill(info, sink)
                guard sink.remaining == 0 else {
                    throw GGUFWriterError.tensorDataSize(name: t.name, expected: t.byteCount, got: t.byteCount - sink.remaining)
                }
            }
            try out.zeros(padded(t.byteCount) - t.byteCount)
        }
        try out.flush()
    }
}

/// Where a ``GGUFWriter`` puts everything: computed before any byte is written.
public struct GGUFLayout: Sendable, Equatable {
    /// The header (magic, counts, metadata, tensor infos), before the padding that ends it.
    let header: [UInt8]
    /// Bytes in the header before padding.
    public var headerSize: Int { header.count }
    /// Absolute offset of the data section.
    public let dataOffset: Int
    /// Tensors in file order, with absolute offsets, as ``GGUFFile`` will report them.
    public let tensors: [GGUFTensorInfo]
    /// Size of the whole file in bytes.
    public let fileSize: Int
}

/// Little-endian encoder of header fields.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    /// A value without its type tag (an array's payload starts with its element type and count).
    mutating func payload(_ v: GGUFValue) {
        switch v {
        case let .uint8(x): bytes.append(x)
        case let .int8(x): bytes.append(UInt8(bitPattern: x))
        case let .uint16(x): withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) }
        case let .int16(x): withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) }
        case let .uint32(x): u32(x)
        case let .int32(x): u32(UInt32(bitPattern: x))
        case let .float32(x): u32(x.bitPattern)
        case let .bool(x): bytes.append(x ? 1 : 0)
        case let .string(s): string(s)
        case let .uint64(x): u64(x)
        case let .int64(x): u64(UInt64(bitPattern: x))
        case let .float64(x): u64(x.bitPattern)
        case let .stringArray(a):
            u32(GGUFValueType.string.rawValue)
            u64(UInt64(a.count))
            for s in a { string(s) }
        case let .int32Array(a):
            u32(GGUFValueType.int32.rawValue)
            u64(UInt64(a.count))
            for x in a { u32(UInt32(bitPattern: x)) }
        case let .float32Array(a):
            u32(GGUFValueType.float32.rawValue)
            u64(UInt64(a.count))
            for x in a { u32(x.bitPattern) }
        case let .array(type, items):
            u32(type.rawValue)
            u64(UInt64(items.count))
            for item in items { payload(item) }
        }
    }
}
