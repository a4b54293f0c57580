import Foundation
#if canImport(Glibc)
import Glibc
#endif
import EdgeCore
import EdgeDevices
import CEdgeKernels

/// How much of each SwiGLU feed-forward to compute: `edgert ... --sparsity auto|off|F`.
public enum SparsityLevel: Sendable, Equatable, CustomStringConvertible {
    /// Dense (today's path, bit for bit).
    case off
    /// The level the neuron statistics name (``NeuronStatistics/autoLevel``): the highest whose
    /// perplexity on the calibration text stayed within ``NeuronStatistics/autoBound`` of dense.
    case auto
    /// This fraction of each layer's neurons (by calibration quantile) skipped: 0 ... 0.95.
    case fraction(Double)

    public static let range: ClosedRange<Double> = 0...0.95

    /// Parses `auto`, `off`, or a fraction (`0.4`) or percentage (`40%`).
    public init(parsing text: String) throws(RuntimeError) {
        switch text.lowercased() {
        case "off", "none": self = .off
        case "auto": self = .auto
        default:
            let percent = text.hasSuffix("%")
            guard let v = Double(percent ? String(text.dropLast()) : text), v.isFinite else {
                throw .badParameter(name: "sparsity", reason: "'\(text)' is not auto, off, a fraction (0.4) or a percentage (40%)")
            }
            let f = percent ? v / 100 : v
            guard Self.range.contains(f) else { throw .badParameter(name: "sparsity", reason: "\(f) is outside \(Self.range)") }
            self = .fraction(f)
        }
    }

    /// The fraction skipped with these statistics; nil when off (or `auto` and no level kept the
    /// calibration text's perplexity within bound).
    public func fraction(with statistics: NeuronStatistics) -> Double? {
        switch self {
        case .off: nil
        case .auto: statistics.autoLevel > 0 ? statistics.autoLevel : nil
        case let .fraction(f): f
        }
    }

    public var description: String {
        switch self {
        case .off: "off"
        case .auto: "auto"
        case let .fraction(f): String(format: "%.0f%%", f * 100)
        }
    }
}

/// The sparse feed-forward of a model at one level (CATS-style contextual sparsity, see
/// `edge_sparse.h`): per layer a threshold on |SiLU(gate)| from the calibration quantiles, and a
/// neuron-major copy of W_down made once at load (the file's integers and scales, no
/// requantization). Per token the gate is computed densely, the up rows only for the neurons
/// above the threshold, and W_down only over their columns; a batch of several tokens (prompt
/// processing) computes densely and zeroes the same neurons, which gives the same numbers.
///
/// Invariant for `@unchecked Sendable`: the copies are written once in `init` and only read after.
public final class SparseFeedForward: @unchecked Sendable {
    public let level: Double
    public let statistics: NeuronStatistics
    /// Per layer: selection threshold on |SiLU(gate)|.
    public let thresholds: [Float]
    /// Per layer: the neuron-major W_down, nil where its type has none (that layer's down
    /// projection runs densely over the zeroed activations).
    let downCopies: [AlignedBuffer?]
    /// Bytes of the neuron-major copies.
    public let copyBytes: Int
    /// Layers whose W_down runs densely, with the reason.
    public let denseDown: [Int: String]
    /// Bytes of the W_up matrices, whose selected rows generation reads from the file mapping
    /// (resident as they are touched, besides any repacked copy the dense batch path reads).
    public let upBytes: Int

    public init(weights: ModelWeights, statistics: NeuronStatistics, level: Double,
                progress: ((Int, Int) -> Void)? = nil) throws {
        guard SparsityLevel.range.contains(level) else {
            throw RuntimeError.badParameter(name: "sparsity", reason: "\(level) is outside \(SparsityLevel.range)")
        }
        guard statistics.layers.count == weights.layers.count else {
            throw RuntimeError.badParameter(name: "sparsity", reason: "statistics of \(statistics.layers.count) layers for a model of \(weights.layers.count)")
        }
        self.level = level
        self.statistics = statistics
        var copies: [AlignedBuffer?] = []
        var dense: [Int: String] = [:]
        var bytes = 0
        for (li, l) in weights.layers.enumerated() {
            try SparseFeedForward.checkProgram(l, layer: li)
            let down = l[.down]!
            let t = Int32(down.type.rawValue)
            let n = edge_sparse_down_bytes(t, Int64(down.rows), Int64(down.columns))
            if n == 0 {
                dense[li] = "\(down.type) has no neuron-major copy"
                copies.append(nil)
            } else {
                let buffer = try AlignedBuffer(byteCount: n, what: "neuron-major ffn_down of layer \(li)")
                guard edge_sparse_down_build(t, Int64(down.rows), Int64(down.columns), down.data, down.rowBytes, buffer.base) == 0 else {
                    throw RuntimeError.unsupportedTensorType(name: down.name, type: down.type)
                }
                copies.append(buffer)
                bytes += n
                // The copy replaces the file's pages for generation (a batch reads the repacked
                // copy, or faults the pages back in): give back the ones the build touched.
                let page = UInt(4096), start = UInt(bitPattern: down.data)
                let lo = (start + page - 1) / page * page, hi = (start + UInt(down.byteCount)) / page * page
                if hi > lo { _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), Int(hi - lo), MADV_DONTNEED) }
            }
            progress?(li + 1, weights.layers.count)
        }
        try weights.file.checkUnchanged()
        upBytes = weights.layers.reduce(0) { $0 + ($1[.up]?.byteCount ?? 0) }
        downCopies = copies
        denseDown = dense
        copyBytes = bytes
        thresholds = statistics.layers.map { $0.threshold(sparsity: level) }
    }

    /// The same copies of W_down at another level (calibration tries several).
    public init(sharing other: SparseFeedForward, level: Double) throws {
        guard SparsityLevel.range.contains(level) else {
            throw RuntimeError.badParameter(name: "sparsity", reason: "\(level) is outside \(SparsityLevel.range)")
        }
        self.level = level
        statistics = other.statistics
        downCopies = other.downCopies
        denseDown = other.denseDown
        copyBytes = other.copyBytes
        upBytes = other.upBytes
        thresholds = statistics.layers.map { $0.threshold(sparsity: level) }
    }

    /// A layer the sparse path runs: a SwiGLU feed-forward gate, up → GLU → down.
    static func checkProgram(_ l: LayerWeights, layer li: Int) throws {
        let ops = l.program.ops
        guard ops.contains(.glu(.swiglu)), l[.gate] != nil, l[.up] != nil, l[.down] != nil else {
            throw RuntimeError.unsupportedOperation(device: "the sparse feed-forward", operation: "this layer's feed-forward",
                                                    type: nil, at: "layer \(li) (needs a SwiGLU gate/up/down)")
        }
    }
}
