import CEdgeKernels
/// A CPU NUMA node: owns a pinned worker pool and the driver thread that runs work on it.
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
                speeds: [Double]? = nil, relayed: Bool = false) throws(DeviceError) {
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
