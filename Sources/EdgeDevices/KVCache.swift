#if canImport(Glibc)
import Glibc
#endif
import CEdgeKernels

/// The F16 key/value cache of one sequence: for each layer, K and V as [rows][kvDim] halves
/// (kvDim = KV heads x head size). A layer attending to every earlier position has a row per
/// position of the context; a sliding-window layer holds only its window (plus a batch), as a
/// ring: position p lives in row p % rows.
///
/// The memory is reserved with an anonymous mapping and committed by the kernel page by page as
/// rows are written, so a long context length costs only what is used.
///
/// Invariant for `@unchecked Sendable`: the buffers are written only by the forward pass on the
/// owning CPUNode's driver thread and its pool, one batch at a time.
public final class KVCache: @unchecked Sendable {
    public var layers: Int { rows.count }
    public let contextLength: Int
    public let kvDim: Int
    /// Rows of each layer's K (and V) buffer.
    public let rows: [Int]
    /// Bytes reserved (address space), not necessarily resident.
    public let reservedBytes: Int
    private let base: UnsafeMutableRawPointer
    private let offsets: [Int]   // byte offset of each layer's K buffer; V follows it
    /// Number of positions currently filled (0..<filled have been written).
    public var filled = 0
    /// A device's copy of some layers' K and V (the GPU keeps those of the layers it runs), made
    /// and used by that device's runner; freed with the cache.
    public var deviceCopy: AnyObject?

    /// Layer i holding `rows[i]` positions (at most the context).
    public init(rows: [Int], contextLength: Int, kvDim: Int) throws(DeviceError) {
        self.contextLength = contextLength
        self.kvDim = kvDim
        self.rows = rows.map { max(1, min($0, contextLength)) }
        var at = 0
        var offsets: [Int] = []
        for r in self.rows {
            offsets.append(at)
            at += 2 * r * kvDim * MemoryLayout<UInt16>.size
        }
        self.offsets = offsets
        reservedBytes = at
        let p = mmap(nil, max(at, 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw .allocationFailed(what: "KV cache", bytes: at) }
        base = p
    }

    /// Bytes that the filled positions occupy.
    public var usedBytes: Int { rows.reduce(0) { $0 + 2 * min(filled, $1) * kvDim * 2 } }

    public func keys(layer: Int) -> UnsafeMutablePointer<UInt16> {
        (base + offsets[layer]).assumingMemoryBound(to: UInt16.self)
    }

    public func values(layer: Int) -> UnsafeMutablePointer<UInt16> {
        (base + offsets[layer] + rows[layer] * kvDim * 2).assumingMemoryBound(to: UInt16.self)
    }

    /// Forgets all positions and gives the pages back to the system.
    public func clear() {
        filled = 0
        madvise(base, max(reservedBytes, 1), MADV_DONTNEED)
    }

    deinit { munmap(base, max(reservedBytes, 1)) }
}
