import ArgumentParser
import EdgeRuntime
import EdgeCore
import EdgeDevices
import EdgeTokenizer
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt processing and generation speed, in the manner of llama.cpp's llama-bench.",
        discussion: """
            Each thread count runs every test: ppN evaluates N seeded random token ids as one prompt from an empty \
            cache (in batches of the engine's batch size); tgN evaluates N tokens one at a time from an empty \
            context, each next token a pre-drawn seeded random id, so neither tokenization nor sampling is timed. \
            Model loading is not counted. One untimed warm-up run precedes the repetitions of each test. \
            The context is sized for the largest test unless --ctx is given. \
            The table (or, with --json, a JSON array with llama-bench's field names) goes to standard output; \
            progress goes to standard error.
            """)

    @OptionGroup var modelFile: ModelFileOptions

    @Option(name: .customShort("p"), help: ArgumentHelp("Prompt lengths to test, comma-separated, or 'none' (default: 512).", valueName: "n,..."),
            transform: { try BenchCommand.parseCounts($0, option: "-p", what: "prompt") })
    var promptLengths: [[Int]] = [[512]]

    @Option(name: .customShort("n"), help: ArgumentHelp("Numbers of tokens to generate, comma-separated, or 'none' (default: 128).", valueName: "n,..."),
            transform: { try BenchCommand.parseCounts($0, option: "-n", what: "generation") })
    var generationLengths: [[Int]] = [[128]]

    @Option(name: [.customShort("t"), .long], help: ArgumentHelp("Thread counts to test, comma-separated (default: every CPU this process may use).", valueName: "n,..."),
            transform: { try BenchCommand.parseCounts($0, option: "-t", what: "thread", allowNone: false) })
    var threads: [[Int]] = []

    @Option(name: .customShort("r"), help: "Timed repetitions of each test.")
    var repetitions = 5

    @Flag(name: .long, help: "Print a JSON array, one object per test, instead of the table.")
    var json = false

    @Flag(name: .long, help: "Skip the untimed warm-up run before each test.")
    var noWarmup = false

    @Flag(name: .long, help: "Do not measure the memory bandwidth (the probe reads a 1 GiB buffer, outside any --memory-budget); no roofline figures.")
    var noRoofline = false

    var tests: [BenchmarkTest] {
        promptLengths.joined().map { BenchmarkTest(.prompt, tokens: $0) }
            + generationLengths.joined().map { BenchmarkTest(.generation, tokens: $0) }
    }

    /// The thread counts to sweep, in the order given.
    var threadCounts: [Int] {
        let given = Array(threads.joined())
        return given.isEmpty ? [max(1, WorkerPool.allowedCPUs().count)] : given
    }

    func validate() throws {
        if repetitions < 1 { throw ValidationError("-r must be at least 1 (got \(repetitions))") }
        try checkBound(repetitions, InputBounds.repetitions, "-r")
        if tests.isEmpty { throw ValidationError("nothing to measure: -p and -n are both 'none'") }
        let cpus = WorkerPool.allowedCPUs()
        for t in threads.joined() where t > max(cpus.count, 1) {
            throw ValidationError("-t \(t): this process may run on \(cpus.count) CPU\(cpus.count == 1 ? "" : "s") (\(cpus.map(String.init).joined(separator: ","))), so thread counts must be 1 to \(cpus.count)")
        }
        for t in threads.joined() { try checkBound(t, InputBounds.threads, "-t") }
        if let ctx = modelFile.ctx, let largest = tests.max(by: { $0.positions < $1.positions }), largest.positions > ctx {
            throw ValidationError("--ctx \(ctx) is too small: \(largest) needs \(largest.positions) positions")
        }
    }

    /// "512", "64,512", "none" -> counts, each at least 1.
    static func parseCounts(_ text: String, option: String, what: String, allowNone: Bool = true) throws -> [Int] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if allowNone && trimmed == "none" { return [] }
        let hint = allowNone ? " (\(option) none skips the \(what) tests)" : ""
        return try trimmed.split(separator: ",", omittingEmptySubsequences: false).map { part in
            let p = part.trimmingCharacters(in: .whitespaces)
            guard let n = Int(p) else {
                throw ValidationError("'\(p)' is not a \(what) count; give whole numbers of at least 1, separated by commas\(hint)")
            }
            guard n >= 1 else { throw ValidationError("a \(what) count must be at least 1, not \(n)\(hint)") }
            // Each test's positions (prompt + generated) must fit a context: no count beyond its bound.
            try checkBound(n, 1...InputBounds.contextTokens.upperBound, option)
            return n
        }
    }

    func run() async throws {
        try await reportingErrors {
            let path = try modelFile.resolvedModelPath()
            let model = try Model(path: path)
            let tokenizer = try Tokenizer(gguf: model.file)
            let tests = self.tests
            let context = modelFile.ctx ?? tests.map(\.positions).max()!
            var report = try BenchReport(model: model, path: path, memoryBudget: modelFile.memoryBudget,
                                         repetitions: repetitions, warmup: !noWarmup, balance: modelFile.balance)
            let name = (path as NSString).lastPathComponent
            for t in threadCounts {
                var options = modelFile.engineOptions(threads: t, contextOverride: context)
                options.loadProgress = loadProgressPrinter()
                let engine = try Engine(model: model, tokenizer: tokenizer, options: options)
                reportAutomaticBudget(engine)
                let threadWord = "\(t) thread\(t == 1 ? "" : "s")"
                printError("bench: \(name), \(threadWord), \(engine.node.pool.balance.rawValue) balance: batch \(engine.batchSize), context \(engine.contextLength), CPUs \(engine.node.pool.cpus.isEmpty ? "not pinned" : engine.node.pool.cpus.map(String.init).joined(separator: ","))")
                if let line = sparsityLine(engine, asked: modelFile.sparsity) { printError("bench: " + line) }
                if let line = gpuLine(engine) { printError("bench: " + line) }
                if let budget = modelFile.memoryBudget ?? engine.automaticBudget?.allowedBytes {
                    printPlacement(engine, budget: budget, verbose: false)
                    if engine.placement.scheduler != nil { report.diskProbe[t] = engine.placement.diskBytesPerSecond }
                }
                let regionNs = try await engine.node.run { pool in pool.measureRegionNanoseconds(regions: 20_000) }
                report.regionNanoseconds[t] = regionNs
                printError(String(format: "bench: one empty parallel region, %@: %.3f us", threadWord, regionNs / 1e3))
                if !noRoofline {
                    let rate = try await engine.node.run { pool in try MemoryBandwidth.measure(pool: pool) }
                    report.bandwidth[t] = rate
                    printError(String(format: "bench: memory bandwidth, %@: %.2f GB/s", threadWord, rate / 1e9))
                }
                for test in tests {
                    let started = Date()
                    engine.node.pool.resetStats()
                    let progress = ProgressLine(prefix: "bench: \(test), \(threadWord): \(noWarmup ? "" : "warm-up, then ")\(repetitions) runs:")
                    let tokens = Double(test.tokens)
                    let result: BenchmarkResult
                    do {
                        result = try await Benchmark.run(test, on: engine, repetitions: repetitions, warmup: !noWarmup) { _, seconds in
                            progress.add(String(format: " %.1f", tokens / seconds))
                        }
                    } catch {
                        progress.finish("")  // the error goes on a line of its own
                        throw error
                    }
                    progress.finish(String(format: " t/s -> %.2f ± %.2f", result.meanTokensPerSecond, result.standardDeviationTokensPerSecond))
                    printError("bench: \(test), \(threadWord): " + balancerSummary(engine.node))
                    if let d = result.feedForwardDensity {
                        printError(String(format: "bench: %@, %@: %.1f%% of feed-forward neurons computed", test.description, threadWord, d * 100))
                    }
                    report.add(result, startedAt: started)
                }
                if let sparse = engine.sparse, let up = engine.model.weights.layers.first?[.up] {
                    // The roofline of the sparse path: its reads are scattered rows, not a stream.
                    let density = 1 - sparse.level
                    let (scattered, sequential) = try await engine.node.run { pool in
                        (try MemoryBandwidth.measureScattered(pool: pool, unit: up.rowBytes, density: density),
                         try MemoryBandwidth.measureScattered(pool: pool, unit: up.rowBytes, density: 1))
                    }
                    printError(String(format: "bench: sparse reads, %@: %d-byte pieces (a W_up row, rounded up to 256 bytes), %.0f%% of them: %.2f GB/s; all of them in order: %.2f GB/s: reading the selected rows takes %.2fx the time of reading all",
                                      threadWord, (up.rowBytes + 255) / 256 * 256, density * 100, scattered / 1e9, sequential / 1e9, density * sequential / scattered))
                }
                if let before = report.bandwidth[t] {
                    // Memory is shared with whatever else runs on the host: a second probe after the
                    // tests, the larger kept, makes a moment of contention less likely to set the roofline.
                    let after = try await engine.node.run { pool in try MemoryBandwidth.measure(pool: pool) }
                    report.bandwidth[t] = max(before, after)
                    printError(String(format: "bench: memory bandwidth, %@, after the tests: %.2f GB/s (roofline: %.2f GB/s)",
                                      threadWord, after / 1e9, max(before, after) / 1e9))
                }
            }
            if json {
                FileHandle.standardOutput.write(try report.json())
                for line in report.notes() { printError(line) }
            } else {
                print(report.markdown())
                print("")
                for line in report.notes() { print(line) }
            }
        }
    }
}

/// One progress line on standard error, written piece by piece as repetitions finish.
private struct ProgressLine: Sendable {
    init(prefix: String) { write(prefix) }
    func add(_ piece: String) { write(piece) }
    func finish(_ piece: String) { write(piece + "\n") }
    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
