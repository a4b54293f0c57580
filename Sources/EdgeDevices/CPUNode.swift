/// A CPU NUMA node: owns a pinned worker pool and the driver thread that runs work on it.
///
/// Callers hand the node whole units of work (a forward pass over a batch of tokens); inside, the
/// work is split across the pool's threads with no Task, actor hop or Dispatch call per operation.
public actor CPUNode {
    public nonisolated let pool: WorkerPool
    public nonisolated let nodeID: Int
    private let driver: DriverThread

    /// - Parameters:
    ///   - threads: number of threads, counting the driver thread.
    ///   - cpus: CPUs to pin to (driver on cpus[0], worker i on cpus[i]); nil: this process's
    ///     allowed CPUs on NUMA node `nodeID` first, then the others, if there are enough, else unpinned.
    public init(nodeID: Int = 0, threads: Int, cpus: [Int]? = nil) throws(DeviceError) {
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
        pool = try WorkerPool(threads: threads, cpus: pin)
        driver = DriverThread(name: "edgert-cpu\(nodeID)-driver", cpu: pin.first)
    }

    /// Runs `body` on the node's driver thread, which drives the pool; returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable (WorkerPool) throws -> T) async throws -> T {
        let pool = self.pool
        return try await withCheckedThrowingContinuation { continuation in
            driver.submit {
                do { continuation.resume(returning: try body(pool)) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    deinit { driver.stop() }
}
