/// What the streaming planner decides for a model that may not fit its memory budget: which weight
/// blocks stay resident, how many window slots stream the rest, and what that should cost.
public struct StreamingPlan: Sendable, Equatable {
    /// For each block (in consumption order): true when it is kept in memory, false when streamed.
    public let resident: [Bool]
    /// Slots of the streaming window (0 when nothing is streamed).
    public let window: Int
    /// Bytes of one slot (the largest streamed block's aligned span).
    public let slotBytes: Int
    /// Bytes of resident weight blocks.
    public let residentBytes: Int
    /// Bytes read from disk by one forward pass.
    public let streamedBytesPerPass: Int
    /// Memory the plan commits: fixed buffers + resident blocks + window.
    public let plannedBytes: Int
    /// Predicted seconds of one forward pass of a single token, and its two bounds.
    public let predictedDiskSeconds: Double
    public let predictedComputeSeconds: Double
    /// Reading overlaps compute (a window of two or more slots).
    public let overlapped: Bool
    public var predictedTokensPerSecond: Double {
        1 / max(overlapped ? max(predictedDiskSeconds, predictedComputeSeconds) : predictedDiskSeconds + predictedComputeSeconds, 1e-9)
    }
    /// Why, in words, one line per decision.
    public let reasons: [String]

    public init(resident: [Bool], window: Int, slotBytes: Int, residentBytes: Int, streamedBytesPerPass: Int, plannedBytes: Int,
                predictedDiskSeconds: Double, predictedComputeSeconds: Double, overlapped: Bool, reasons: [String]) {
        self.resident = resident
        self.window = window
        self.slotBytes = slotBytes
        self.residentBytes = residentBytes
        self.streamedBytesPerPass = streamedBytesPerPass
        self.plannedBytes = plannedBytes
        self.predictedDiskSeconds = predictedDiskSeconds
        self.predictedComputeSeconds = predictedComputeSeconds
        self.overlapped = overlapped
        self.reasons = reasons
    }

    public var windowBytes: Int { window * slotBytes }
    public var streamedBlockCount: Int { resident.lazy.filter { !$0 }.count }
}

/// The inputs of ``StreamingPlanner/plan(_:)``.
public struct StreamingRequest: Sendable {
    /// Memory the process may use for everything the plan counts, in bytes.
    public var budget: Int
    /// Buffers that exist whatever the placement: KV cache for the context, activations, norms.
    public var fixedBytes: Int
    /// Aligned span in bytes of each weight block, in the order a forward pass reads them.
    public var blockBytes: [Int]
    /// Sustained read bandwidth of the disk holding the model (bytes/s), measured.
    public var diskBytesPerSecond: Double
    /// Rate at which the compute threads consume weight bytes during generation (bytes/s).
    public var computeBytesPerSecond: Double

    public init(budget: Int, fixedBytes: Int, blockBytes: [Int], diskBytesPerSecond: Double, computeBytesPerSecond: Double) {
        self.budget = budget
        self.fixedBytes = fixedBytes
        self.blockBytes = blockBytes
        self.diskBytesPerSecond = diskBytesPerSecond
        self.computeBytesPerSecond = computeBytesPerSecond
    }
}

/// A budget the model cannot run in.
public enum PlanError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `budget` cannot hold the fixed buffers plus one window slot; `minimum` would.
    case budgetTooSmall(budget: Int, minimum: Int, fixedBytes: Int, slotBytes: Int)

    public var description: String {
        switch self {
        case let .budgetTooSmall(b, m, f, s):
            "memory budget \(mib(b)) is too small: the KV cache and activations need \(mib(f)) and one streamed weight block \(mib(s)); the smallest budget that works is \(mib(m))"
        }
    }
}

func mib(_ b: Int) -> String {
    let v = Double(b) / 1048576
    return v >= 10 ? "\(Int(v.rounded())) MiB" : "\((v * 10).rounded() / 10) MiB"
}

/// Decides residency and the streaming window.
///
/// The problem: minimise the per-token time max(streamed bytes / disk bandwidth, all bytes /
/// compute rate) subject to fixed + resident + window × slot ≤ budget. Every resident byte is a byte
/// not read per token, so the optimum keeps as many bytes resident as the budget allows after the
/// smallest window that hides the reads; the only discrete choice is the window depth, solved
/// exactly by trying each candidate. Resident blocks are spread evenly through the pass (not
/// bunched at its start) so that the loader always has a streamed block ahead to read while
/// resident blocks compute.
public enum StreamingPlanner {
    /// Target size of a streamed block for a budget: small enough that a few window slots cost a
    /// small part of the budget (1/32), at least 1 MiB so that reads stay efficient, at most 32 MiB
    /// (reads of 4 MiB pieces already reach the disk's bandwidth; larger blocks only cost memory).
    /// A power of two, so that the sizes a budget may use are a fixed ladder (see
    /// ``PlacementPlanner``'s search over it).
    public static func blockTarget(budget: Int) -> Int {
        var t = minimumBlockTarget
        while t * 2 <= min(32 << 20, budget / 32) { t *= 2 }
        return t
    }

    /// The smallest block size planned: reads below 1 MiB lose bandwidth.
    public static let minimumBlockTarget = 1 << 20

    public static func plan(_ r: StreamingRequest) throws(PlanError) -> StreamingPlan {
        let total = r.blockBytes.reduce(0, +)
        let computeSeconds = Double(total) / max(r.computeBytesPerSecond, 1)
        if r.fixedBytes + total <= r.budget {
            return StreamingPlan(
                resident: Array(repeating: true, count: r.blockBytes.count), window: 0, slotBytes: 0,
                residentBytes: total, streamedBytesPerPass: 0, plannedBytes: r.fixedBytes + total,
                predictedDiskSeconds: 0, predictedComputeSeconds: computeSeconds, overlapped: true,
                reasons: ["every weight block fits: \(mib(r.fixedBytes)) fixed + \(mib(total)) of weights ≤ budget \(mib(r.budget)); nothing is streamed"])
        }
        let slot = r.blockBytes.max() ?? 0
        let minimum = r.fixedBytes + slot
        guard r.budget >= minimum else {
            throw .budgetTooSmall(budget: r.budget, minimum: minimum, fixedBytes: r.fixedBytes, slotBytes: slot)
        }
        // Window depth: one slot cannot overlap (read, then compute: the times add); two slots
        // double-buffer (the slower of reading and computing sets the pace). A deeper window only
        // pays for disk jitter, which this model does not predict, so it is not chosen: its slot is
        // worth more as resident weights. Each candidate keeps as much resident as fits; the
        // fastest wins, the smaller window on a tie.
        let meanBlock = Double(total) / Double(max(r.blockBytes.count, 1))
        let loadPerBlock = meanBlock / max(r.diskBytesPerSecond, 1)
        let computePerBlock = meanBlock / max(r.computeBytesPerSecond, 1)
        var best: StreamingPlan?
        var bestSeconds = Double.infinity
        for window in 1...2 {
            let room = r.budget - r.fixedBytes - window * slot
            guard room >= 0 else { continue }
            let resident = spreadResident(r.blockBytes, room: room)
            let residentBytes = zip(r.blockBytes, resident).reduce(0) { $0 + ($1.1 ? $1.0 : 0) }
            let streamed = total - residentBytes
            let disk = Double(streamed) / max(r.diskBytesPerSecond, 1)
            let seconds = window == 1 ? disk + computeSeconds : max(disk, computeSeconds)
            guard seconds < bestSeconds * (1 - 1e-9) else { continue }
            var reasons: [String] = []
            reasons.append("weights \(mib(total)) + fixed \(mib(r.fixedBytes)) exceed the budget \(mib(r.budget)): \(mib(streamed)) of \(r.blockBytes.count) blocks stream from disk each pass")
            let why = window == 2
                ? "double buffering: block i + 2 is read while block i computes (reading a block takes \(ms(loadPerBlock)), computing it \(ms(computePerBlock)))"
                : "the budget leaves room for one slot only; reads do not overlap compute"
            reasons.append("window: \(window) slot\(window == 1 ? "" : "s") × \(mib(slot)) — \(why)")
            reasons.append("resident: \(mib(residentBytes)) in \(resident.filter { $0 }.count) blocks, the most the budget holds after the window; spread evenly through the pass so reads continue while resident blocks compute")
            best = StreamingPlan(
                resident: resident, window: streamed > 0 ? window : 0, slotBytes: streamed > 0 ? slot : 0,
                residentBytes: residentBytes, streamedBytesPerPass: streamed,
                plannedBytes: r.fixedBytes + residentBytes + (streamed > 0 ? window * slot : 0),
                predictedDiskSeconds: disk, predictedComputeSeconds: computeSeconds,
                overlapped: window >= 2, reasons: reasons)
            bestSeconds = seconds
        }
        return best!
    }

    /// Marks blocks resident, evenly spread, while their bytes fit in `room`.
    static func spreadResident(_ bytes: [Int], room: Int) -> [Bool] {
        let total = bytes.reduce(0, +)
        var out = Array(repeating: false, count: bytes.count)
        guard total > 0, room > 0 else { return out }
        let fraction = min(1, Double(room) / Double(total))
        var credit = 0.0, used = 0
        for (i, b) in bytes.enumerated() {
            credit += Double(b) * fraction
            if credit >= Double(b) - 0.5, used + b <= room {
                out[i] = true
                used += b
                credit -= Double(b)
            }
        }
        // Rounding can leave room for a few more: fill it in order.
        for (i, b) in bytes.enumerated() where !out[i] && used + b <= room {
            out[i] = true
            used += b
        }
        return out
    }

    private static func ms(_ s: Double) -> String { "\((s * 10000).rounded() / 10) ms" }
}
