// The dispatched kernels (edge_quantize_act, edge_vec_dot, edge_matvec, edge_matmul) against the
// scalar references, on every ISA this CPU has (each selected with edge_isa_force):
// - activation quantizers: bit-identical bytes;
// - dot products on inputs where every float operation is exact: bit-identical results (so the
//   integer part of each kernel is exactly the reference's);
// - dot products on realistic random inputs: within a float-reassociation bound derived below;
// - matmul: bit-identical to matvec per element, matvec bit-identical to vec_dot per row.
import CEdgeKernels
import EdgeCore
import Foundation
import XCTest

/// One weight type as the C API numbers it, with its block geometry and the byte ranges that hold
/// quants (everything else in a block is scales and mins).
private struct KernelType: CustomStringConvertible {
    let id: Int32
    let name: String
    /// Byte ranges of quant data inside one block; nil for the float types (all bytes are values).
    let quantBytes: [Range<Int>]?

    var description: String { name }
    var blockElems: Int { Int(edge_type_block_elems(id)) }
    var blockBytes: Int { Int(edge_type_block_bytes(id)) }
    var actType: Int32 { Int32(edge_vec_dot_type(id)) }
    var isKQuant: Bool { blockElems == Int(EDGE_QK_K) }

    static func t(_ e: edge_type) -> Int32 { Int32(e.rawValue) }

    /// Offsets from the block structs in edge_quant.h.
    static let all: [KernelType] = [
        KernelType(id: t(EDGE_TYPE_F32), name: "F32", quantBytes: nil),
        KernelType(id: t(EDGE_TYPE_F16), name: "F16", quantBytes: nil),
        KernelType(id: t(EDGE_TYPE_BF16), name: "BF16", quantBytes: nil),
        KernelType(id: t(EDGE_TYPE_Q4_0), name: "Q4_0", quantBytes: [2..<18]),
        KernelType(id: t(EDGE_TYPE_Q4_1), name: "Q4_1", quantBytes: [4..<20]),
        KernelType(id: t(EDGE_TYPE_Q5_0), name: "Q5_0", quantBytes: [2..<22]),
        KernelType(id: t(EDGE_TYPE_Q5_1), name: "Q5_1", quantBytes: [4..<24]),
        KernelType(id: t(EDGE_TYPE_Q8_0), name: "Q8_0", quantBytes: [2..<34]),
        KernelType(id: t(EDGE_TYPE_Q4_K), name: "Q4_K", quantBytes: [16..<144]),
        KernelType(id: t(EDGE_TYPE_Q5_K), name: "Q5_K", quantBytes: [16..<176]),
        KernelType(id: t(EDGE_TYPE_Q6_K), name: "Q6_K", quantBytes: [0..<192]),
    ]

    /// Row lengths to try: one block, odd block counts (the kernels unroll by two), model widths.
    var lengths: [Int] {
        switch blockElems {
        case 1: return [1, 7, 8, 31, 33, 256, 1000, 4096]
        case 32: return [32, 64, 96, 576, 1536, 4096]
        default: return [256, 512, 768, 1536, 2816, 4096]
        }
    }
}

/// Test blocks are filled from EdgeCore's SplitMix64.
private typealias TestRNG = SplitMix64

private extension SplitMix64 {
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    /// Uniform in [-1, 1).
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

private func putU16(_ bytes: inout [UInt8], _ at: Int, _ v: UInt16) {
    bytes[at] = UInt8(v & 0xff)
    bytes[at + 1] = UInt8(v >> 8)
}

private func f16(_ x: Float) -> UInt16 { edge_f32_to_f16(x) }

/// Every ISA the CPU supports, lowest first.
private var supportedISAs: [Int32] { Array(Int32(EDGE_ISA_SCALAR.rawValue)...edge_isa_detect()) }

private func isaName(_ isa: Int32) -> String { ["scalar", "AVX2", "AVX-512"][Int(isa)] }

final class SIMDKernelTests: XCTestCase {
    override func tearDown() {
        _ = edge_isa_force(edge_isa_detect())
        super.tearDown()
    }

    /// Runs `body` once per supported ISA with the dispatcher forced to it.
    private func forEachISA(_ body: (Int32) throws -> Void) rethrows {
        for isa in supportedISAs {
            XCTAssertEqual(edge_isa_force(isa), isa)
            XCTAssertEqual(edge_isa_current(), isa)
            try body(isa)
        }
    }

    // MARK: - inputs

    /// A random weight row of `n` elements with realistic scales (or, with `exact`, scales that are
    /// powers of two and small quants, so that every float operation of a dot product is exact).
    private func weightRow(_ type: KernelType, _ n: Int, exact: Bool, rng: inout TestRNG) -> [UInt8] {
        let nb = n / type.blockElems, bb = type.blockBytes
        var w = [UInt8](repeating: 0, count: nb * bb)
        switch type.name {
        case "F32", "F16", "BF16":
            for i in 0..<n {
                // exact: k/16 with |k| <= 15, so products are exact and sums of up to 2^12 of them too
                let v = exact ? Float(rng.int(-15...15)) / 16 : rng.unit()
                switch type.name {
                case "F32": withUnsafeBytes(of: v.bitPattern.littleEndian) { for k in 0..<4 { w[4 * i + k] = $0[k] } }
                case "F16": putU16(&w, 2 * i, f16(v))
                default: putU16(&w, 2 * i, edge_f32_to_bf16(v))
                }
            }
            return w
        default:
            for i in w.indices { w[i] = rng.byte() }
        }
        for b in 0..<nb {
            let o = b * bb
            func scale(_ realistic: Float) -> UInt16 {
                exact ? f16(rng.int(0...1) == 0 ? 1.0 / 16 : 1.0 / 32) : f16(realistic * (0.5 + abs(rng.unit())))
            }
            switch type.name {
            case "Q4_0", "Q5_0", "Q8_0":
                putU16(&w, o, scale(0.01))
            case "Q4_1", "Q5_1":
                putU16(&w, o, scale(0.01))
                putU16(&w, o + 2, exact ? f16(Float(rng.int(-15...15)) / 16) : f16(0.1 * rng.unit()))
            case "Q4_K", "Q5_K":
                putU16(&w, o, exact ? f16(1.0 / 256) : scale(0.001))
                putU16(&w, o + 2, exact ? f16(1.0 / 256) : scale(0.002))
            case "Q6_K":
                putU16(&w, o + 208, exact ? f16(1.0 / 256) : scale(0.001))
                if exact { for j in 0..<16 { w[o + 192 + j] = UInt8(bitPattern: Int8(rng.int(-63...63))) } }
            default:
                break
            }
        }
        return w
    }

    /// An activation row already in `type`'s activation format, built directly (not by a
    /// quantizer) with power-of-two scales and small quants, for the exact-arithmetic test.
    private func exactActivationRow(_ type: KernelType, _ n: Int, rng: inout TestRNG) -> [UInt8] {
        let act = type.actType
        var a = [UInt8](repeating: 0, count: edge_act_row_bytes(type.id, Int64(n)))
        switch act {
        case KernelType.t(EDGE_TYPE_Q8_0), KernelType.t(EDGE_TYPE_Q8_1):
            let bb = act == KernelType.t(EDGE_TYPE_Q8_0) ? 34 : 36, qo = bb - 32
            for b in 0..<(n / 32) {
                var sum = 0
                for j in 0..<32 {
                    let q = rng.int(-7...7)
                    sum += q
                    a[b * bb + qo + j] = UInt8(bitPattern: Int8(q))
                }
                putU16(&a, b * bb, f16(0.125))
                if bb == 36 { putU16(&a, b * bb + 2, f16(0.125 * Float(sum))) }
            }
        case KernelType.t(EDGE_TYPE_Q8_K):
            let bb = 292
            for b in 0..<(n / 256) {
                let o = b * bb
                withUnsafeBytes(of: Float(0.25).bitPattern.littleEndian) { for k in 0..<4 { a[o + k] = $0[k] } }
                for g in 0..<16 {
                    var sum = 0
                    for l in 0..<16 {
                        let q = rng.int(-3...3)
                        sum += q
                        a[o + 4 + 16 * g + l] = UInt8(bitPattern: Int8(q))
                    }
                    putU16(&a, o + 260 + 2 * g, UInt16(bitPattern: Int16(sum)))
                }
            }
        default:
            // the float types: the weight generator's exact values serve here too
            let f = KernelType.all.first { $0.id == act }!
            a = weightRow(f, n, exact: true, rng: &rng)
        }
        return a
    }

    /// Float activations with the cases the quantizers must agree on: mixed magnitudes, an all-zero
    /// block, a block whose largest magnitude appears with both signs (negative first), and a block
    /// with amax 127 whose other values sit exactly halfway between integers.
    private func activationFloats(_ n: Int, rng: inout TestRNG) -> [Float] {
        var x = [Float](repeating: 0, count: n)
        let blocks = max(1, n / 32)
        for b in 0..<blocks {
            let lo = b * 32, hi = min(n, lo + 32)
            let magnitude: Float = [1, 1e-3, 1e3, 3.7][b % 4]
            switch b % 7 {
            case 3:
                break  // zeros
            case 5:
                for i in lo..<hi { x[i] = Float(rng.int(-126...125)) + 0.5 }
                x[lo] = 127
            default:
                for i in lo..<hi { x[i] = magnitude * rng.unit() }
            }
        }
        if n >= 64 {  // tie of magnitudes, negative first: decides Q8_K's sign
            let big = x[0..<min(n, 256)].map { abs($0) }.max()! * 2 + 1
            x[1] = -big
            x[min(n, 256) - 1] = big
        }
        return x
    }

    // MARK: - tests

    func testForceClampsToWhatTheCPUSupports() {
        let best = edge_isa_detect()
        XCTAssertTrue((Int32(EDGE_ISA_SCALAR.rawValue)...Int32(EDGE_ISA_AVX512.rawValue)).contains(best))
        XCTAssertEqual(edge_isa_force(99), best)
        XCTAssertEqual(edge_isa_current(), best)
        XCTAssertEqual(edge_isa_force(-5), Int32(EDGE_ISA_SCALAR.rawValue))
        XCTAssertEqual(edge_isa_current(), Int32(EDGE_ISA_SCALAR.rawValue))
        XCTAssertEqual(edge_isa_force(Int32(EDGE_ISA_AVX512.rawValue)), best)
        print("SIMDKernelTests: this CPU's best ISA is \(isaName(best))")
    }

    func testUnknownTypesAreRejected() {
        var out = [UInt8](repeating: 0, count: 64)
        let x = [Float](repeating: 1, count: 32)
        forEachISA { _ in
            XCTAssertEqual(edge_quantize_act(Int32(EDGE_TYPE_Q4_0.rawValue), x, &out, 32), -1)
            XCTAssertEqual(edge_quantize_act(77, x, &out, 32), -1)
            XCTAssertEqual(edge_quantize_act(-1, x, &out, 32), -1)
        }
    }

    func testQuantizersAreBitIdenticalToReference() {
        let acts: [(Int32, String, [Int])] = [
            (KernelType.t(EDGE_TYPE_Q8_0), "Q8_0", [32, 64, 96, 576, 4128]),
            (KernelType.t(EDGE_TYPE_Q8_1), "Q8_1", [32, 64, 96, 576, 4128]),
            (KernelType.t(EDGE_TYPE_Q8_K), "Q8_K", [256, 512, 2816, 4096]),
            (KernelType.t(EDGE_TYPE_F16), "F16", [1, 7, 8, 17, 33, 1000]),
            (KernelType.t(EDGE_TYPE_BF16), "BF16", [1, 7, 8, 17, 33, 1000]),
            (KernelType.t(EDGE_TYPE_F32), "F32", [1, 33]),
        ]
        var rng = TestRNG(seed: 0x51_4D_44_01)
        var compared = 0
        forEachISA { isa in
            for (act, name, lengths) in acts {
                let perElem = Int(edge_type_block_bytes(act)), perBlock = Int(edge_type_block_elems(act))
                for n in lengths {
                    var x = activationFloats(n, rng: &rng)
                    if act == KernelType.t(EDGE_TYPE_F16) || act == KernelType.t(EDGE_TYPE_BF16) {
                        // the conversions' edge cases: overflow, f16 subnormals, signed zero, NaN, inf
                        let specials: [Float] = [70000, -65520, 65519, 3e-6, -6e-8, -0.0, .nan, -.infinity, Float(bitPattern: 0x0001_1000)]
                        for (k, v) in specials.enumerated() where k < n { x[(k * 5) % n] = v }
                    }
                    let bytes = n / perBlock * perElem
                    var ref = [UInt8](repeating: 0xA5, count: bytes), simd = ref
                    XCTAssertEqual(edge_quantize_act_ref(act, x, &ref, Int64(n)), 0)
                    XCTAssertEqual(edge_quantize_act(act, x, &simd, Int64(n)), 0)
                    if ref != simd {
                        let first = zip(ref, simd).enumerated().first { $0.element.0 != $0.element.1 }!.offset
                        XCTFail("\(isaName(isa)) \(name) n=\(n): bytes differ from the reference, first at byte \(first)")
                    }
                    compared += 1
                }
            }
        }
        XCTAssertEqual(compared, supportedISAs.count * acts.reduce(0) { $0 + $1.2.count })
    }

    /// Inputs where every float operation is exact (power-of-two scales, small integers, sums far
    /// below 2^24 units): any order of float additions gives the same value, so the dispatched dot
    /// must equal the reference bit for bit. A wrong integer anywhere shows up here.
    func testVecDotIsExactWhereFloatArithmeticIsExact() {
        var rng = TestRNG(seed: 0x51_4D_44_02)
        forEachISA { isa in
            for type in KernelType.all {
                for n in type.lengths where n <= 1024 {
                    let w = weightRow(type, n, exact: true, rng: &rng)
                    let a = exactActivationRow(type, n, rng: &rng)
                    let ref = edge_vec_dot_ref(type.id, Int64(n), w, a)
                    let got = edge_vec_dot(type.id, Int64(n), w, a)
                    XCTAssertEqual(got.bitPattern, ref.bitPattern, "\(isaName(isa)) \(type) n=\(n): \(got) vs reference \(ref)")
                }
            }
        }
    }

    /// Realistic inputs: activations rounded by the reference quantizer, random weights. The two
    /// kernels take the same exact integers per block and differ only in how they add the float
    /// terms. Each term t is a block's (or lane's) integer times scales, and |sum of |t|| <= mag:
    ///   mag = sum_i (|w_i| + 2 |w0_i|) |a_i|
    /// where w is the dequantized weight, a the dequantized activation, and w0 the weight with all
    /// quants zeroed (the offset part: -8d, m, -dmin*m, ...; the scale part is w - w0). Summing m
    /// terms in any order errs by at most (m - 1) u sum|t| (u = 2^-24), and each term carries a few
    /// roundings of its own, so both kernels are within (terms + 8) u mag of the exact value:
    ///   |simd - ref| <= (2 terms + 16) u mag, with terms = n / min(block, 32).
    func testVecDotWithinReassociationBoundOfReference() {
        var rng = TestRNG(seed: 0x51_4D_44_03)
        var worst: [String: Double] = [:]
        forEachISA { isa in
            for type in KernelType.all {
                for n in type.lengths {
                    let w = weightRow(type, n, exact: false, rng: &rng)
                    var x = [Float](repeating: 0, count: n)
                    for i in 0..<n { x[i] = rng.unit() * 2 }
                    var a = [UInt8](repeating: 0, count: edge_act_row_bytes(type.id, Int64(n)))
                    XCTAssertEqual(edge_quantize_act_ref(type.actType, x, &a, Int64(n)), 0)

                    var wf = [Float](repeating: 0, count: n), w0f = wf, af = wf
                    XCTAssertEqual(edge_dequantize_row_ref(type.id, w, &wf, Int64(n)), 0)
                    XCTAssertEqual(edge_dequantize_row_ref(type.actType, a, &af, Int64(n)), 0)
                    if let ranges = type.quantBytes {
                        var w0 = w
                        for b in 0..<(n / type.blockElems) {
                            for r in ranges { for k in r { w0[b * type.blockBytes + k] = 0 } }
                        }
                        XCTAssertEqual(edge_dequantize_row_ref(type.id, w0, &w0f, Int64(n)), 0)
                    }
                    var mag = 0.0
                    for i in 0..<n { mag += (Double(abs(wf[i])) + 2 * Double(abs(w0f[i]))) * Double(abs(af[i])) }
                    let terms = Double(n / min(type.blockElems, 32))
                    let bound = (2 * terms + 16) * 0x1p-24 * mag

                    let ref = edge_vec_dot_ref(type.id, Int64(n), w, a)
                    let got = edge_vec_dot(type.id, Int64(n), w, a)
                    let err = abs(Double(got) - Double(ref))
                    XCTAssertTrue(got.isFinite, "\(isaName(isa)) \(type) n=\(n): \(got)")
                    XCTAssertLessThanOrEqual(err, bound, "\(isaName(isa)) \(type) n=\(n): \(got) vs reference \(ref)")
                    let key = "\(isaName(isa)) \(type)"
                    worst[key] = max(worst[key] ?? 0, bound > 0 ? err / bound : 0)
                }
            }
        }
        let summary = worst.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.3f", $0.value))" }
        print("SIMDKernelTests: worst |simd - ref| / bound: " + summary.joined(separator: ", "))
    }

    /// matmul's Y[c * stride + r] is bit-identical to matvec's y[r - r0] for column c, matvec is
    /// bit-identical to vec_dot per row, and matmul leaves rows outside [r0, r1) alone.
    func testMatmulIsBitIdenticalToMatvec() {
        var rng = TestRNG(seed: 0x51_4D_44_04)
        let rows = 37, r0 = 3, r1 = 37, ncols = 5, stride = 41
        forEachISA { isa in
            for type in KernelType.all {
                let n = type.isKQuant ? 512 : (type.blockElems == 1 ? 72 : 96)
                let rowBytes = n / type.blockElems * type.blockBytes
                var W = [UInt8]()
                for _ in 0..<rows { W += weightRow(type, n, exact: false, rng: &rng) }
                let actBytes = edge_act_row_bytes(type.id, Int64(n))
                var A = [UInt8](repeating: 0, count: actBytes * ncols)
                for c in 0..<ncols {
                    let x = (0..<n).map { _ in rng.unit() }
                    A.withUnsafeMutableBytes { buf in
                        _ = edge_quantize_act(type.actType, x, buf.baseAddress! + c * actBytes, Int64(n))
                    }
                }
                var Y = [Float](repeating: .nan, count: stride * ncols)
                edge_matmul(type.id, Int64(n), W, rowBytes, Int64(r0), Int64(r1), A, actBytes, Int64(ncols), &Y, Int64(stride))
                for c in 0..<ncols {
                    var y = [Float](repeating: 0, count: r1 - r0)
                    A.withUnsafeBytes { abuf in
                        let a = abuf.baseAddress! + c * actBytes
                        edge_matvec(type.id, Int64(n), W, rowBytes, Int64(r0), Int64(r1), a, &y)
                        W.withUnsafeBytes { wbuf in
                            for r in r0..<r1 {
                                let d = edge_vec_dot(type.id, Int64(n), wbuf.baseAddress! + r * rowBytes, a)
                                XCTAssertEqual(d.bitPattern, y[r - r0].bitPattern, "\(isaName(isa)) \(type) row \(r): matvec vs vec_dot")
                            }
                        }
                    }
                    for r in 0..<stride {
                        let got = Y[c * stride + r]
                        if (r0..<r1).contains(r) {
                            XCTAssertEqual(got.bitPattern, y[r - r0].bitPattern, "\(isaName(isa)) \(type) col \(c) row \(r)")
                        } else {
                            XCTAssertTrue(got.isNaN, "\(isaName(isa)) \(type) col \(c) row \(r) outside [r0, r1) written")
                        }
                    }
                }
            }
        }
    }

    /// The tiled matmul (AVX-512: register tiles of rows x tokens over decoded weight blocks) on
    /// shapes that exercise its edges: row counts and token counts that are not multiples of the
    /// tile (4 x 4) or of its decode/prepare groups (64 rows, 64 tokens), odd block counts (left to
    /// the per-element loop), row ranges not starting at 0, and the same rows computed in arbitrary
    /// row chunks. Every element must equal matvec's bit for bit.
    func testTiledMatmulIsBitIdenticalToMatvecOnOddShapes() {
        var rng = TestRNG(seed: 0x51_4D_44_06)
        var checked = 0
        forEachISA { isa in
            typeLoop: for type in KernelType.all where type.quantBytes != nil {
                let widths = type.isKQuant ? [256, 768, 1536] : [64, 96, 576, 1536]
                let shapes: [(rows: Int, r0: Int, ncols: Int)] = [(1, 0, 4), (5, 1, 7), (9, 0, 1), (70, 3, 13), (67, 0, 67), (13, 2, 4), (7, 0, 130)]
                for (si, shape) in shapes.enumerated() {
                    let n = widths[si % widths.count]
                    let rowBytes = n / type.blockElems * type.blockBytes
                    var W = [UInt8]()
                    for _ in 0..<shape.rows { W += weightRow(type, n, exact: false, rng: &rng) }
                    let actBytes = edge_act_row_bytes(type.id, Int64(n))
                    var A = [UInt8](repeating: 0, count: actBytes * shape.ncols)
                    for c in 0..<shape.ncols {
                        let scale: Float = [1, 1e-3, 30][c % 3]
                        let x = (0..<n).map { _ in rng.unit() * scale }
                        A.withUnsafeMutableBytes { buf in
                            _ = edge_quantize_act(type.actType, x, buf.baseAddress! + c * actBytes, Int64(n))
                        }
                    }
                    let r0 = shape.r0, r1 = shape.rows, stride = shape.rows + 3
                    var whole = [Float](repeating: .nan, count: stride * shape.ncols)
                    edge_matmul(type.id, Int64(n), W, rowBytes, Int64(r0), Int64(r1), A, actBytes, Int64(shape.ncols), &whole, Int64(stride))
                    // the same rows in random chunks of 1...9
                    var chunked = [Float](repeating: .nan, count: stride * shape.ncols)
                    var b = r0
                    while b < r1 {
                        let e = min(r1, b + rng.int(1...9))
                        edge_matmul(type.id, Int64(n), W, rowBytes, Int64(b), Int64(e), A, actBytes, Int64(shape.ncols), &chunked, Int64(stride))
                        b = e
                    }
                    for c in 0..<shape.ncols {
                        var y = [Float](repeating: 0, count: r1 - r0)
                        A.withUnsafeBytes { abuf in
                            edge_matvec(type.id, Int64(n), W, rowBytes, Int64(r0), Int64(r1), abuf.baseAddress! + c * actBytes, &y)
                        }
                        for r in 0..<stride {
                            let got = whole[c * stride + r], gotChunked = chunked[c * stride + r]
                            if (r0..<r1).contains(r) {
                                let want = y[r - r0]
                                if got.bitPattern != want.bitPattern || gotChunked.bitPattern != want.bitPattern {
                                    XCTFail("\(isaName(isa)) \(type) n=\(n) rows=\(shape.rows) ncols=\(shape.ncols) col \(c) row \(r): matmul \(got), chunked \(gotChunked), matvec \(want)")
                                    continue typeLoop  // one report per type
                                }
                                checked += 1
                            } else {
                                XCTAssertTrue(got.isNaN && gotChunked.isNaN, "\(isaName(isa)) \(type) col \(c) row \(r) outside [r0, r1) written")
                            }
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 0)
    }

    /// Not a test of behaviour: prints the Q8_0 matvec bandwidth over a 256 MiB matrix, once per
    /// ISA, median of 7 runs after one warm-up. Runs only with EDGE_BENCH=1 in the environment.
    func testBenchmarkQ8_0MatvecBandwidth() throws {
        guard ProcessInfo.processInfo.environment["EDGE_BENCH"] == "1" else {
            throw XCTSkip("set EDGE_BENCH=1 to print the Q8_0 matvec bandwidth")
        }
        let type = KernelType.all.first { $0.name == "Q8_0" }!
        let n = 4096, rowBytes = n / 32 * 34
        let rows = (256 << 20) / rowBytes
        var rng = TestRNG(seed: 0x51_4D_44_05)
        let proto = weightRow(type, n, exact: false, rng: &rng)
        let W = UnsafeMutableRawPointer.allocate(byteCount: rows * rowBytes, alignment: 64)
        defer { W.deallocate() }
        for r in 0..<rows { proto.withUnsafeBytes { (W + r * rowBytes).copyMemory(from: $0.baseAddress!, byteCount: rowBytes) } }
        let x = (0..<n).map { _ in rng.unit() }
        var a = [UInt8](repeating: 0, count: edge_act_row_bytes(type.id, Int64(n)))
        _ = edge_quantize_act(type.actType, x, &a, Int64(n))
        var y = [Float](repeating: 0, count: rows)
        for isa in supportedISAs {
            _ = edge_isa_force(isa)
            var seconds = [Double]()
            for run in 0..<8 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                edge_matvec(type.id, Int64(n), W, rowBytes, 0, Int64(rows), a, &y)
                let t1 = DispatchTime.now().uptimeNanoseconds
                if run > 0 { seconds.append(Double(t1 - t0) * 1e-9) }
            }
            seconds.sort()
            let gbps = { (s: Double) in Double(rows * rowBytes) / s / 1e9 }
            print(String(format: "SIMDKernelTests bench: Q8_0 matvec %d x %d (%.0f MiB), %@, 1 thread: median %.2f GB/s (min %.2f, max %.2f), 7 runs",
                         rows, n, Double(rows * rowBytes) / 1048576, isaName(isa), gbps(seconds[3]), gbps(seconds[6]), gbps(seconds[0])))
        }
    }
}
