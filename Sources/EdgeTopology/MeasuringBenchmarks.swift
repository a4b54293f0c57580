import CEdgeKernels
import CNuma
import EdgeCore
import EdgeDevices
import EdgeKernels

/// ``HostBenchmarks`` measured on this host: the memory probe of `edge_membw.h` on a pinned
/// ``CPUNode``, edgert's own matvec and matmul kernels on one pinned thread, ``StorageProbe``.
public struct MeasuringBenchmarks: HostBenchmarks {
    public init() {}

    /// Every Vulkan device, measured; nil when there is no Vulkan loader or device (the drivers'
    /// files are read instead).
    public func vulkanGPUs(types: [TensorType], passes: Int) async -> (gpus: [HostProfile.GPU], notes: [String])? {
        guard let infos = try? vulkanDevices(), !infos.isEmpty else { return nil }
        var gpus: [HostProfile.GPU] = [], notes: [String] = []
        for info in infos {
            do {
                let m = try VulkanDevice(index: info.index).measure(passes: passes, types: types)
                let kernels = "edgert's F32 matmul kernel, 8 tokens (the shaders multiply in F32; no F16 math kernel yet)"
                gpus.append(HostProfile.GPU(
                    id: .gpu(info.index), name: info.name,
                    memoryBytes: .measured(Double(info.memoryBytes), "largest device-local heap the Vulkan driver reports"),
                    sharesHostMemory: info.sharedWithHost,
                    memoryGBPerS: .measured(m.memoryBytesPerSecond / 1e9, "device buffer copy of 32 MiB, read + written, median of \(passes)"),
                    fp16Tflops: .measured(m.matmulFlops / 1e12, kernels),
                    linkGBPerS: .measured(m.uploadBytesPerSecond / 1e9, "host to device upload of 32 MiB, median of \(passes)"),
                    kind: info.kind,
                    matvecGBPerS: Dictionary(uniqueKeysWithValues: m.matvecBytesPerSecond.map { ($0.key.description, $0.value / 1e9) })))
                if info.kind == "cpu" {
                    notes.append("gpu\(info.index) (\(info.name)) is a software Vulkan device running on the CPU: its figures are for checking, not for planning")
                }
            } catch {
                notes.append("gpu\(info.index) (\(info.name)) could not be measured: \(error)")
            }
        }
        return (gpus, notes)
    }

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

    public func workingSetRead(cpus: [Int], bytes: Int, passes: Int) async throws(TopologyError) -> Double {
        let node = try makeNode(cpus)
        return try await run(node, "working-set read probe (\(bytes >> 10) KiB) on CPUs \(cpus)") { pool in
            try MemoryBandwidth.measureWorkingSet(pool: pool, bytes: bytes, passes: passes)
        }
    }

    public func matvecFromMemory(types: [TensorType], cpu: Int, bytes: Int, passes: Int) async throws(TopologyError) -> [TensorType: KernelFromMemory] {
        try await PinnedThread.run(cpu: cpu) { () throws(TopologyError) -> [TensorType: KernelFromMemory] in
            // One buffer for every type: each type's L2-sized matrix copied along it, tile after
            // tile, so the kernel walks `bytes` of distinct addresses, as it walks a large model.
            let big: AlignedBuffer
            do { big = try AlignedBuffer(byteCount: max(bytes, 1 << 20), what: "kernel probe from memory") } catch {
                throw .allocationFailed(what: "the kernel probe from memory", bytes: bytes)
            }
            let tunable = Set(KernelMemoryAccess.tunableTypes)
            var results: [TensorType: KernelFromMemory] = [:]
            for type in types {
                let w = try KernelWorkload(type: type)
                let stride = AlignedBuffer.roundUp(w.tileBytes)
                let tiles = big.byteCount / stride
                guard tiles >= 1 else { continue }
                for t in 0..<tiles { w.copyTile(to: big.base + t * stride) }
                // Median of `passes` passes, after one untimed pass that evicts what the copies
                // above (or the last mode's passes) left in the caches.
                func rate() -> Double? {
                    var passRates: [Double] = []
                    for pass in 0...max(passes, 1) {
                        let t0 = monotonicSeconds()
                        for t in 0..<tiles { w.matvec(tile: big.base + t * stride) }
                        let dt = monotonicSeconds() - t0
                        if pass > 0, dt > 0 { passRates.append(Double(tiles * w.tileBytes) / dt) }
                    }
                    return passRates.median
                }
                guard tunable.contains(type) else {
                    if let r = rate() { results[type] = KernelFromMemory(bytesPerSecond: r) }
                    continue
                }
                // Each mode the kernel can take; the mode in force before is restored.
                let before = KernelMemoryAccess.current(for: type)
                defer { KernelMemoryAccess.set(before, for: type) }
                var rates: [MemoryAccess: Double] = [:]
                for access in MemoryAccess.candidates {
                    KernelMemoryAccess.set(access, for: type)
                    rates[access] = rate()
                }
                guard let best = MemoryAccess.candidates.filter({ rates[$0] != nil }).max(by: { rates[$0]! < rates[$1]! }) else { continue }
                results[type] = KernelFromMemory(bytesPerSecond: rates[best]!, access: best, rates: rates)
            }
            return results
        }
    }

    public func matvec(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double {
        try await PinnedThread.run(cpu: cpu) { () throws(TopologyError) -> Double in
            let w = try KernelWorkload(type: type)
            return KernelWorkload.rate(seconds: seconds, unitsPerCall: Double(w.weightBytes)) { w.matvec() }
        }
    }

    public func matvecNarrowRows(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double {
        try await PinnedThread.run(cpu: cpu) { () throws(TopologyError) -> Double in
            let w = try KernelWorkload(type: type, rowElements: KernelWorkload.narrowRowElements)
            return KernelWorkload.rate(seconds: seconds, unitsPerCall: Double(w.weightBytes)) { w.matvec() }
        }
    }

    public func matmulNarrowRows(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double {
        try await PinnedThread.run(cpu: cpu) { () throws(TopologyError) -> Double in
            let w = try KernelWorkload(type: type, rowElements: KernelWorkload.narrowRowElements)
            let flops = 2.0 * Double(w.rows) * Double(w.width) * Double(KernelWorkload.batchTokens)
            return KernelWorkload.rate(seconds: seconds, unitsPerCall: flops) { w.matmul() }
        }
    }

    public func matmul(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double {
        try await PinnedThread.run(cpu: cpu) { () throws(TopologyError) -> Double in
            let w = try KernelWorkload(type: type)
            let flops = 2.0 * Double(w.rows) * Double(w.width) * Double(KernelWorkload.batchTokens)
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
