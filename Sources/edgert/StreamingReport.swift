import EdgeRuntime
import EdgeDevices
import Foundation

/// A progress line on standard error while resident weights load (redrawn in place).
func loadProgressPrinter() -> @Sendable (Int, Int) -> Void {
    let start = ProcessInfo.processInfo.systemUptime
    let last = LastPrint()
    return { done, total in
        let now = ProcessInfo.processInfo.systemUptime
        // At most five lines a second, and the last one.
        guard done >= total || last.due(now) else { return }
        let seconds = max(now - start, 1e-6)
        FileHandle.standardError.write(String(format: "\rloading resident weights: %3.0f%% (%@ of %@, %.0f MB/s)%@",
                                              100 * Double(done) / Double(max(total, 1)), formatBytes(done), formatBytes(total),
                                              Double(done) / seconds / 1e6, done >= total ? "\n" : "").data(using: .utf8)!)
    }
}

/// The placement under a memory budget: what is resident, what streams, the window.
func printPlacement(_ engine: Engine, budget: Int, verbose: Bool) {
    let p = engine.placement, plan = engine.plan
    let resident = plan.blocks.filter { $0.tier == .resident }
    let streamed = plan.blocks.count - resident.count
    let streamedBytes = plan.blocks.filter { $0.tier == .streamed }.reduce(0) { $0 + $1.bytes }
    printError("memory budget \(formatBytes(budget)): fixed \(formatBytes(engine.fixedBytes)) (KV cache for \(engine.contextLength) positions, activations for batches of \(engine.batchSize)), "
        + "resident weights \(formatBytes(p.residentBytes)) in \(resident.count) blocks, "
        + "streamed \(formatBytes(streamedBytes)) per pass in \(streamed) blocks, window \(plan.window.slots) × \(formatBytes(plan.window.slotBytes)); "
        + "disk \(p.disk?.directIO == true ? "direct I/O" : "buffered reads, pages dropped")")
    if verbose {
        let rows = plan.blocks.map { $0.tier == .resident ? "R" : "s" }.joined()
        printError("  blocks in pass order (R resident, s streamed): \(rows)")
        printError(String(format: "  predicted: %.2f tokens/s (disk %.3f s, compute %.3f s per token)",
                          plan.predicted.genTokensPerSecond, plan.predicted.diskSeconds, plan.predicted.computeSeconds))
    }
}

/// Bytes read per token, I/O hidden vs exposed, and the roofline.
func printStreamingFigures(_ engine: Engine, stats s: GenerationStats, budget: Int) {
    if let overhead = engine.overheadBytes, let peak = s.peakResidentBytes {
        printError("runtime overhead (RSS before weights, cache and activations): \(formatBytes(overhead)); "
            + "peak above it: \(formatBytes(peak - overhead)) (budget \(formatBytes(budget)))")
    }
    guard let f = s.streaming, f.passes > 0 else { return }
    let perToken = Double(s.generationSeconds) / Double(f.passes)
    let exposedPerToken = f.exposedSeconds / Double(f.passes)
    let computePerToken = max(perToken - exposedPerToken, 1e-9)
    // The disk's bandwidth: the rate planned with (measured at load or the profile's), or what the
    // reads achieved while streaming when that was more; never below what was delivered.
    let achievedRead = f.loadSeconds > 0 ? Double(f.bytesRead) / f.loadSeconds : 0
    let diskRate = max(engine.placement.diskBytesPerSecond, achievedRead)
    let diskBound = f.bytesPerToken > 0 ? diskRate / f.bytesPerToken : .infinity
    let computeBound = 1 / computePerToken
    let roofline = min(diskBound, computeBound)
    let achieved = s.generationTokensPerSecond
    printError(String(format: "streaming: %@ read per token at %.2f GB/s; reading %.3f s per token, %.3f s of it hidden behind compute, %.3f s exposed (compute waited)",
                      formatBytes(Int(f.bytesPerToken)), achievedRead / 1e9, f.loadSeconds / Double(f.passes),
                      f.hiddenSeconds / Double(f.passes), exposedPerToken))
    printError(String(format: "roofline: min(disk %.2f tokens/s at %.2f GB/s [planned %.2f GB/s], compute %.2f tokens/s) = %.2f tokens/s; achieved %.2f tokens/s (%.0f%% of roofline); planner predicted %.2f",
                      diskBound, diskRate / 1e9, engine.placement.diskBytesPerSecond / 1e9, computeBound, roofline, achieved,
                      100 * achieved / roofline, engine.plan.predicted.genTokensPerSecond))
}

/// When the progress line was last drawn.
/// Invariant for `@unchecked Sendable`: loading calls the progress callback from one thread.
private final class LastPrint: @unchecked Sendable {
    private var at = -1.0
    func due(_ now: Double) -> Bool {
        if now - at < 0.2 { return false }
        at = now
        return true
    }
}
