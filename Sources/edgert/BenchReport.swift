import EdgeRuntime
import EdgeDevices
import EdgeFormats
import Foundation

/// The figures of one `edgert bench` run and their renderings: a markdown table like
/// llama-bench's, or a JSON array with llama-bench's field names plus edgert's own.
struct BenchReport {
    /// One test on one thread count.
    struct Row {
        let result: BenchmarkResult
        let startedAt: Date
    }

    /// The model path as given (llama-bench's `model_filename`).
    let path: String
    /// "llama 135M Q8_0": architecture, parameter count, quantization mix.
    let modelType: String
    /// Bytes of all tensors (llama-bench's `model_size`).
    let modelBytes: Int
    let parameterCount: Int
    /// Weight bytes one forward pass of one token reads: every matrix once, plus the output.
    let weightBytesPerToken: Int
    let memoryBudget: Int?
    let repetitions: Int
    let warmup: Bool
    /// How the pool split each parallel op between its threads.
    let balance: WorkerPool.Balance
    /// Cost of one empty parallel region in nanoseconds, by thread count (measured before the tests).
    var regionNanoseconds: [Int: Double] = [:]
    /// Measured memory read bandwidth in bytes/s, by thread count (empty with --no-roofline).
    var bandwidth: [Int: Double] = [:]
    /// Disk read bandwidth the streaming planner measured at load, bytes/s, by thread count (with a budget).
    var diskProbe: [Int: Double] = [:]
    private(set) var rows: [Row] = []

    init(model: Model, path: String, memoryBudget: Int?, repetitions: Int, warmup: Bool, balance: WorkerPool.Balance = .dynamic) throws {
        self.balance = balance
        self.path = path
        parameterCount = model.file.parameterCount
        modelType = "\(model.config.architecture) \(Self.countLabel(parameterCount)) \(try model.file.quantizationDescription())"
        modelBytes = model.weightBytes
        weightBytesPerToken = model.weights.bytesPerToken
        self.memoryBudget = memoryBudget
        self.repetitions = repetitions
        self.warmup = warmup
    }

    mutating func add(_ result: BenchmarkResult, startedAt: Date) {
        rows.append(Row(result: result, startedAt: startedAt))
    }

    /// Weight bytes per second a generation test achieved (nil for prompt tests).
    func weightBytesPerSecond(_ row: Row) -> Double? {
        row.result.test.kind == .generation ? Double(weightBytesPerToken) * row.result.meanTokensPerSecond : nil
    }

    /// The memory bandwidth measured with the row's thread count, bytes/s.
    func memoryBandwidth(_ row: Row) -> Double? { bandwidth[row.result.threads] }

    /// Weight bytes per second as a percentage of the memory bandwidth (generation tests only).
    func rooflinePercent(_ row: Row) -> Double? {
        guard let w = weightBytesPerSecond(row), let b = memoryBandwidth(row), b > 0 else { return nil }
        return 100 * w / b
    }

    /// Bytes per second read from disk during the timed runs (streamed runs only).
    func streamedBytesPerSecond(_ row: Row) -> Double? {
        row.result.streamedBytesPerToken.map { $0 * row.result.meanTokensPerSecond }
    }

    // MARK: markdown

    func markdown() -> String {
        let roofline = !bandwidth.isEmpty
        let streamed = memoryBudget != nil
        var header = ["model file", "model", "size", "params", "threads", "test", "t/s", "weights GB/s"]
        var rightAligned: Set<Int> = [2, 3, 4, 5, 6, 7]
        if roofline {
            header += ["mem GB/s", "% roofline"]
            rightAligned.formUnion([header.count - 2, header.count - 1])
        }
        if streamed {
            header += ["streamed MiB/token", "disk GB/s"]
            rightAligned.formUnion([header.count - 2, header.count - 1])
        }
        let name = (path as NSString).lastPathComponent
        var table: [[String]] = []
        for row in rows {
            let r = row.result
            var cells = [name, modelType, Self.sizeText(modelBytes), Self.paramsText(parameterCount), "\(r.threads)", "\(r.test)",
                         String(format: "%.2f ± %.2f", r.meanTokensPerSecond, r.standardDeviationTokensPerSecond),
                         weightBytesPerSecond(row).map { String(format: "%.2f", $0 / 1e9) } ?? ""]
            if roofline {
                let generation = r.test.kind == .generation
                cells.append(generation ? memoryBandwidth(row).map { String(format: "%.2f", $0 / 1e9) } ?? "" : "")
                cells.append(rooflinePercent(row).map { String(format: "%.0f%%", $0) } ?? "")
            }
            if streamed {
                cells.append(r.streamedBytesPerToken.map { String(format: "%.2f", $0 / 1048576) } ?? "0")
                cells.append(streamedBytesPerSecond(row).map { String(format: "%.2f", $0 / 1e9) } ?? "")
            }
            table.append(cells)
        }
        let widths = header.indices.map { i in max(header[i].count, table.map { $0[i].count }.max() ?? 0, 3) }
        func line(_ cells: [String]) -> String {
            "| " + cells.indices.map { i in
                let pad = String(repeating: " ", count: widths[i] - cells[i].count)
                return rightAligned.contains(i) ? pad + cells[i] : cells[i] + pad
            }.joined(separator: " | ") + " |"
        }
        let rule = "| " + widths.indices.map { i in
            rightAligned.contains(i) ? String(repeating: "-", count: widths[i] - 1) + ":" : String(repeating: "-", count: widths[i])
        }.joined(separator: " | ") + " |"
        return ([line(header), rule] + table.map(line)).joined(separator: "\n")
    }

    /// What the figures mean and what they leave out, one line each.
    func notes() -> [String] {
        let batch = rows.first?.result.batchSize ?? 0
        var out = ["Excluded: tokenization and sampling (ppN evaluates N seeded random token ids as one prompt in batches of \(batch); "
            + "tgN evaluates N seeded random ids one at a time, the next token never chosen from the logits); model load time is not counted. "
            + (warmup ? "One untimed warm-up run per test, then " : "No warm-up; ")
            + "\(repetitions) timed repetition\(repetitions == 1 ? "" : "s"); t/s is their mean ± sample standard deviation."]
        out.append("Balance: \(balance.rawValue) (" + (balance == .dynamic
            ? "each op's shares follow the threads' measured speeds; a finished thread takes unstarted chunks of the others'"
            : "equal shares, each computed by its own thread") + ")"
            + (regionNanoseconds.isEmpty ? "." : "; one empty parallel region costs "
                + regionNanoseconds.sorted { $0.key < $1.key }.map { String(format: "%.2f us with %d thread%@", $0.value / 1e3, $0.key, $0.key == 1 ? "" : "s") }.joined(separator: ", ")
                + "."))
        if rows.contains(where: { $0.result.test.kind == .generation }) {
            out.append(String(format: "weights GB/s = %.1f MiB of weights read per generated token (every matrix once, plus the output projection) × t/s.",
                              Double(weightBytesPerToken) / 1048576))
            if !bandwidth.isEmpty {
                out.append("mem GB/s = main-memory read bandwidth measured with the same threads (\(MemoryBandwidth.defaultProbeBytes >> 20) MiB buffer, "
                    + "\(MemoryBandwidth.loadWidth) loads, fastest of \(MemoryBandwidth.defaultPasses) passes, probed before and after the tests and the larger kept); "
                    + "% roofline = weights GB/s ÷ mem GB/s.")
                out.append(String(format: "Note: weights that partly fit in the last-level cache (these are %.1f MiB) are partly read from the cache, "
                    + "faster than from memory, so their %% roofline can exceed 100.", Double(weightBytesPerToken) / 1048576))
            }
        }
        if let memoryBudget {
            let probes = diskProbe.sorted { $0.key < $1.key }.map { String(format: "%.2f", $0.value / 1e9) }
            out.append("Memory budget \(formatBytes(memoryBudget)): weights that do not fit stream from disk; "
                + "streamed MiB/token = bytes read from disk per evaluated token during the timed runs, disk GB/s = that × t/s"
                + (probes.isEmpty ? "" : " (planned with a disk rate of \(Set(probes).count == 1 ? probes[0] : probes.joined(separator: ", ")) GB/s, measured at load or the host profile's)")
                + "; while weights stream, the disk rather than memory bounds generation.")
        }
        return out
    }

    // MARK: JSON

    /// One test in llama-bench's JSON shape (its field names at this border), with edgert's additions.
    struct Record: Encodable {
        let modelFilename: String
        let modelType: String
        let modelSize: Int
        let modelNParams: Int
        let backends = "CPU"
        let nBatch: Int
        let nUbatch: Int
        let nThreads: Int
        let nPrompt: Int
        let nGen: Int
        let testTime: String
        let avgNs: Int
        let stddevNs: Int
        let avgTs: Double
        let stddevTs: Double
        let samplesNs: [Int]
        let samplesTs: [Double]
        let weightBytesPerToken: Int
        let weightGbps: Double?
        let rooflineGbps: Double?
        let rooflinePct: Double?
        let memoryBudget: Int?
        let streamedBytesPerToken: Double?
        let streamedGbps: Double?
        let warmup: Bool
        let balance: String
        let regionNs: Double?
        let ffnDensity: Double?

        enum CodingKeys: String, CodingKey {
            case modelFilename = "model_filename", modelType = "model_type", modelSize = "model_size"
            case modelNParams = "model_n_params", backends, nBatch = "n_batch", nUbatch = "n_ubatch"
            case nThreads = "n_threads", nPrompt = "n_prompt", nGen = "n_gen", testTime = "test_time"
            case avgNs = "avg_ns", stddevNs = "stddev_ns", avgTs = "avg_ts", stddevTs = "stddev_ts"
            case samplesNs = "samples_ns", samplesTs = "samples_ts"
            case weightBytesPerToken = "weight_bytes_per_token", weightGbps = "weight_gbps"
            case rooflineGbps = "roofline_gbps", rooflinePct = "roofline_pct", memoryBudget = "memory_budget"
            case streamedBytesPerToken = "streamed_bytes_per_token", streamedGbps = "streamed_gbps", warmup
            case balance, regionNs = "region_ns", ffnDensity = "ffn_density"
        }
    }

    func records() -> [Record] {
        let iso = ISO8601DateFormatter()
        return rows.map { row in
            let r = row.result
            let generation = r.test.kind == .generation
            return Record(
                modelFilename: path, modelType: modelType, modelSize: modelBytes, modelNParams: parameterCount,
                nBatch: r.batchSize, nUbatch: r.batchSize, nThreads: r.threads,
                nPrompt: generation ? 0 : r.test.tokens, nGen: generation ? r.test.tokens : 0,
                testTime: iso.string(from: row.startedAt),
                avgNs: Int((r.meanSeconds * 1e9).rounded()), stddevNs: Int((r.standardDeviationSeconds * 1e9).rounded()),
                avgTs: r.meanTokensPerSecond, stddevTs: r.standardDeviationTokensPerSecond,
                samplesNs: r.sampleSeconds.map { Int(($0 * 1e9).rounded()) }, samplesTs: r.sampleTokensPerSecond,
                weightBytesPerToken: weightBytesPerToken,
                weightGbps: weightBytesPerSecond(row).map { $0 / 1e9 },
                rooflineGbps: generation ? memoryBandwidth(row).map { $0 / 1e9 } : nil,
                rooflinePct: rooflinePercent(row),
                memoryBudget: memoryBudget, streamedBytesPerToken: r.streamedBytesPerToken,
                streamedGbps: streamedBytesPerSecond(row).map { $0 / 1e9 }, warmup: warmup,
                balance: balance.rawValue, regionNs: regionNanoseconds[r.threads], ffnDensity: r.feedForwardDensity)
        }
    }

    /// The JSON array, pretty-printed with sorted keys (so runs compare line by line), with a final newline.
    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(records())
        data.append(0x0A)
        return data
    }

    // MARK: units

    /// 134515008 -> "135M" (K, M, B: thousands, millions, billions).
    static func countLabel(_ n: Int) -> String {
        let x = Double(n)
        if x >= 1e9 { return String(format: "%.1fB", x / 1e9) }
        if x >= 1e6 { return String(format: "%.0fM", x / 1e6) }
        if x >= 1e3 { return String(format: "%.0fK", x / 1e3) }
        return "\(n)"
    }

    /// llama-bench's size column: MiB below one GiB, else GiB.
    static func sizeText(_ bytes: Int) -> String {
        bytes < 1 << 30 ? String(format: "%.2f MiB", Double(bytes) / 1048576) : String(format: "%.2f GiB", Double(bytes) / 1073741824)
    }

    /// llama-bench's params column: "134.52 M", "1.24 B", "263.74 K".
    static func paramsText(_ n: Int) -> String {
        let x = Double(n)
        if x >= 1e9 { return String(format: "%.2f B", x / 1e9) }
        if x >= 1e6 { return String(format: "%.2f M", x / 1e6) }
        return String(format: "%.2f K", x / 1e3)
    }
}
