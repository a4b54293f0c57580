import ArgumentParser
import EdgeRuntime
import EdgeDevices
import EdgeTokenizer
import EdgeCore
import EdgePlanner
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Generate text from a prompt.",
        discussion: "The generated text streams to standard output; load time, speeds and peak memory go to standard error.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customShort("n"), parsing: .unconditional, help: "Most tokens to generate.")
    var tokens: Int = 128

    @Option(name: .long, help: "Sampling temperature; 0 picks the most likely token (greedy).")
    var temp: Float = 0.8

    @Option(name: .long, help: "Seed of the random draw (the same seed gives the same text).")
    var seed: UInt64 = 42

    @Option(name: .long, help: "Keep only the k most likely tokens (0: all).")
    var topK: Int = 40

    @Option(name: .long, help: "Keep the smallest set of tokens whose probability reaches p.")
    var topP: Float = 0.95

    @Option(name: .long, help: "Drop tokens less likely than this fraction of the most likely one.")
    var minP: Float = 0.05

    @Option(name: .long, help: "Penalty for repeating recent tokens (1: off).")
    var repeatPenalty: Float = 1.0

    @Flag(name: .long, help: "Render the prompt with the model's own chat template as one user message.")
    var chat = false

    @Option(name: .long, help: "System message for --chat (default: whatever the template inserts).")
    var system: String?

    @Flag(name: .long, help: "Print the prompt's tokens and the engine set-up to standard error.")
    var verbose = false

    @Option(name: .long, help: "Execute a plan saved by `edgert plan --out FILE` (its context, threads, budget and placement).")
    var plan: String?

    @Option(name: .long, help: "Plan with this host profile (default: this host's profile in Profiles/, measured quickly first when there is none).")
    var profile: String?

    @Option(name: .long, help: "Also write the measured and predicted figures to this file as JSON.")
    var statsJson: String?

    @Argument(help: "The prompt.")
    var prompt: String

    /// The host profile `run` plans with: --profile, else this host's own from Profiles/ (measured
    /// quickly first when there is none).
    private func profileForRun() async throws -> (profile: HostProfile, path: String)? {
        if let profile { return (try HostProfileLookup.read(profile), profile) }
        do {
            return try await HostProfileLookup.ownOrQuickProfile()
        } catch let failed as HostProfileLookup.QuickProfileFailed {
            // The run does not need a profile: it plans with built-in rates and prints no predictions.
            printError("profile: \(failed); running without a profile")
            return nil
        }
    }

    func validate() throws {
        if tokens < 0 { throw ValidationError("-n must be 0 or more (got \(tokens))") }
        try checkBound(tokens, InputBounds.generateTokens, "-n")
        if system != nil && !chat { throw ValidationError("--system needs --chat") }
        do {
            try sampling.validate()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The sampling options, as the engine takes them.
    var sampling: SamplingParameters {
        var sampling = SamplingParameters()
        sampling.temperature = temp
        sampling.seed = seed
        sampling.topK = topK
        sampling.topP = topP
        sampling.minP = minP
        sampling.repetitionPenalty = repeatPenalty
        return sampling
    }

    func run() async throws {
        try await reportingErrors {
            let path = try modelOptions.resolvedModelPath()
            let t0 = ProcessInfo.processInfo.systemUptime
            let model = try Model(path: path)
            let tok = try Tokenizer(gguf: model.file)
            var text = prompt
            if chat { text = try Engine.chatPrompt(tokenizer: tok, user: prompt, system: system) }
            let ids = chat ? Engine.chatTokens(text, tokenizer: tok) : tok.encode(text, addSpecial: true, parseSpecial: true)
            var options = modelOptions.engineOptions()
            if options.memoryBudget != nil && modelOptions.ctx == nil {
                // Under a budget the KV cache is sized for this run: the prompt and the tokens asked for.
                options.contextLength = min(model.config.contextLength, ids.count + tokens)
            }
            options.loadProgress = loadProgressPrinter()
            options.expectedPromptTokens = ids.count
            options.expectedGeneratedTokens = tokens
            if plan == nil, modelOptions.ctx == nil, Engine.allowanceToStreamWithin(model: model, options: options) != nil {
                // It will stream within what this process may use: as under --memory-budget, the
                // KV cache is sized for this run.
                options.contextLength = min(model.config.contextLength, ids.count + tokens)
            }
            var hostName: String?
            if let plan {
                let saved = try loadPlan(plan)
                // The devices the host has: from --profile or this host's own profile when there is one.
                let hostProfile = try profile.map { try HostProfileLookup.read($0) } ?? HostProfileLookup.findOwn()?.profile
                try HostDevices.check(saved, profile: hostProfile, numaNodes: modelOptions.file.numaNodes)
                options.plan = saved
                hostName = saved.host
            }
            var profilingSeconds = 0.0
            if plan == nil {
                let started = ProcessInfo.processInfo.systemUptime
                if let found = try await profileForRun() {
                    options.hostProfile = found.profile
                    hostName = found.path
                }
                profilingSeconds = ProcessInfo.processInfo.systemUptime - started
            }
            // Load time counts opening the file and building the engine, not a first-run profile.
            let engine = try Engine(model: model, tokenizer: tok, options: options,
                                    startedAt: monotonicSeconds() - (ProcessInfo.processInfo.systemUptime - t0 - profilingSeconds))
            reportAutomaticBudget(engine)
            let c = engine.model.config
            let nodes = [engine.node] + engine.peers
            let threads = nodes.reduce(0) { $0 + $1.pool.threadCount }
            printError(String(format: "load: %.3f s — %@ (%@, %d layers, d_model %d), %@ of weights, context %d, %d threads%@",
                              engine.loadSeconds, (path as NSString).lastPathComponent, c.architecture, c.blockCount,
                              c.embeddingLength, formatBytes(engine.model.weightBytes), engine.contextLength, threads,
                              nodes.count > 1 ? " on \(nodes.count) CPU nodes (\(nodes.map(\.name).joined(separator: "; ")))" : ""))
            if let line = sparsityLine(engine, asked: modelOptions.file.sparsity) { printError(line) }
            if let line = gpuLine(engine) { printError(line) }
            let p = engine.plan
            printError(String(format: "plan: %@ from %@; predicted %.2f tokens/s, peak %@, time to first token %.3f s",
                              p.strategy, hostName ?? p.host, p.predicted.genTokensPerSecond,
                              formatBytes(p.predicted.hostPeakBytes), p.predicted.timeToFirstTokenSeconds))
            if verbose {
                for r in p.reasons { printError("  plan: \(r)") }
                if !engine.kernelMemoryAccess.isEmpty {
                    printError("  kernels: memory access from the host profile: " + engine.kernelMemoryAccess
                        .sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                }
            }
            let budget = p.devices.first { $0.id == .cpu(0) }?.capacityBytes ?? options.memoryBudget
                ?? engine.automaticBudget?.allowedBytes ?? 0
            if engine.placement.disk != nil { printPlacement(engine, budget: budget, verbose: verbose) }
            if verbose {
                let topo = NUMATopology.current()
                printError("host: \(topo.nodeCount) NUMA node(s) \(topo.cpusByNode); pool pinned to CPUs \(engine.node.pool.cpus)")
                printError("host: CPU \(CoreTypes.hostIsHybrid ? "is hybrid" : "is not hybrid (all cores alike)") per CPUID")
                printError(balancerSummary(engine.node))
                let wp = engine.placement
                if wp.packedMatrices > 0 || !wp.unpackedReasons.isEmpty {
                    let left = wp.unpackedReasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                    let packed = wp.packedMatrices == 0 ? "no matrix in the x16 layout"
                        : "\(wp.packedMatrices) matrices in the x16 layout, \(formatBytes(wp.packedBytes))"
                            + (wp.scheduler == nil ? " (a copy; their file pages were given back)" : " (resident blocks, in place)")
                    printError("weights: " + packed + (left.isEmpty ? "" : "; left in the file layout: \(left)"))
                }
                printError("prompt tokens (\(ids.count)): \(ids)")
                if chat { printError("rendered chat prompt: \(text.debugDescription)") }
            }
            let session = try engine.makeSession()
            let out = FileHandle.standardOutput
            var final: GenerationStats?
            for try await event in session.generate(prompt: ids, maxTokens: tokens, sampling: sampling) {
                switch event {
                case let .token(_, piece):
                    if !piece.isEmpty { out.write(piece.data(using: .utf8)!) }
                case let .finished(stats):
                    final = stats
                }
            }
            out.write("\n".data(using: .utf8)!)
            if let s = final {
                printError(String(format: "prompt: %d tokens in %.3f s, %.1f tokens/s", s.promptTokens, s.promptSeconds,
                                  s.promptTokensPerSecond))
                printError(String(format: "generation: %d tokens, %.1f tokens/s (stopped at the %@)", s.generatedTokens,
                                  s.generationTokensPerSecond, s.stopReason.rawValue))
                printError("peak memory (RSS): \(formatBytes(s.peakResidentBytes))")
                if verbose { printError(balancerSummary(engine.node)) }
                if engine.placement.disk != nil { printStreamingFigures(engine, stats: s, budget: budget) }
                let report = RunStats(stats: s, plan: engine.plan, model: (path as NSString).lastPathComponent, threads: threads)
                if let line = report.comparisonLine { printError(line) }
                if let line = report.selfCheckLine { printError(line) }
                if let statsJson { try report.write(to: statsJson) }
            }
        }
    }
}
