import CEdgeKernels
import CNuma
import EdgeCore
#if canImport(Glibc)
import Glibc
#endif

/// A CPU NUMA node: owns a pinned worker pool and the driver thread that runs work on it, and
/// allocates buffers in its own memory (a ``ComputeDevice``).
///
/// Callers hand the node whole units of work (a forward pass over a batch of tokens); inside, the
/// work is split across the pool's threads with no Task, actor hop or Dispatch call per operation.
public actor CPUNode {
    public nonisolated let pool: WorkerPool
    public nonisolated let nodeID: Int
    /// Where the balancer's starting speeds came from.
    public nonisolated let speedSource: SpeedSource
    private let driver: DriverThread?
    /// For a node that runs in lockstep with another node's driver (its share of each matrix
    /// product, see `edge_relay.h`): the relay thread, which is thread 0 of this node's pool.
    /// Invariant: only the driving node's driver thread posts to it, one job at a time.
    public nonisolated(unsafe) let relay: OpaquePointer?
    /// The CPUs the threads are pinned to (empty: not pinned).
    public nonisolated let cpus: [Int]
    /// The libnuma node whose memory ``allocate(bytes:what:)`` binds buffers to (nil: the kernel's
    /// default placement, for a node made by a topology override).
    public nonisolated let memoryNode: Int?

    /// Where a pool's starting relative speeds came from.
    public enum SpeedSource: Sendable, Equatable {
        /// Given by the caller (e.g. a host profile's per-core speeds).
        case given([Double])
        /// From the pinned CPUs' core types (a hybrid CPU): ``CoreType/relativeSpeed`` of each.
        case coreTypes([CoreType])
        /// All equal: a CPU that is not hybrid, or threads that are not pinned.
        case equal
    }

    /// - Parameters:
    ///   - threads: number of threads, counting the driver thread.
    ///   - cpus: CPUs to pin to (driver on cpus[0], worker i on cpus[i]); nil: this process's
    ///     allowed CPUs on NUMA node `nodeID` first, then the others, if there are enough, else unpinned.
    ///   - balance: how the pool splits each parallel region between its threads.
    ///   - speeds: starting relative speed of each thread; nil: from the core types of the CPUs
    ///     the threads are pinned to on a hybrid CPU, else equal.
    ///   - relayed: the node is driven in lockstep by another node's driver thread through a relay
    ///     thread pinned on cpus[0] (a second NUMA node's share of each matrix product) instead of
    ///     running work of its own.
    public init(nodeID: Int = 0, threads: Int, cpus: [Int]? = nil, balance: WorkerPool.Balance = .dynamic,
                speeds: [Double]? = nil, relayed: Bool = false, memoryNode: Int? = nil) throws(DeviceError) {
        let allowed = cpus ?? {
            let topo = NUMATopology.current()
            let local = nodeID < topo.nodeCount ? topo.cpusByNode[nodeID] : []
            return local + topo.cpusByNode.joined().filter { !local.contains($0) }
        }()
        guard threads >= 1, threads <= max(allowed.count, 1) * 4 else {
            throw .badThreadCount(requested: threads, limit: max(allowed.count, 1) * 4)
        }
        let pin = allowed.count >= threads ? Array(allowed.prefix(threads)) : []
        self.nodeID = nodeID
        self.cpus = pin
        self.memoryNode = memoryNode
        var source = SpeedSource.equal
        var start = speeds
        if let speeds {
            source = .given(speeds)
        } else if !pin.isEmpty && CoreTypes.hostIsHybrid {
            let types = CoreTypes.detect(cpus: pin)
            start = types.relativeSpeeds(for: pin)
            source = .coreTypes(pin.map { types.type(of: $0) ?? .unknown })
        }
        speedSource = source
        pool = try WorkerPool(threads: threads, cpus: pin, balance: balance, speeds: start)
        if relayed {
            guard let r = edge_relay_create(Int32(pin.first ?? -1)) else { throw .relayStartFailed(node: nodeID) }
            relay = r
            driver = nil
        } else {
            relay = nil
            driver = DriverThread(name: "edgert-cpu\(nodeID)-driver", cpu: pin.first)
        }
    }

    /// Runs `body` on the node's driver thread, which drives the pool; returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable (WorkerPool) throws -> T) async throws -> T {
        let pool = self.pool
        guard let driver else { throw DeviceError.relayedNode(nodeID) }
        return try await withCheckedThrowingContinuation { continuation in
            driver.submit {
                do { continuation.resume(returning: try body(pool)) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    deinit {
        driver?.stop()
        if let relay { edge_relay_destroy(relay) }
    }
}

extension CPUNode: ComputeDevice {
    public typealias Context = WorkerPool

    public nonisolated var id: DeviceID { .cpu(nodeID) }

    public nonisolated var name: String {
        let where_ = cpus.isEmpty ? "unpinned" : "on CPUs \(cpus.map(String.init).joined(separator: ","))"
        return "\(id): \(pool.threadCount) thread\(pool.threadCount == 1 ? "" : "s") \(where_)"
            + (memoryNode.map { ", memory of NUMA node \($0)" } ?? "")
    }

    /// The NUMA node's memory, or the host's when the node is not bound to one.
    public nonisolated var memoryCapacityBytes: Int { memory().total }

    public nonisolated func freeMemoryBytes() -> Int { memory().free }

    private nonisolated func memory() -> (total: Int, free: Int) {
        if let node = memoryNode, numa_available() >= 0 {
            var free: Int64 = 0
            let total = numa_node_size64(Int32(node), &free)
            if total > 0 { return (Int(total), Int(max(free, 0))) }
        }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        return (Int(sysconf(Int32(_SC_PHYS_PAGES))) * page, Int(sysconf(Int32(_SC_AVPHYS_PAGES))) * page)
    }

    /// Every operation of the layer programs; matrix products and embedding rows of every weight
    /// type the kernels implement (``TensorType/supported``).
    public nonisolated func supports(_ op: DeviceOperation, weightType: TensorType?) -> Bool {
        switch op {
        case .matmul, .embeddingRows: weightType?.isSupported ?? false
        case .rmsNorm, .rope, .attention, .swiglu, .geglu, .add, .scale, .softcap: true
        }
    }

    /// Pages bound to ``memoryNode`` (placed there when first written).
    public nonisolated func allocate(bytes: Int, what: String) throws(DeviceError) -> AlignedBuffer {
        let buffer = try AlignedBuffer(byteCount: bytes, what: "\(what) on \(id)")
        if let memoryNode { buffer.bind(toNode: memoryNode) }
        return buffer
    }
}
