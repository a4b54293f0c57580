import EdgeCore
import Foundation

extension PlacementRequest {
    /// The process's own bytes: measured when given, else the fitted footprint.
    var processBytesOrFitted: Int { processBytes ?? RuntimeFootprint.processBytes(manifest) }
}

/// The inputs of ``PlacementPlanner/plan(_:)``.
public struct PlacementRequest: Sendable {
    public var manifest: ModelManifest
    public var host: HostProfile
    /// Memory for weights, KV cache and activations on the host's RAM (all CPU nodes together, the
    /// process's own code and tables not counted); nil: the host's available memory.
    public var memoryBudget: Int?
    /// Memory each GPU may use, by id; a GPU not named may use its memory less a reserve.
    public var gpuBudgets: [DeviceID: Int]
    /// Tokens of context the KV cache holds.
    public var context: Int
    /// Prompt length the time to first token is predicted for.
    public var promptTokens: Int
    /// Tokens the run generates: with the prompt, the positions whose KV cache pages are touched.
    public var generateTokens: Int
    /// Compute threads (nil: every CPU of the host).
    public var threads: Int?
    /// Largest prompt batch wanted (shrunk under a budget as the engine does).
    public var batch: Int
    /// Read bandwidth of the disk holding the model, bytes/s, when measured better than the profile.
    public var diskBytesPerSecond: Double?
    /// Plan GPU entries (false: CPU and disk only).
    public var useGPUs: Bool
    /// Plan the `numa-split` family only, its threads spread evenly over every node of the host
    /// (`--numa-nodes N` asks for rows split over N nodes whatever the other families predict).
    public var splitOverNodes: Bool
    /// What the process itself holds before any weight or buffer (code, libraries, tokenizer), when
    /// measured (the engine's resident bytes before loading); nil: ``RuntimeFootprint/processBytes(_:)``.
    public var processBytes: Int?

    public init(manifest: ModelManifest, host: HostProfile, memoryBudget: Int? = nil, gpuBudgets: [DeviceID: Int] = [:],
                context: Int, promptTokens: Int = 128, generateTokens: Int = 128, threads: Int? = nil, batch: Int = 512,
                diskBytesPerSecond: Double? = nil, useGPUs: Bool = true, splitOverNodes: Bool = false,
                processBytes: Int? = nil) {
        self.manifest = manifest
        self.host = host
        self.memoryBudget = memoryBudget
        self.gpuBudgets = gpuBudgets
        self.context = context
        self.promptTokens = promptTokens
        self.generateTokens = generateTokens
        self.threads = threads
        self.batch = batch
        self.diskBytesPerSecond = diskBytesPerSecond
        self.useGPUs = useGPUs
        self.splitOverNodes = splitOverNodes
        self.processBytes = processBytes
    }
}

/// Places a model on a host.
///
/// **The problem.** Choose for every weight block the devices that hold its rows (CPU node, GPU)
/// or stream it from disk, to minimise the time of one generated token subject to each device's
/// memory (weights + KV cache + activations + window ≤ budget). A token's time is the sum over
/// blocks of the time of their slowest share, plus transfers between devices, with streamed reads
/// overlapping compute when the window has two slots.
///
/// **How it is solved.** Times are linear in bytes (a device serves weights at a rate: the smaller
/// of its cores' kernel throughput and its memory bandwidth), so within each family of placements
/// the optimum has a closed form, and the planner evaluates every family and keeps the fastest:
/// - `cpu` / `cpu+disk`: one NUMA node. Keep as many bytes resident as fit; the window depth is the
///   only discrete choice and is tried exhaustively (``StreamingPlanner``).
/// - `numa-split`: every matrix's rows split over the nodes in proportion to their rates (capped by
///   their memory: water-filling), so each node reads only its local memory; a synchronisation
///   per matrix is the price.
/// - `gpu-layers`: the GPU takes blocks in pass order while they fit (every byte on the faster
///   device saves the same time, so any fill that uses its memory fully is optimal; a prefix keeps
///   one hand-over per token), the block at the boundary split by the memory left (HeteGen's
///   ratio), the rest as `cpu` / `cpu+disk`.
/// - `gpu-split`: when the model fits the GPU, each matrix's rows split between GPU and CPU in the
///   ratio of their rates (HeteGen), paying two transfers per matrix.
/// Every decision is recorded with its reason. The constants that are not measured (GPU
/// efficiency, launch and synchronisation latencies) are estimates and say so.
public enum PlacementPlanner {
    /// Fraction of its memory bandwidth a GPU's matvec reaches (estimate: llama.cpp's CUDA
    /// generation reaches 70-85% of the memory bandwidth on consumer GPUs).
    public static let gpuBandwidthEfficiency = 0.8
    /// Fraction of peak FP16 throughput a GPU's prompt matmul reaches (estimate).
    public static let gpuComputeEfficiency = 0.5
    /// Fixed cost per transformer block per token on a GPU: kernel launches (estimate: ~10 kernels × 3 µs).
    public static let gpuLayerSeconds = 30e-6
    /// One hand-over of the activations between CPU and GPU: synchronisation and a small copy (estimate).
    public static let transferLatencySeconds = 15e-6
    /// One synchronisation between NUMA nodes (estimate: two cache-line round trips across sockets, a few µs with the pool's spin barrier).
    public static let crossNodeSyncSeconds = 3e-6
    /// Memory a GPU runtime keeps for itself (estimate: CUDA context and cuBLAS workspace).
    public static let gpuReserveBytes = 384 << 20
    /// Fixed CPU cost per transformer block per token besides reading weights — norms, RoPE,
    /// attention over a short context, the parallel regions of ~12 ops — for `threads` threads.
    /// Measured on this project's host (EPYC, KVM, 2 vCPUs) with SmolLM2-135M (30 blocks), whose
    /// weights take only 2-4 ms a token: ~40 µs per block on one thread, ~70 µs on two (the
    /// regions' synchronisation across vCPUs), after the weights' time at the rates below.
    /// Fraction of the profile's sequential read figure (the fastest of its passes of 4 MiB
    /// requests, 8 in flight) the streaming window reaches with its own blocks (1-16 MiB, a few in
    /// flight). Measured on this project's host (virtio disk): streaming SmolLM2 under 32-64 MiB
    /// budgets read at 0.93-1.15 GB/s where full profiles gave 1.42-1.53 GB/s. A rate given in the
    /// request (measured on the file itself) is used as it is.
    public static let diskStreamingEfficiency = 0.75
    /// How far a run's measured figure may be from the prediction before `run` names the term of
    /// the cost model furthest off (the accuracy the planner aims for: 15%).
    public static let predictionTolerance = 0.15
    public static func cpuLayerSeconds(threads: Int) -> Double { threads <= 1 ? 40e-6 : 70e-6 }
    /// The prompt's cost per token per transformer block besides its matmuls (a fitted constant,
    /// not a profile measurement). First fitted on this project's AVX2 EPYC host (2 vCPUs) with
    /// SmolLM2-135M Q8_0 and Q4_K_M and prompts of 29 and 232 tokens: 38-55 µs per token and block
    /// on one thread and about the same on two. Refitted on 2026-12-08 on the AVX-512 EPYC after the
    /// prompt path got faster (F32 prompt attention among other work): with 40 µs the 29-word
    /// prompts were predicted 28-84% slow on the three SmolLM2 files (`scripts/predictions.py`);
    /// the time to first token less the matmuls at the profile's rates was 17-20 µs per token and
    /// block on one and two threads.
    public static let cpuPromptLayerSecondsPerToken = 20e-6

    /// Working set of the profile's in-cache kernel figures: the probe's ~384 KiB matrix
    /// (`KernelWorkload.targetWeightBytes` in EdgeTopology).
    public static let kernelProbeWorkingSet = 384 << 10

    /// One thread's rate (bytes/s) for a kernel whose weights are served at `perThreadBandwidth`,
    /// from the profile's two measurements of it: in cache (``kernelProbeWorkingSet``, read at the
    /// curve's one-core figure there) and from main memory (the curve's largest working set). A
    /// byte costs a fixed compute time plus a stall inversely proportional to the bandwidth that
    /// serves it, `1/r = c + a/bw`; the two measurements fix `c` and `a`. Nil when the profile
    /// lacks either figure.
    public static func kernelRate(_ k: HostProfile.KernelSpeed, node: HostProfile.Node, lastLevelCache: Double? = nil,
                                  perThreadBandwidth bw: Double) -> Double? {
        guard let dram = k.matvecDRAMGBPerS?.value, dram > 0, node.readCurve?.isEmpty == false,
              let bwCache = node.readBytesPerSecond(workingSet: kernelProbeWorkingSet, threads: 1, lastLevelCache: lastLevelCache),
              let bwDRAM = node.readBytesPerSecond(workingSet: Int.max, threads: 1, lastLevelCache: lastLevelCache) else { return nil }
        let rCache = k.matvecGBPerS.value * 1e9, rDRAM = dram * 1e9
        guard rCache > 0, bwCache > 0, bwDRAM > 0, bw > 0 else { return nil }
        var a = bwCache > bwDRAM ? (1 / rDRAM - 1 / rCache) / (1 / bwDRAM - 1 / bwCache) : 0
        var c = 1 / rCache - a / bwCache
        if a <= 0 {   // no slower from memory: compute-bound throughout
            a = 0
            c = 1 / max(rDRAM, rCache)
        } else if c < 0 {   // slower than the stall model allows: bound by the bandwidth alone
            c = 0
            a = bwDRAM / rDRAM
        }
        return 1 / (c + a / bw)
    }

    /// The rate the streaming window reads the model file at, and where it came from: the rate
    /// given in the request, else the profile's disk curve at the window's requests (a block of
    /// `target` bytes read as four pieces of 256 KiB to 8 MiB, one block in flight while the
    /// other computes: four requests at once), else a fraction of the sequential figure.
    static func diskRate(_ r: PlacementRequest, target: Int) -> (Double?, String) {
        if let d = r.diskBytesPerSecond { return (d, "given") }
        guard let s = r.host.storage.first else { return (nil, "no storage") }
        let piece = min(8 << 20, max(256 << 10, (target / 4 + 4095) / 4096 * 4096))
        if let rate = s.readBytesPerSecond(requestBytes: piece, inFlight: windowReadsInFlight) {
            return (rate, "the profile's disk curve at \(mib(piece)) requests, \(windowReadsInFlight) in flight, as the window reads")
        }
        return (s.sequentialReadGBPerS.value * 1e9 * diskStreamingEfficiency,
                "\(fmt(100 * diskStreamingEfficiency))% of the profile's sequential read figure: the profile has no disk curve")
    }

    /// Reads the window keeps in flight: one block of four pieces (see `DiskTier.submit`).
    public static let windowReadsInFlight = 4
    /// Fraction of the profile's read bandwidth (the fastest pass of a pure read) a whole forward
    /// pass reaches, for one thread and for all of a node's cores (linear between). Measured on this
    /// project's host with 1.2-1.8 GiB models (weights well beyond the 32 MiB LLC): 0.88-0.93 on
    /// one thread; 0.6-0.8 on both, where the two vCPUs' reads contend with each other and with
    /// the host's other guests.
    public static let cpuBandwidthEfficiencyOneCore = 0.9
    public static let cpuBandwidthEfficiencyAllCores = 0.7
    static func cpuBandwidthEfficiency(threads k: Int, cores: Int) -> Double {
        guard cores > 1, k > 1 else { return cpuBandwidthEfficiencyOneCore }
        let f = Double(min(k, cores) - 1) / Double(cores - 1)
        return cpuBandwidthEfficiencyOneCore + f * (cpuBandwidthEfficiencyAllCores - cpuBandwidthEfficiencyOneCore)
    }

    public static func plan(_ r: PlacementRequest) throws(PlacementError) -> PlacementPlan {
        try checkBounds(r)
        do {
            return try planBest(r)
        } catch let .budgetTooSmall(device, budget, minimum, detail) {
            // The block size follows the budget, so the minimum computed at this budget may need a
            // larger slot itself: climb to the fixed point (blocks only grow with the budget).
            var least = minimum
            for _ in 0..<16 {
                var probe = r
                probe.memoryBudget = least
                do {
                    _ = try planBest(probe)
                    break
                } catch let .budgetTooSmall(_, _, next, _) where next > least {
                    least = next
                } catch {
                    least += 1 << 20
                }
            }
            throw .budgetTooSmall(device: device, budget: budget, minimum: max(least, minimum), detail: detail)
        }
    }

    /// Plans with the budget's block size and every smaller one of the ladder, keeping the fastest:
    /// smaller blocks waste less memory on the window and pack residents tighter, larger ones mean
    /// fewer reads. Trying every size up to the budget's own keeps a larger budget never slower.
    static func planBest(_ r: PlacementRequest) throws(PlacementError) -> PlacementPlan {
        let available = Int(r.host.memory.availableBytes.value)
        let top = StreamingPlanner.blockTarget(budget: r.memoryBudget ?? max(0, available - r.processBytesOrFitted))
        var best: PlacementPlan?
        var firstError: PlacementError?
        var target = top
        while true {
            do {
                let p = try planOnce(r, target: target)
                if best == nil || p.predicted.genTokensPerSecond > best!.predicted.genTokensPerSecond * (1 + 1e-12) { best = p }
                // Nothing streams and nothing is split: smaller blocks cannot do better.
                if p.window.slots == 0 && p.devices.allSatisfy({ $0.kind == .cpu }) { break }
            } catch {
                // Report the smallest minimum any block size allows (the smallest blocks, usually).
                if case let .budgetTooSmall(_, _, m, _) = error, case let .budgetTooSmall(_, _, m0, _)? = firstError, m >= m0 {
                } else {
                    firstError = error
                }
            }
            if target <= StreamingPlanner.minimumBlockTarget { break }
            target /= 2
        }
        if let best { return best }
        throw firstError!
    }

    /// Every number of the request within ``InputBounds``, so that no product the planner forms
    /// (positions × bytes per position, budgets summed over devices) can overflow.
    static func checkBounds(_ r: PlacementRequest) throws(PlacementError) {
        func check(_ value: Int, _ range: ClosedRange<Int>, _ name: String) throws(PlacementError) {
            do { try InputBounds.check(value, in: range, name) } catch { throw .badRequest(error.description) }
        }
        try check(r.context, InputBounds.contextTokens, "context length")
        try check(r.promptTokens, InputBounds.promptTokens, "prompt length")
        try check(r.generateTokens, InputBounds.generateTokens, "tokens to generate")
        try check(r.batch, InputBounds.batchTokens, "batch size")
        if let t = r.threads { try check(t, InputBounds.threads, "thread count") }
        if let b = r.memoryBudget { try check(b, InputBounds.memoryBytes, "memory budget") }
        for (id, b) in r.gpuBudgets.sorted(by: { $0.key < $1.key }) { try check(b, InputBounds.memoryBytes, "memory budget of \(id)") }
        if let d = r.diskBytesPerSecond, !(d > 0 && d.isFinite) {
            throw .badRequest("disk bandwidth \(d) bytes/s is not a positive number")
        }
    }

    static func planOnce(_ r: PlacementRequest, target: Int) throws(PlacementError) -> PlacementPlan {
        let m = r.manifest, host = r.host
        guard r.context >= 1 else { throw .badRequest("context length \(r.context) must be at least 1") }
        guard r.promptTokens >= 0, r.promptTokens < r.context else {
            throw .badRequest("a prompt of \(r.promptTokens) tokens does not fit a context of \(r.context) (one position is needed for the first generated token)")
        }
        guard !m.matrices.isEmpty else { throw .badRequest("the model has no weight matrices") }
        let nodes = host.numa.nodes.sorted { $0.id < $1.id }
        let allCPUs = host.cpu.coreClasses.sorted { $0.relativeSpeed.value > $1.relativeSpeed.value }.flatMap(\.cpus)
        let wanted = r.threads ?? allCPUs.count
        guard wanted >= 1, wanted <= allCPUs.count else {
            throw .badRequest("\(wanted) threads asked, but host '\(host.host.name)' has \(allCPUs.count) CPUs")
        }
        var reasons: [String] = []
        let processBytes = r.processBytesOrFitted
        let available = Int(host.memory.availableBytes.value)
        let cpuBudget = r.memoryBudget ?? max(0, available - processBytes)
        if r.memoryBudget == nil {
            reasons.append("memory: no budget given, so the host's available \(mib(available)) less \(mib(processBytes)) for edgert's code and tables")
        } else if let b = r.memoryBudget, b + processBytes > available {
            reasons.append("warning: budget \(mib(b)) + \(mib(processBytes)) of code and tables exceeds the host's available memory \(mib(available))")
        }
        // The threads' CPUs: the fastest first; for a split over nodes, an even share on each node.
        var threadCPUs = Array(allCPUs.prefix(wanted))
        if r.splitOverNodes {
            guard nodes.count > 1 else {
                throw .badRequest("rows split over NUMA nodes need a host of several nodes; host '\(host.host.name)' has \(nodes.count)")
            }
            guard wanted >= nodes.count else {
                throw .badRequest("rows split over \(nodes.count) NUMA nodes need at least \(nodes.count) threads, \(wanted) asked for")
            }
            let speed = { (cpu: Int) in host.coreClass(ofCPU: cpu)?.relativeSpeed.value ?? 1 }
            threadCPUs = []
            for (k, n) in nodes.enumerated() {
                let count = wanted * (k + 1) / nodes.count - wanted * k / nodes.count
                let cpus = n.cpus.sorted { speed($0) > speed($1) }
                guard cpus.count >= count else {
                    throw .badRequest("node \(n.id) of host '\(host.host.name)' has \(cpus.count) CPUs, \(count) threads of \(wanted) are to run on it")
                }
                threadCPUs += cpus.prefix(count)
            }
        }
        let batch = RuntimeFootprint.batchSize(m, wanted: r.batch, context: r.context, budget: r.memoryBudget)
        let blocks = m.blocks(target: target)
        let spans = blocks.map { span(offset: $0.offset, length: $0.length) }
        let byType = blocks.map { m.bytesByType($0) }
        // The bytes a pass reads again every token (at most what the budget holds): the working set
        // the memory hierarchy serves them from.
        let workingSet = min(spans.reduce(0, +), cpuBudget) + RuntimeFootprint.kvBytes(m, context: min(r.context, r.promptTokens + r.generateTokens))
        let rates = Rates(host: host, nodes: nodes, threadCPUs: threadCPUs, manifest: m, workingSet: workingSet,
                          reasons: &reasons)
        let (disk, diskHow) = Self.diskRate(r, target: target)
        let ctx = Context(request: r, blocks: blocks, spans: spans, byType: byType, rates: rates, disk: disk, diskHow: diskHow, batch: batch,
                          target: target, cpuBudget: cpuBudget, processBytes: processBytes, threadCPUs: threadCPUs)

        var candidates: [Candidate] = []
        var firstError: PlacementError?
        func attempt(_ make: () throws(PlacementError) -> Candidate?) {
            do { if let c = try make() { candidates.append(c) } } catch { if firstError == nil { firstError = error } }
        }
        if r.splitOverNodes {
            guard let split = try numaSplit(ctx, nodes: nodes) else {
                throw .budgetTooSmall(device: .cpu(nodes[0].id), budget: cpuBudget, minimum: RuntimeFootprint.fixedBytes(
                    m, context: r.context, batch: batch, threads: threadCPUs.count) + spans.reduce(0, +),
                                      detail: "rows split over NUMA nodes stay resident (they do not stream), and the weights with the KV cache and activations need more")
            }
            candidates.append(split)
        } else {
            attempt { () throws(PlacementError) in try cpuOnly(ctx, node: nodes[0]) }
            if nodes.count > 1 { attempt { () throws(PlacementError) in try numaSplit(ctx, nodes: nodes) } }
        }
        if r.useGPUs && !r.splitOverNodes, let gpu = host.gpus.max(by: { $0.memoryGBPerS.value < $1.memoryGBPerS.value }) {
            attempt { () throws(PlacementError) in try gpuLayers(ctx, gpu: gpu, node: nodes[0]) }
            attempt { () throws(PlacementError) in try gpuSplit(ctx, gpu: gpu, node: nodes[0]) }
            if host.gpus.count > 1 { reasons.append("gpus: only the fastest, \(gpu.id), is planned; the others stay free") }
        } else if !host.gpus.isEmpty {
            reasons.append("gpus: not planned (this run plans CPU and disk only)")
        }
        guard let best = candidates.min(by: { $0.seconds < $1.seconds }) else {
            throw firstError ?? .badRequest("no placement found")
        }
        if candidates.count > 1 {
            let others = candidates.filter { $0.strategy != best.strategy }
                .map { "\($0.strategy) \(fmt(1 / $0.seconds)) tok/s" }.joined(separator: ", ")
            reasons.append("strategy \(best.strategy): \(fmt(1 / best.seconds)) tok/s predicted, the fastest of the placements tried (\(others))")
        }
        reasons += best.reasons

        let cpus = best.threadCPUs
        let speeds = cpus.map { host.coreClass(ofCPU: $0)?.relativeSpeed.value ?? 1 }
        let total = speeds.reduce(0, +)
        let threads = PlacementPlan.Threads(count: cpus.count, cpus: cpus, startingShares: speeds.map { $0 / total })
        if Set(speeds).count > 1 {
            reasons.append("threads: \(cpus.count) on CPUs \(cpus.map(String.init).joined(separator: ",")), starting shares from the core classes' relative speeds; the balancer adapts them per op")
        } else {
            reasons.append("threads: \(cpus.count) on CPUs \(cpus.map(String.init).joined(separator: ",")), equal starting shares (one core class); the balancer adapts them per op")
        }

        let promptSeconds = ttft(ctx, best)
        var plan = PlacementPlan(
            model: .init(name: m.name, type: m.mainType.description, parameterCount: m.parameterCount, fileBytes: m.fileBytes,
                         weightBytesPerToken: m.bytesPerToken),
            host: host.host.name, hostKind: host.kind, context: r.context, promptTokens: r.promptTokens, batch: batch,
            blockTarget: target, strategy: best.strategy,
            blocks: zip(blocks, best.placements).map { b, p in
                PlacementPlan.BlockPlacement(name: b.name, offset: b.offset, bytes: b.length, tier: p.tier, shares: p.shares)
            },
            window: best.window, threads: threads, kvCache: best.kv, devices: best.devices,
            predicted: .init(timeToFirstTokenSeconds: promptSeconds, genTokensPerSecond: 1 / best.seconds,
                             peakMemoryBytes: best.peaks, computeSeconds: best.computeSeconds,
                             diskSeconds: best.diskSeconds, transferSeconds: best.transferSeconds),
            reasons: reasons)
        plan.reasons.append("predicted: time to first token \(fmt(promptSeconds * 1000)) ms for \(r.promptTokens) prompt tokens, then \(fmt(1 / best.seconds)) tok/s; peak \(plan.predicted.peakMemoryBytes.sorted { $0.key < $1.key }.map { "\($0.key) \(mib($0.value))" }.joined(separator: ", "))")
        return plan
    }

    // MARK: - Rates

    /// How fast each device serves weights.
    struct Rates {
        /// Per NUMA node id: per weight type, bytes/s for the plan's threads on that node.
        var cpuByNode: [Int: [TensorType: Double]] = [:]
        /// Per node: prompt FLOP/s of its threads.
        var cpuFlopsByNode: [Int: Double] = [:]
        var threadsByNode: [Int: [Int]] = [:]

        /// How node rates were found, for the reasons: the memory hierarchy (`curve`) or the v1 model.
        var hierarchy: [Int: String] = [:]

        init(host: HostProfile, nodes: [HostProfile.Node], threadCPUs: [Int], manifest m: ModelManifest, workingSet: Int,
             reasons: inout [String]) {
            let types = Set(m.matrices.map(\.type))
            var missing = Set<TensorType>()
            // Per type: rows beyond (or, for wider rows, short of) what the reference width makes
            // of the same bytes, per byte.
            var extraRowsPerByte: [TensorType: Double] = [:]
            // Per type: multiply-adds × 2 of one token, and the rows' width (elements) weighted by bytes.
            var flopsByType: [TensorType: Double] = [:], widthByType: [TensorType: Double] = [:]
            for t in types {
                let ms = m.matrices.filter { $0.type == t }
                flopsByType[t] = ms.reduce(0) { $0 + $1.flopsPerToken }
                let wb = ms.reduce(0.0) { $0 + Double($1.byteCount) }
                if wb > 0 { widthByType[t] = ms.reduce(0.0) { $0 + Double($1.columns) * Double($1.byteCount) } / wb }
                let bytes = ms.reduce(0) { $0 + $1.byteCount }, rows = ms.reduce(0) { $0 + $1.rows }
                guard bytes > 0, let ref = t.rowBytes(HostProfile.KernelSpeed.referenceRowElements), ref > 0 else { continue }
                extraRowsPerByte[t] = (Double(rows) - Double(bytes) / Double(ref)) / Double(bytes)
            }
            for n in nodes {
                let cpus = threadCPUs.filter { n.cpus.contains($0) }
                threadsByNode[n.id] = cpus
                let k = cpus.count
                guard k > 0 else { continue }
                // Without the hierarchy (a version 1 profile, a spec): bandwidth of k cores, one
                // core's growing linearly to all cores' figure, times the fraction a forward pass
                // reaches (see cpuBandwidthEfficiency), capped by the kernels' in-cache rates.
                let bw = min(n.readGBPerSAllCores.value, n.readGBPerSOneCore.value * Double(k)) * 1e9
                    * PlacementPlanner.cpuBandwidthEfficiency(threads: k, cores: n.cpus.count)
                // With it: each thread sees its share of the bandwidth the working set is served at.
                let llc = host.cpu.lastLevelCacheBytes
                let shared = n.readBytesPerSecond(workingSet: workingSet, threads: k, lastLevelCache: llc).map { $0 / Double(k) }
                var byType: [TensorType: Double] = [:]
                var flops = 0.0
                var anyCurve = false
                for t in types {
                    var compute = 0.0, hierarchical = 0.0
                    var usedCurve = true
                    var known = true
                    for cpu in cpus {
                        guard let cls = host.coreClass(ofCPU: cpu) else { continue }
                        if let s = cls.kernels.first(where: { TensorType.named($0.weightType) == t }) {
                            compute += s.matvecGBPerS.value * 1e9
                            if let shared, let r = PlacementPlanner.kernelRate(s, node: n, lastLevelCache: llc, perThreadBandwidth: shared) {
                                // The rows this model's matrices of type t have beyond what the same
                                // bytes make at the reference width cost the kernel's per-row time.
                                let perByte = 1 / r + (s.matvecRowNs?.value ?? 0) * 1e-9 * (extraRowsPerByte[t] ?? 0)
                                hierarchical += 1 / max(perByte, 0.25 / r)
                            } else {
                                usedCurve = false
                            }
                        } else {
                            known = false
                        }
                    }
                    if !known { missing.insert(t) }
                    byType[t] = !known ? (shared.map { $0 * Double(k) } ?? bw) : usedCurve && shared != nil ? hierarchical : min(compute, bw)
                    if known && usedCurve && shared != nil { anyCurve = true }
                }
                if shared != nil && anyCurve {
                    // Served from cache where the curve reads faster there than at its largest set.
                    let atSet = n.readBytesPerSecond(workingSet: workingSet, threads: 1, lastLevelCache: llc) ?? 0
                    let beyond = n.readBytesPerSecond(workingSet: Int.max, threads: 1, lastLevelCache: llc) ?? 0
                    let level = atSet > 1.2 * beyond ? "from cache" : "from main memory"
                    hierarchy[n.id] = "the kernels' rates at a working set of \(mib(workingSet)) (\(level), \(fmt(shared! * Double(k) / 1e9)) GB/s read by \(k) thread\(k == 1 ? "" : "s") on the profile's working-set curve), between their in-cache and from-memory figures"
                }
                // Prompt rate of the node's threads: each type's matmul figure at this model's row
                // width (between the 256- and 2048-wide figures, in log width), weighted by the
                // type's share of the multiply-adds; a type without figures takes the class's best,
                // else 50 GFLOP/s scaled by relative speed (estimate: a 2-wide FMA core at ~3 GHz, f32).
                var seconds = 0.0
                for t in types {
                    var rate = 0.0
                    for cpu in cpus {
                        guard let cls = host.coreClass(ofCPU: cpu) else { continue }
                        if let s = cls.kernels.first(where: { TensorType.named($0.weightType) == t }) {
                            var g = s.matmulGflops.value
                            if let narrow = s.matmulNarrowGflops?.value, let w = widthByType[t] {
                                let f = min(1, max(0, (log2(w) - 8) / (log2(Double(HostProfile.KernelSpeed.referenceRowElements)) - 8)))
                                g = narrow + f * (g - narrow)
                            }
                            rate += g * 1e9
                        } else {
                            rate += (cls.kernels.map(\.matmulGflops.value).max() ?? 50 * cls.relativeSpeed.value) * 1e9
                        }
                    }
                    seconds += (flopsByType[t] ?? 0) / max(rate, 1)
                }
                flops = m.flopsPerToken / max(seconds, 1e-15)
                cpuByNode[n.id] = byType
                cpuFlopsByNode[n.id] = flops
            }
            if !missing.isEmpty {
                reasons.append("compute: the host profile has no kernel figures for \(missing.map(\.description).sorted().joined(separator: ", ")): those weights are assumed bandwidth-bound")
            }
        }

        /// Seconds node `id` needs to read and multiply `bytes` (by type).
        func cpuSeconds(node id: Int, _ bytes: [TensorType: Int]) -> Double {
            guard let r = cpuByNode[id] else { return .infinity }
            return bytes.reduce(0) { $0 + Double($1.value) / max(r[$1.key] ?? 1, 1) }
        }
    }

    struct Context {
        let request: PlacementRequest
        let blocks: [WeightBlock]
        let spans: [Int]
        let byType: [[TensorType: Int]]
        let rates: Rates
        let disk: Double?
        /// Where the disk rate came from, for the reasons.
        let diskHow: String
        let batch: Int
        let target: Int
        let cpuBudget: Int
        let processBytes: Int
        let threadCPUs: [Int]
        var m: ModelManifest { request.manifest }
    }

    struct Candidate {
        var strategy: String
        var seconds: Double
        var computeSeconds: Double
        var diskSeconds: Double
        var transferSeconds: Double
        var placements: [(tier: PlacementPlan.BlockPlacement.Tier, shares: [PlacementPlan.DeviceShare])]
        var window: PlacementPlan.Window
        var kv: [PlacementPlan.KVPlacement]
        var devices: [PlacementPlan.DeviceUse]
        var peaks: [DeviceID: Int]
        var reasons: [String]
        var threadCPUs: [Int]
        /// Bytes streamed per token and prompt FLOP/s and GPU share, for the time to first token.
        var streamedBytes: Int
        var cpuFlops: Double
        var gpuFraction: Double
        var gpuFlops: Double
        var gpuBytesPerSecond: Double
    }

    // MARK: - Families

    /// KV cache bytes per transformer block.
    static func kvPerLayer(_ c: Context) -> Int { RuntimeFootprint.kvBytes(c.m, context: c.request.context) / max(c.m.blockCount, 1) }

    /// The part of the fixed buffers a run touches (the resident set counts touched pages only): the
    /// KV cache of the prompt and generated positions, activations for the prompt's batch.
    static func touchedFixed(_ c: Context, threads: Int, layers: Int) -> Int {
        let positions = min(c.request.context, c.request.promptTokens + c.request.generateTokens)
        let batch = min(c.batch, max(c.request.promptTokens, 1))
        let kvPerLayerTouched = RuntimeFootprint.kvBytes(c.m, context: positions) / max(c.m.blockCount, 1)
        return RuntimeFootprint.fixedBytes(c.m, context: positions, batch: batch, threads: threads)
            - kvPerLayerTouched * (c.m.blockCount - layers)
    }

    /// Per-token seconds of the non-weight work (norms, attention, syncs) for `layers` blocks on a CPU node.
    static func cpuOverhead(_ c: Context, layers: Int, node: Int) -> Double {
        // Attention reads the K and V of every earlier position: the prompt and, on average over
        // the generated tokens, half of them.
        let positions = min(c.request.context, c.request.promptTokens + c.request.generateTokens / 2)
        let kvRead = Double(RuntimeFootprint.kvBytes(c.m, context: positions) / max(c.m.blockCount, 1) * layers)
        let bw = c.rates.cpuByNode[node]?.values.max() ?? 1e10
        return Double(layers) * cpuLayerSeconds(threads: c.rates.threadsByNode[node]?.count ?? 1) + kvRead / bw
    }

    /// One NUMA node, resident weights and, when they do not fit, a streaming window.
    static func cpuOnly(_ c: Context, node: HostProfile.Node, blocks subset: [Int]? = nil, budget: Int? = nil,
                        layers: Int? = nil, strategy: String = "cpu") throws(PlacementError) -> Candidate {
        let idx = subset ?? Array(c.blocks.indices)
        let threads = c.rates.threadsByNode[node.id] ?? []
        guard !threads.isEmpty else { throw .badRequest("no thread of the plan runs on node \(node.id)") }
        let nLayers = layers ?? c.m.blockCount
        let budgetBytes = budget ?? c.cpuBudget
        let kvElsewhere = subset == nil ? 0 : kvPerLayer(c) * (c.m.blockCount - nLayers)
        let fixed = RuntimeFootprint.fixedBytes(c.m, context: c.request.context, batch: c.batch, threads: threads.count,
                                                budget: c.request.memoryBudget.map { _ in budgetBytes }) - kvElsewhere
        var bytes: [TensorType: Int] = [:]
        for i in idx { for (t, b) in c.byType[i] { bytes[t, default: 0] += b } }
        let weightSeconds = c.rates.cpuSeconds(node: node.id, bytes)
        let compute = weightSeconds + cpuOverhead(c, layers: nLayers, node: node.id)
        let spanBytes = idx.map { c.spans[$0] }
        let total = spanBytes.reduce(0, +)
        let computeRate = Double(max(total, 1)) / max(compute, 1e-9)
        let sp: StreamingPlan
        do {
            sp = try StreamingPlanner.plan(StreamingRequest(
                budget: budgetBytes, fixedBytes: fixed, blockBytes: spanBytes,
                diskBytesPerSecond: c.disk ?? 1, computeBytesPerSecond: computeRate))
        } catch {
            switch error {
            case let .budgetTooSmall(b, minimum, f, s):
                // With a budget the activation reserve grows with it: solve for the true minimum.
                let least = c.request.memoryBudget == nil ? minimum
                    : RuntimeFootprint.minimumBudget(c.m, context: c.request.context, threads: threads.count, needing: s) - kvElsewhere
                throw .budgetTooSmall(device: .cpu(node.id), budget: b, minimum: least,
                                      detail: "the KV cache for \(c.request.context) tokens and activations need \(mib(f)) and one streamed block \(mib(s))")
            }
        }
        if sp.streamedBytesPerPass > 0, c.disk == nil {
            throw .badRequest("the weights do not fit the budget and host '\(c.request.host.host.name)' lists no storage to stream them from")
        }
        var placements = Array(repeating: (tier: PlacementPlan.BlockPlacement.Tier.resident, shares: [PlacementPlan.DeviceShare]()), count: c.blocks.count)
        for (k, i) in idx.enumerated() {
            placements[i] = (sp.resident[k] ? .resident : .streamed, [.init(device: .cpu(node.id), fraction: 1)])
        }
        let diskSeconds = sp.predictedDiskSeconds
        let seconds = sp.streamedBytesPerPass == 0 ? compute : (sp.overlapped ? max(diskSeconds, compute) : diskSeconds + compute)
        let streaming = sp.streamedBytesPerPass > 0
        var reasons = sp.reasons.map { "\(node.id == 0 && subset == nil ? "" : "cpu\(node.id): ")\($0)" }
        let rateText = bytes.keys.sorted { $0.description < $1.description }.map { "\($0) \(fmt((c.rates.cpuByNode[node.id]?[$0] ?? 0) / 1e9)) GB/s" }.joined(separator: ", ")
        let rateHow = c.rates.hierarchy[node.id]
            ?? "the smaller of the cores' kernel throughput and \(fmt(100 * cpuBandwidthEfficiency(threads: threads.count, cores: node.cpus.count)))% of the node's read bandwidth"
        reasons.append("cpu\(node.id): \(threads.count) thread\(threads.count == 1 ? "" : "s") serve weights at \(rateText) (\(rateHow)), plus \(fmt(cpuLayerSeconds(threads: threads.count) * 1e6)) µs per block for norms, attention and synchronisation")
        let cpuBytes = sp.plannedBytes
        var devices = [PlacementPlan.DeviceUse(id: .cpu(node.id), capacityBytes: budgetBytes, weightBytes: sp.residentBytes,
                                               otherBytes: cpuBytes - sp.residentBytes, rateGBPerS: computeRate / 1e9)]
        if streaming {
            let diskRate = fmt((c.disk ?? 0) / 1e9)
            reasons.append("disk: streams at \(diskRate) GB/s (\(c.diskHow))")
            devices.append(.init(id: .disk, capacityBytes: c.m.fileBytes, weightBytes: sp.streamedBytesPerPass,
                                 otherBytes: 0, rateGBPerS: (c.disk ?? 0) / 1e9))
        }
        return Candidate(
            strategy: streaming ? "\(strategy)+disk" : strategy, seconds: seconds, computeSeconds: compute, diskSeconds: diskSeconds,
            transferSeconds: 0, placements: placements,
            window: .init(slots: sp.window, slotBytes: sp.slotBytes, overlapped: streaming && sp.overlapped),
            kv: nLayers > 0 ? [.init(device: .cpu(node.id), layers: nLayers, bytes: kvPerLayer(c) * nLayers)] : [],
            devices: devices, peaks: [.cpu(node.id): c.processBytes + sp.residentBytes + (streaming ? sp.window * sp.slotBytes : 0)
                                        + touchedFixed(c, threads: threads.count, layers: nLayers)],
            reasons: reasons, threadCPUs: threads,
            streamedBytes: sp.streamedBytesPerPass, cpuFlops: c.rates.cpuFlopsByNode[node.id] ?? 1e9,
            gpuFraction: 0, gpuFlops: 0, gpuBytesPerSecond: 0)
    }

    /// Every matrix's rows split over the NUMA nodes in proportion to their rates, each share in
    /// its node's memory. Only when every weight fits the nodes' memory.
    static func numaSplit(_ c: Context, nodes: [HostProfile.Node]) throws(PlacementError) -> Candidate? {
        let active = nodes.filter { !(c.rates.threadsByNode[$0.id] ?? []).isEmpty }
        guard active.count > 1 else { return nil }
        let totalMemory = active.reduce(0.0) { $0 + $1.memoryBytes.value }
        var allBytes: [TensorType: Int] = [:]
        for b in c.byType { for (t, n) in b { allBytes[t, default: 0] += n } }
        let weights = c.spans.reduce(0, +)
        // Each node: its share of the budget (by memory size), less its fixed buffers (the KV
        // cache and activations are split the same way; every node keeps the sampling buffers).
        let threadsTotal = c.threadCPUs.count
        let fixedAll = RuntimeFootprint.fixedBytes(c.m, context: c.request.context, batch: c.batch, threads: threadsTotal)
        var capacity: [Int: Double] = [:], rate: [Int: Double] = [:]
        for n in active {
            let share = n.memoryBytes.value / totalMemory
            capacity[n.id] = Double(c.cpuBudget) * share - Double(fixedAll) * share
            rate[n.id] = 1 / max(c.rates.cpuSeconds(node: n.id, allBytes) / Double(max(weights, 1)), 1e-15)
        }
        // Water-filling: fractions ∝ rate, a node at its capacity keeps that and the rest re-spread.
        var fraction: [Int: Double] = [:]
        var free = Set(active.map(\.id)), left = 1.0
        while !free.isEmpty {
            let sum = free.reduce(0.0) { $0 + rate[$1]! }
            var capped = false
            for id in free {
                let f = left * rate[id]! / sum
                if f * Double(weights) > capacity[id]! {
                    fraction[id] = max(0, capacity[id]!) / Double(weights)
                    left -= fraction[id]!
                    free.remove(id)
                    capped = true
                    break
                }
            }
            if !capped {
                for id in free { fraction[id] = left * rate[id]! / sum }
                free.removeAll()
            }
        }
        guard left > -1e-9, fraction.values.reduce(0, +) > 1 - 1e-6 else { return nil }   // does not fit: cpu+disk covers it
        let ops = Double(c.m.matrices.count)
        let perNode = active.map { fraction[$0.id]! * Double(weights) / rate[$0.id]! }
        let compute = (perNode.max() ?? 0) + cpuOverhead(c, layers: c.m.blockCount, node: active[0].id) / Double(active.count)
        let sync = ops * crossNodeSyncSeconds
        let shares = active.map { PlacementPlan.DeviceShare(device: .cpu($0.id), fraction: fraction[$0.id]!) }
        var devices: [PlacementPlan.DeviceUse] = []
        var peaks: [DeviceID: Int] = [:]
        var kv: [PlacementPlan.KVPlacement] = []
        for n in active {
            let f = fraction[n.id]!
            let share = n.memoryBytes.value / totalMemory
            let other = Int(Double(fixedAll) * share)
            devices.append(.init(id: .cpu(n.id), capacityBytes: Int(Double(c.cpuBudget) * share),
                                 weightBytes: Int(f * Double(weights)), otherBytes: other, rateGBPerS: rate[n.id]! / 1e9))
            peaks[.cpu(n.id)] = Int(f * Double(weights)) + other + (n.id == active[0].id ? c.processBytes : 0)
            kv.append(.init(device: .cpu(n.id), layers: c.m.blockCount, bytes: Int(Double(RuntimeFootprint.kvBytes(c.m, context: c.request.context)) * share)))
        }
        let reasons = [
            "numa-split: each matrix's rows are split over \(active.count) nodes (\(shares.map { "\($0.device) \(Int(($0.fraction * 100).rounded()))%" }.joined(separator: ", "))) in proportion to their rates, within each node's memory, so every node reads only its local memory",
            "numa-split: the nodes meet after every matrix: \(Int(ops)) synchronisations × \(fmt(crossNodeSyncSeconds * 1e6)) µs (estimate) per token",
        ]
        return Candidate(
            strategy: "numa-split", seconds: compute + sync, computeSeconds: compute, diskSeconds: 0, transferSeconds: sync,
            placements: Array(repeating: (.resident, shares), count: c.blocks.count),
            window: .init(slots: 0, slotBytes: 0, overlapped: false), kv: kv, devices: devices, peaks: peaks,
            reasons: reasons, threadCPUs: c.threadCPUs, streamedBytes: 0,
            cpuFlops: active.reduce(0) { $0 + (c.rates.cpuFlopsByNode[$1.id] ?? 0) }, gpuFraction: 0, gpuFlops: 0, gpuBytesPerSecond: 0)
    }

    /// The GPU's usable memory (its budget, or its memory less the runtime's reserve; for a GPU
    /// sharing host memory, no more than the host budget leaves after the CPU's own buffers), the
    /// part of it left for weights and KV cache after the activations, and its rates.
    /// Activations on the GPU: the batch asked for (the host budget does not shrink it).
    static func gpuScratch(_ c: Context) -> Int {
        RuntimeFootprint.scratchBytes(c.m, batch: max(1, min(c.request.batch, c.request.context)))
    }

    static func gpuCapacity(_ c: Context, _ gpu: HostProfile.GPU) -> (device: Int, room: Int, rate: Double, flops: Double) {
        var device = c.request.gpuBudgets[gpu.id] ?? (Int(gpu.memoryBytes.value) - gpuReserveBytes)
        if gpu.sharesHostMemory {
            let cpuFixed = RuntimeFootprint.fixedBytes(c.m, context: c.request.context, batch: c.batch, threads: c.threadCPUs.count,
                                                       budget: c.request.memoryBudget)
            device = min(device, c.cpuBudget - cpuFixed)
        }
        device = max(0, device)
        let room = max(0, device - gpuScratch(c))
        return (device, room, gpu.memoryGBPerS.value * 1e9 * gpuBandwidthEfficiency, gpu.fp16Tflops.value * 1e12 * gpuComputeEfficiency)
    }

    /// The GPU takes blocks in pass order while they (and their layers' KV cache) fit; the
    /// boundary block is split by the memory left; the rest runs on CPU node `node`.
    static func gpuLayers(_ c: Context, gpu: HostProfile.GPU, node: HostProfile.Node) throws(PlacementError) -> Candidate? {
        let (device, cap, rate, flops) = gpuCapacity(c, gpu)
        let kvLayer = kvPerLayer(c)
        var used = 0, onGPU: [Int: Double] = [:], layersOnGPU = Set<Int>()
        for (i, b) in c.blocks.enumerated() {
            let kv = b.layer >= 0 && !layersOnGPU.contains(b.layer) ? kvLayer : 0
            let room = cap - used - kv
            if room >= c.spans[i] {
                onGPU[i] = 1
                used += c.spans[i] + kv
                if b.layer >= 0 { layersOnGPU.insert(b.layer) }
            } else {
                if room >= 1 << 20 {
                    onGPU[i] = Double(room) / Double(c.spans[i])
                    used += room + kv
                    if b.layer >= 0 { layersOnGPU.insert(b.layer) }
                }
                break
            }
        }
        guard !onGPU.isEmpty else { return nil }
        let gpuBytes = onGPU.reduce(0.0) { $0 + $1.value * Double(c.spans[$1.key]) }
        let gpuSeconds = gpuBytes / rate + Double(layersOnGPU.count) * gpuLayerSeconds
        let rest = c.blocks.indices.filter { (onGPU[$0] ?? 0) < 1 }
        let gpuCand: Candidate
        var cpuCand: Candidate?
        let cpuBudget = gpu.sharesHostMemory ? c.cpuBudget - used - gpuScratch(c) : c.cpuBudget
        if !rest.isEmpty {
            // The split boundary block's CPU rows are part of the CPU side: count them whole (an
            // over-estimate of at most one block).
            let cpuLayers = Set(rest.map { c.blocks[$0].layer }.filter { $0 >= 0 && !layersOnGPU.contains($0) }).count
            cpuCand = try cpuOnly(c, node: node, blocks: rest, budget: cpuBudget, layers: cpuLayers, strategy: "gpu-layers")
        }
        let split = onGPU.contains { $0.value < 1 }
        let transfers = (rest.isEmpty ? 0 : 2) + (split ? 2 * 4 : 0)
        let transferSeconds = Double(transfers) * (transferLatencySeconds + Double(4 * c.m.embeddingLength) / (gpu.linkGBPerS.value * 1e9))
        var placements = cpuCand?.placements ?? Array(repeating: (.resident, []), count: c.blocks.count)
        for (i, f) in onGPU {
            placements[i] = (.resident, f < 1 ? [.init(device: gpu.id, fraction: f), .init(device: .cpu(node.id), fraction: 1 - f)]
                                               : [.init(device: gpu.id, fraction: 1)])
        }
        let cpuSeconds = cpuCand?.seconds ?? 0
        var reasons = ["gpu-layers: \(gpu.id) (\(gpu.name)) holds \(mib(Int(gpuBytes))) of weights — \(layersOnGPU.count) of \(c.m.blockCount) blocks\(onGPU.count == c.blocks.count ? " and the output projection" : "") — and their KV cache in \(mib(cap)) usable (\(gpu.sharesHostMemory ? "shared with the host's RAM" : "its own memory, less \(mib(gpuReserveBytes)) reserved (estimate)")); it reads weights at \(fmt(rate / 1e9)) GB/s (\(Int(gpuBandwidthEfficiency * 100))% of \(fmt(gpu.memoryGBPerS.value)) GB/s, estimate)"]
        if split, let (i, f) = onGPU.first(where: { $0.value < 1 }) {
            reasons.append("gpu-layers: block \(c.blocks[i].name) is split at the GPU's memory limit: \(Int((f * 100).rounded()))% of its rows on \(gpu.id), the rest on cpu\(node.id) (HeteGen's per-layer ratio)")
        }
        if let cpuCand { reasons += cpuCand.reasons }
        reasons.append("gpu-layers: \(transfers) hand-overs per token × \(fmt(transferLatencySeconds * 1e6)) µs (estimate) over a \(fmt(gpu.linkGBPerS.value)) GB/s link")
        var devices = cpuCand?.devices ?? []
        devices.insert(.init(id: gpu.id, capacityBytes: device, weightBytes: Int(gpuBytes),
                             otherBytes: used - Int(gpuBytes) + gpuScratch(c), rateGBPerS: rate / 1e9), at: 0)
        var peaks = cpuCand?.peaks ?? [.cpu(node.id): c.processBytes + RuntimeFootprint.fixedBytes(c.m, context: c.request.context, batch: c.batch, threads: c.threadCPUs.count) - kvLayer * layersOnGPU.count]
        peaks[gpu.id] = used + gpuScratch(c) + (gpu.sharesHostMemory ? 0 : gpuReserveBytes)
        var kv = cpuCand?.kv ?? []
        kv.insert(.init(device: gpu.id, layers: layersOnGPU.count, bytes: kvLayer * layersOnGPU.count), at: 0)
        gpuCand = Candidate(
            strategy: cpuCand.map { $0.strategy } ?? "gpu", seconds: gpuSeconds + cpuSeconds + transferSeconds,
            computeSeconds: gpuSeconds + (cpuCand?.computeSeconds ?? 0), diskSeconds: cpuCand?.diskSeconds ?? 0,
            transferSeconds: transferSeconds, placements: placements, window: cpuCand?.window ?? .init(slots: 0, slotBytes: 0, overlapped: false),
            kv: kv, devices: devices, peaks: peaks, reasons: reasons, threadCPUs: cpuCand?.threadCPUs ?? c.threadCPUs,
            streamedBytes: cpuCand?.streamedBytes ?? 0, cpuFlops: cpuCand?.cpuFlops ?? (c.rates.cpuFlopsByNode[node.id] ?? 1e9),
            gpuFraction: gpuBytes / Double(max(c.spans.reduce(0, +), 1)), gpuFlops: flops, gpuBytesPerSecond: rate)
        return gpuCand
    }

    /// When every weight fits the GPU and its memory is its own: each matrix's rows split between
    /// the GPU and the CPU in the ratio of their rates (HeteGen), two transfers per matrix.
    static func gpuSplit(_ c: Context, gpu: HostProfile.GPU, node: HostProfile.Node) throws(PlacementError) -> Candidate? {
        guard !gpu.sharesHostMemory else { return nil }   // one memory bus: splitting adds no bandwidth
        let (device, cap, rate, flops) = gpuCapacity(c, gpu)
        let weights = c.spans.reduce(0, +)
        let kvAll = RuntimeFootprint.kvBytes(c.m, context: c.request.context)
        var allBytes: [TensorType: Int] = [:]
        for b in c.byType { for (t, n) in b { allBytes[t, default: 0] += n } }
        let cpuRate = Double(weights) / max(c.rates.cpuSeconds(node: node.id, allBytes), 1e-12)
        let f = rate / (rate + cpuRate)
        guard Double(weights) * f + Double(kvAll) <= Double(cap) else { return nil }
        let cpuFixed = RuntimeFootprint.fixedBytes(c.m, context: c.request.context, batch: c.batch, threads: c.threadCPUs.count,
                                                   budget: c.request.memoryBudget) - kvAll
        let cpuWeights = Int(Double(weights) * (1 - f))
        guard cpuWeights + cpuFixed <= c.cpuBudget else { return nil }
        let compute = Double(weights) * f / rate + Double(c.m.blockCount) * gpuLayerSeconds
        let transfers = Double(2 * c.m.matrices.count)
        let transferSeconds = transfers * (transferLatencySeconds + Double(4 * c.m.embeddingLength) / (gpu.linkGBPerS.value * 1e9))
        let shares: [PlacementPlan.DeviceShare] = [.init(device: gpu.id, fraction: f), .init(device: .cpu(node.id), fraction: 1 - f)]
        let reasons = [
            "gpu-split: every weight fits \(gpu.id) with room for the CPU to help: each matrix's rows split \(Int((f * 100).rounded()))% on \(gpu.id) (\(fmt(rate / 1e9)) GB/s) and \(Int(((1 - f) * 100).rounded()))% on cpu\(node.id) (\(fmt(cpuRate / 1e9)) GB/s), the ratio of their rates (HeteGen), so both finish together",
            "gpu-split: \(Int(transfers)) transfers per token × \(fmt(transferLatencySeconds * 1e6)) µs (estimate) over a \(fmt(gpu.linkGBPerS.value)) GB/s link",
        ]
        return Candidate(
            strategy: "gpu-split", seconds: compute + transferSeconds, computeSeconds: compute, diskSeconds: 0,
            transferSeconds: transferSeconds, placements: Array(repeating: (.resident, shares), count: c.blocks.count),
            window: .init(slots: 0, slotBytes: 0, overlapped: false),
            kv: [.init(device: gpu.id, layers: c.m.blockCount, bytes: kvAll)],
            devices: [.init(id: gpu.id, capacityBytes: device, weightBytes: Int(Double(weights) * f),
                            otherBytes: kvAll + gpuScratch(c), rateGBPerS: rate / 1e9),
                      .init(id: .cpu(node.id), capacityBytes: c.cpuBudget, weightBytes: cpuWeights, otherBytes: cpuFixed,
                            rateGBPerS: cpuRate / 1e9)],
            peaks: [gpu.id: Int(Double(weights) * f) + kvAll + gpuScratch(c) + gpuReserveBytes,
                    .cpu(node.id): c.processBytes + cpuWeights + cpuFixed],
            reasons: reasons, threadCPUs: c.rates.threadsByNode[node.id] ?? c.threadCPUs, streamedBytes: 0,
            cpuFlops: c.rates.cpuFlopsByNode[node.id] ?? 1e9, gpuFraction: f, gpuFlops: flops, gpuBytesPerSecond: rate)
    }

    /// Time to first token: the prompt's multiply-adds at the devices' prompt rates (in batches;
    /// streamed weights are read again for every batch); its last logits give the first token.
    /// A batch never takes less than one generated token's compute: every pass reads every
    /// resident weight once and pays the per-layer costs, however few its tokens (a one-token
    /// prompt used to be predicted at its multiply-adds alone: 3 ms where 53 ms were measured).
    static func ttft(_ c: Context, _ best: Candidate) -> Double {
        let p = c.request.promptTokens
        guard p > 0 else { return 0 }
        let passes = (p + c.batch - 1) / c.batch
        var compute = 0.0
        for pass in 0..<passes {
            let tokens = Double(min(c.batch, p - pass * c.batch))
            let flops = tokens * c.m.flopsPerToken
            let gpu = best.gpuFraction > 0 ? flops * best.gpuFraction / max(best.gpuFlops, 1) : 0
            let cpu = flops * (1 - best.gpuFraction) / max(best.cpuFlops, 1)
            // The prompt's other work (norms, RoPE, attention, activation rounding) per token and block.
            let other = tokens * Double(c.m.blockCount) * (1 - best.gpuFraction) * cpuPromptLayerSecondsPerToken
            let batchCompute = (best.strategy == "gpu-split" ? max(gpu, cpu) : gpu + cpu) + other
            compute += max(batchCompute, best.computeSeconds + best.transferSeconds)
        }
        let disk = Double(passes * best.streamedBytes) / max(c.disk ?? 1, 1)
        return best.window.overlapped ? max(compute, disk) : compute + disk
    }

    /// Bytes a block occupies in memory: its file range widened to 4 KiB pages (direct I/O alignment).
    public static func span(offset: Int, length: Int) -> Int {
        let a = 4096
        return (offset + length + a - 1) / a * a - offset / a * a
    }

    static func fmt(_ v: Double) -> String {
        if v >= 100 { return String(Int(v.rounded())) }
        if v >= 10 { return String((v * 10).rounded() / 10) }
        return String((v * 100).rounded() / 100)
    }
}
