import EdgeCore
import EdgeDevices
import EdgePlanner
import Foundation

/// The host the engine plans for: the host profile it was given, or one estimated from what can be
/// read at once, seen as it is now.
///
/// Planning happens once, in ``PlacementPlanner``; this only prepares its input:
/// - the profile's CPUs are cut to the CPUs this process may use (a profile measured under
///   another CPU mask must not pin threads where they cannot run);
/// - the available memory is this process's allowance now (``MemoryAllowance``), not the figure
///   saved when the profile was measured;
/// - with `numaNodes` (a topology override, `--numa-nodes N`) the profile's nodes are replaced by
///   ``NUMATopology/split(into:allowed:)``'s, each with its share of the memory and bandwidth.
///
/// Without a profile the rates are estimates, and the kind says so (``HostProfile/Kind/estimated``):
/// every kernel serves `computeBytesPerSecondPerThread` per thread, memory bandwidth never binds
/// below that, and there is no disk figure (the engine measures the model's disk when the plan
/// may stream: see ``Engine``).
enum PlanningHost {
    /// Prompt throughput per thread assumed without a profile (estimate: a 2-wide FMA core at
    /// ~3 GHz on 8-bit blocks, about what this project's kernels reach on one AVX2 core).
    static let estimatedMatmulGflopsPerThread = 50.0

    static func make(profile: HostProfile?, manifest: ModelManifest, numaNodes: Int?, computeBytesPerSecondPerThread: Double,
                     allowedCPUs: [Int] = WorkerPool.allowedCPUs()) throws(RuntimeError) -> HostProfile {
        var host = profile ?? estimated(manifest: manifest, computeBytesPerSecondPerThread: computeBytesPerSecondPerThread,
                                        allowedCPUs: allowedCPUs)
        let allowed = Set(allowedCPUs)
        host.cpu.coreClasses = host.cpu.coreClasses.compactMap { c in
            var c = c
            c.cpus = c.cpus.filter(allowed.contains)
            return c.cpus.isEmpty ? nil : c
        }
        guard !host.cpu.coreClasses.isEmpty else {
            throw .badParameter(name: "host profile", reason: "none of its CPUs (\(profile.map { list($0.cpu.cpuIDs) } ?? "")) is one this process may use (\(list(allowedCPUs)))")
        }
        host.numa.nodes = host.numa.nodes.map { n in
            var n = n
            n.cpus = n.cpus.filter(allowed.contains)
            return n
        }.filter { !$0.cpus.isEmpty }
        if host.numa.nodes.isEmpty { host.numa.nodes = [node(id: 0, cpus: allowedCPUs, memory: host.memory.totalBytes.value, like: nil)] }
        let allowance = MemoryAllowance.current()
        if let bytes = allowance.allowedBytes {
            host.memory.availableBytes = Figure(Double(bytes), source: "this process's allowance at load: \(allowance)")
        }
        if let n = numaNodes, n > 1, host.numa.nodes.count != n {
            guard let topology = NUMATopology.split(into: n, allowed: allowedCPUs) else {
                throw .badParameter(name: "NUMA nodes", reason: "\(n) nodes need at least \(n) CPUs; this process may use \(allowedCPUs.count)")
            }
            // Nodes cut from fewer real ones share their memory and bandwidth in proportion to CPUs.
            let real = host.numa.nodes
            let cpusTotal = Double(real.reduce(0) { $0 + $1.cpus.count })
            let memoryTotal = real.reduce(0.0) { $0 + $1.memoryBytes.value }
            host.numa.nodes = topology.cpusByNode.enumerated().map { k, cpus in
                let like = real.first { !Set($0.cpus).isDisjoint(with: cpus) } ?? real[0]
                return node(id: k, cpus: cpus, memory: memoryTotal * Double(cpus.count) / max(cpusTotal, 1), like: like,
                            share: Double(cpus.count) / Double(max(like.cpus.count, 1)))
            }
            host.numa.distances = (0..<n).map { i in (0..<n).map { $0 == i ? 10 : 20 } }
            host.numa.crossNodeReadGBPerS = nil
        }
        return host
    }

    /// This host's CPUs, nodes and memory with estimated rates (see the type's documentation).
    static func estimated(manifest: ModelManifest, computeBytesPerSecondPerThread perThread: Double, allowedCPUs: [Int]) -> HostProfile {
        let types = Set(manifest.matrices.map(\.type.description)).sorted()
        let kernels = types.map {
            HostProfile.KernelSpeed(weightType: $0, matvecGBPerS: Figure(perThread / 1e9, source: "estimate: the engine's compute rate per thread"),
                                    matmulGflops: Figure(estimatedMatmulGflopsPerThread, source: "estimate"))
        }
        let topology = NUMATopology.current(allowed: allowedCPUs)
        let total = Double(MemoryAllowance.meminfo("MemTotal", root: "") ?? 0)
        let nodes = topology.cpusByNode.enumerated().map { k, cpus in
            node(id: k, cpus: cpus, memory: total * Double(cpus.count) / Double(max(allowedCPUs.count, 1)), like: nil,
                 perThread: perThread)
        }
        let available = Double(MemoryAllowance.meminfo("MemAvailable", root: "") ?? 0)
        return HostProfile(
            kind: .estimated,
            host: .init(name: "this host (no profile: estimated rates)", description: "the engine's estimates; run `edgert profile` to measure",
                        created: ISO8601DateFormatter().string(from: Date()), tool: "edgert engine"),
            cpu: .init(model: "unknown", architecture: "unknown", features: [], hybrid: false,
                       coreClasses: [.init(type: "cpu", cpus: allowedCPUs, relativeSpeed: Figure(1, source: "estimate: all cores alike"), kernels: kernels)]),
            memory: .init(totalBytes: Figure(total, source: "MemTotal"), availableBytes: Figure(available, source: "MemAvailable")),
            numa: .init(nodes: nodes, distances: nodes.map { a in nodes.map { $0.id == a.id ? 10 : 20 } }),
            storage: [], gpus: [])
    }

    /// A node of `cpus`: its bandwidth `share` of `like`'s, or (without `like`) high enough that the
    /// kernels' estimate binds, not the memory (a forward pass reaches ~70% of it on all cores).
    private static func node(id: Int, cpus: [Int], memory: Double, like: HostProfile.Node?, share: Double = 1,
                             perThread: Double = 12e9) -> HostProfile.Node {
        if let like {
            func scaled(_ f: Figure) -> Figure { Figure(f.value * min(share, 1), source: f.source + (share < 1 ? " (this node's share)" : "")) }
            return .init(id: id, cpus: cpus, memoryBytes: Figure(memory, source: like.memoryBytes.source), readGBPerSOneCore: like.readGBPerSOneCore,
                         readGBPerSAllCores: scaled(like.readGBPerSAllCores),
                         readCurve: like.readCurve?.map { .init(workingSetBytes: $0.workingSetBytes, oneCoreGBPerS: $0.oneCoreGBPerS,
                                                                allCoresGBPerS: scaled($0.allCoresGBPerS)) })
        }
        let oneCore = perThread / 1e9 / PlacementPlanner.cpuBandwidthEfficiencyAllCores
        return .init(id: id, cpus: cpus, memoryBytes: Figure(memory, source: "MemTotal, this node's share of CPUs"),
                     readGBPerSOneCore: Figure(oneCore, source: "estimate: above the kernels' estimate"),
                     readGBPerSAllCores: Figure(oneCore * Double(cpus.count), source: "estimate: above the kernels' estimate"))
    }

    private static func list(_ cpus: [Int]) -> String { cpus.map(String.init).joined(separator: ",") }
}
