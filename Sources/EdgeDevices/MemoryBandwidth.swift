import CEdgeKernels

/// Main-memory read bandwidth as the threads of one pool see it: the roofline of token generation,
/// which reads every weight once per token. Measured by `edge_membw_read` (see `edge_membw.h`).
public enum MemoryBandwidth {
    /// Bytes the probe streams by default: 1 GiB. Measured on the development VM (2 vCPUs, "AMD
    /// EPYC", 32 MiB of L3 reported): buffers up to ~128 MiB read at cache speed, and 256-512 MiB
    /// buffers still read at up to twice memory speed on some passes (the vCPUs move between host
    /// cores whose caches keep parts of the buffer); from 1 GiB one thread read a steady 18-20 GB/s.
    public static let defaultProbeBytes = 1 << 30
    /// Passes the probe times by default; the fastest counts (as STREAM reports its best run).
    public static let defaultPasses = 5

    /// The loads the probe uses on this CPU: "AVX-512", "AVX2" or "64-bit" (the portable loop).
    public static var loadWidth: String {
        switch edge_isa_current() {
        case Int32(EDGE_ISA_AVX512.rawValue): "AVX-512"
        case Int32(EDGE_ISA_AVX2.rawValue): "AVX2"
        default: "64-bit"
        }
    }

    /// Reads a fresh buffer of `bytes` `passes` times with every thread of `pool` and returns the
    /// fastest pass in bytes per second. The buffer exists only during the call.
    ///
    /// Call it where the pool is driven (inside ``CPUNode/run(_:)``): the calling thread is the
    /// pool's thread 0.
    public static func measure(pool: WorkerPool, bytes: Int = defaultProbeBytes, passes: Int = defaultPasses) throws(DeviceError) -> Double {
        let rate = edge_membw_read(pool.raw, max(bytes, 1), Int32(max(passes, 1)))
        guard rate > 0 else { throw .allocationFailed(what: "memory bandwidth probe", bytes: bytes) }
        return rate
    }

    /// Read bandwidth of a working set of `bytes`, split evenly over the pool's threads, each
    /// reading its slice again and again (`bytesPerPass` in all per pass): what a pass over weights
    /// of that size sees once they are in whatever cache holds them. Median of `passes` passes, in
    /// bytes per second. Call it where the pool is driven, as ``measure(pool:bytes:passes:)``.
    public static func measureWorkingSet(pool: WorkerPool, bytes: Int, passes: Int, bytesPerPass: Int = 256 << 20) throws(DeviceError) -> Double {
        let rate = edge_host_membw_working_set(pool.raw, max(bytes, 4096), Int32(min(max(passes, 1), 64)), max(bytesPerPass, 1))
        guard rate > 0 else { throw .allocationFailed(what: "memory working-set probe", bytes: bytes) }
        return rate
    }

    /// Read bandwidth of a sparse pass: a fraction `density` of the `unit`-byte pieces of a fresh
    /// buffer of `bytes`, ascending, with every thread of `pool` (``edge_membw_scattered``), in
    /// bytes read per second. The sparse feed-forward reads rows and columns this way; where this
    /// figure times `1 / density` is below ``measure(pool:bytes:passes:)``, reading the selected
    /// pieces takes longer than reading them all. Call it where the pool is driven.
    public static func measureScattered(pool: WorkerPool, unit: Int, density: Double, bytes: Int = defaultProbeBytes,
                                        passes: Int = 3) throws(DeviceError) -> Double {
        let rate = edge_membw_scattered(pool.raw, max(bytes, 1), max(unit, 1), min(max(density, 0), 1), Int32(max(passes, 1)))
        guard rate > 0 else { throw .allocationFailed(what: "scattered read probe", bytes: bytes) }
        return rate
    }
}
