#if canImport(Glibc)
import Glibc
#endif
import CEdgeKernels

/// The F16 key/value cache of one sequence: for each layer, K and V as [contextLength][kvDim]
/// halves (kvDim = KV heads x head size).
///
/// The memory is reserved with an anonymous mapping and committed by the kernel page by page as
/// positions are written, so a long context length costs only what is used.
///
/// Invariant for `@unchecked Sendable`: the buffers are written only by the forward pass on the
/// owning CPUNode's driver thread and its pool, one batch at a time.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let contextLength: Int
    public let kvDim: Int
    /// Bytes reserved (address space), not necessarily resident.
    public let reservedBytes: Int
    private let base: UnsafeMutableRawPointer
    /// Number of positions currently filled (0..<filled are valid).
    public var filled = 0

    public init(layers: Int, contextLength: Int, kvDim: Int) throws(DeviceError) {
        self.layers = layers
        self.contextLength = contextLength
        self.kvDim = kvDim
        let bytes = 2 * layers * contextLength * kvDim * MemoryLayout<UInt16>.size
        reservedBytes = bytes
        let p = mmap(nil, max(bytes, 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw .allocationFailed(what: "KV cache", bytes: bytes) }
        base = p
    }

    /// Bytes that the filled positions occupy.
    public var usedBytes: Int { 2 * layers * filled * kvDim * 2 }

    public func keys(layer: Int) -> UnsafeMutablePointer<UInt16> {
        (base + (2 * layer) * contextLength * kvDim * 2).assumingMemoryBound(to: UInt16.self)
    }

    public func values(layer: Int) -> UnsafeMutablePointer<UInt16> {
        (base + (2 * layer + 1) * contextLength * kvDim * 2).assumingMemoryBound(to: UInt16.self)
    }

    /// Forgets all positions and gives the pages back to the system.
    public func clear() {
        filled = 0
        madvise(base, max(reservedBytes, 1), MADV_DONTNEED)
    }

    deinit { munmap(base, max(reservedBytes, 1)) }
}
