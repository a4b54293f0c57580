import CNuma
#if canImport(Glibc)
import Glibc
#endif

/// Page-aligned anonymous memory owned by a device: the weight scheduler's window slots and the
/// resident copies of weights. Pages are committed when first written, so an unused tail costs
/// nothing; the mapping is returned to the system in `deinit`.
///
/// Invariant for `@unchecked Sendable`: the pointer is fixed for the object's life; who writes
/// which bytes when is the owner's contract (one loader per slot, readers after it is published).
public final class AlignedBuffer: @unchecked Sendable {
    public let byteCount: Int
    public let base: UnsafeMutableRawPointer

    /// Page size the buffer is aligned to; also satisfies O_DIRECT's alignment.
    public static let alignment = 4096

    public init(byteCount: Int, what: String) throws(DeviceError) {
        self.byteCount = byteCount
        let p = mmap(nil, max(byteCount, 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { throw .allocationFailed(what: what, bytes: byteCount) }
        base = p
    }

    deinit { munmap(base, max(byteCount, 1)) }

    /// Binds the buffer's pages to NUMA node `node`'s memory (before they are first touched:
    /// pages are placed when written). No-op where libnuma reports no NUMA support.
    public func bind(toNode node: Int) {
        guard numa_available() >= 0, node >= 0, node <= Int(numa_max_node()) else { return }
        numa_tonode_memory(base, max(byteCount, 1), Int32(node))
    }

    /// `n` rounded up to the alignment.
    public static func roundUp(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
    /// `n` rounded down to the alignment.
    public static func roundDown(_ n: Int) -> Int { n / alignment * alignment }
    /// Bytes an aligned read of file range [offset, offset + length) occupies in a buffer.
    public static func span(offset: Int, length: Int) -> Int { roundUp(offset + length) - roundDown(offset) }
}
