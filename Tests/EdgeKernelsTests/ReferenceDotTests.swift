// The quantized dot product (edge_quantize_act_ref + edge_vec_dot_ref) against the plain dot
// product of the dequantized operands, within a derived error bound.
import CEdgeKernels
import EdgeCore
import XCTest

final class ReferenceDotTests: XCTestCase {
    private func dequantize(_ type: TensorType, _ bytes: [UInt8], _ n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n)
        XCTAssertEqual(edge_dequantize_row_ref(Int32(type.rawValue), bytes, &out, Int64(n)), 0, "\(type)")
        return out
    }

    /// Activations like a transformer's hidden state: mostly small, a few outliers.
    private func activations(_ n: Int, rng: inout SplitMix64) -> [Float] {
        (0..<n).map { i in
            let v = Float.random(in: -1...1, using: &rng)
            return i % 97 == 5 ? v * 12 : v
        }
    }

    /// Why the bound holds. Let w_i, a_i be the dequantized weight and activation (floats exactly as
    /// the references produce them) and split w_i = P_i + O_i into its scale part and its offset
    /// part (O = m for Q4_1/Q5_1, -dmin*m for K-quants, 0 otherwise). The test computes
    /// T = sum w_i a_i in double (error ~2^-53, ignored). Both T and the reference R differ from the
    /// exact E = sum (exact P_i + exact O_i) * (exact a_i) by float roundings only, u = 2^-24:
    ///   - each w_i, a_i carries at most 3 roundings (d*sc, *q, -m), so |T - E| <= 4u * M;
    ///   - R rounds dx*dy, int->float, the product, the offset product and the block sum (<= 4u per
    ///     block term), then adds B block terms in float (recursive summation: (B-1)u), so
    ///     |R - E| <= (B + 3)u * M;
    ///   with M = sum |a_i| (|P_i| + |O_i|) <= sum |a_i| (|w_i| + 2|O_i|).
    ///   - Q8_1 only: R uses s = f16(d * sum q) where T uses f16(d) * q: per block at most
    ///     |m| (|sum q| |d16| (2^-11 + 2^-11 + u) + 2^-25), bounded below by 2^-10 and 2^-24.
    /// Hence |R - T| <= (B + 8)u * M + sum_blocks |m| (|sum q| |d16| 2^-10 + 2^-24).
    func testQuantizedDotIsWithinDerivedBoundOfDequantizedDot() {
        var rng = SplitMix64(seed: 0xD07_0002)
        let n = 1024  // 4 super-blocks, 32 legacy blocks
        for type in RefTypes.weights {
            let actRaw = edge_vec_dot_type(Int32(type.rawValue))
            guard let act = TensorType(rawValue: UInt32(actRaw)) else { XCTFail("\(type)"); continue }
            let blocks = n / type.blockSize
            var worst = 0.0
            for _ in 0..<16 {
                let wBytes = RefTypes.randomBlocks(type, blocks: blocks, rng: &rng)
                let x = activations(n, rng: &rng)
                var aBytes = [UInt8](repeating: 0, count: edge_act_row_bytes(Int32(type.rawValue), Int64(n)))
                XCTAssertEqual(edge_quantize_act_ref(actRaw, x, &aBytes, Int64(n)), 0)
                let w = dequantize(type, wBytes, n), a = dequantize(act, aBytes, n)

                var offset = [Float](repeating: 0, count: n)
                if let bits = RefTypes.quantBits(type) {
                    var zeroed = wBytes
                    for b in 0..<blocks {
                        for j in (b * type.blockBytes + bits.lowerBound)..<(b * type.blockBytes + bits.upperBound) { zeroed[j] = 0 }
                    }
                    offset = dequantize(type, zeroed, n)
                }
                var exact = 0.0, magnitude = 0.0
                for i in 0..<n {
                    exact += Double(w[i]) * Double(a[i])
                    magnitude += Double(abs(a[i])) * (Double(abs(w[i])) + 2 * Double(abs(offset[i])))
                }
                var bound = Double(blocks + 8) * 0x1p-24 * magnitude
                if act == .q8_1 {
                    for b in 0..<blocks {
                        let base = b * 36
                        let d16 = Double(edge_f16_to_f32(UInt16(aBytes[base]) | UInt16(aBytes[base + 1]) << 8))
                        let sumQ = (0..<32).reduce(0) { $0 + Int(Int8(bitPattern: aBytes[base + 4 + $1])) }
                        bound += Double(abs(offset[b * 32])) * (Double(abs(sumQ)) * abs(d16) * 0x1p-10 + 0x1p-24)
                    }
                }
                let got = wBytes.withUnsafeBytes { wp in
                    aBytes.withUnsafeBytes { ap in edge_vec_dot_ref(Int32(type.rawValue), Int64(n), wp.baseAddress, ap.baseAddress) }
                }
                let err = abs(Double(got) - exact)
                XCTAssertLessThanOrEqual(err, bound, "\(type): ref \(got), dequantized \(exact)")
                worst = max(worst, err / max(bound, .leastNormalMagnitude))
            }
            // The bound is not vacuous: it stays far below the dot product's own scale.
            XCTAssertLessThan(worst, 1, "\(type)")
        }
    }

    /// Rounding x to the activation type moves each value by at most half a quantization step:
    /// |a - x| <= amax (1/254 + 2^-11) (the step is f16(amax / 127) for Q8_0/Q8_1, amax / 127 for
    /// Q8_K), plus float rounding.
    func testActivationRoundingErrorIsHalfAStep() {
        var rng = SplitMix64(seed: 0xAC7)
        let n = 1024
        for act in [TensorType.q8_0, .q8_1, .q8_K] {
            let x = activations(n, rng: &rng)
            var bytes = [UInt8](repeating: 0, count: act.rowBytes(n)!)
            XCTAssertEqual(edge_quantize_act_ref(Int32(act.rawValue), x, &bytes, Int64(n)), 0)
            let a = dequantize(act, bytes, n)
            for start in stride(from: 0, to: n, by: act.blockSize) {
                let block = start..<(start + act.blockSize)
                let amax = block.map { abs(x[$0]) }.max()!
                let bound = amax * (1.0 / 254 + 0x1p-11) * (1 + 0x1p-20)
                for i in block { XCTAssertLessThanOrEqual(abs(a[i] - x[i]), bound, "\(act)[\(i)]") }
            }
        }
        // F16 / BF16 activations are the round-to-nearest-even conversions.
        let x = activations(64, rng: &rng)
        var h = [UInt16](repeating: 0, count: 64)
        XCTAssertEqual(edge_quantize_act_ref(Int32(TensorType.f16.rawValue), x, &h, 64), 0)
        XCTAssertEqual(h, x.map { Float16($0).bitPattern })
        XCTAssertEqual(edge_quantize_act_ref(Int32(TensorType.bf16.rawValue), x, &h, 64), 0)
        XCTAssertEqual(h, x.map { edge_f32_to_bf16($0) })
        XCTAssertEqual(edge_quantize_act_ref(Int32(TensorType.q4_0.rawValue), x, &h, 64), -1)
    }

    /// An all-zero block quantizes to zeros with d = 0 (no division by zero).
    func testZeroActivations() {
        let x = [Float](repeating: 0, count: 256)
        for act in [TensorType.q8_0, .q8_1, .q8_K] {
            var bytes = [UInt8](repeating: 0xFF, count: act.rowBytes(256)!)
            XCTAssertEqual(edge_quantize_act_ref(Int32(act.rawValue), x, &bytes, 256), 0)
            XCTAssertEqual(dequantize(act, bytes, 256), x, "\(act)")
        }
    }
}
