import CNuma

/// The host's NUMA layout as libnuma reports it (one node when libnuma says NUMA is unavailable).
public struct NUMATopology: Sendable, Equatable {
    /// CPU ids of each node that this process may run on, by node id.
    public let cpusByNode: [[Int]]
    /// The libnuma node whose memory each node's buffers are bound to (nil: not bound, for nodes
    /// made by ``split(into:allowed:)`` on a host that has fewer real ones).
    public let memoryNodes: [Int?]

    public init(cpusByNode: [[Int]], memoryNodes: [Int?]? = nil) {
        self.cpusByNode = cpusByNode
        self.memoryNodes = memoryNodes ?? Array(repeating: nil, count: cpusByNode.count)
    }

    /// `count` nodes: the host's real NUMA nodes when it has that many (each with its own memory),
    /// else this process's CPUs cut into `count` contiguous groups of (nearly) equal size, all
    /// using the memory the kernel gives (a topology override, to run the multi-node code on a
    /// one-node host). nil when there are fewer CPUs than nodes.
    public static func split(into count: Int, allowed: [Int] = WorkerPool.allowedCPUs()) -> NUMATopology? {
        let real = current(allowed: allowed)
        if real.nodeCount == count, numa_available() >= 0 {
            let ids = real.cpusByNode.map { Int(numa_node_of_cpu(Int32($0[0]))) }
            return NUMATopology(cpusByNode: real.cpusByNode, memoryNodes: ids.map { $0 >= 0 ? $0 : nil })
        }
        let cpus = allowed.sorted()
        guard count >= 1, cpus.count >= count else { return nil }
        let groups = (0..<count).map { k in Array(cpus[(k * cpus.count / count)..<((k + 1) * cpus.count / count)]) }
        return NUMATopology(cpusByNode: groups)
    }

    public var nodeCount: Int { cpusByNode.count }

    /// Reads the layout. `allowed` is the process's CPU mask (``WorkerPool/allowedCPUs()``).
    public static func current(allowed: [Int] = WorkerPool.allowedCPUs()) -> NUMATopology {
        guard numa_available() >= 0 else { return NUMATopology(cpusByNode: [allowed], memoryNodes: [nil]) }
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
