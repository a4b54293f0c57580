import EdgeCore
import EdgeFormats
import EdgeTokenizer
import EdgeTemplate
import EdgeDevices
import EdgeKernels
import EdgePlanner

/// How an ``Engine`` runs a model.
public struct EngineOptions: Sendable {
    /// Worker threads (counting the driver thread); nil: every CPU this process may use.
    public var threads: Int?
    /// Context length in tokens; nil: the model's trained context.
    public var contextLength: Int?
    /// Most tokens evaluated in one batch while processing a prompt.
    public var batchSize: Int = 512
    /// Multiply with F32 activations instead of 8-bit activation blocks (slower; the reference path).
    public var f32Activations = false
    /// Memory the weights, KV cache and activations may use, in bytes; nil: map the whole file and
    /// let the page cache hold it. With a budget, weights that do not fit stream from disk through
    /// a sliding window (see ``WeightPlacement``); the budget covers one session.
    public var memoryBudget: Int?
    /// With no `memoryBudget` and no `plan`: when the weights and buffers would not fit the memory
    /// this process may use (``MemoryAllowance``: its cgroup's limit, MemAvailable, RLIMIT_AS),
    /// stream as if that allowance had been given as the budget (``Engine/automaticBudget``).
    /// False: map the file whatever the limits (the kernel may then kill the process).
    public var automaticBudget = true
    /// Read bandwidth of the model's disk in bytes/s for planning; nil: the host profile's disk
    /// figures, else (no profile) measured on the model file at load when the weights may not fit.
    public var diskBytesPerSecond: Double?
    /// Rate one compute thread consumes weight bytes at during generation, for planning without a
    /// host profile (an estimate, see ``PlanningHost``): 12 GB/s, measured for Q4_1 generation on
    /// one core of the development machine (issue 2's figures).
    public var computeBytesPerSecondPerThread: Double = 12e9
    /// How each parallel op is split between the threads: ``WorkerPool/Balance/dynamic`` (shares
    /// follow each thread's measured speed, a finished thread takes unstarted chunks from the
    /// others) or ``WorkerPool/Balance/static`` (equal shares, for comparison).
    public var balance: WorkerPool.Balance = .dynamic
    /// Starting relative speed of each thread (one positive number per thread, e.g. from a host
    /// profile); the dynamic balancer then follows measured speeds. nil: from the CPUs' core types
    /// on a hybrid CPU, else equal.
    public var threadSpeeds: [Double]?
    /// Run on this many CPU nodes (nil or 1: one): each node holds its share of every matrix's rows
    /// in its own memory and computes it with its own pinned threads, in lockstep with node 0 (the
    /// threads are divided between the nodes). The host's real NUMA nodes when it has that many,
    /// else its CPUs cut into groups (an override, to run the multi-node code on one node): the
    /// planner then plans the `numa-split` family on those nodes. Mapped weights only: not under a
    /// memory budget. A saved `numa-split` plan brings its own nodes and shares.
    public var numaNodes: Int?
    /// Called with (bytes loaded, bytes to load) while resident weights are read from disk.
    public var loadProgress: (@Sendable (Int, Int) -> Void)?
    /// A saved placement to execute (`edgert run --plan`): its context, threads, budget, residency
    /// and window replace the options above. It must be a CPU plan made for this model file.
    public var plan: PlacementPlan?
    /// The host's profile the engine plans with (when there is no saved `plan`): rates from
    /// measurement. nil: the engine plans from this host's CPUs, nodes and memory read at load
    /// and estimated rates (``PlanningHost``). Either way the plan is made once, by
    /// ``PlacementPlanner``, and executed as written.
    public var hostProfile: HostProfile?
    /// Prompt length the plan's time to first token is predicted for, and tokens to be generated
    /// (the plan's peak memory counts the KV cache pages they touch).
    /// Run the feed-forward sparsely (``SparseFeedForward``); nil: dense. Mapped weights only (no
    /// memory budget, one CPU node), 8-bit activations only.
    public var sparsity: SparsityRequest?
    public var expectedPromptTokens: Int = 128
    public var expectedGeneratedTokens: Int = 128
    /// Run the first this-many transformer blocks on the GPU (``GPULayers``; `Int.max`: all of
    /// them); 0: none. Mapped weights only.
    public var gpuLayers = 0
    /// Which Vulkan device (``vulkanDevices()``'s order) runs them.
    public var gpuIndex = 0
    /// Split every matrix's rows between the GPU and the CPU (HeteGen, ``GPUSplit``); nil: no split.
    public var gpuSplit: GPUSplitRequest?

    public init(threads: Int? = nil, contextLength: Int? = nil) {
        self.threads = threads
        self.contextLength = contextLength
    }
}

/// How many of each matrix's rows ``GPUSplit`` puts on the GPU.
public enum GPUSplitRequest: Sendable, Equatable {
    /// In the ratio of the two sides' rates: the GPU's matmul rate on the model's main weight type
    /// (the host profile's measured figure, else measured at load) against the CPU's predicted by
    /// the plan (weight bytes per second of generation).
    case auto
    /// This fraction of the rows, in [0, 1].
    case fraction(Double)
}

/// What ``EngineOptions/sparsity`` asks for: the fraction of each layer's feed-forward neurons
/// skipped (`auto`: the statistics' own level), and the neuron statistics its thresholds come from.
public struct SparsityRequest: Sendable {
    public enum Statistics: Sendable {
        /// Read (and checked against the model) at load from this file; nil: beside the model
        /// (``NeuronStatistics/defaultPath(forModel:)``).
        case file(String?)
        case loaded(NeuronStatistics)
    }
    public var level: SparsityLevel
    public var statistics: Statistics

    public init(level: SparsityLevel, statistics: Statistics = .file(nil)) {
        self.level = level
        self.statistics = statistics
    }
}

/// A loaded model ready to run: weights, tokenizer, chat template and the CPU node that computes.
/// Create ``Session``s from it to generate.
public final class Engine: Sendable {
    public let model: Model
    public let tokenizer: Tokenizer
    /// The model's chat template, parsed; nil when the file has none. A template that fails to
    /// parse does not stop the model from loading: the error is raised by ``chatPrompt(user:system:addGenerationPrompt:)``.
    public var chatTemplate: ChatTemplate? { try? parsedTemplate?.get() }
    private let parsedTemplate: Result<ChatTemplate, TemplateError>?
    public let node: CPUNode
    /// Nodes 1... when the weights are split over several CPU nodes (``EngineOptions/numaNodes``):
    /// driven in lockstep by ``node``'s driver thread.
    public let peers: [CPUNode]
    public let options: EngineOptions
    public let contextLength: Int
    /// Seconds spent opening the file and building the engine.
    public let loadSeconds: Double

    /// How the weights are placed: mapped in place, or resident copies plus a streaming window.
    public let placement: WeightPlacement
    /// Most tokens one batch evaluates (lowered under a tight memory budget).
    public let batchSize: Int
    /// Resident memory of the process before any weight, cache or activation buffer existed: the
    /// runtime's fixed overhead (code, libraries, tokenizer, file metadata).
    public let overheadBytes: Int?
    /// Memory the budget must hold besides weights: KV cache, activations, sampling buffers, norms.
    public let fixedBytes: Int
    /// The placement executed, with its predictions: the saved plan, or the one the engine made
    /// (from the host profile, or from estimates when none was given: ``PlanningHost``).
    public let plan: PlacementPlan
    /// The memory access modes the host profile set for the kernels (`matvec_dram_access`; empty
    /// when no profile names one: the kernels keep their defaults). Process-wide, like the kernels.
    public let kernelMemoryAccess: [TensorType: MemoryAccess]
    /// What the planner knows about the model.
    public let manifest: ModelManifest
    /// The sparse feed-forward every session runs (``EngineOptions/sparsity``); nil: dense.
    public let sparse: SparseFeedForward?
    /// The allowance the engine streams within because the model did not fit it, when no budget
    /// was given (nil: a budget was given, or the model fits, or ``EngineOptions/automaticBudget`` is off).
    public let automaticBudget: MemoryAllowance?
    /// The blocks that run on the GPU (``EngineOptions/gpuLayers``), their weights uploaded once;
    /// nil: every block on the CPU.
    public let gpuLayers: GPULayers?
    /// Every matrix split between GPU and CPU (``EngineOptions/gpuSplit``); nil: no split.
    public let gpuSplit: GPUSplit?
    /// How the split's fraction was chosen (for `run` and `bench` to print).
    public let gpuSplitReason: String?

    public convenience init(modelPath: String, options: EngineOptions = EngineOptions()) throws {
        let t0 = monotonicSeconds()
        let model = try Model(path: modelPath)
        try self.init(model: model, tokenizer: try Tokenizer(gguf: model.file), options: options, startedAt: t0)
    }

    /// An engine over an opened model and its tokenizer (e.g. to count a prompt's tokens first).
    public init(model: Model, tokenizer: Tokenizer, options: EngineOptions = EngineOptions(), startedAt: Double? = nil) throws {
        let t0 = startedAt ?? monotonicSeconds()
        // Under a budget no weight is read through the mapping: give back the pages that loading
        // the metadata and norm vectors touched.
        if options.memoryBudget != nil { model.file.dropResidentPages() }
        overheadBytes = ProcessMemory.residentBytes()
        self.model = model
        self.tokenizer = tokenizer
        guard tokenizer.vocabularySize == model.config.vocabularySize else {
            throw RuntimeError.badHyperparameter(key: "tokenizer.ggml.tokens",
                                                 reason: "\(tokenizer.vocabularySize) tokens but the embedding has \(model.config.vocabularySize) rows")
        }
        parsedTemplate = tokenizer.chatTemplate.map { source in Result { () throws(TemplateError) in try ChatTemplate(source) } }
        let ctx = options.plan?.context ?? options.contextLength ?? model.config.contextLength
        try Engine.checkBounds(options, context: ctx)
        let manifest = ModelManifest(model: model)
        self.manifest = manifest
        var budget = options.memoryBudget
        var threadsWanted = options.threads ?? max(1, WorkerPool.allowedCPUs().count)
        let automatic = options.plan == nil ? Engine.allowanceToStreamWithin(model: model, manifest: manifest, options: options, context: ctx,
                                                                              threads: threadsWanted) : nil
        automaticBudget = automatic
        if let auto = automatic, let allowed = auto.allowedBytes {
            budget = max(allowed, 1)
            model.file.dropResidentPages()
        }
        let askedNodes = options.numaNodes.flatMap { $0 > 1 ? $0 : nil }
        if askedNodes != nil, budget != nil {
            throw RuntimeError.badParameter(name: "NUMA nodes", reason: options.memoryBudget != nil
                ? "--numa-nodes runs mapped weights only, not under a memory budget"
                : "the model does not fit the memory this process may use, so it streams; --numa-nodes runs mapped weights only")
        }
        // The kernels' memory access modes this host's profile measured fastest (process-wide).
        let memoryAccess = options.hostProfile.map { KernelMemoryAccess.apply($0) } ?? [:]
        // One plan, made here or saved, and executed as written below.
        let plan: PlacementPlan
        var measuredDisk: Double?
        if let saved = options.plan {
            try Engine.check(saved, manifest: manifest)
            threadsWanted = saved.threads.count
            if let asked = askedNodes, Engine.nodeShares(of: saved)?.count != asked {
                throw RuntimeError.badParameter(name: "NUMA nodes", reason: "the saved plan splits rows over \(Engine.nodeShares(of: saved)?.count ?? 1) node(s), --numa-nodes asks for \(asked)")
            }
            plan = saved
        } else {
            let host = try PlanningHost.make(profile: options.hostProfile, manifest: manifest, numaNodes: askedNodes,
                                             computeBytesPerSecondPerThread: options.computeBytesPerSecondPerThread)
            // Measure what the planner needs and nothing gives: the model's disk, when the weights
            // may not fit and no profile describes the disk.
            if options.diskBytesPerSecond == nil, host.storage.isEmpty {
                let room = budget ?? Int(host.memory.availableBytes.value)
                let batch = RuntimeFootprint.batchSize(manifest, wanted: options.batchSize, context: ctx, budget: budget)
                let fixed = RuntimeFootprint.fixedBytes(manifest, context: ctx, batch: batch, threads: threadsWanted, budget: budget)
                if model.weightBytes + fixed > room {
                    let piece = min(16 << 20, 2 * StreamingPlanner.blockTarget(budget: room))
                    let lo = manifest.matrices.map(\.fileOffset).min() ?? 0
                    let hi = manifest.matrices.map { $0.fileOffset + $0.byteCount }.max() ?? 0
                    measuredDisk = try DiskTier(path: model.path).measureReadBytesPerSecond(from: lo, to: hi, piece: piece)
                }
            }
            do {
                plan = try PlacementPlanner.plan(PlacementRequest(
                    manifest: manifest, host: host, memoryBudget: budget, context: ctx,
                    promptTokens: min(options.expectedPromptTokens, ctx - 1), generateTokens: options.expectedGeneratedTokens,
                    threads: threadsWanted, batch: options.batchSize,
                    diskBytesPerSecond: options.diskBytesPerSecond ?? measuredDisk, useGPUs: false, splitOverNodes: askedNodes != nil,
                    processBytes: overheadBytes))
            } catch {
                // The user gave no budget: say what limited it.
                if case let .budgetTooSmall(_, _, minimum, _) = error, let automatic {
                    throw RuntimeError.notEnoughMemory(allowance: automatic.description, minimum: minimum)
                }
                throw error
            }
        }
        contextLength = ctx
        self.plan = plan
        self.kernelMemoryAccess = memoryAccess
        // Executed within the plan's CPU memory when it streams or a budget was given; otherwise
        // from the mapping.
        let cpu0 = plan.devices.first { $0.id == .cpu(0) }
        let executed: Int? = plan.window.slots > 0 || budget != nil ? cpu0?.capacityBytes ?? budget : nil
        // A saved plan's GPU placement, as GPU layers and a row split on its GPU.
        var options = options
        var splitFractions: [Int: Double]? = nil
        if let saved = options.plan, let exec = try Engine.gpuExecution(of: saved, manifest: manifest) {
            options.gpuIndex = exec.gpu
            options.gpuLayers = exec.layers
            options.gpuSplit = nil
            if !exec.fractions.isEmpty { splitFractions = exec.fractions }
        }
        if executed != nil, options.gpuLayers > 0 || options.gpuSplit != nil || splitFractions != nil {
            throw RuntimeError.badParameter(name: options.gpuLayers > 0 ? "GPU layers" : "GPU split", reason: automatic != nil
                ? "the model does not fit the memory this process may use, so it streams; this build runs the GPU on mapped weights only"
                : "this build runs the GPU on mapped weights only, not under a memory budget")
        }
        let batch = RuntimeFootprint.batchSize(manifest, wanted: plan.batch, context: ctx, budget: executed)
        batchSize = batch
        fixedBytes = RuntimeFootprint.fixedBytes(manifest, context: ctx, batch: batch, threads: threadsWanted, budget: executed)
        let nodeShares = Engine.nodeShares(of: plan)
        let cpus = try Engine.plannedCPUs(plan)
        var split: (node: CPUNode, peers: [CPUNode])? = nil
        if executed != nil {
            if nodeShares != nil {
                throw RuntimeError.badParameter(name: "NUMA nodes", reason: "the plan splits rows over CPU nodes and runs within a memory budget; this build splits mapped weights only")
            }
            let diskRate = options.diskBytesPerSecond ?? measuredDisk ?? (plan.devices.first { $0.id == .disk }?.rateGBPerS).map { $0 * 1e9 } ?? 0
            placement = try WeightPlacement(budgeted: model.weights, manifest: manifest, path: model.path, plan: plan,
                                            diskBytesPerSecond: diskRate, progress: options.loadProgress)
        } else if let nodeShares {
            let n = nodeShares.count
            guard options.threadSpeeds == nil else {
                throw RuntimeError.badParameter(name: "NUMA nodes", reason: "thread speeds are not taken with --numa-nodes")
            }
            guard let topology = NUMATopology.split(into: n) else {
                throw RuntimeError.badParameter(name: "NUMA nodes", reason: "\(n) nodes need at least \(n) CPUs; this process may use \(WorkerPool.allowedCPUs().count)")
            }
            // Each node's threads: the plan's CPUs that lie in the node.
            let nodeCPUs = topology.cpusByNode.map { node in cpus.filter(node.contains) }
            if let empty = nodeCPUs.firstIndex(where: \.isEmpty) {
                throw RuntimeError.badParameter(name: "plan", reason: "none of its thread CPUs (\(cpus.map(String.init).joined(separator: ","))) is on cpu\(empty)")
            }
            let first = try CPUNode(nodeID: 0, threads: nodeCPUs[0].count, cpus: nodeCPUs[0], balance: options.balance,
                                    memoryNode: topology.memoryNodes[0])
            let others = try (1..<n).map { k throws(DeviceError) in
                try CPUNode(nodeID: k, threads: nodeCPUs[k].count, cpus: nodeCPUs[k], balance: options.balance, relayed: true,
                            memoryNode: topology.memoryNodes[k])
            }
            for device in [first] + others { try DeviceSupport.check(model, on: device) }
            // Each node's rows of every matrix live in memory that node allocates.
            placement = WeightPlacement(mapped: model.weights, nodeShares: nodeShares, devices: [first] + others)
            split = (first, others)
        } else {
            placement = WeightPlacement(mapped: model.weights)
        }
        if let sparsity = options.sparsity {
            guard executed == nil else {
                throw RuntimeError.badParameter(name: "sparsity", reason: automatic != nil
                    ? "the model does not fit the memory this process may use, so it streams; this build runs the sparse feed-forward on mapped weights only"
                    : "this build runs the sparse feed-forward on mapped weights only, not under a memory budget")
            }
            guard nodeShares == nil else { throw RuntimeError.badParameter(name: "sparsity", reason: "not with weights split over CPU nodes") }
            guard !options.f32Activations else { throw RuntimeError.badParameter(name: "sparsity", reason: "not with F32 activations") }
            let statistics: NeuronStatistics
            switch sparsity.statistics {
            case let .loaded(s): statistics = s
            case let .file(path):
                statistics = try NeuronStatistics.read(from: path ?? NeuronStatistics.defaultPath(forModel: model.path),
                                                       layers: model.weights.layers.count, feedForward: model.config.feedForwardLength,
                                                       model: ModelFingerprint(of: model.file))
            }
            sparse = try sparsity.level.fraction(with: statistics).map {
                try SparseFeedForward(weights: model.weights, statistics: statistics, level: $0)
            }
        } else {
            sparse = nil
        }
        // One Vulkan device for the GPU layers and the split, opened at the first need.
        var openedGPU: VulkanDevice?
        let gpuIndex = options.gpuIndex
        func openGPU() throws(RuntimeError) -> VulkanDevice {
            if let openedGPU { return openedGPU }
            do { openedGPU = try VulkanDevice(index: gpuIndex) } catch { throw .gpu(error) }
            return openedGPU!
        }
        // GPU work under a budget was refused above, before any weight was read.
        // The GPU's cache rows and batch are the CPU pass's (ForwardPass.init): position p in row p % rows.
        let passBatch = max(1, min(batch, ctx))
        if options.gpuLayers > 0 {
            guard nodeShares == nil else { throw RuntimeError.badParameter(name: "GPU layers", reason: "not with weights split over CPU nodes") }
            let device = try openGPU()
            gpuLayers = try GPULayers(weights: model.weights, count: options.gpuLayers, device: device, maxBatch: passBatch,
                                      cacheRows: ForwardPass.cacheRows(weights: model.weights, contextLength: ctx, maxBatch: passBatch),
                                      ropeFactors: model.weights.ropeFactors(contextLength: ctx))
        } else {
            gpuLayers = nil
        }
        if let request = options.gpuSplit {
            guard options.gpuLayers == 0 else { throw RuntimeError.badParameter(name: "GPU split", reason: "not with --gpu-layers in this build: use one or the other") }
            guard nodeShares == nil else { throw RuntimeError.badParameter(name: "GPU split", reason: "not with weights split over CPU nodes") }
            let device = try openGPU()
            let fraction: Double
            switch request {
            case let .fraction(f):
                fraction = f
                gpuSplitReason = String(format: "%.0f%% of each matrix's rows asked for", f * 100)
            case .auto:
                // The main type: the one holding most matrix bytes.
                var bytes: [TensorType: Int] = [:]
                for m in model.weights.layers.flatMap(\.matrices) { bytes[m.type, default: 0] += m.byteCount }
                let main = bytes.max { $0.value < $1.value }!.key
                let profiled = options.hostProfile?.gpus.first { $0.id == .gpu(options.gpuIndex) }?.matvecGBPerS?[main.description].map { $0 * 1e9 }
                let gpuRate: Double
                var how = "profile"
                if let profiled { gpuRate = profiled } else {
                    do { gpuRate = try device.measure(passes: 1, types: [main]).matvecBytesPerSecond[main] ?? 0 } catch { throw RuntimeError.gpu(error) }
                    how = "measured now"
                }
                let cpuRate = plan.predicted.genTokensPerSecond * Double(model.weightBytes)
                fraction = gpuRate + cpuRate > 0 ? gpuRate / (gpuRate + cpuRate) : 0
                gpuSplitReason = String(format: "auto: GPU %.2f GB/s on %@ (%@) against the CPU's %.2f GB/s (the plan's) gives %.1f%% of the rows",
                                        gpuRate / 1e9, main.description, how, cpuRate / 1e9, fraction * 100)
            }
            gpuSplit = try GPUSplit(weights: model.weights, fraction: { _ in fraction }, device: device, maxBatch: passBatch)
        } else if let splitFractions {
            let device = try openGPU()
            gpuSplit = try GPUSplit(weights: model.weights, fraction: { splitFractions[$0.fileOffset] ?? 0 }, device: device,
                                    maxBatch: passBatch)
            gpuSplitReason = "the saved plan's shares"
        } else {
            gpuSplit = nil
            gpuSplitReason = nil
        }
        if let split {
            node = split.node
            peers = split.peers
        } else {
            peers = []
            if let speeds = options.threadSpeeds, speeds.count != threadsWanted {
                throw RuntimeError.badParameter(name: "thread speeds",
                                                reason: "\(speeds.count) given for \(threadsWanted) thread\(threadsWanted == 1 ? "" : "s")")
            }
            // Starting shares: given, else the plan's (the profile's core classes), else (no
            // profile) CPUID core types.
            let speeds = options.threadSpeeds ?? (plan.hostKind == .estimated ? nil : plan.threads.startingShares)
            // The plan's threads run on the CPUs it names.
            node = try CPUNode(threads: threadsWanted, cpus: cpus, balance: options.balance, speeds: speeds)
            try DeviceSupport.check(model, on: node)
        }
        self.options = options
        // Repacking and resident reads went through the mapping: the file must still be the one mapped.
        try model.file.checkUnchanged()
        loadSeconds = monotonicSeconds() - t0
    }

    /// The memory allowance to stream within, when `options` give no budget and the model's
    /// weights plus the buffers a run touches (the KV cache of the expected prompt and generated
    /// tokens, the activations) would not fit what this process may still allocate; nil otherwise.
    public static func allowanceToStreamWithin(model: Model, options: EngineOptions, context: Int? = nil,
                                               threads: Int? = nil) -> MemoryAllowance? {
        let ctx = context ?? options.contextLength ?? model.config.contextLength
        return allowanceToStreamWithin(model: model, manifest: ModelManifest(model: model), options: options, context: ctx,
                                       threads: threads ?? options.threads ?? max(1, WorkerPool.allowedCPUs().count))
    }

    static func allowanceToStreamWithin(model: Model, manifest: ModelManifest, options: EngineOptions, context ctx: Int,
                                        threads: Int) -> MemoryAllowance? {
        guard options.memoryBudget == nil, options.plan == nil, options.automaticBudget else { return nil }
        let allowance = MemoryAllowance.current()
        guard let allowed = allowance.allowedBytes else { return nil }
        let positions = max(1, min(ctx, options.expectedPromptTokens + options.expectedGeneratedTokens))
        let batch = RuntimeFootprint.batchSize(manifest, wanted: options.batchSize, context: ctx, budget: nil)
        let needed = model.weightBytes + RuntimeFootprint.fixedBytes(manifest, context: positions, batch: batch, threads: threads)
        return needed > allowed ? allowance : nil
    }

    /// Checks every number of `options` against ``InputBounds`` before anything is allocated.
    static func checkBounds(_ options: EngineOptions, context: Int) throws(RuntimeError) {
        func check(_ value: Int, _ range: ClosedRange<Int>, _ name: String) throws(RuntimeError) {
            do { try InputBounds.check(value, in: range, name) } catch { throw .badParameter(name: name, reason: "\(error.value) is not in \(error.bounds)") }
        }
        try check(context, InputBounds.contextTokens, "context length")
        try check(options.batchSize, InputBounds.batchTokens, "batch size")
        if let threads = options.threads { try check(threads, InputBounds.threads, "thread count") }
        if let budget = options.memoryBudget { try check(budget, InputBounds.memoryBytes, "memory budget") }
        try check(options.expectedPromptTokens, InputBounds.promptTokens, "expected prompt tokens")
        try check(options.expectedGeneratedTokens, InputBounds.generateTokens, "expected generated tokens")
        if let speeds = options.threadSpeeds, let bad = speeds.first(where: { !($0 > 0 && $0.isFinite) }) {
            throw .badParameter(name: "thread speeds", reason: "\(bad) is not a positive number")
        }
        if let rate = options.diskBytesPerSecond, !(rate > 0 && rate.isFinite) {
            throw .badParameter(name: "disk bandwidth", reason: "\(rate) bytes/s is not a positive number")
        }
    }

    /// The CPUs a plan pins its threads to, checked against the CPUs this process may use.
    static func plannedCPUs(_ plan: PlacementPlan) throws(RuntimeError) -> [Int] {
        let cpus = plan.threads.cpus
        guard cpus.count == plan.threads.count, Set(cpus).count == cpus.count else {
            throw .badParameter(name: "plan", reason: "its threads name \(cpus.count) CPUs (\(Set(cpus).count) distinct) for \(plan.threads.count) threads")
        }
        let allowed = Set(WorkerPool.allowedCPUs())
        if let missing = cpus.first(where: { !allowed.contains($0) }) {
            throw .badParameter(name: "plan", reason: "it pins a thread to CPU \(missing), which this process may not use (it may use \(allowed.sorted().map(String.init).joined(separator: ",")))")
        }
        return cpus
    }

    /// The shares of CPU nodes 0, 1, ... when every block of `plan` splits its rows over the same
    /// CPU nodes in the same shares (within 1e-6), nil otherwise (or when one node holds everything).
    static func nodeShares(of plan: PlacementPlan) -> [Double]? {
        guard let first = plan.blocks.first?.shares, first.count > 1, first.allSatisfy({ $0.device.kind == .cpu }) else { return nil }
        let nodes = first.map(\.device.index).sorted()
        guard nodes == Array(0..<nodes.count) else { return nil }
        let shares = nodes.map { n in first.first { $0.device.index == n }!.fraction }
        for b in plan.blocks {
            guard b.shares.count == nodes.count,
                  b.shares.allSatisfy({ $0.device.kind == .cpu && $0.device.index < nodes.count && abs($0.fraction - shares[$0.device.index]) < 1e-6 })
            else { return nil }
        }
        return shares
    }

    /// How this build executes a (checked) plan's GPU placement: the GPU's index, the leading
    /// blocks wholly on it (``GPULayers``), and the fraction of the rows of every other matrix it
    /// holds (``GPUSplit``), by the matrix's file offset. nil when the plan uses no GPU.
    static func gpuExecution(of plan: PlacementPlan, manifest: ModelManifest) throws(PlacementError)
        -> (gpu: Int, layers: Int, fractions: [Int: Double])? {
        guard let gpu = plan.devicesUsed.first(where: { $0.kind == .gpu }) else { return nil }
        var fraction: [Int: Double] = [:]   // matrix index -> the GPU's fraction of its rows
        for (block, placed) in zip(manifest.blocks(target: plan.blockTarget), plan.blocks) {
            let f = placed.shares.first { $0.device == gpu }?.fraction ?? 0
            for m in block.members {
                if let earlier = fraction[m.matrix], abs(earlier - f) > 1e-9 {
                    throw .unsupported("the plan gives '\(gpu)' different shares of \(manifest.matrices[m.matrix].name)'s row ranges; this build cuts each matrix once")
                }
                fraction[m.matrix] = f
            }
        }
        // Leading layers wholly on the GPU run as GPU layers; the rest is a row split.
        let layers = Set(manifest.matrices.map(\.layer)).filter { $0 >= 0 }.sorted()
        var leading = 0
        for l in layers {
            let ms = manifest.matrices.indices.filter { manifest.matrices[$0].layer == l }
            guard !ms.isEmpty, ms.allSatisfy({ fraction[$0] == 1 }) else { break }
            leading += 1
        }
        var split: [Int: Double] = [:]
        for (i, m) in manifest.matrices.enumerated() where !(m.layer >= 0 && m.layer < leading) {
            if let f = fraction[i], f > 0 { split[m.fileOffset] = f }
        }
        return (gpu.index, leading, split)
    }

    /// Checks that a saved plan can run here: made for this file, on CPU nodes (one node with the
    /// disk, or resident rows split over several in one set of shares), or on one GPU beside CPU
    /// node 0 with resident weights (``gpuExecution(of:manifest:)``).
    static func check(_ plan: PlacementPlan, manifest: ModelManifest) throws(PlacementError) {
        guard plan.schema == PlacementPlan.schemaName, plan.schemaVersion == PlacementPlan.currentVersion else {
            throw .unsupported("not an \(PlacementPlan.schemaName) version \(PlacementPlan.currentVersion) plan (found '\(plan.schema)' version \(plan.schemaVersion))")
        }
        // A plan file is input too: its numbers within bounds before any of them sizes anything.
        func check(_ value: Int, _ range: ClosedRange<Int>, _ field: String) throws(PlacementError) {
            do { try InputBounds.check(value, in: range, field) } catch { throw .badRequest("the plan's \(error.name) is \(error.value); it must be in \(error.bounds)") }
        }
        try check(plan.threads.count, InputBounds.threads, "thread count")
        try check(plan.batch, InputBounds.batchTokens, "batch")
        try check(plan.blockTarget, 4096...InputBounds.memoryBytes.upperBound, "block target")
        try check(plan.window.slots, 0...1024, "window slot count")
        try check(plan.window.slotBytes, 0...InputBounds.memoryBytes.upperBound, "window slot size")
        for d in plan.devices { try check(d.capacityBytes, 0...InputBounds.memoryBytes.upperBound, "capacity of \(d.id)") }
        let gpus = plan.devicesUsed.filter { $0.kind == .gpu }.sorted()
        if let gpu = gpus.first {
            // Executed as GPU layers and/or a row split (``gpuExecution(of:manifest:)``): one GPU,
            // resident weights, CPU node 0.
            guard gpus.count == 1 else { throw .unsupported("the plan places work on \(gpus.map(\.description).joined(separator: ", ")); this build runs one GPU") }
            guard plan.window.slots == 0, plan.blocks.allSatisfy({ $0.tier == .resident }) else {
                throw .unsupported("the plan streams weights while placing work on '\(gpu)'; this build runs the GPU on resident weights only")
            }
            if let other = plan.devicesUsed.subtracting([.cpu(0), .disk, gpu]).sorted().first {
                throw .unsupported("the plan places work on '\(other)' beside '\(gpu)'; this build runs a GPU beside CPU node 0 only")
            }
            do { _ = try VulkanDevice(index: gpu.index) } catch { throw .unsupported("the plan places work on '\(gpu)': \(error)") }
            return try checkBlocks(plan, manifest: manifest)
        }
        if plan.devicesUsed.allSatisfy({ $0.kind == .cpu }), plan.devicesUsed.count > 1 {
            // Rows split over CPU nodes (numa-split): executed with every matrix cut in one set of shares.
            guard plan.window.slots == 0, plan.blocks.allSatisfy({ $0.tier == .resident }) else {
                throw .unsupported("the plan streams weights while splitting rows over CPU nodes; this build splits resident weights only")
            }
            guard nodeShares(of: plan) != nil else {
                throw .unsupported("the plan splits blocks over CPU nodes in different shares; this build cuts every matrix in the same shares")
            }
            return try checkBlocks(plan, manifest: manifest)
        }
        if let other = plan.devicesUsed.subtracting([.cpu(0), .disk]).sorted().first {
            throw .unsupported("the plan places work on '\(other)'; this build runs plans on CPU nodes and the disk only (strategy \(plan.strategy))")
        }
        try checkBlocks(plan, manifest: manifest)
    }

    /// The plan's blocks are this file's blocks.
    private static func checkBlocks(_ plan: PlacementPlan, manifest: ModelManifest) throws(PlacementError) {
        let blocks = manifest.blocks(target: plan.blockTarget)
        guard plan.model.fileBytes == manifest.fileBytes, plan.model.weightBytesPerToken == manifest.bytesPerToken,
              blocks.count == plan.blocks.count, zip(blocks, plan.blocks).allSatisfy({ $0.name == $1.name && $0.length == $1.bytes && $0.offset == $1.offset }) else {
            throw .modelMismatch(plan: plan.model.name, model: manifest.name,
                                 detail: "its \(plan.blocks.count) blocks (\(plan.model.fileBytes) bytes of file) are not this file's \(blocks.count) (\(manifest.fileBytes) bytes)")
        }
    }

    /// A new conversation state (its own KV cache).
    public func makeSession() throws -> Session {
        try Session(engine: self)
    }

    /// Renders a single-turn chat prompt with the model's own template.
    public func chatPrompt(user: String, system: String? = nil, addGenerationPrompt: Bool = true) throws -> String {
        try chatPrompt(messages: Engine.singleTurn(user: user, system: system), addGenerationPrompt: addGenerationPrompt)
    }

    /// Renders a conversation with the model's own template (roles as the template knows them:
    /// `system`, `user`, `assistant`).
    public func chatPrompt(messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> String {
        guard let parsedTemplate else { throw EngineError.noChatTemplate }
        return try Engine.renderChat(try parsedTemplate.get(), tokenizer: tokenizer, messages: messages,
                                     addGenerationPrompt: addGenerationPrompt)
    }

    /// Token ids of a rendered chat prompt: special tokens parsed, BOS added as the vocabulary
    /// asks, but not a second one when the template already wrote it.
    public static func chatTokens(_ text: String, tokenizer: Tokenizer) -> [Int32] {
        var ids = tokenizer.encode(text, addSpecial: true, parseSpecial: true)
        if tokenizer.addBOS, let bos = tokenizer.bos, ids.count >= 2, ids[0] == bos, ids[1] == bos { ids.removeFirst() }
        return ids
    }

    /// Renders a single-turn chat prompt with the template of `tokenizer`'s file, without an engine
    /// (e.g. to count a prompt's tokens before choosing the context length).
    public static func chatPrompt(tokenizer: Tokenizer, user: String, system: String? = nil,
                                  addGenerationPrompt: Bool = true) throws -> String {
        guard let source = tokenizer.chatTemplate else { throw EngineError.noChatTemplate }
        return try renderChat(try ChatTemplate(source), tokenizer: tokenizer, messages: singleTurn(user: user, system: system),
                              addGenerationPrompt: addGenerationPrompt)
    }

    private static func singleTurn(user: String, system: String?) -> [ChatMessage] {
        (system.map { [ChatMessage(role: "system", content: $0)] } ?? []) + [ChatMessage(role: "user", content: user)]
    }

    private static func renderChat(_ chatTemplate: ChatTemplate, tokenizer: Tokenizer, messages: [ChatMessage],
                                   addGenerationPrompt: Bool) throws -> String {
        let bos = tokenizer.bos.flatMap { tokenizer.tokenText($0) } ?? ""
        let eos = tokenizer.eos.flatMap { tokenizer.tokenText($0) } ?? ""
        return try chatTemplate.renderChat(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                           bosToken: bos, eosToken: eos)
    }
}

/// Errors of the engine facade.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `--chat` on a model whose file holds no `tokenizer.chat_template`.
    case noChatTemplate

    public var description: String {
        switch self {
        case .noChatTemplate: "the model has no chat template (tokenizer.chat_template); run without --chat"
        }
    }
}
