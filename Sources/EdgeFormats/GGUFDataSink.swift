#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Receives one tensor's bytes while ``GGUFWriter/write(toFile:fill:)`` runs its `fill` closure.
/// Write exactly ``tensor``'s `byteCount` bytes, in chunks of any size; writing more throws, and
/// writing fewer makes the writer throw when the closure returns. A sink is valid only inside the
/// closure call it was given to.
public final class GGUFDataSink {
    /// The tensor being written, with its absolute file offset.
    public let tensor: GGUFTensorInfo
    /// Bytes still to be written for this tensor.
    public private(set) var remaining: Int
    var closed = false
    private let output: GGUFOutput

    init(tensor: GGUFTensorInfo, output: GGUFOutput) {
        self.tensor = tensor
        self.output = output
        remaining = tensor.byteCount
    }

    /// Appends raw bytes to the tensor's data.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(GGUFWriterError) {
        guard !closed, bytes.count <= remaining else {
            throw .tensorDataSize(name: tensor.name, expected: tensor.byteCount,
                                  got: tensor.byteCount - remaining + bytes.count)
        }
        try output.append(bytes)
        remaining -= bytes.count
    }

    /// Appends raw bytes to the tensor's data.
    public func write(_ bytes: [UInt8]) throws(GGUFWriterError) {
        try withRawBytes(bytes) { (b) throws(GGUFWriterError) in try write(b) }
    }

    /// Appends values in host byte order, which is little-endian on every platform edgert runs
    /// on (x86-64, arm64), as GGUF wants: e.g. `[Float]` for an F32 tensor, `[UInt16]` for F16.
    public func write<T: BitwiseCopyable>(values: [T]) throws(GGUFWriterError) {
        try withRawBytes(values) { (b) throws(GGUFWriterError) in try write(b) }
    }
}

/// A buffered byte destination: memory, or a file descriptor written with `write(2)`.
final class GGUFOutput {
    /// Bytes not yet written to the descriptor (for memory output: everything).
    private(set) var buffer: [UInt8] = []
    private var fd: Int32
    private let ownsDescriptor: Bool
    private let path: String
    /// Flush when the buffer holds this much (descriptor output only).
    private static let chunk = 1 << 20

    init(memoryFor path: String) {
        fd = -1
        ownsDescriptor = false
        self.path = path
    }

    init(descriptor: Int32, path: String) {
        fd = descriptor
        ownsDescriptor = false
        self.path = path
        buffer.reserveCapacity(Self.chunk)
    }

    /// Creates (or truncates) `path` for writing.
    init(creating path: String) throws(GGUFWriterError) {
        let d = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard d >= 0 else { throw .io(path: path, operation: "open", reason: String(cString: strerror(errno))) }
        fd = d
        ownsDescriptor = true
        self.path = path
        buffer.reserveCapacity(Self.chunk)
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(GGUFWriterError) {
        guard fd >= 0 else { buffer.append(contentsOf: bytes); return }
        if buffer.count + bytes.count > Self.chunk { try flush() }
        if bytes.count >= Self.chunk {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    func zeros(_ n: Int) throws(GGUFWriterError) {
        guard n > 0 else { return }
        let z = [UInt8](repeating: 0, count: n)
        try withRawBytes(z) { (b) throws(GGUFWriterError) in try append(b) }
    }

    func flush() throws(GGUFWriterError) {
        guard fd >= 0, !buffer.isEmpty else { return }
        try withRawBytes(buffer) { (b) throws(GGUFWriterError) in try writeAll(b) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(GGUFWriterError) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", reason: String(cString: strerror(errno)))
            }
            p += n
            left -= n
        }
    }

    /// Flushes and closes a descriptor this output opened.
    func close() throws(GGUFWriterError) {
        try flush()
        guard ownsDescriptor, fd >= 0 else { return }
        let d = fd
        fd = -1
        guard systemClose(d) == 0 else { throw .io(path: path, operation: "close", reason: String(cString: strerror(errno))) }
    }

    func rename(to destination: String) throws(GGUFWriterError) {
        guard systemRename(path, destination) == 0 else {
            throw .io(path: destination, operation: "rename from \(path)", reason: String(cString: strerror(errno)))
        }
    }

    /// After a failure: closes the descriptor this output opened and removes its file.
    func abandon() {
        guard ownsDescriptor else { return }
        if fd >= 0 { _ = systemClose(fd); fd = -1 }
        unlink(path)
    }

    deinit {
        if ownsDescriptor, fd >= 0 { _ = systemClose(fd) }
    }
}

/// `Array.withUnsafeBytes` rethrows untyped errors; this keeps them typed.
func withRawBytes<T>(_ array: [T], _ body: (UnsafeRawBufferPointer) throws(GGUFWriterError) -> Void) throws(GGUFWriterError) {
    let result = array.withUnsafeBytes { b in Result { () throws(GGUFWriterError) in try body(b) } }
    try result.get()
}

// `write`, `close` and `rename` are also method names above; these name the C functions.
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, p, n)
    #else
    Darwin.write(fd, p, n)
    #endif
}

private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}

private func systemRename(_ from: String, _ to: String) -> Int32 {
    #if canImport(Glibc)
    Glibc.rename(from, to)
    #else
    Darwin.rename(from, to)
    #endif
}
