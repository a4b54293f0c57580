// f16 and bf16 conversions, exhaustively against simple independent references, and the
// round-half-to-even rule of the Q8 activation quantizers.
import CEdgeKernels
import EdgeCore
import XCTest

final class ReferenceConversionTests: XCTestCase {
    // MARK: f16

    func testEveryHalfConvertsToFloatAndBack() {
        for h in 0...UInt16.max {
            let f = edge_f16_to_f32(h)
            let exponent = (h >> 10) & 0x1F, mantissa = UInt32(h & 0x3FF)
            if exponent == 0x1F && mantissa != 0 {
                // NaN: sign and payload kept, quiet bit set (VCVTPH2PS)
                let expected = UInt32(h & 0x8000) << 16 | 0x7FC0_0000 | mantissa << 13
                XCTAssertEqual(f.bitPattern, expected, "NaN \(String(h, radix: 16))")
                XCTAssertEqual(edge_f32_to_f16(f), h | 0x200, "NaN \(String(h, radix: 16)) back")
            } else {
                // Swift's own Float16 widening is exact; it is the independent reference here.
                XCTAssertEqual(f.bitPattern, Float(Float16(bitPattern: h)).bitPattern, "\(String(h, radix: 16))")
                XCTAssertEqual(edge_f32_to_f16(f), h, "round trip \(String(h, radix: 16))")
            }
        }
    }

    func testFloatToHalfRoundsToNearestEven() {
        // 1. A sweep of 2^22 float patterns spread over all exponents, against Swift's Float16(Float)
        //    (IEEE round to nearest even).
        var pattern: UInt32 = 0
        for _ in 0..<(1 << 22) {
            pattern &+= 1021  // odd stride: visits every residue of the low bits
            let f = Float(bitPattern: pattern)
            if f.isNaN {
                let h = edge_f32_to_f16(f)
                XCTAssertEqual(h & 0x7E00, 0x7E00, "NaN stays a quiet NaN")
                XCTAssertEqual(h & 0x8000, UInt16(pattern >> 16) & 0x8000, "NaN keeps its sign")
                continue
            }
            let ours = edge_f32_to_f16(f), theirs = Float16(f).bitPattern
            if ours != theirs { XCTFail("\(f) (\(String(pattern, radix: 16))): \(ours) vs \(theirs)"); return }
        }
        // 2. Every halfway point between neighbouring halves (subnormal, normal, and the one above
        //    the largest finite half) goes to the neighbour with the even mantissa.
        for h in UInt16(0)..<0x7C00 {
            let lo = Double(edge_f16_to_f32(h))
            let hi = h == 0x7BFF ? 65536.0 : Double(edge_f16_to_f32(h + 1))
            let mid = Float((lo + hi) / 2)  // exact: 12 significant bits
            XCTAssertEqual(Double(mid), (lo + hi) / 2)
            let even: UInt16 = h & 1 == 0 ? h : h + 1
            XCTAssertEqual(edge_f32_to_f16(mid), even, "halfway above \(String(h, radix: 16))")
            XCTAssertEqual(edge_f32_to_f16(-mid), even | 0x8000, "negative halfway above \(String(h, radix: 16))")
            // a hair above/below the tie decides by distance
            XCTAssertEqual(edge_f32_to_f16(mid.nextUp), h + 1)
            XCTAssertEqual(edge_f32_to_f16(mid.nextDown), h)
        }
        XCTAssertEqual(edge_f32_to_f16(.infinity), 0x7C00)
        XCTAssertEqual(edge_f32_to_f16(-.infinity), 0xFC00)
        XCTAssertEqual(edge_f32_to_f16(1e-30), 0)
        XCTAssertEqual(edge_f32_to_f16(-0.0), 0x8000)
    }

    // MARK: bf16

    /// The bf16 nearest to `f` by distance (ties to the even pattern), computed in Double: the
    /// independent reference. Beyond the largest finite bf16 the next "value" is 2^128 (-> inf).
    private func bf16Reference(_ f: Float) -> UInt16 {
        let bits = f.bitPattern, sign = UInt16(bits >> 16) & 0x8000
        let lo = UInt16((bits & 0x7FFF_FFFF) >> 16), hi = lo + 1
        let value = Double(abs(f))
        let loValue = Double(Float(bitPattern: UInt32(lo) << 16))
        let hiValue = hi == 0x7F80 ? 0x1p128 : Double(Float(bitPattern: UInt32(hi) << 16))
        if value == loValue { return sign | lo }
        let dLo = value - loValue, dHi = hiValue - value
        if dLo < dHi { return sign | lo }
        if dHi < dLo { return sign | hi }
        return sign | (lo & 1 == 0 ? lo : hi)
    }

    func testBFloat16Conversions() {
        for h in 0...UInt16.max {
            XCTAssertEqual(edge_bf16_to_f32(h).bitPattern, UInt32(h) << 16)
        }
        var pattern: UInt32 = 0x1234
        for _ in 0..<(1 << 22) {
            pattern &+= 1021
            let f = Float(bitPattern: pattern)
            let ours = edge_f32_to_bf16(f)
            if f.isNaN {
                XCTAssertEqual(ours, UInt16(pattern >> 16) | 0x40, "NaN forced quiet (as ggml)")
                continue
            }
            if f.isInfinite { XCTAssertEqual(ours, UInt16(pattern >> 16)); continue }
            let expected = bf16Reference(f)
            if ours != expected { XCTFail("\(f) (\(String(pattern, radix: 16))): \(ours) vs \(expected)"); return }
        }
        // ties: 1 + 2^-8 lies halfway between bf16 1.0 (even) and 1 + 2^-7
        XCTAssertEqual(edge_f32_to_bf16(1 + 0x1p-8), 0x3F80)
        XCTAssertEqual(edge_f32_to_bf16(1 + 0x1p-7 + 0x1p-8), 0x3F82)
    }

    // MARK: activation rounding

    /// llama.cpp's x86 quantize_row_q8_0 multiplies by id = 127 / amax and rounds with
    /// _mm256_round_ps(_MM_ROUND_NEAREST): halves go to the even integer, where C's roundf would
    /// round away from zero.
    func testQ8ActivationsRoundHalfToEven() {
        var x = [Float](repeating: 0, count: 64)
        // block 0: amax = 127 makes id exactly 1, so x is rounded as is
        x[0] = 127; x[1] = 2.5; x[2] = -0.5; x[3] = 3.5; x[4] = -2.5; x[5] = 0.5
        // block 1: found by search. x * (127 / amax) is exactly 72.5 in float, but x * (1 / d) with
        // d = amax / 127 is 72.50001: only the 127 / amax multiplier with half-even rounding gives 72.
        let amax = Float(bitPattern: 0x3FCB_E235), v = Float(bitPattern: 0x3F68_C7D0)
        XCTAssertEqual(v * (127 / amax), 72.5)
        XCTAssertEqual((v * (1 / (amax / 127))).rounded(.toNearestOrEven), 73)
        XCTAssertEqual(Float(72.5).rounded(), 73, "roundf rounds the tie away from zero")
        x[32] = amax; x[33] = v

        var q8_0 = [edge_block_q8_0](repeating: edge_block_q8_0(), count: 2)
        XCTAssertEqual(edge_quantize_act_ref(Int32(TensorType.q8_0.rawValue), x, &q8_0, 64), 0)
        let b0 = withUnsafeBytes(of: q8_0[0].qs) { Array($0.bindMemory(to: Int8.self)) }
        let b1 = withUnsafeBytes(of: q8_0[1].qs) { Array($0.bindMemory(to: Int8.self)) }
        XCTAssertEqual(Array(b0[0..<6]), [127, 2, 0, 4, -2, 0])
        XCTAssertEqual(b1[0], 127)
        XCTAssertEqual(b1[1], 72, "half-even of x * (127 / amax)")
        XCTAssertEqual(q8_0[0].d, edge_f32_to_f16(1))

        var q8_1 = [edge_block_q8_1](repeating: edge_block_q8_1(), count: 2)
        XCTAssertEqual(edge_quantize_act_ref(Int32(TensorType.q8_1.rawValue), x, &q8_1, 64), 0)
        let c0 = withUnsafeBytes(of: q8_1[0].qs) { Array($0.bindMemory(to: Int8.self)) }
        XCTAssertEqual(Array(c0[0..<6]), [127, 2, 0, 4, -2, 0])
        XCTAssertEqual(q8_1[0].s, edge_f32_to_f16(131), "s = d * sum(q) = 1 * (127 + 2 + 4 - 2)")

        // Q8_K: iscale = -127 / max = -1 here; nearest_int is half-even too.
        var k = [Float](repeating: 0, count: 256)
        k[0] = 127; k[1] = 2.5; k[2] = -0.5; k[3] = 3.5; k[4] = -2.5
        var q8_K = edge_block_q8_K()
        XCTAssertEqual(edge_quantize_act_ref(Int32(TensorType.q8_K.rawValue), k, &q8_K, 256), 0)
        let kq = withUnsafeBytes(of: q8_K.qs) { Array($0.bindMemory(to: Int8.self)) }
        XCTAssertEqual(Array(kq[0..<5]), [-127, -2, 0, -4, 2])
        XCTAssertEqual(q8_K.d, -1)
        XCTAssertEqual(q8_K.bsums.0, -127 - 2 - 4 + 2)
    }
}
