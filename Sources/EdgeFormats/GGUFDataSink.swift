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
///
/// An uncached file output writes past the page cache (Linux `O_DIRECT`, macOS `F_NOCACHE`):
/// bytes gather in an aligned staging buffer that is written whole, and the unaligned tail, at
/// the end, after direct I/O is turned off. Where the file system refuses direct I/O (tmpfs), it
/// writes through the cache as usual.
final class GGUFOutput {
    /// Bytes not yet written to the descriptor (for memory output: everything).
    private(set) var buffer: [UInt8] = []
    private var fd: Int32
    private let ownsDescriptor: Bool
    private let path: String
    /// Flush when the buffer holds this much (descriptor output only).
    private static let chunk = 1 << 20
    /// Direct output: the staging buffer (nil when writing through the cache) and bytes in it.
    private var staging: UnsafeMutableRawPointer?
    private var staged = 0
    /// Size of the staging buffer: a multiple of every direct-I/O alignment.
    private static let stagingBytes = 8 << 20
    /// Direct I/O wants buffers, lengths and file offsets aligned to the logical block size
    /// (512 or 4096 bytes on current disks; open(2), "O_DIRECT"); 4096 suits both.
    private static let directAlignment = 4096

    /// Linux's `O_DIRECT`, which Swift's Glibc module does not export: `00040000` in
    /// include/uapi/asm-generic/fcntl.h (x86-64), `0200000` in arch/arm64/include/uapi/asm/fcntl.h.
    private static var directFlag: Int32? {
        #if os(Linux) && arch(x86_64)
        return 0o40000
        #elseif os(Linux) && arch(arm64)
        return 0o200000
        #else
        return nil
        #endif
    }

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
    /// - Parameter uncached: write past the page cache where the system and file system allow.
    init(creating path: String, uncached: Bool = false) throws(GGUFWriterError) {
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
        var d: Int32 = -1
        if uncached, let direct = Self.directFlag {
            d = open(path, flags | direct, 0o644)  // EINVAL where the file system has no direct I/O
            if d >= 0 { staging = UnsafeMutableRawPointer.allocate(byteCount: Self.stagingBytes, alignment: Self.directAlignment) }
        }
        if d < 0 { d = open(path, flags, 0o644) }
        guard d >= 0 else { throw .io(path: path, operation: "open", reason: String(cString: strerror(errno))) }
        #if canImport(Darwin)
        if uncached { _ = fcntl(d, F_NOCACHE, 1) }
        #endif
        fd = d
        ownsDescriptor = true
        self.path = path
        if staging == nil { buffer.reserveCapacity(Self.chunk) }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(GGUFWriterError) {
        guard fd >= 0 else { buffer.append(contentsOf: bytes); return }
        if let staging {
            guard var source = bytes.baseAddress else { return }
            var left = bytes.count
            while left > 0 {
                let n = min(left, Self.stagingBytes - staged)
                (staging + staged).copyMemory(from: source, byteCount: n)
                staged += n
                source += n
                left -= n
                if staged == Self.stagingBytes {
                    try writeAll(UnsafeRawBufferPointer(start: staging, count: staged))
                    staged = 0
                }
            }
            return
        }
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
        if let staging, fd >= 0 {
            // The aligned part directly, then the tail through the cache; what follows, if
            // anything, goes through the cache too (the file offset is no longer aligned).
            let aligned = staged / Self.directAlignment * Self.directAlignment
            if aligned > 0 { try writeAll(UnsafeRawBufferPointer(start: staging, count: aligned)) }
            stopDirectIO()
            try writeAll(UnsafeRawBufferPointer(start: staging + aligned, count: staged - aligned))
            staged = 0
            staging.deallocate()
            self.staging = nil
        }
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
                // A file system may accept O_DIRECT at open and refuse a write: go through the cache.
                if errno == EINVAL, staging != nil, let direct = Self.directFlag, fcntl(fd, F_GETFL) & direct != 0 {
                    stopDirectIO()
                    continue
                }
                throw .io(path: path, operation: "write", reason: String(cString: strerror(errno)))
            }
            p += n
            left -= n
        }
    }

    /// Turns direct I/O off for the rest of the file.
    private func stopDirectIO() {
        guard let direct = Self.directFlag else { return }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0, flags & direct != 0 { _ = fcntl(fd, F_SETFL, flags & ~direct) }
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
        staging?.deallocate()
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
