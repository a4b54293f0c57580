import CEdgeKernels

/// A persistent pool of pinned worker threads (see `edge_pool.h`): the calling thread is thread 0
/// and the pool owns threads 1..<n, which spin between parallel regions and park when idle.
///
/// Invariant for `@unchecked Sendable`: a pool is only driven (regions, ``setSpeeds(_:)``,
/// ``measureRegionNanoseconds(regions:)``) from its ``CPUNode``'s driver thread, one call at a time;
/// the C pool synchronises its own workers. The read-only queries (``stats()``,
/// ``balanceState()``, ``balance``) read atomics and may be called from any thread.
public final class WorkerPool: @unchecked Sendable {
    /// How each parallel region's chunks are split between the threads.
    public enum Balance: String, Sendable, CaseIterable, Codable {
        /// Shares follow each thread's measured, smoothed speed; a thread that has finished its
        /// share takes unstarted chunks from the others', and a region never waits for a thread
        /// that has not started a chunk (the hybrid-core balancer).
        case dynamic
        /// Equal shares, each computed only by its own thread (the baseline it is compared with).
        case `static`
    }

    /// One thread's balancer state and work since the pool's statistics were last reset.
    public struct ThreadBalance: Sendable, Equatable {
        /// Smoothed speed relative to the other threads (mean 1).
        public let speed: Double
        /// Fraction of the chunks of the last region this thread's share held (they sum to 1).
        public let share: Double
        /// Nanoseconds spent computing chunks.
        public let busyNanoseconds: UInt64
        /// Items processed.
        public let items: UInt64
        /// Of `items`, those taken from another thread's share.
        public let takenItems: UInt64
        /// Whether the dynamic balancer leaves this worker out now: waiting for its chunks cost
        /// more than its work saved (its core is shared with another busy thread).
        public let excluded: Bool
        /// Times it was left out.
        public let exclusions: UInt64
        /// Times a back-off ended with its core still shared (measured by the worker while left
        /// out), so that it stayed out for another back-off instead of coming back.
        public let keptOut: UInt64
        /// The period of the scheduler ticks that this worker has found preempt it, on a core
        /// shared with another busy thread (nil: it knows of none). It claims no chunk that a tick
        /// could catch.
        public let tickNanoseconds: UInt64?
        /// Times it paused before a tick instead of claiming a chunk.
        public let tickPauses: UInt64
        /// Regions whose end waited 1 ms or more for one of its chunks (it was preempted inside
        /// the chunk).
        public let stalls: UInt64

        public init(speed: Double, share: Double, busyNanoseconds: UInt64, items: UInt64, takenItems: UInt64,
                    excluded: Bool, exclusions: UInt64, keptOut: UInt64 = 0,
                    tickNanoseconds: UInt64? = nil, tickPauses: UInt64 = 0, stalls: UInt64 = 0) {
            self.speed = speed
            self.share = share
            self.busyNanoseconds = busyNanoseconds
            self.items = items
            self.takenItems = takenItems
            self.excluded = excluded
            self.exclusions = exclusions
            self.keptOut = keptOut
            self.tickNanoseconds = tickNanoseconds
            self.tickPauses = tickPauses
            self.stalls = stalls
        }
    }

    public let raw: OpaquePointer
    public let threadCount: Int
    /// CPUs the threads are pinned to (thread i on cpus[i]); empty when not pinned.
    public let cpus: [Int]

    /// - Parameters:
    ///   - threads: threads counting the driving thread.
    ///   - cpus: CPU of each thread (used when it names at least `threads` CPUs, else unpinned).
    ///   - balance: how regions are split.
    ///   - speeds: starting relative speed of each thread (`threads` positive values); nil: equal.
    public init(threads: Int, cpus: [Int], balance: Balance = .dynamic, speeds: [Double]? = nil) throws(DeviceError) {
        if let speeds, speeds.count != threads || speeds.contains(where: { !($0 > 0) || !$0.isFinite }) {
            throw .badThreadSpeeds(speeds, threads: threads)
        }
        var ids = cpus.map { Int32($0) }
        let pinned = ids.count >= threads
        let p: OpaquePointer? = pinned
            ? ids.withUnsafeMutableBufferPointer { edge_pool_create(Int32(threads), $0.baseAddress) }
            : edge_pool_create(Int32(threads), nil)
        guard let p else { throw .threadStartFailed(threads: threads) }
        raw = p
        threadCount = threads
        self.cpus = pinned ? Array(cpus.prefix(threads)) : []
        edge_pool_set_balance(p, balance == .dynamic ? Int32(EDGE_BALANCE_DYNAMIC.rawValue) : Int32(EDGE_BALANCE_STATIC.rawValue))
        if let speeds { edge_pool_set_speeds(p, speeds) }
    }

    /// How regions are split (fixed when the pool is made).
    public var balance: Balance {
        edge_pool_balance(raw) == Int32(EDGE_BALANCE_STATIC.rawValue) ? .static : .dynamic
    }

    /// Resets every thread's relative speed (nil: all equal). Call on the driving thread.
    public func setSpeeds(_ speeds: [Double]?) throws(DeviceError) {
        guard let speeds else { edge_pool_set_speeds(raw, nil); return }
        guard speeds.count == threadCount, !speeds.contains(where: { !($0 > 0) || !$0.isFinite }) else {
            throw .badThreadSpeeds(speeds, threads: threadCount)
        }
        edge_pool_set_speeds(raw, speeds)
    }

    /// Per-thread busy time (ns) and items processed since the last reset.
    public func stats() -> [(busyNanoseconds: UInt64, items: UInt64)] {
        var busy = [UInt64](repeating: 0, count: threadCount)
        var items = [UInt64](repeating: 0, count: threadCount)
        edge_pool_stats(raw, &busy, &items)
        return zip(busy, items).map { ($0, $1) }
    }

    /// Each thread's balancer state (speed, share) and its work since the last reset.
    public func balanceState() -> [ThreadBalance] {
        var speeds = [Double](repeating: 0, count: threadCount)
        var shares = [Double](repeating: 0, count: threadCount)
        var busy = [UInt64](repeating: 0, count: threadCount)
        var items = [UInt64](repeating: 0, count: threadCount)
        var taken = [UInt64](repeating: 0, count: threadCount)
        edge_pool_balance_state(raw, &speeds, &shares)
        edge_pool_stats(raw, &busy, &items)
        var excluded = [Int32](repeating: 0, count: threadCount)
        var exclusions = [UInt64](repeating: 0, count: threadCount)
        edge_pool_steal_stats(raw, &taken)
        edge_pool_exclusion_stats(raw, &excluded, &exclusions)
        var keptOut = [UInt64](repeating: 0, count: threadCount)
        edge_pool_kept_out_stats(raw, &keptOut)
        var ticks = [UInt64](repeating: 0, count: threadCount)
        var pauses = [UInt64](repeating: 0, count: threadCount)
        var stalls = [UInt64](repeating: 0, count: threadCount)
        edge_pool_tick_stats(raw, &ticks, &pauses, &stalls)
        return (0..<threadCount).map {
            ThreadBalance(speed: speeds[$0], share: shares[$0], busyNanoseconds: busy[$0], items: items[$0], takenItems: taken[$0],
                          excluded: excluded[$0] != 0, exclusions: exclusions[$0], keptOut: keptOut[$0],
                          tickNanoseconds: ticks[$0] == 0 ? nil : ticks[$0], tickPauses: pauses[$0], stalls: stalls[$0])
        }
    }

    public func resetStats() { edge_pool_reset_stats(raw) }

    /// Runs `body(range, thread)` over `0..<total` in chunks of `chunk` items, as the C ops do
    /// (see `edge_pool_for`): the chunks are split between the threads by the balance mode, `body`
    /// runs concurrently on every thread (`thread` is 0..<threadCount, for per-thread scratch), and
    /// the call returns when every item is done. Call on the driving thread, never from inside `body`.
    public func parallelFor(_ total: Int, chunk: Int, _ body: @Sendable (Range<Int>, Int) -> Void) {
        withoutActuallyEscaping(body) { escapable in
            var boxed = escapable
            withUnsafeMutablePointer(to: &boxed) { ctx in
                edge_pool_for(raw, Int64(total), Int64(chunk), { ctx, b, e, tid in
                    let f = ctx!.assumingMemoryBound(to: (@Sendable (Range<Int>, Int) -> Void).self).pointee
                    f(Int(b)..<Int(e), Int(tid))
                }, ctx)
            }
        }
    }

    /// Mean cost in nanoseconds of one parallel region with empty work (one chunk per thread), over
    /// `regions` regions. Call on the driving thread; a measurement, so it varies with the host's load.
    public func measureRegionNanoseconds(regions: Int = 100_000) -> Double {
        edge_pool_region_ns(raw, Int32(clamping: max(1, regions)))
    }

    deinit { edge_pool_destroy(raw) }

    /// CPU ids this process may run on (its affinity mask, which honours taskset and cpusets).
    public static func allowedCPUs() -> [Int] {
        var ids = [Int32](repeating: 0, count: 4096)
        let n = Int(edge_allowed_cpus(&ids, Int32(ids.count)))
        return ids.prefix(n).map(Int.init)
    }
}
