import CEdgeKernels
import EdgeCore
import EdgeDevices

/// A weight matrix of one type, small enough to stay in a core's L2 cache, and a batch of
/// activations already rounded to the type's activation format: what the per-core kernel
/// figures are timed on. Weights are valid blocks (finite, normal F16 scales) of random quants.
/// Types the runtime repacks at load (edge_packed_used: the x16 row-interleaved layout) are timed
/// on that layout with the kernels the forward pass runs on it; the others on the file layout.
///
/// Invariant for `@unchecked Sendable`: built and used by one thread (the pinned measuring thread).
final class KernelWorkload: @unchecked Sendable {
    /// Elements per row: 2048, a multiple of every block size, and a typical hidden size of the
    /// small models edgert runs.
    static let rowElements = 2048
    /// Weight bytes aimed for: 384 KiB, inside the smallest L2 the profiled hosts have (512 KiB on
    /// Zen 4 and Cortex-A76 class cores; 1 MiB here) with room for the activations.
    static let targetWeightBytes = 384 << 10
    /// Tokens per prompt matmul pass.
    static let batchTokens = 64

    let type: TensorType
    /// Elements per row of this workload (``rowElements`` unless asked otherwise).
    let width: Int
    let rows: Int
    let rowBytes: Int
    let actRowBytes: Int
    private let weights: AlignedBuffer
    /// The weights in x16 layout, when the runtime uses it for this type.
    private let packed: AlignedBuffer?
    private let activations: AlignedBuffer
    private let output: UnsafeMutablePointer<Float>

    var weightBytes: Int { rows * rowBytes }

    /// Narrow rows, for the per-row cost: 256 elements, the smallest width every type's blocks fill.
    static let narrowRowElements = 256

    init(type: TensorType, seed: UInt64 = 0x5eed, rowElements: Int = KernelWorkload.rowElements) throws(TopologyError) {
        let n = rowElements
        width = n
        guard type.isSupported, let rb = type.rowBytes(n) else {
            throw .measurementFailed(what: "\(type) kernel", reason: "edgert has no kernel for this type")
        }
        self.type = type
        rowBytes = rb
        rows = max(16, Self.targetWeightBytes / rb / 16 * 16)
        actRowBytes = edge_act_row_bytes(Int32(type.rawValue), Int64(n))
        do {
            weights = try AlignedBuffer(byteCount: rows * rowBytes, what: "\(type) kernel weights")
            activations = try AlignedBuffer(byteCount: Self.batchTokens * actRowBytes, what: "\(type) kernel activations")
        } catch {
            throw .allocationFailed(what: "the \(type) kernel probe", bytes: rows * rowBytes)
        }
        output = .allocate(capacity: rows * Self.batchTokens)
        output.initialize(repeating: 0, count: rows * Self.batchTokens)

        var rng = XorShift(seed: seed ^ UInt64(type.rawValue))
        Self.fillWeights(type, weights.base, blocks: rows * n / type.blockSize, &rng)
        let t = Int32(type.rawValue)
        let packedBytes = edge_packed_used(t) != 0 ? edge_packed_bytes(t, Int64(rows), Int64(n)) : 0
        if packedBytes > 0 {
            do {
                let p = try AlignedBuffer(byteCount: packedBytes, what: "\(type) packed kernel weights")
                guard edge_pack_rows(t, Int64(n), weights.base, rowBytes, Int64(rows), p.base) == 0 else {
                    throw TopologyError.measurementFailed(what: "\(type) kernel", reason: "repacking the weights failed")
                }
                packed = p
            } catch let e as TopologyError {
                throw e
            } catch {
                throw .allocationFailed(what: "the \(type) kernel probe", bytes: packedBytes)
            }
        } else {
            packed = nil
        }
        let x = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { x.deallocate() }
        let actType = edge_vec_dot_type(Int32(type.rawValue))
        for t in 0..<Self.batchTokens {
            for i in 0..<n { x[i] = rng.unit() }
            _ = edge_quantize_act(actType, x, activations.base + t * actRowBytes, Int64(n))
        }
    }

    deinit { output.deallocate() }

    /// One token: y = W a.
    func matvec() {
        if let packed {
            edge_packed_matmul(Int32(type.rawValue), Int64(width), packed.base, 0, Int64(rows),
                               activations.base, actRowBytes, 1, output, Int64(rows))
            return
        }
        edge_matvec(Int32(type.rawValue), Int64(width), weights.base, rowBytes, 0, Int64(rows),
                    activations.base, output)
    }

    /// Bytes of the matrix in the layout the kernel reads (x16 when the runtime repacks the type).
    var tileBytes: Int { packed?.byteCount ?? weightBytes }

    /// Copies the matrix, in the kernel's layout, to `destination` (``tileBytes`` bytes, aligned
    /// as ``AlignedBuffer`` aligns).
    func copyTile(to destination: UnsafeMutableRawPointer) {
        destination.copyMemory(from: packed?.base ?? weights.base, byteCount: tileBytes)
    }

    /// One token over a copy of the matrix at `tile` (made by ``copyTile(to:)``).
    func matvec(tile: UnsafeRawPointer) {
        if packed != nil {
            edge_packed_matmul(Int32(type.rawValue), Int64(width), tile, 0, Int64(rows),
                               activations.base, actRowBytes, 1, output, Int64(rows))
            return
        }
        edge_matvec(Int32(type.rawValue), Int64(width), tile, rowBytes, 0, Int64(rows),
                    activations.base, output)
    }

    /// A batch: Y[t] = W A[t] for batchTokens tokens.
    func matmul() {
        if let packed {
            edge_packed_matmul(Int32(type.rawValue), Int64(width), packed.base, 0, Int64(rows),
                               activations.base, actRowBytes, Int64(Self.batchTokens), output, Int64(rows))
            return
        }
        edge_matmul(Int32(type.rawValue), Int64(width), weights.base, rowBytes, 0, Int64(rows),
                    activations.base, actRowBytes, Int64(Self.batchTokens), output, Int64(rows))
    }

    /// Best rate over five timed runs of about `seconds / 5` each, after one untimed call:
    /// `unitsPerCall` × calls / elapsed. Several short runs rather than one long one, so that on a
    /// shared host one of them is likely to fall in a quiet moment.
    static func rate(seconds: Double, unitsPerCall: Double, _ call: () -> Void) -> Double {
        call()
        var best = 0.0
        for _ in 0..<5 {
            var calls = 0
            let t0 = monotonicSeconds()
            var dt = 0.0
            repeat {
                call()
                calls += 1
                dt = monotonicSeconds() - t0
            } while dt < seconds / 5
            best = max(best, unitsPerCall * Double(calls) / dt)
        }
        return best
    }

    /// Random quants with their F16 scales set to normal values; float types get values in [-1, 1).
    private static func fillWeights(_ type: TensorType, _ p: UnsafeMutableRawPointer, blocks: Int, _ rng: inout XorShift) {
        switch type {
        case .f32:
            for i in 0..<blocks { p.storeBytes(of: rng.unit(), toByteOffset: 4 * i, as: Float.self) }
            return
        case .f16:
            for i in 0..<blocks { p.storeBytes(of: edge_f32_to_f16(rng.unit()), toByteOffset: 2 * i, as: UInt16.self) }
            return
        case .bf16:
            for i in 0..<blocks { p.storeBytes(of: edge_f32_to_bf16(rng.unit()), toByteOffset: 2 * i, as: UInt16.self) }
            return
        default: break
        }
        let total = blocks * type.blockBytes
        var o = 0
        while o + 8 <= total { p.storeBytes(of: rng.next(), toByteOffset: o, as: UInt64.self); o += 8 }
        while o < total { p.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: o, as: UInt8.self); o += 1 }
        // Offsets of the F16 fields in each block (edge_quant.h, ggml's layouts).
        let halves: [Int]
        switch type {
        case .q4_0, .q5_0, .q8_0, .iq4_nl, .iq4_xs: halves = [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: halves = [0, 2]  // d, then m or dmin
        case .q6_K: halves = [MemoryLayout<edge_block_q6_K>.offset(of: \edge_block_q6_K.d)!]
        case .q3_K: halves = [MemoryLayout<edge_block_q3_K>.offset(of: \edge_block_q3_K.d)!]
        case .q2_K: halves = [MemoryLayout<edge_block_q2_K>.offset(of: \edge_block_q2_K.d)!,
                              MemoryLayout<edge_block_q2_K>.offset(of: \edge_block_q2_K.dmin)!]
        default: halves = []
        }
        for b in 0..<blocks {
            for h in halves {
                let scale = 0.002 + 0.002 * abs(rng.unit())
                p.storeBytes(of: edge_f32_to_f16(scale), toByteOffset: b * type.blockBytes + h, as: UInt16.self)
            }
        }
    }
}

/// xorshift64: seeded, fast, good enough for test data.
struct XorShift {
    private var s: UInt64
    init(seed: UInt64) { s = seed == 0 ? 0x2545_f491_4f6c_dd1d : seed }
    mutating func next() -> UInt64 {
        s ^= s << 13
        s ^= s >> 7
        s ^= s << 17
        return s
    }
    /// A float in [-1, 1).
    mutating func unit() -> Float { Float(Int64(bitPattern: next()) >> 40) / Float(1 << 23) }
}
