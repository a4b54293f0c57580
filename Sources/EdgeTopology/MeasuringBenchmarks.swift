import CEdgeKernels
import CNuma
import EdgeCore
import EdgeDevices

/// ``HostBenchmarks`` measured on this host: the memory probe of `edge_membw.h` on a pinned
/// ``CPUNode``, edgert's own matvec and matmul kernels on one pinned thread, ``StorageProbe``.
public struct MeasuringBenchmarks: HostBenchmarks {
    public init() {}

    public func memoryRead(cpus: [Int], bytes: Int, passes: Int) async throws(TopologyError) -> Double {
        let node = try makeNode(cpus)
        return try await run(node, "memory read probe on CPUs \(cpus)") { pool in
            try MemoryBandwidth.measure(pool: pool, bytes: bytes, passes: passes)
        }
    }

    public func memoryRead(cpus: [Int], memoryNode: Int, bytes: Int, passes: Int) async throws(TopologyError) -> Double {
        let node = try makeNode(cpus)
        let rounded = max(1 << 20, bytes / (1 << 20) * (1 << 20))
        return try await run(node, "memory read probe of node \(memoryNode) from CPUs \(cpus)") { pool in
            // numa_alloc_onnode binds the pages to the node whichever thread touches them first.
            guard numa_available() >= 0, let p = numa_alloc_onnode(rounded, Int32(memoryNode)) else {
                throw DeviceError.allocationFailed(what: "memory on NUMA node \(memoryNode)", bytes: rounded)
            }
            defer { numa_free(p, rounded) }
            return edge_host_membw_read_buffer(pool.raw, p, rounded, Int32(max(passes, 1)))
        }
    }

    public func matvec(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double {
        try await PinnedThread.run(cpu: cpu) { () throws(TopologyError) -> Double in
            let w = try KernelWorkload(type: type)
            return KernelWorkload.rate(seconds: seconds, unitsPerCall: Double(w.weightBytes)) { w.matvec() }
        }
    }

    public func matmul(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double {
        try await PinnedThread.run(cpu: cpu) { () throws(TopologyError) -> Double in
            let w = try KernelWorkload(type: type)
            let flops = 2.0 * Double(w.rows) * Double(KernelWorkload.rowElements) * Double(KernelWorkload.batchTokens)
            return KernelWorkload.rate(seconds: seconds, unitsPerCall: flops) { w.matmul() }
        }
    }

    public func storage(directory: String, plan: StoragePlan) async throws(TopologyError) -> StorageMeasurement {
        try await PinnedThread.run(cpu: nil) { () throws(TopologyError) -> StorageMeasurement in
            try StorageProbe.measure(directory: directory, plan: plan)
        }
    }

    private func makeNode(_ cpus: [Int]) throws(TopologyError) -> CPUNode {
        guard !cpus.isEmpty else { throw .noCPUs }
        do { return try CPUNode(threads: cpus.count, cpus: cpus) } catch { throw .threadStartFailed(cpu: cpus.first) }
    }

    private func run(_ node: CPUNode, _ what: String, _ body: @escaping @Sendable (WorkerPool) throws -> Double) async throws(TopologyError) -> Double {
        let rate: Double
        do { rate = try await node.run(body) } catch let e as DeviceError {
            if case let .allocationFailed(_, bytes) = e { throw .allocationFailed(what: what, bytes: bytes) }
            throw .measurementFailed(what: what, reason: e.description)
        } catch {
            throw .measurementFailed(what: what, reason: "\(error)")
        }
        guard rate > 0, rate.isFinite else { throw .measurementFailed(what: what, reason: "no pass completed") }
        return rate
    }
}
