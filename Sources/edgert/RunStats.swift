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

    enum CodingKeys: String, CodingKey {
        case model, host, strategy, threads, promptTokens = "prompt_tokens", promptTokensPerSecond = "prompt_tokens_per_s",
             timeToFirstTokenSeconds = "time_to_first_token_s", generatedTokens = "gen_tokens",
             genTokensPerSecond = "gen_tokens_per_s", peakRSSBytes = "peak_rss_bytes", predicted
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
    /// `cpu<node>` for each NUMA node, the profile's GPUs (this build finds none itself), `disk`.
    static func available(profile: HostProfile?) -> [String] {
        let nodes = NUMATopology.current().nodeCount
        var ids = (0..<nodes).map { "cpu\($0)" }
        if let profile { ids += profile.gpus.map(\.id) }
        return ids + ["disk"]
    }

    static func check(_ plan: PlacementPlan, profile: HostProfile?) throws {
        let have = available(profile: profile)
        if let missing = plan.devicesUsed.subtracting(have).sorted().first {
            throw PlacementError.unknownDevice(missing, host: profile?.host.name ?? "this host", available: have)
        }
    }
}
