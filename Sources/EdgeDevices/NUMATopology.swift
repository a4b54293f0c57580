import CNuma

/// The host's NUMA layout as libnuma reports it (one node when libnuma says NUMA is unavailable).
public struct NUMATopology: Sendable, Equatable {
    /// CPU ids of each node that this process may run on, by node id.
    public let cpusByNode: [[Int]]

    public var nodeCount: Int { cpusByNode.count }

    /// Reads the layout. `allowed` is the process's CPU mask (``WorkerPool/allowedCPUs()``).
    public static func current(allowed: [Int] = WorkerPool.allowedCPUs()) -> NUMATopology {
        guard numa_available() >= 0 else { return NUMATopology(cpusByNode: [allowed]) }
        let nodes = Int(numa_max_node()) + 1
        var byNode = [[Int]](repeating: [], count: max(nodes, 1))
        for cpu in allowed {
            let node = Int(numa_node_of_cpu(Int32(cpu)))
            if node >= 0, node < byNode.count { byNode[node].append(cpu) } else { byNode[0].append(cpu) }
        }
        let nonEmpty = byNode.filter { !$0.isEmpty }
        return NUMATopology(cpusByNode: nonEmpty.isEmpty ? [allowed] : nonEmpty)
    }
}
