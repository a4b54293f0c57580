import ArgumentParser
import EdgeRuntime
import EdgeCore
import EdgeDevices
import Foundation

/// The model and how it is held in memory: options every model-running command shares, including
/// `bench`, which sweeps threads with its own `-t` list.
struct ModelFileOptions: ParsableArguments {
    @Option(name: .long, help: "Path of a GGUF model file (default: the SmolLM2-135M-Instruct Q4_1 model fetched by scripts/fetch-model.sh).")
    var model: String?

    @Option(name: .long, help: "Context length in tokens (default: the model's trained context).")
    var ctx: Int?

    @Flag(name: .long, help: "Multiply with F32 activations instead of 8-bit activation blocks (slower reference path).")
    var f32Activations = false

    @Option(name: .long, help: ArgumentHelp("Memory for weights, KV cache and activations, e.g. 64M or 1.5G; weights that do not fit stream from disk.", valueName: "size"),
            transform: { text in
                guard let b = ByteCount(parsing: text) else {
                    throw ValidationError("--memory-budget: '\(text)' is not a size (examples: 64M, 1.5G, 800MiB)")
                }
                return Int(b.bytes)
            })
    var memoryBudget: Int?

    @Option(name: .long, help: ArgumentHelp("How each parallel op is split between the threads: 'dynamic' (shares follow each thread's measured speed; finished threads take unstarted chunks) or 'static' (equal shares, for comparison).", valueName: "dynamic|static"),
            transform: { text in
                guard let b = WorkerPool.Balance(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
                    throw ValidationError("--balance: '\(text)' is not a balance mode; use 'dynamic' or 'static'")
                }
                return b
            })
    var balance: WorkerPool.Balance = .dynamic

    @Option(name: .long, help: ArgumentHelp("Starting relative speed of each thread, comma-separated, one per thread (default: from the cores' types on a hybrid CPU, else equal).", valueName: "s,..."),
            transform: { text in
                try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
                    let p = part.trimmingCharacters(in: .whitespaces)
                    guard let v = Double(p), v > 0, v.isFinite else {
                        throw ValidationError("--thread-speeds: '\(p)' is not a positive number")
                    }
                    return v
                }
            })
    var threadSpeeds: [Double]?

    @Option(name: .long, help: ArgumentHelp("Split every matrix's rows over N CPU nodes, each with its own share of the threads and its own memory: the host's NUMA nodes when it has N, else its CPUs cut into N groups (default: 1).", valueName: "N"))
    var numaNodes: Int?

    @Option(name: .long, help: ArgumentHelp("Feed-forward sparsity: 'off' (dense), 'auto' (the highest level `edgert calibrate` found within 1.5% perplexity on its text and faster than dense; else dense), or the fraction of neurons to skip per token (0.4 or 40%); needs the neuron statistics of `edgert calibrate`.", valueName: "auto|off|F"),
            transform: { text in
                do { return try SparsityLevel(parsing: text) } catch { throw ValidationError("--sparsity: \(error)") }
            })
    var sparsity: SparsityLevel = .off

    @Option(name: .long, help: ArgumentHelp("Neuron statistics for --sparsity (default: the model's path + .neurons.gguf, as `edgert calibrate` writes).", valueName: "path"))
    var neuronStats: String?

    @Option(name: .long, help: ArgumentHelp("Run the first N transformer blocks on the GPU (Vulkan), or 'all'; the rest on the CPU (default: 0, every block on the CPU). `edgert devices` lists the GPUs.", valueName: "N|all"),
            transform: { text in
                let t = text.trimmingCharacters(in: .whitespaces).lowercased()
                if t == "all" { return Int.max }
                guard let n = Int(t), n >= 0 else { throw ValidationError("--gpu-layers: '\(text)' is not a layer count or 'all'") }
                return n
            })
    var gpuLayers = 0

    @Option(name: .long, help: ArgumentHelp("Split every matrix's rows between the GPU and the CPU, both computing each product (HeteGen): 'auto' (in the ratio of their measured rates) or the fraction of rows on the GPU (0.5 or 50%).", valueName: "auto|R"),
            transform: { text in
                let t = text.trimmingCharacters(in: .whitespaces).lowercased()
                if t == "auto" { return .auto }
                let percent = t.hasSuffix("%")
                guard let v = Double(percent ? String(t.dropLast()) : t), v.isFinite else {
                    throw ValidationError("--gpu-split: '\(text)' is not 'auto' or a fraction such as 0.5 or 50%")
                }
                let f = percent ? v / 100 : v
                guard (0...1).contains(f) else { throw ValidationError("--gpu-split: \(text) is not a fraction of the rows between 0 and 1") }
                return .fraction(f)
            })
    var gpuSplit: GPUSplitRequest?

    @Option(name: .long, help: ArgumentHelp("Which GPU runs --gpu-layers or --gpu-split: its number in `edgert devices` (default: 0).", valueName: "N"))
    var gpu: Int?

    func validate() throws {
        if let gpu, gpu < 0 { throw ValidationError("--gpu must be a device number from `edgert devices` (got \(gpu))") }
        if gpu != nil, gpuLayers == 0, gpuSplit == nil { throw ValidationError("--gpu is used with --gpu-layers or --gpu-split only") }
        if gpuSplit != nil, gpuLayers != 0 { throw ValidationError("--gpu-layers and --gpu-split: use one or the other") }
        if neuronStats != nil, sparsity == .off { throw ValidationError("--neuron-stats is used with --sparsity only") }
        if let numaNodes { try checkBound(numaNodes, 1...64, "--numa-nodes") }
        if let ctx, ctx < 1 { throw ValidationError("--ctx must be at least 1 (got \(ctx))") }
        if let ctx { try checkBound(ctx, InputBounds.contextTokens, "--ctx") }
        if let memoryBudget { try checkBound(memoryBudget, InputBounds.memoryBytes, "--memory-budget") }
        if let threadSpeeds { try checkBound(threadSpeeds.count, InputBounds.threads, "--thread-speeds count") }
    }

    func resolvedModelPath() throws -> String {
        if let model { return model }
        return try DefaultModel.locate()
    }

    /// Engine options for `threads` threads (nil: every CPU this process may use), with this host's
    /// own profile when there is one (`edgert profile`; never measured here): its rates for the
    /// plan and its kernels' memory access modes. `run` may measure one first.
    func engineOptions(threads: Int?, contextOverride: Int? = nil) -> EngineOptions {
        var o = EngineOptions(threads: threads, contextLength: contextOverride ?? ctx)
        o.hostProfile = try? HostProfileLookup.findOwn()?.profile
        o.f32Activations = f32Activations
        o.memoryBudget = memoryBudget
        o.balance = balance
        o.threadSpeeds = threadSpeeds
        o.numaNodes = numaNodes
        if sparsity != .off { o.sparsity = SparsityRequest(level: sparsity, statistics: .file(neuronStats)) }
        o.gpuLayers = gpuLayers
        o.gpuIndex = gpu ?? 0
        o.gpuSplit = gpuSplit
        return o
    }
}

/// Options every command that runs a model with one thread count shares.
struct ModelOptions: ParsableArguments {
    @OptionGroup var file: ModelFileOptions

    @Option(name: [.customShort("t"), .long], help: "Threads to compute with (default: every CPU this process may use).")
    var threads: Int?

    var model: String? { file.model }
    var ctx: Int? { file.ctx }
    var f32Activations: Bool { file.f32Activations }
    var memoryBudget: Int? { file.memoryBudget }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if let threads { try checkBound(threads, InputBounds.threads, "--threads") }
    }

    func resolvedModelPath() throws -> String { try file.resolvedModelPath() }

    func engineOptions(contextOverride: Int? = nil) -> EngineOptions {
        file.engineOptions(threads: threads, contextOverride: contextOverride)
    }
}

/// The default model: SmolLM2-135M-Instruct Q4_1, fetched into `models/` by scripts/fetch-model.sh.
enum DefaultModel {
    static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    struct Missing: Error, CustomStringConvertible {
        let searched: [String]
        var description: String {
            "the default model \(fileName) was not found (looked in: \(searched.joined(separator: ", "))). "
                + "Fetch it with `scripts/fetch-model.sh` from the edgert checkout, set EDGERT_MODEL, or pass --model PATH."
        }
    }

    static func locate() throws -> String {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["EDGERT_MODEL"], !env.isEmpty { candidates.append(env) }
        candidates.append(FileManager.default.currentDirectoryPath + "/models/" + fileName)
        // The checkout this binary was built in: <root>/.build/<config>/edgert.
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("models/" + fileName).path)
            dir.deleteLastPathComponent()
        }
        for c in candidates where FileManager.default.fileExists(atPath: c) { return c }
        throw Missing(searched: candidates)
    }
}

/// Throws a usage error naming `option`, its value and `range` unless `value` lies in it.
func checkBound<T: Comparable>(_ value: T, _ range: ClosedRange<T>, _ option: String) throws {
    do { try InputBounds.check(value, in: range, option) } catch { throw ValidationError(error.description) }
}

/// One line when the engine streams within what the process may use because no budget was given
/// and the model did not fit (nothing otherwise).
func reportAutomaticBudget(_ engine: Engine) {
    if let auto = engine.automaticBudget {
        printError("memory: the model does not fit what this process may use, \(auto); streaming within it as with --memory-budget")
    }
}

/// One line on the GPU's work: the blocks it runs and the rows of the matrices it shares (nil
/// when it has none).
func gpuLine(_ engine: Engine) -> String? {
    var parts: [String] = []
    var device: VulkanDevice?
    if let g = engine.gpuLayers {
        device = g.device
        parts.append(String(format: "%d of %d blocks (%.1f MiB of weights)", g.count, engine.model.weights.layers.count,
                            Double(g.weightBytes) / 1048576))
    }
    if let s = engine.gpuSplit {
        device = s.device
        parts.append(String(format: "%d of %d matrix rows, %.1f%% (%.1f MiB of weights; %@)", s.rowsOnGPU, s.rowsTotal,
                            100 * Double(s.rowsOnGPU) / Double(max(1, s.rowsTotal)), Double(s.weightBytes) / 1048576,
                            engine.gpuSplitReason ?? ""))
    }
    guard let device else { return nil }
    return "gpu: " + parts.joined(separator: " and ") + " on \(device.name); "
        + String(format: "%.1f MiB of device memory in use", Double(device.allocatedBytes) / 1048576)
}

/// One line on the engine's feed-forward sparsity when it was asked for (nil when dense was).
func sparsityLine(_ engine: Engine, asked: SparsityLevel) -> String? {
    guard asked != .off else { return nil }
    guard let s = engine.sparse else {
        return String(format: "sparsity: auto runs dense: no level kept the calibration text within %.1f%% perplexity and ran %.2fx dense speed when calibrated",
                      NeuronStatistics.autoBound * 100, NeuronStatistics.autoSpeedup)
    }
    let measured = s.statistics.curve.first { abs($0.level - s.level) < 1e-6 }.map { String(format: ", %+.2f%% perplexity on the calibration text", $0.perplexityIncrease * 100) } ?? ""
    return String(format: "sparsity: %.0f%% of feed-forward neurons skipped per token%@%@; memory beyond the plan: neuron-major W_down %@, W_up rows read from the file up to %@%@",
                  s.level * 100, asked == .auto ? " (auto)" : "", measured, formatBytes(s.copyBytes), formatBytes(s.upBytes),
                  s.denseDown.isEmpty ? "" : ", dense W_down in \(s.denseDown.count) layers (\(Set(s.denseDown.values).sorted().joined(separator: "; ")))")
}

/// Prints to standard error.
func printError(_ s: String) {
    FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
}

/// Runs `body`; a thrown error is printed once as `error: ...` and ends the process with status 1.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let e as ExitCode {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

func formatBytes(_ b: Int?) -> String {
    guard let b else { return "n/a" }
    return String(format: "%.1f MiB", Double(b) / 1048576)
}

/// The balancer's state, one line: mode, where the starting speeds came from, and per thread its
/// smoothed relative speed, its share of the next region, and how much of its work it took from
/// other threads' shares (since the pool's statistics were last reset).
func balancerSummary(_ node: CPUNode) -> String {
    let pool = node.pool
    let source: String = switch node.speedSource {
    case let .given(s): "starting speeds given: " + s.map { String(format: "%.2f", $0) }.joined(separator: ",")
    case let .coreTypes(t): "starting speeds from core types: " + t.map(\.description).joined(separator: ",")
    case .equal: "starting speeds equal"
    }
    let threads = pool.balanceState().enumerated().map { i, t in
        let cpu = pool.cpus.isEmpty ? "" : " (CPU \(pool.cpus[i]))"
        let taken = t.items > 0 ? 100 * Double(t.takenItems) / Double(t.items) : 0
        let rate = t.busyNanoseconds > 0 ? Double(t.items) / Double(t.busyNanoseconds) * 1e3 : 0
        let out = t.exclusions == 0 ? "" : ", left out \(t.exclusions) time\(t.exclusions == 1 ? "" : "s") (core shared)"
            + (t.keptOut == 0 ? "" : ", kept out \(t.keptOut) more back-off\(t.keptOut == 1 ? "" : "s") (core still shared)")
            + (t.excluded ? ", out now" : "")
            + (t.tickNanoseconds.map { String(format: ", core shared: works between its %.2f ms scheduler ticks", Double($0) / 1e6) } ?? "")
            + (t.tickPauses == 0 ? "" : ", paused before \(t.tickPauses) tick\(t.tickPauses == 1 ? "" : "s")")
            + (t.stalls == 0 ? "" : ", held up \(t.stalls) region\(t.stalls == 1 ? "" : "s") by 1 ms or more")
        return String(format: "thread %d%@ speed %.2f share %.1f%% (%.1f%% of its items taken from other shares, %.0f items/us busy%@)",
                      i, cpu, t.speed, 100 * t.share, taken, rate, out)
    }
    return "balancer: \(pool.balance.rawValue), \(source); " + threads.joined(separator: "; ")
}
