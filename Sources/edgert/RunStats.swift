import EdgeCore
import EdgeDevices
import EdgePlanner
import EdgeRuntime
import Foundation

/// A run's measured figures beside the plan's predictions: printed after `run`, and written by
/// `run --stats-json FILE`.
struct RunStats: Encodable {
    struct Predicted: Encodable {
        var genTokensPerSecond: Double
        var peakMemoryBytes: Int
        var timeToFirstTokenSeconds: Double

        enum CodingKeys: String, CodingKey {
            case genTokensPerSecond = "gen_tokens_per_s", peakMemoryBytes = "peak_memory_bytes",
                 timeToFirstTokenSeconds = "time_to_first_token_s"
        }
    }

    var model: String
    var host: String?
    var strategy: String?
    var threads: Int
    var promptTokens: Int
    var promptTokensPerSecond: Double
    var timeToFirstTokenSeconds: Double
    var generatedTokens: Int
    var genTokensPerSecond: Double
    var peakRSSBytes: Int?
    var predicted: Predicted?
    /// Each term of the cost model, predicted beside measured.
    var terms: [Term] = []

    /// One term of the cost model: what the plan predicted for it and what the run measured.
    struct Term: Encodable {
        var name: String
        var unit: String
        var predicted: Double
        var measured: Double
        /// (predicted − measured) / measured, in percent.
        var errorPercent: Double { measured != 0 ? 100 * (predicted - measured) / measured : 0 }

        enum CodingKeys: String, CodingKey { case name, unit, predicted, measured, errorPercent = "error_pct" }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(unit, forKey: .unit)
            try c.encode(predicted, forKey: .predicted)
            try c.encode(measured, forKey: .measured)
            try c.encode(errorPercent, forKey: .errorPercent)
        }
    }

    enum CodingKeys: String, CodingKey {
        case model, host, strategy, threads, promptTokens = "prompt_tokens", promptTokensPerSecond = "prompt_tokens_per_s",
             timeToFirstTokenSeconds = "time_to_first_token_s", generatedTokens = "gen_tokens",
             genTokensPerSecond = "gen_tokens_per_s", peakRSSBytes = "peak_rss_bytes", predicted, terms
    }

    init(stats s: GenerationStats, plan: PlacementPlan?, model: String, threads: Int) {
        self.model = model
        host = plan?.host
        strategy = plan?.strategy
        self.threads = threads
        promptTokens = s.promptTokens
        promptTokensPerSecond = s.promptTokensPerSecond
        timeToFirstTokenSeconds = s.promptSeconds
        generatedTokens = s.generatedTokens
        genTokensPerSecond = s.generationTokensPerSecond
        peakRSSBytes = s.peakResidentBytes
        predicted = plan.map {
            Predicted(genTokensPerSecond: $0.predicted.genTokensPerSecond, peakMemoryBytes: $0.predicted.hostPeakBytes,
                      timeToFirstTokenSeconds: $0.predicted.timeToFirstTokenSeconds)
        }
        if let plan { terms = Self.terms(plan, s) }
    }

    /// The cost model's terms this run can check: compute per token (the token's time less the
    /// reading it waited for), the disk's rate while streaming, peak memory, time to first token.
    static func terms(_ plan: PlacementPlan, _ s: GenerationStats) -> [Term] {
        var out: [Term] = []
        let p = plan.predicted
        let passes = s.streaming?.passes ?? s.evaluatedGenerationTokens
        if passes > 0, s.generationSeconds > 0 {
            let exposed = s.streaming.map { $0.exposedSeconds / Double(max($0.passes, 1)) } ?? 0
            let compute = s.generationSeconds / Double(passes) - exposed
            out.append(Term(name: "compute", unit: "ms per token", predicted: 1e3 * p.computeSeconds, measured: 1e3 * compute))
        }
        if let f = s.streaming, f.loadSeconds > 0, f.bytesRead > 0, p.diskSeconds > 0,
           let streamed = plan.devices.first(where: { $0.id == .disk })?.weightBytes, streamed > 0 {
            out.append(Term(name: "disk", unit: "GB/s", predicted: Double(streamed) / p.diskSeconds / 1e9,
                            measured: Double(f.bytesRead) / f.loadSeconds / 1e9))
        }
        if let peak = s.peakResidentBytes {
            out.append(Term(name: "peak memory", unit: "MiB", predicted: Double(p.hostPeakBytes) / 1048576, measured: Double(peak) / 1048576))
        }
        if s.promptSeconds > 0 {
            out.append(Term(name: "time to first token", unit: "s", predicted: p.timeToFirstTokenSeconds, measured: s.promptSeconds))
        }
        return out
    }

    /// The term furthest from its prediction, when it is off by more than the planner's stated
    /// tolerance (``PlacementPlanner/predictionTolerance``): `self-check: …`, else nil.
    var selfCheckLine: String? {
        guard let worst = terms.max(by: { abs($0.errorPercent) < abs($1.errorPercent) }),
              abs(worst.errorPercent) > 100 * PlacementPlanner.predictionTolerance else { return nil }
        let digits = worst.measured >= 100 ? "%.0f" : (worst.measured >= 1 ? "%.2f" : "%.3f")
        return "self-check: the cost model's furthest term is \(worst.name): predicted "
            + String(format: digits, worst.predicted) + ", measured " + String(format: digits, worst.measured)
            + " \(worst.unit) (" + String(format: "%+.0f%%", worst.errorPercent) + String(format: "; tolerance ±%.0f%%)", 100 * PlacementPlanner.predictionTolerance)
    }

    /// `predicted vs measured: …`, or nil without a plan.
    var comparisonLine: String? {
        guard let p = predicted else { return nil }
        func pct(_ measured: Double, _ predicted: Double) -> String {
            measured > 0 ? String(format: "%+.0f%%", 100 * (predicted - measured) / max(measured, 1e-12)) : "n/a"
        }
        var parts = [String(format: "generation %.2f predicted / %.2f measured tokens/s (%@)", p.genTokensPerSecond,
                            genTokensPerSecond, pct(genTokensPerSecond, p.genTokensPerSecond))]
        if let peak = peakRSSBytes {
            parts.append(String(format: "peak memory %@ predicted / %@ measured (%@)", formatBytes(p.peakMemoryBytes), formatBytes(peak),
                                pct(Double(peak), Double(p.peakMemoryBytes))))
        }
        parts.append(String(format: "time to first token %.3f / %.3f s", p.timeToFirstTokenSeconds, timeToFirstTokenSeconds))
        return "predicted vs measured: " + parts.joined(separator: "; ")
    }

    func write(to path: String) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try e.encode(self).write(to: URL(fileURLWithPath: path))
    }
}

/// Devices of this host, for refusing a plan that names one it lacks.
enum HostDevices {
    /// `cpu<node>` for each NUMA node, the host's Vulkan devices (`gpu<N>` in the loader's order,
    /// else the profile's GPUs), `disk`.
    static func available(profile: HostProfile?, numaNodes: Int? = nil) -> [DeviceID] {
        let nodes = max(NUMATopology.current().nodeCount, numaNodes ?? 0)
        var ids = (0..<nodes).map { DeviceID.cpu($0) }
        if let vulkan = try? vulkanDevices(), !vulkan.isEmpty {
            ids += vulkan.map { .gpu($0.index) }
        } else if let profile {
            ids += profile.gpus.map(\.id)
        }
        return ids + [.disk]
    }

    /// - Parameter numaNodes: `--numa-nodes`, which makes that many CPU nodes on a host with fewer.
    static func check(_ plan: PlacementPlan, profile: HostProfile?, numaNodes: Int? = nil) throws {
        let have = available(profile: profile, numaNodes: numaNodes)
        if let missing = plan.devicesUsed.subtracting(have).sorted().first {
            throw PlacementError.unknownDevice(missing, host: profile?.host.name ?? "this host", available: have)
        }
    }
}
