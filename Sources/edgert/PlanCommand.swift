import ArgumentParser
import EdgeCore
import EdgePlanner
import EdgeRuntime
import Foundation

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show where every layer of a model would live and run on a host, and what it should cost.",
        discussion: """
            The host is this machine's profile (Profiles/<host>.json, measured by `edgert profile`), another \
            profile (--profile), or the spec of a host we do not own (--device Devices/X.json). The model is \
            a GGUF file (--model) or a catalogue shape without a file (--shape NAME --type TYPE). \
            The plan goes to standard output as a table, or as JSON with --json; --out also saves the JSON \
            for `edgert run --plan`.
            """)

    @Option(name: .long, help: "Path of a GGUF model file.")
    var model: String?

    @Option(name: .long, help: "A catalogue shape to plan without its file: \(ModelShape.catalogueNames.joined(separator: ", ")).")
    var shape: String?

    @Option(name: .long, help: "Weight type of every matrix of --shape (Q4_0, Q4_1, Q8_0, Q4_K, Q6_K, F16, ...).")
    var type: String = "Q4_0"

    @Option(name: .long, help: "A host profile written by `edgert profile` (default: this host's, in Profiles/).")
    var profile: String?

    @Option(name: .long, help: "A device spec from Devices/ (a host we do not own).")
    var device: String?

    @Option(name: .long, help: ArgumentHelp("Memory for weights, KV cache and activations on the host's RAM, e.g. 4G (default: the host's available memory).", valueName: "size"),
            transform: parseSize("--memory-budget"))
    var memoryBudget: Int?

    @Option(name: .long, help: ArgumentHelp("Memory each GPU may use, e.g. 6G (default: its memory less a reserve).", valueName: "size"),
            transform: parseSize("--gpu-memory-budget"))
    var gpuMemoryBudget: Int?

    @Option(name: .long, help: "Context length in tokens (default: 4096, or the model's trained context when smaller).")
    var ctx: Int?

    @Option(name: .long, help: "Prompt length the time to first token is predicted for.")
    var prompt: Int = 128

    @Option(name: [.customShort("t"), .long], help: "Threads (default: every CPU of the host).")
    var threads: Int?

    @Flag(name: .long, help: "Plan CPU and disk only (no GPU entries).")
    var cpuOnly = false

    @Flag(name: .long, help: "Print the plan as JSON instead of the table.")
    var json = false

    @Option(name: .long, help: "Also write the plan as JSON to this file (for `edgert run --plan`).")
    var out: String?

    func validate() throws {
        if (model == nil) == (shape == nil) { throw ValidationError("give either --model PATH or --shape NAME") }
        if profile != nil && device != nil { throw ValidationError("give --profile or --device, not both") }
        if let ctx, ctx < 1 { throw ValidationError("--ctx must be at least 1 (got \(ctx))") }
        if prompt < 0 { throw ValidationError("--prompt must be 0 or more (got \(prompt))") }
        if let ctx { try checkBound(ctx, InputBounds.contextTokens, "--ctx") }
        try checkBound(prompt, InputBounds.promptTokens, "--prompt")
        if let threads { try checkBound(threads, InputBounds.threads, "--threads") }
        if let memoryBudget { try checkBound(memoryBudget, InputBounds.memoryBytes, "--memory-budget") }
        if let gpuMemoryBudget { try checkBound(gpuMemoryBudget, InputBounds.memoryBytes, "--gpu-memory-budget") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if shape != nil, TensorType.named(type) == nil {
            throw ValidationError("--type: '\(type)' is not a GGUF weight type (examples: Q4_0, Q8_0, Q4_K, F16)")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let manifest: ModelManifest
            if let shape {
                let t = TensorType.named(type)!
                manifest = try ModelManifest(shape: try ModelShape.named(shape), type: t)
            } else {
                manifest = ModelManifest(model: try Model(path: model!))
            }
            let host = try HostProfileLookup.load(profile: profile, device: device)
            var gpuBudgets: [DeviceID: Int] = [:]
            if let gpuMemoryBudget { for g in host.profile.gpus { gpuBudgets[g.id] = gpuMemoryBudget } }
            let context = ctx ?? min(4096, manifest.trainedContextLength)
            let plan = try PlacementPlanner.plan(PlacementRequest(
                manifest: manifest, host: host.profile, memoryBudget: memoryBudget, gpuBudgets: gpuBudgets,
                context: context, promptTokens: min(prompt, context - 1), threads: threads, useGPUs: !cpuOnly))
            let data = try encodePlan(plan)
            if let out { try data.write(to: URL(fileURLWithPath: out)) }
            if json {
                FileHandle.standardOutput.write(data)
                FileHandle.standardOutput.write("\n".data(using: .utf8)!)
            } else {
                print(PlanReport.table(plan, hostFile: host.path))
            }
            if let out { printError("plan written to \(out)") }
        }
    }
}

func parseSize(_ option: String) -> @Sendable (String) throws -> Int {
    { text in
        guard let b = ByteCount(parsing: text) else {
            throw ValidationError("\(option): '\(text)' is not a size (examples: 64M, 1.5G, 800MiB)")
        }
        return Int(b.bytes)
    }
}

func encodePlan(_ plan: PlacementPlan) throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try e.encode(plan)
}

/// Reads a saved plan, naming the file in errors.
func loadPlan(_ path: String) throws -> PlacementPlan {
    // A plan is kilobytes to a few megabytes (one entry per weight block); a file far larger is
    // not one, and is not read into memory.
    let limit = 256 << 20
    if let attributes = try? FileManager.default.attributesOfItem(atPath: path) {
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw HostLookupError.invalidPlan(path, detail: "not a regular file")
        }
        if let size = attributes[.size] as? Int, size > limit {
            throw HostLookupError.invalidPlan(path, detail: "\(size) bytes is larger than a plan can be (\(limit) bytes at most)")
        }
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw HostLookupError.missing(path, what: "plan")
    }
    do {
        return try JSONDecoder().decode(PlacementPlan.self, from: data)
    } catch {
        throw HostLookupError.invalidPlan(path, detail: "\(error)")
    }
}

/// The readable form of a plan.
enum PlanReport {
    static func table(_ p: PlacementPlan, hostFile: String?) -> String {
        var lines: [String] = []
        let gib = { (b: Int) in bytes(b) }
        lines.append("plan: \(p.model.name) (\(p.model.type), \(gib(p.model.weightBytesPerToken)) of weights per token) on \(p.host) (\(p.hostKind.rawValue)\(hostFile.map { ", \($0)" } ?? ""))")
        lines.append("context \(p.context) tokens, prompt \(p.promptTokens) tokens in batches of \(p.batch); strategy \(p.strategy)")
        lines.append("")
        lines.append(row(["device", "kind", "capacity", "weights", "other", "GB/s", "predicted peak"]))
        for d in p.devices {
            let peak = p.predicted.peakMemoryBytes[d.id].map(gib) ?? (d.kind == .disk ? "\(gib(d.weightBytes))/token read" : "-")
            lines.append(row([d.id.description, d.kind.rawValue, d.kind == .disk ? (d.capacityBytes > 0 ? gib(d.capacityBytes) : "-") : gib(d.capacityBytes),
                              gib(d.weightBytes), d.kind == .disk ? "-" : gib(d.otherBytes), String(format: "%.1f", d.rateGBPerS), peak]))
        }
        lines.append("")
        lines.append("blocks in pass order (runs of blocks placed alike):")
        var i = 0
        while i < p.blocks.count {
            var j = i + 1
            while j < p.blocks.count, same(p.blocks[i], p.blocks[j]) { j += 1 }
            let run = p.blocks[i..<j]
            let where_ = run.first!.shares.map { s in s.fraction < 0.999 ? "\(s.device) \(Int((s.fraction * 100).rounded()))%" : s.device.description }.joined(separator: " + ")
            let names = j - i == 1 ? run.first!.name : "\(run.first!.name) … \(run.last!.name)"
            lines.append("  \(pad("\(j - i) block\(j - i == 1 ? "" : "s")", 11)) \(pad(gib(run.reduce(0) { $0 + $1.bytes }), 10)) \(pad(run.first!.tier.rawValue, 9)) \(pad(where_, 22)) \(names)")
            i = j
        }
        lines.append("")
        if p.window.slots > 0 {
            lines.append("window: \(p.window.slots) slot\(p.window.slots == 1 ? "" : "s") × \(gib(p.window.slotBytes)) in CPU memory; reads \(p.window.overlapped ? "overlap" : "do not overlap") compute")
        }
        lines.append("threads: \(p.threads.count) on CPUs \(p.threads.cpus.map(String.init).joined(separator: ",")); starting shares \(p.threads.startingShares.map { String(format: "%.2f", $0) }.joined(separator: " "))")
        lines.append("KV cache: " + p.kvCache.map { "\($0.device) \($0.layers) layers \(gib($0.bytes))" }.joined(separator: ", "))
        let pr = p.predicted
        lines.append(String(format: "predicted: time to first token %.3f s (%d prompt tokens); generation %.2f tokens/s (compute %.2f ms, disk %.2f ms, transfers %.2f ms per token); peak %@",
                            pr.timeToFirstTokenSeconds, p.promptTokens, pr.genTokensPerSecond, pr.computeSeconds * 1000,
                            pr.diskSeconds * 1000, pr.transferSeconds * 1000,
                            pr.peakMemoryBytes.sorted { $0.key < $1.key }.map { "\($0.key) \(gib($0.value))" }.joined(separator: ", ")))
        lines.append("")
        lines.append("why:")
        for r in p.reasons { lines.append("  - \(r)") }
        return lines.joined(separator: "\n")
    }

    private static func same(_ a: PlacementPlan.BlockPlacement, _ b: PlacementPlan.BlockPlacement) -> Bool {
        a.tier == b.tier && a.shares.count == b.shares.count
            && zip(a.shares, b.shares).allSatisfy { $0.device == $1.device && abs($0.fraction - $1.fraction) < 1e-6 }
    }

    private static func row(_ cells: [String]) -> String {
        let widths = [8, 5, 11, 11, 11, 7, 16]
        return "  " + zip(cells, widths).map { pad($0, $1) }.joined(separator: " ")
    }

    private static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

    static func bytes(_ b: Int) -> String {
        let v = Double(b)
        if v >= 1073741824 { return String(format: "%.2f GiB", v / 1073741824) }
        if v >= 1048576 { return String(format: "%.1f MiB", v / 1048576) }
        return String(format: "%.0f KiB", v / 1024)
    }
}
