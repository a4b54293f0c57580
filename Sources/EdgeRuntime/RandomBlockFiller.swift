import EdgeCore
import CEdgeKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes seeded random weights of one tensor type, block by block, in place: every block is a
/// valid block of its type, and the values it decodes to have mean 0 and standard deviation close
/// to `sigma` (as trained weights of that scale would), so a forward pass over them stays finite.
///
/// Quantized blocks get uniformly random quants and a block scale chosen so that the decoded
/// values have standard deviation `sigma`, jittered by ±25% from block to block. Where a format's
/// quants are not centred on zero the offset is cancelled: the sign of the scale is random (Q4_0,
/// Q5_0, Q6_K's sub-block scales) or the block minimum is set to the quants' mean (Q4_1, Q5_1,
/// Q4_K, Q5_K). Float types draw from a 4096-entry table of normal quantiles.
/// Block layouts and offsets come from the C structs of `edge_quant.h` (ggml's layouts).
struct RandomBlockFiller {
    let type: TensorType
    let sigma: Float
    /// The normal quantiles times `sigma`, in the storage encoding (F32 bits, F16 or BF16).
    private let table32: [Float]
    private let table16: [UInt16]

    /// Types it can fill.
    static let supported: [TensorType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

    init(type: TensorType, sigma: Float) {
        precondition(Self.supported.contains(type), "RandomBlockFiller cannot fill \(type)")
        self.type = type
        self.sigma = sigma
        table32 = type == .f32 ? Self.normalQuantiles.map { $0 * sigma } : []
        switch type {
        case .f16: table16 = Self.normalQuantiles.map { edge_f32_to_f16($0 * sigma) }
        case .bf16: table16 = Self.normalQuantiles.map { edge_f32_to_bf16($0 * sigma) }
        default: table16 = []
        }
    }

    /// Φ⁻¹((i + 0.5) / 4096) for i in 0..<4096: a 12-bit index draws an approximately standard
    /// normal value (the tails are cut at ±3.5).
    static let normalQuantiles: [Float] = (0..<4096).map { i in
        let p = (Double(i) + 0.5) / 4096
        // Bisection on Φ(x) = erfc(-x / √2) / 2, which increases with x.
        var lo = -8.0, hi = 8.0
        for _ in 0..<60 {
            let mid = (lo + hi) / 2
            if erfc(-mid / 2.0.squareRoot()) / 2 < p { lo = mid } else { hi = mid }
        }
        return Float((lo + hi) / 2)
    }

    /// Fills `count` blocks (elements, for float types) starting at `p`.
    func fill(blocks count: Int, at p: UnsafeMutableRawPointer, generator g: inout SeededGenerator) {
        switch type {
        case .f32:
            table32.withUnsafeBufferPointer { t in
                Self.fillFromTable(count, p, &g) { p, i, idx in p.storeBytes(of: t[idx], toByteOffset: 4 * i, as: Float.self) }
            }
        case .f16, .bf16:
            table16.withUnsafeBufferPointer { t in
                Self.fillFromTable(count, p, &g) { p, i, idx in p.storeBytes(of: t[idx], toByteOffset: 2 * i, as: UInt16.self) }
            }
        case .q8_0: fillQ8_0(count, p, &g)
        case .q4_0: fillQ4_0(count, p, &g)
        case .q4_1: fillQ4_1(count, p, &g)
        case .q5_0: fillQ5_0(count, p, &g)
        case .q5_1: fillQ5_1(count, p, &g)
        case .q4_K: fillQ4_K(count, p, &g)
        case .q5_K: fillQ5_K(count, p, &g)
        case .q6_K: fillQ6_K(count, p, &g)
        default: preconditionFailure("unreachable: init checked the type")
        }
    }

    // MARK: float types

    /// Five 12-bit table indices per 64-bit draw.
    @inline(__always)
    private static func fillFromTable(_ n: Int, _ p: UnsafeMutableRawPointer, _ g: inout SeededGenerator,
                                      _ store: (UnsafeMutableRawPointer, Int, Int) -> Void) {
        var i = 0
        while i < n {
            var r = g.next()
            for _ in 0..<min(5, n - i) {
                store(p, i, Int(r & 4095))
                r >>= 12
                i += 1
            }
        }
    }

    // MARK: quantized types

    /// Standard deviation of q over uniform integers 0..<levels (or of a uniform int8): √((levels² − 1) / 12).
    private static func uniformSD(_ levels: Int) -> Float { Float(((Double(levels * levels) - 1) / 12).squareRoot()) }

    /// `bytes` random bytes at `p + offset` (a multiple of 4).
    @inline(__always)
    private static func randomBytes(_ p: UnsafeMutableRawPointer, _ offset: Int, _ bytes: Int, _ g: inout SeededGenerator) {
        var o = 0
        while o + 8 <= bytes {
            p.storeBytes(of: g.next(), toByteOffset: offset + o, as: UInt64.self)
            o += 8
        }
        if o < bytes { p.storeBytes(of: UInt32(truncatingIfNeeded: g.next()), toByteOffset: offset + o, as: UInt32.self) }
    }

    /// A factor in [0.75, 1.25) from the low 16 bits of `r`: the block-to-block spread of scales.
    @inline(__always)
    private static func jitter(_ r: UInt64) -> Float { 0.75 + Float(r & 0xFFFF) * (0.5 / 65536) }

    @inline(__always)
    private static func f16(_ x: Float) -> UInt16 { edge_f32_to_f16(x) }

    /// w = d · q, q a uniform int8.
    private func fillQ8_0(_ n: Int, _ p: UnsafeMutableRawPointer, _ g: inout SeededGenerator) {
        let size = MemoryLayout<edge_block_q8_0>.size
        let qs = MemoryLayout<edge_block_q8_0>.offset(of: \edge_block_q8_0.qs)!
        let d = sigma / Self.uniformSD(256)
        for b in 0..<n {
            let block = p + b * size
            block.storeBytes(of: Self.f16(d * Self.jitter(g.next())), as: UInt16.self)
            Self.randomBytes(block, qs, 32, &g)
        }
    }

    /// w = d · (q − 8), q in 0..15; a random sign on d cancels the −0.5 mean of q − 8.
    private func fillQ4_0(_ n: Int, _ p: UnsafeMutableRawPointer, _ g: inout SeededGenerator) {
        let size = MemoryLayout<edge_block_q4_0>.size
        let qs = MemoryLayout<edge_block_q4_0>.offset(of: \edge_block_q4_0.qs)!
        let d = sigma / Self.uniformSD(16)
        for b in 0..<n {
            let block = p + b * size
            let r = g.next()
            let sign: Float = r & 0x10000 == 0 ? 1 : -1
            block.storeBytes(of: Self.f16(sign * d * Self.jitter(r)), as: UInt16.self)
            Self.randomBytes(block, qs, 16, &g)
        }
    }

    /// w = d · q + m, q in 0..15, m = −7.5 d.
    private func fillQ4_1(_ n: Int, _ p: UnsafeMutableRawPointer, _ g: inout SeededGenerator) {
        let size = MemoryLayout<edge_block_q4_1>.size
        let mOffset = MemoryLayout<edge_block_q4_1>.offset(of: \edge_block_q4_1.m)!
        let qs = MemoryLayout<edge_block_q4_1>.offset(of: \edge_block_q4_1.qs)!
        let d = sigma / Self.uniformSD(16)
        for b in 0..<n {
            let block = p + b * size
            let scale = d * Self.jitter(g.next())
            block.storeBytes(of: Self.f16(scale), as: UInt16.self)
            block.storeBytes(of: Self.f16(-7.5 * scale), toByteOffset: mOffset, as: UInt16.self)
            Self.randomBytes(block, qs, 16, &g)
        }
    }

    /// w = d · (q − 16), q in 0..31 (qh holds the fifth bits, just before qs); random sign on d.
    private func fillQ5_0(_ n: Int, _ p: UnsafeMutableRawPointer, _ g: inout SeededGenerator) {
        let size = MemoryLayout<edge_block_q5_0>.size
        let qh = MemoryLayout<edge_block_q5_0>.offset(of: \edge_block_q5_0.qh)!
        precondition(MemoryLayout<edge_block_q5_0>.offset(of: \edge_block_q5_0.qs)! == qh + 4, "qh and qs are adjacent")
        let d = sigma / Self.uniformSD(32)
        for b in 0..<n {
            let block = p + b * size
            let r = g.next()
            let sign: Float = r & 0x10000 == 0 ? 1 : -1
            block.storeBytes(of: Self.f16(sign * d * Self.jitter(r)), as: UInt16.self)
            Self.randomBytes(block, qh, 20, &g)
        }
    }

    /// w = d · q + m, q in 0..31, m = −15.5 d.
    private func fillQ5_1(_ n: Int, _ p: UnsafeMutableRawPointer, _ g: inout SeededGenerator) {
        let size = MemoryLayout<edge_block_q5_1>.size
        let mOffset = MemoryLayout<edge_block_q5_1>.offset(of: \edge_block_q5_1.m)!
        let qh = MemoryLayout<edge_block_q5_1>.offset(of: \edge_block_q5_1.qh)!
        precondition(MemoryLayout<edge_block_q5_1>.offset(of: \edge_block_q5_1.qs)! == qh + 4, "qh and qs are adjacent")
        let d = sigma / Self.uniformSD(32)
        for b in 0..<n {
            let block = p + b * size
            let scale = d * Self.jitter(g.next())
            block.storeBytes(of: Self.f16(scale), as: UInt16.self)
            block.storeBytes(of: Self.f16(-15.5 * scale), toByteOffset: mOffset, as: UInt16.self)
            Self.randomBytes(block, qh, 20, &g)
        }
    }

    /// Writes the 12 packed bytes of eight 6-bit (scale, min) pairs with min = scale, scale j being
    /// `32 + (5 bits of r from bit 16 + 5j)`, laid out as ggml's `get_scale_min_k4` reads them:
    /// bytes 0-3 hold scales 0-3 (low 6 bits) and the top 2 bits of scales 4-7, bytes 4-7 the same
    /// for the mins, bytes 8-11 the low 4 bits of scale 4+j (low nibble) and of min 4+j (high).
    @inline(__always)
    private static func packKScales(_ block: UnsafeMutableRawPointer, _ offset: Int, _ r: UInt64) {
        @inline(__always) func scale(_ j: Int) -> UInt8 { 32 | (UInt8(truncatingIfNeeded: r >> (16 + 5 * j)) & 31) }
        for j in 0..<4 {
            let high = scale(j + 4)
            let low = scale(j) | ((high >> 4) << 6)
            block.storeBytes(of: low, toByteOffset: offset + j, as: UInt8.self)        // scale j
            block.storeBytes(of: low, toByteOffset: offset + j + 4, as: UInt8.self)    // min j = scale j
            block.storeBytes(of: (high & 0xF) &* 0x11, toByteOffset: offset + j + 8, as: UInt8.self)
        }
    }

    /// w = d · sc · q − dmin · m over sub-blocks of 32, q in 0..15, m = sc, dmin = 7.5 d.
    private func fillQ4_K(_ n: Int, _ p: UnsafeMutableRawPointer, _ g: inout SeededGenerator) {
        let size = MemoryLayout<edge_block_q4_K>.size
        let dmin = MemoryLayout<edge_block_q4_K>.offset(of: \edge_block_q4_K.dmin)!
        let scales = MemoryLayout<edge_block_q4_K>.offset(of: \edge_block_q4_K.scales)!
        let qs = MemoryLayout<edge_block_q4_K>.offset(of: \edge_block_q4_K.qs)!
        // Mean sub-block scale 47.5 (32 + 15.5).
        let d = sigma / (47.5 * Self.uniformSD(16))
        for b in 0..<n {
            let block = p + b * size
            let r = g.next()
            Self.packKScales(block, scales, r)
            let scale = d * Self.jitter(r)
            block.storeBytes(of: Self.f16(scale), as: UInt16.self)
            block.storeBytes(of: Self.f16(7.5 * scale), toByteOffset: dmin, as: UInt16.self)
            Self.randomBytes(block, qs, 128, &g)
        }
    }

    /// As Q4_K with q in 0..31 (qh before qs) and dmin = 15.5 d.
    private func fillQ5_K(_ n: Int, _ p: UnsafeMutableRawPointer, _ g: inout SeededGenerator) {
        let size = MemoryLayout<edge_block_q5_K>.size
        let dmin = MemoryLayout<edge_block_q5_K>.offset(of: \edge_block_q5_K.dmin)!
        let scales = MemoryLayout<edge_block_q5_K>.offset(of: \edge_block_q5_K.scales)!
        let qh = MemoryLayout<edge_block_q5_K>.offset(of: \edge_block_q5_K.qh)!
        precondition(MemoryLayout<edge_block_q5_K>.offset(of: \edge_block_q5_K.qs)! == qh + 32, "qh and qs are adjacent")
        let d = sigma / (47.5 * Self.uniformSD(32))
        for b in 0..<n {
            let block = p + b * size
            let r = g.next()
            Self.packKScales(block, scales, r)
            let scale = d * Self.jitter(r)
            block.storeBytes(of: Self.f16(scale), as: UInt16.self)
            block.storeBytes(of: Self.f16(15.5 * scale), toByteOffset: dmin, as: UInt16.self)
            Self.randomBytes(block, qh, 160, &g)
        }
    }

    /// w = d · sc · (q − 32) over sub-blocks of 16, q in 0..63 (ql then qh), sc = ±(16 + 5 random
    /// bits), the sign cancelling the −0.5 mean of q − 32.
    private func fillQ6_K(_ n: Int, _ p: UnsafeMutableRawPointer, _ g: inout SeededGenerator) {
        let size = MemoryLayout<edge_block_q6_K>.size
        let ql = MemoryLayout<edge_block_q6_K>.offset(of: \edge_block_q6_K.ql)!
        precondition(MemoryLayout<edge_block_q6_K>.offset(of: \edge_block_q6_K.qh)! == ql + 128, "ql and qh are adjacent")
        let scales = MemoryLayout<edge_block_q6_K>.offset(of: \edge_block_q6_K.scales)!
        let dOffset = MemoryLayout<edge_block_q6_K>.offset(of: \edge_block_q6_K.d)!
        // Mean |sc| 31.5 (16 + 15.5).
        let d = sigma / (31.5 * Self.uniformSD(64))
        for b in 0..<n {
            let block = p + b * size
            Self.randomBytes(block, ql, 192, &g)
            var r = g.next()
            for j in 0..<16 {
                if j == 10 { r = g.next() }   // 6 bits per scale: 10 from one draw
                let magnitude = Int8(16 + Int(r & 31))
                let sc = r & 32 == 0 ? magnitude : -magnitude
                block.storeBytes(of: sc, toByteOffset: scales + j, as: Int8.self)
                r >>= 6
            }
            block.storeBytes(of: Self.f16(d * Self.jitter(g.next())), toByteOffset: dOffset, as: UInt16.self)
        }
    }
}
