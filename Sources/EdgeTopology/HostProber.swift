import EdgeCore
import EdgeDevices
import Foundation

/// Builds a ``HostProfile`` of this host (or of the host a ``HostSystem`` describes) from what it
/// reads and what it measures, reporting each step through a progress callback. It never prints.
///
/// Core classes come from the processor: one `uniform` class unless CPUID (or, on Arm,
/// `cpu_capacity`) says the cores differ. Measured speed confirms them but never splits them: the
/// reference kernel (``ProbeOptions/referenceKernelType`` matvec) is timed pinned on every CPU; a
/// CPU under ``slowCoreRatio`` of the fastest CPU of its class is timed once more, and if it is
/// still that slow it is named in ``ProbeResult/notes`` and in its class's `relative_speed` source,
/// not moved to a class of its own (on a shared or virtual host one slow reading is usually a busy
/// neighbour, not a different core). A class's relative speed is the median of its CPUs' rates
/// over the median of the fastest class's.
public struct HostProber: Sendable {
    public let system: HostSystem
    public let benchmarks: HostBenchmarks
    public let options: ProbeOptions

    /// Below this fraction of its class's fastest CPU, a CPU is reported as slow (0.8).
    public static let slowCoreRatio = 0.8

    public init(system: HostSystem = LinuxHost(), benchmarks: HostBenchmarks = MeasuringBenchmarks(), options: ProbeOptions) {
        self.system = system
        self.benchmarks = benchmarks
        self.options = options
    }

    /// Probes the host. `name` overrides the identifier ``HostName`` derives; `date` is the
    /// profile's `host.created`.
    public func probe(name: String? = nil, date: Date = Date(),
                      progress: @Sendable (ProbeProgress) -> Void = { _ in }) async throws(TopologyError) -> ProbeResult {
        let start = monotonicSeconds()
        let cpus = system.allowedCPUs().sorted()
        guard !cpus.isEmpty else { throw .noCPUs }
        guard let memory = MemoryFacts.read(from: system) else { throw .memoryInfoMissing }
        let identity = CPUIdentity.read(from: system, cpus: cpus)
        let layout = NodeLayout.read(from: system, cpus: cpus, memory: memory)
        // GPUs: through Vulkan, measured, where the host has it; else from the drivers' files.
        let (gpus, gpuNotes) = await benchmarks.vulkanGPUs(types: options.kernelTypes, passes: max(1, options.kernelFromMemoryPasses)) ?? GPUInventory.list(in: system)
        var notes = gpuNotes
        // Other work running while we measure lowers every figure; say so when there was some.
        let load = system.readFile("/proc/loadavg")?.split(separator: " ").first.flatMap { Double($0) }
        if let load, load >= 0.5 * Double(cpus.count) {
            notes.append(String(format: "the host was busy when profiled (load average %.1f on %d CPU%@): figures may be low and noisy",
                                load, cpus.count, cpus.count == 1 ? "" : "s"))
        }
        let nodeTotal = layout.nodes.reduce(0) { $0 + $1.memoryBytes }
        if layout.nodes.count >= 1, abs(Double(nodeTotal - memory.totalBytes)) > 0.1 * Double(memory.totalBytes) {
            notes.append(String(format: "the NUMA nodes' memory adds up to %.1f GiB but /proc/meminfo's MemTotal is %.1f GiB (memory outside the listed nodes, or hot-plugged)",
                                Double(nodeTotal) / Double(1 << 30), Double(memory.totalBytes) / Double(1 << 30)))
        }

        let types = options.kernelTypes
        let cross = layout.nodes.count > 1
        let caches = CacheFacts.read(from: system, cpu: cpus[0])
        let steps = 2 + identity.classes.count * (types.count + 1) + 3 * layout.nodes.count + (cross ? 1 : 0)
            + (options.storageDirectory == nil ? 0 : 1)
        var step = 0
        func begin(_ message: String) {
            step += 1
            progress(ProbeProgress(step: step, steps: steps, message: message, finished: false))
        }
        func end(_ message: String) { progress(ProbeProgress(step: step, steps: steps, message: message, finished: true)) }

        // 1. What the host says about itself.
        begin("identifying the host")
        end("\(identity.model), \(cpus.count) CPU\(cpus.count == 1 ? "" : "s") (\(identity.architecture)\(identity.features.isEmpty ? "" : ": " + identity.features.joined(separator: " "))), "
            + "\(identity.hybrid ? "hybrid" : "not hybrid"), \(layout.nodes.count) NUMA node\(layout.nodes.count == 1 ? "" : "s"), "
            + "GPU: \(gpus.isEmpty ? "none" : gpus.map(\.name).joined(separator: ", "))")

        // 2. Every CPU's speed on the reference kernel.
        let ref = ProbeOptions.referenceKernelType
        begin("\(ref) matvec pinned on each CPU (\(cpus.count) × \(Self.seconds(options.perCPUSeconds)))")
        var speed: [Int: Double] = [:]
        for cpu in cpus { speed[cpu] = try await benchmarks.matvec(type: ref, cpu: cpu, seconds: options.perCPUSeconds) }
        var slow: [Int: Double] = [:]   // CPU -> fraction of its class's fastest
        for group in identity.classes {
            let fastest = group.cpus.map { speed[$0]! }.max()!
            for cpu in group.cpus where speed[cpu]! < Self.slowCoreRatio * fastest {
                speed[cpu] = max(speed[cpu]!, try await benchmarks.matvec(type: ref, cpu: cpu, seconds: options.perCPUSeconds))
            }
            let fastestNow = group.cpus.map { speed[$0]! }.max()!
            for cpu in group.cpus where speed[cpu]! < Self.slowCoreRatio * fastestNow { slow[cpu] = speed[cpu]! / fastestNow }
        }
        for (cpu, ratio) in slow.sorted(by: { $0.key < $1.key }) {
            let type = identity.classes.first { $0.cpus.contains(cpu) }!.type
            notes.append("CPU \(cpu) measured at \(String(format: "%.2f", ratio))× the fastest \(type) CPU twice: a busy or throttled core (kept in its class)")
        }
        let medians = identity.classes.map { $0.cpus.map { speed[$0]! }.median! }
        let fastestMedian = medians.max()!
        end("\(ref) matvec GB/s: " + cpus.map { "CPU \($0) \(Self.gb(speed[$0]!))" }.joined(separator: ", "))

        // 3. Each class's kernels on its fastest CPU.
        var classes: [HostProfile.CoreClass] = []
        for (i, group) in identity.classes.enumerated() {
            let cpu = group.cpus.max { speed[$0]! < speed[$1]! }!
            var kernels: [HostProfile.KernelSpeed] = []
            for type in types {
                begin("\(type) matvec and \(KernelWorkload.batchTokens)-token matmul on CPU \(cpu) (\(group.type))")
                let mv = try await benchmarks.matvec(type: type, cpu: cpu, seconds: options.kernelSeconds)
                let mm = try await benchmarks.matmul(type: type, cpu: cpu, seconds: options.kernelSeconds)
                // The per-row cost: the same bytes in 256-wide rows take longer by their extra rows.
                let narrow = try await benchmarks.matvecNarrowRows(type: type, cpu: cpu, seconds: options.kernelSeconds / 2)
                let rowNs = Self.rowNanoseconds(type: type, wide: mv, narrow: narrow)
                let mmNarrow = try await benchmarks.matmulNarrowRows(type: type, cpu: cpu, seconds: options.kernelSeconds / 2)
                end("\(type): matvec \(Self.gb(mv)) GB/s (\(Self.gb(narrow)) on 256-wide rows\(rowNs.map { String(format: ": %.1f ns a row", $0) } ?? "")), matmul \(String(format: "%.1f", mm / 1e9)) GFLOP/s (\(String(format: "%.1f", mmNarrow / 1e9)) on 256-wide rows)")
                let how = "one thread pinned on CPU \(cpu), \(KernelWorkload.rowElements)-wide rows, ~\(KernelWorkload.targetWeightBytes >> 10) KiB of weights (in cache), activations pre-quantized, best of 5 runs"
                kernels.append(HostProfile.KernelSpeed(
                    weightType: type.description,
                    matvecGBPerS: .measured(Self.round(mv / 1e9, 2), "1-token matvec, " + how),
                    matmulGflops: .measured(Self.round(mm / 1e9, 1), "\(KernelWorkload.batchTokens)-token matmul, " + how),
                    matvecRowNs: rowNs.map { .measured(Self.round($0, 2),
                        "1-token matvec on \(KernelWorkload.narrowRowElements)-wide rows (\(Self.gb(narrow)) GB/s) against \(KernelWorkload.rowElements)-wide ones, the difference per extra row") },
                    matmulNarrowGflops: .measured(Self.round(mmNarrow / 1e9, 1),
                        "\(KernelWorkload.batchTokens)-token matmul on \(KernelWorkload.narrowRowElements)-wide rows, one thread pinned on CPU \(cpu), best of 5 runs")))
            }
            // The same matvec with its weights streaming from main memory: far more bytes than the
            // last-level cache holds, in one buffer every type reuses.
            let bigBytes = Self.probeBytes(options.memoryProbeBytes, limit: memory.availableBytes / 4)
            begin("\(types.count) matvec kernels over \(bigBytes >> 20) MiB of weights from main memory on CPU \(cpu) (\(group.type))")
            let fromMemory = try await benchmarks.matvecFromMemory(types: types, cpu: cpu, bytes: bigBytes, passes: options.kernelFromMemoryPasses)
            end("from memory: " + types.compactMap { t in fromMemory[t].map { "\(t) \(Self.gb($0.bytesPerSecond))" + ($0.access.map { " (\($0))" } ?? "") } }.joined(separator: ", ") + " GB/s")
            for (k, type) in types.enumerated() {
                guard let m = fromMemory[type], m.bytesPerSecond > 0, m.bytesPerSecond.isFinite else { continue }
                var how = "1-token matvec, one thread pinned on CPU \(cpu), the in-cache matrix copied along a \(bigBytes >> 20) MiB buffer and read tile after tile, median of \(max(options.kernelFromMemoryPasses, 1)) passes"
                if let access = m.access {
                    how += "; fastest of the kernel's memory access modes (" + MemoryAccess.candidates.compactMap { a in
                        m.rates[a].map { "\(a) \(Self.gb($0))" } }.joined(separator: ", ") + " GB/s): \(access)"
                    kernels[k].matvecDRAMAccess = access.description
                }
                kernels[k].matvecDRAMGBPerS = .measured(Self.round(m.bytesPerSecond / 1e9, 2), how)
            }
            let relative = medians[i] == fastestMedian ? 1 : Self.round(medians[i] / fastestMedian, 3)
            var source = "\(ref) matvec pinned on each CPU, median of the class over the fastest class's median"
            let slowHere = group.cpus.filter { slow[$0] != nil }
            if !slowHere.isEmpty {
                source += "; " + slowHere.map { "CPU \($0) at \(String(format: "%.2f", slow[$0]!))× the class's fastest" }.joined(separator: ", ")
            }
            classes.append(HostProfile.CoreClass(type: group.type, cpus: group.cpus, relativeSpeed: .measured(relative, source), kernels: kernels))
        }

        // 4. Memory bandwidth of each node, one core and all cores.
        let loads = MemoryBandwidth.loadWidth
        var nodes: [HostProfile.Node] = []
        for node in layout.nodes {
            let bytes = Self.probeBytes(options.memoryProbeBytes, limit: min(memory.availableBytes, node.memoryBytes) / 4)
            let fastestClass = identity.classes.indices.max { medians[$0] < medians[$1] }!
            let one = node.cpus.first { identity.classes[fastestClass].cpus.contains($0) } ?? node.cpus[0]
            begin("memory read bandwidth, node \(node.id), one core (CPU \(one), \(bytes >> 20) MiB buffer)")
            let single = try await bestOf(options.memoryRepeats) { () async throws(TopologyError) -> Double in
                try await benchmarks.memoryRead(cpus: [one], bytes: bytes, passes: options.memoryPasses)
            }
            end("node \(node.id), one core: \(Self.gb(single)) GB/s")
            begin("memory read bandwidth, node \(node.id), all \(node.cpus.count) cores")
            let all = try await bestOf(options.memoryRepeats) { () async throws(TopologyError) -> Double in
                try await benchmarks.memoryRead(cpus: node.cpus, bytes: bytes, passes: options.memoryPasses)
            }
            end("node \(node.id), all cores: \(Self.gb(all)) GB/s")
            if node.cpus.count > 1 && all < single {
                notes.append("node \(node.id): all cores together read slower than one (\(Self.gb(all)) < \(Self.gb(single)) GB/s): other work competed for the cores or the memory")
            }
            let how = "\(bytes >> 20) MiB buffer, \(loads) loads, fastest of \(options.memoryPasses) passes"
                + (options.memoryRepeats > 1 ? " in each of \(options.memoryRepeats) runs" : "")
            // The hierarchy: working sets from inside L1 to beyond the last-level cache.
            let sizes = options.curveSizes.filter { $0 <= bytes }
            begin("read bandwidth against working-set size, node \(node.id): \(sizes.count) sizes from \(ByteCount(sizes.first ?? 0).whole) to \(ByteCount(sizes.last ?? 0).whole), one core and all \(node.cpus.count)")
            var curve: [HostProfile.ReadPoint] = []
            let curveHow = "\(loads) loads, each thread reading its slice again and again, median of \(options.curvePasses) passes"
            for size in sizes {
                let r1 = try await benchmarks.workingSetRead(cpus: [one], bytes: size, passes: options.curvePasses)
                let rn = node.cpus.count == 1 ? r1 : try await benchmarks.workingSetRead(cpus: node.cpus, bytes: size, passes: options.curvePasses)
                curve.append(HostProfile.ReadPoint(
                    workingSetBytes: size,
                    oneCoreGBPerS: .measured(Self.round(r1 / 1e9, 2), "one thread pinned on CPU \(one), " + curveHow),
                    allCoresGBPerS: .measured(Self.round(rn / 1e9, 2), "\(node.cpus.count) thread\(node.cpus.count == 1 ? "" : "s") pinned on CPUs \(Self.list(node.cpus)), " + curveHow)))
            }
            end("node \(node.id) working sets (one core / all cores, GB/s): "
                + curve.map { "\(ByteCount($0.workingSetBytes).whole) \(Self.gb($0.oneCoreGBPerS.value * 1e9))/\(Self.gb($0.allCoresGBPerS.value * 1e9))" }.joined(separator: ", "))
            nodes.append(HostProfile.Node(
                id: node.id, cpus: node.cpus, memoryBytes: node.memorySource,
                readGBPerSOneCore: .measured(Self.round(single / 1e9, 2), "one thread pinned on CPU \(one), " + how),
                readGBPerSAllCores: .measured(Self.round(all / 1e9, 2), "\(node.cpus.count) threads pinned on CPUs \(Self.list(node.cpus)), " + how),
                readCurve: curve))
        }

        // 5. Across nodes: the first node's cores reading the second node's memory.
        var crossFigure: Figure?
        if cross {
            let (a, b) = (layout.nodes[0], layout.nodes[1])
            let bytes = Self.probeBytes(options.memoryProbeBytes, limit: min(memory.availableBytes, b.memoryBytes) / 4)
            begin("memory read bandwidth across nodes: node \(a.id)'s cores reading node \(b.id)'s memory")
            let rate = try await bestOf(options.memoryRepeats) { () async throws(TopologyError) -> Double in
                try await benchmarks.memoryRead(cpus: a.cpus, memoryNode: b.id, bytes: bytes, passes: options.memoryPasses)
            }
            end("node \(a.id) -> node \(b.id): \(Self.gb(rate)) GB/s")
            crossFigure = .measured(Self.round(rate / 1e9, 2),
                                    "\(a.cpus.count) threads on node \(a.id) reading \(bytes >> 20) MiB on node \(b.id), \(loads) loads, fastest of \(options.memoryPasses) passes")
        }

        // 6. The storage holding the models.
        var storage: [HostProfile.Storage] = []
        var storageMeasurement: StorageMeasurement?
        if let dir = options.storageDirectory {
            let device = StorageDevice.locate(directory: dir, in: system)
            begin("storage: \(device.name) (\(device.kind)) holding \(dir): \(options.storage.fileBytes >> 20) MiB file")
            do {
                let m = try await benchmarks.storage(directory: dir, plan: options.storage)
                storageMeasurement = m
                let mode = m.directIO ? "O_DIRECT" : "buffered reads (the file system refused O_DIRECT; the file's cached pages dropped before each measurement)"
                let seq = Figure.measured(Self.round(m.sequentialBytesPerSecond / 1e9, 3),
                    "\(m.fileBytes >> 20) MiB file written then read, \(mode), \(options.storage.requestBytes >> 20) MiB requests, \(options.storage.inFlight) in flight, fastest of \(options.storage.passes) pass\(options.storage.passes == 1 ? "" : "es")")
                var percentiles: HostProfile.Percentiles?
                if let p50 = m.latencyPercentile(50), let p90 = m.latencyPercentile(90), let p99 = m.latencyPercentile(99) {
                    let how = "\(m.randomLatenciesUs.count) reads of 4 KiB at random offsets of the file, one at a time, \(m.directIO ? "O_DIRECT" : "buffered")"
                    percentiles = HostProfile.Percentiles(p50: .measured(Self.round(max(p50, 0.1), 1), how),
                                                          p90: .measured(Self.round(max(p90, 0.1), 1), how),
                                                          p99: .measured(Self.round(max(p99, 0.1), 1), how))
                }
                let curveHow = "\(mode == "O_DIRECT" ? "O_DIRECT" : "buffered"), sequential over a part of the file that moves each pass, median of \(max(options.storage.curvePasses, 1)) passes"
                let readCurve = m.curve.map {
                    HostProfile.DiskPoint(requestBytes: $0.requestBytes, inFlight: $0.inFlight,
                                          gbPerS: .measured(Self.round($0.bytesPerSecond / 1e9, 3), curveHow))
                }
                storage.append(HostProfile.Storage(name: device.name, kind: device.kind, path: dir,
                                                   sequentialReadGBPerS: seq, random4KLatencyUs: percentiles,
                                                   readCurve: readCurve.isEmpty ? nil : readCurve))
                end("\(device.name): sequential \(Self.gb(m.sequentialBytesPerSecond)) GB/s"
                    + (percentiles.map { ", 4 KiB random p50 \($0.p50.value) µs, p99 \($0.p99.value) µs" } ?? "")
                    + (m.directIO ? "" : " (buffered: O_DIRECT refused)")
                    + (m.curve.isEmpty ? "" : "; by request size and depth: " + m.curve.map { "\(ByteCount($0.requestBytes).whole)×\($0.inFlight) \(Self.gb($0.bytesPerSecond))" }.joined(separator: ", ")))
                if !m.directIO { notes.append("storage at \(dir): the file system refused O_DIRECT; read through the page cache after dropping the file's pages") }
            } catch {
                notes.append("storage not measured: \(error)")
                end("storage not measured: \(error)")
            }
        }

        let cpuInfo = HostProfile.CPU(model: identity.model, architecture: identity.architecture, features: identity.features,
                                      hybrid: identity.hybrid, coreClasses: classes, caches: caches.isEmpty ? nil : caches)
        let mem = HostProfile.Memory(totalBytes: .measured(Double(memory.totalBytes), "/proc/meminfo MemTotal"),
                                     availableBytes: .measured(Double(memory.availableBytes), "/proc/meminfo MemAvailable when profiled"))
        var description = "\(identity.model), \(cpus.count) CPU\(cpus.count == 1 ? "" : "s"), \(String(format: "%.1f", Double(memory.totalBytes) / Double(1 << 30))) GiB RAM"
        if let h = identity.hypervisor { description += ", \(Self.hypervisorName(h)) guest" }
        let formatter = ISO8601DateFormatter()
        let host = HostProfile.Host(name: name ?? HostName.identifier(cpuModel: identity.model, cpuCount: cpus.count),
                                    description: description, created: formatter.string(from: date), tool: options.tool)
        let profile = HostProfile(kind: .measured, host: host, cpu: cpuInfo, memory: mem,
                                  numa: HostProfile.NUMA(nodes: nodes, distances: layout.distances, crossNodeReadGBPerS: crossFigure),
                                  storage: storage, gpus: gpus)
        return ProbeResult(profile: profile, notes: notes, perCPUBytesPerSecond: speed, slowCPUs: slow.keys.sorted(),
                           storage: storageMeasurement, seconds: monotonicSeconds() - start)
    }

    private func bestOf(_ n: Int, _ body: () async throws(TopologyError) -> Double) async throws(TopologyError) -> Double {
        var best = 0.0
        for _ in 0..<max(n, 1) { best = max(best, try await body()) }
        return best
    }

    /// Nanoseconds per row from the matvec's rates (bytes/s) on 2048-wide and 256-wide rows: equal
    /// bytes, eight times the rows, the time difference over the extra rows. Nil when the type has
    /// no row size for either width or the difference is noise (never negative).
    static func rowNanoseconds(type: TensorType, wide: Double, narrow: Double) -> Double? {
        guard let wideRow = type.rowBytes(KernelWorkload.rowElements), let narrowRow = type.rowBytes(KernelWorkload.narrowRowElements),
              wide > 0, narrow > 0, narrowRow < wideRow else { return nil }
        let perByte = 1 / narrow - 1 / wide
        let rowsPerByte = 1 / Double(narrowRow) - 1 / Double(wideRow)
        return max(0, perByte / rowsPerByte * 1e9)
    }

    /// `wanted` bytes, at most `limit`, at least 64 MiB, a multiple of 2 MiB.
    static func probeBytes(_ wanted: Int, limit: Int) -> Int {
        max(64 << 20, min(wanted, limit) / (2 << 20) * (2 << 20))
    }

    static func round(_ x: Double, _ digits: Int) -> Double {
        let f = pow(10, Double(digits))
        let r = (x * f).rounded() / f
        return r > 0 ? r : x   // never round a positive figure to 0
    }

    static func gb(_ bytesPerSecond: Double) -> String { String(format: "%.2f", bytesPerSecond / 1e9) }
    static func seconds(_ s: Double) -> String { String(format: "%.2g s", s) }

    /// "0-3,8,10-11".
    static func list(_ cpus: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let s = cpus.sorted()
        while i < s.count {
            var j = i
            while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
            parts.append(j == i ? "\(s[i])" : "\(s[i])-\(s[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    static func hypervisorName(_ vendor: String) -> String {
        switch vendor {
        case "KVMKVMKVM": "KVM"
        case "Microsoft Hv": "Hyper-V"
        case "VMwareVMware": "VMware"
        case "XenVMMXenVMM": "Xen"
        case "TCGTCGTCGTCG": "QEMU"
        case "VBoxVBoxVBox": "VirtualBox"
        case "ACRNACRNACRN": "ACRN"
        default: vendor
        }
    }
}

/// A probed profile and what the summary should say beside it.
public struct ProbeResult: Sendable {
    public var profile: HostProfile
    /// What the profile has no field for: slow cores, a refused O_DIRECT, storage not measured,
    /// display devices not listed.
    public var notes: [String]
    /// Each CPU's reference-kernel matvec rate, weight bytes per second.
    public var perCPUBytesPerSecond: [Int: Double]
    /// CPUs measured under ``HostProber/slowCoreRatio`` of their class's fastest, twice.
    public var slowCPUs: [Int]
    public var storage: StorageMeasurement?
    /// Wall seconds the probe took.
    public var seconds: Double
}

/// The NUMA nodes a profile lists: libnuma's nodes that hold CPUs this process may use, with only
/// those CPUs; one node of every allowed CPU and all of MemTotal when libnuma says NUMA is
/// unavailable.
struct NodeLayout {
    struct Node {
        var id: Int
        var cpus: [Int]
        var memoryBytes: Int
        var memorySource: Figure
    }
    var nodes: [Node]
    var distances: [[Int]]

    static func read(from system: HostSystem, cpus: [Int], memory: MemoryFacts) -> NodeLayout {
        let allowed = Set(cpus)
        guard let facts = system.numa() else { return single(cpus, memory, "libnuma: NUMA not available") }
        var picked: [(index: Int, node: Node)] = []
        for (i, n) in facts.nodes.enumerated() {
            let mine = n.cpus.filter { allowed.contains($0) }.sorted()
            guard !mine.isEmpty else { continue }   // memory-only node, or none of its CPUs allowed
            let bytes = n.memoryBytes > 0 ? n.memoryBytes : memory.totalBytes
            let source = n.memoryBytes > 0 ? "libnuma numa_node_size64" : "/proc/meminfo MemTotal (libnuma gave no size)"
            picked.append((i, Node(id: n.id, cpus: mine, memoryBytes: bytes, memorySource: .measured(Double(bytes), source))))
        }
        guard !picked.isEmpty else { return single(cpus, memory, "libnuma placed none of this process's CPUs") }
        // An allowed CPU libnuma places on no listed node joins the first node.
        let placed = Set(picked.flatMap(\.node.cpus))
        let orphans = cpus.filter { !placed.contains($0) }
        if !orphans.isEmpty { picked[0].node.cpus = (picked[0].node.cpus + orphans).sorted() }
        let distances = picked.map { a in
            picked.map { b in
                a.index < facts.distances.count && b.index < facts.distances[a.index].count
                    ? facts.distances[a.index][b.index] : (a.index == b.index ? 10 : 20)
            }
        }
        return NodeLayout(nodes: picked.map(\.node), distances: distances)
    }

    private static func single(_ cpus: [Int], _ memory: MemoryFacts, _ why: String) -> NodeLayout {
        NodeLayout(nodes: [Node(id: 0, cpus: cpus, memoryBytes: memory.totalBytes,
                                memorySource: .measured(Double(memory.totalBytes), "/proc/meminfo MemTotal (\(why))"))],
                   distances: [[10]])
    }
}

/// The data and unified caches of one CPU as sysfs lists them
/// (`/sys/devices/system/cpu/cpuN/cache/index*/{level,type,size,shared_cpu_list}`), innermost first,
/// one entry per level. Empty where sysfs says nothing.
enum CacheFacts {
    static func read(from system: HostSystem, cpu: Int) -> [HostProfile.Cache] {
        let dir = "/sys/devices/system/cpu/cpu\(cpu)/cache"
        guard let entries = system.listDirectory(dir) else { return [] }
        var byLevel: [Int: HostProfile.Cache] = [:]
        for entry in entries.sorted() where entry.hasPrefix("index") {
            func field(_ name: String) -> String? {
                system.readFile("\(dir)/\(entry)/\(name)")?.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let type = field("type"), type == "Data" || type == "Unified",
                  let level = field("level").flatMap({ Int($0) }), level >= 1,
                  let bytes = field("size").flatMap(parseSize), bytes > 0 else { continue }
            let shared = field("shared_cpu_list").map(countCPUs) ?? 1
            byLevel[level] = HostProfile.Cache(level: level, bytes: .measured(Double(bytes), "sysfs \(dir)/\(entry)/size"),
                                               sharedByCPUs: max(shared, 1))
        }
        return byLevel.keys.sorted().map { byLevel[$0]! }
    }

    /// "32K", "32768K", "1M", "4096" (bytes).
    static func parseSize(_ s: String) -> Int? {
        guard let last = s.last else { return nil }
        let unit: Int
        var digits = s
        switch last {
        case "K", "k": unit = 1 << 10; digits.removeLast()
        case "M", "m": unit = 1 << 20; digits.removeLast()
        case "G", "g": unit = 1 << 30; digits.removeLast()
        default: unit = 1
        }
        return Int(digits).map { $0 * unit }
    }

    /// "0-3,8,10-11" -> 7.
    static func countCPUs(_ list: String) -> Int {
        list.split(separator: ",").reduce(0) { n, part in
            let ends = part.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            return n + (ends.count == 2 ? max(0, ends[1] - ends[0] + 1) : ends.count == 1 ? 1 : 0)
        }
    }
}
