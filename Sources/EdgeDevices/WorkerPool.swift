import CEdgeKernels

/// A persistent pool of pinned worker threads (see `edge_pool.h`): the calling thread is thread 0
/// and the pool owns threads 1..<n, which spin between parallel regions and park when idle.
///
/// Invariant for `@unchecked Sendable`: a pool is only driven from its ``CPUNode``'s driver
/// thread (one region at a time); the C pool synchronises its own workers.
public final class WorkerPool: @unchecked Sendable {
    public let raw: OpaquePointer
    public let threadCount: Int
    /// CPUs the threads are pinned to (thread i on cpus[i]); empty when not pinned.
    public let cpus: [Int]

    public init(threads: Int, cpus: [Int]) throws(DeviceError) {
        var ids = cpus.map { Int32($0) }
        let pinned = ids.count >= threads
        let p: OpaquePointer? = pinned
            ? ids.withUnsafeMutableBufferPointer { edge_pool_create(Int32(threads), $0.baseAddress) }
            : edge_pool_create(Int32(threads), nil)
        guard let p else { throw .threadStartFailed(threads: threads) }
        raw = p
        threadCount = threads
        self.cpus = pinned ? Array(cpus.prefix(threads)) : []
    }

    /// Per-thread busy time (ns) and items processed since the last reset.
    public func stats() -> [(busyNanoseconds: UInt64, items: UInt64)] {
        var busy = [UInt64](repeating: 0, count: threadCount)
        var items = [UInt64](repeating: 0, count: threadCount)
        edge_pool_stats(raw, &busy, &items)
        return zip(busy, items).map { ($0, $1) }
    }

    public func resetStats() { edge_pool_reset_stats(raw) }

    deinit { edge_pool_destroy(raw) }

    /// CPU ids this process may run on (its affinity mask, which honours taskset and cpusets).
    public static func allowedCPUs() -> [Int] {
        var ids = [Int32](repeating: 0, count: 4096)
        let n = Int(edge_allowed_cpus(&ids, Int32(ids.count)))
        return ids.prefix(n).map(Int.init)
    }
}
