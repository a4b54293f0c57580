// edge_op_attention's SIMD forms against each other: on x86 the query heads that share a KV head
// go through the keys together (8-lane F16C form, or 16-lane V updates on AVX-512), and a group
// wider than the kernel takes falls back to one head at a time. All of them promise the same
// arithmetic per (token, head), so the outputs must agree bit for bit, in both precisions (F16
// rounding of Q and the accumulator as llama.cpp's one-query path; F32 as its prompt path).
import CEdgeKernels
import XCTest

final class AttentionKernelTests: XCTestCase {
    override func tearDown() {
        _ = edge_isa_force(edge_isa_detect())
        super.tearDown()
    }

    /// Heads 0..<3 of a 9-head, 1-KV-head attention (group 9: one head at a time) equal a 3-head,
    /// 1-KV-head attention over the same queries (group 3: heads together), on AVX2 and AVX-512,
    /// for head sizes 64 and 8 (too narrow for the 16-lane form), with positions that skip, in
    /// both precisions; and the two precisions are different arithmetic.
    func testGroupedHeadsEqualOneHeadAtATime() throws {
        let best = edge_isa_detect()
        guard best >= Int32(EDGE_ISA_AVX2.rawValue) else { throw XCTSkip("no AVX2: only the scalar form runs") }
        guard let pool = edge_pool_create(2, nil) else { return XCTFail("no pool") }
        defer { edge_pool_destroy(pool) }
        var state: UInt64 = 0xA77E_0001
        func unit() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
        for hd in [64, 8] {
            let ctx = 40, ntok = 7
            let kc = (0..<(ctx * hd)).map { _ in edge_f32_to_f16(unit() * 2) }
            let vc = (0..<(ctx * hd)).map { _ in edge_f32_to_f16(unit()) }
            let pos: [Int32] = [0, 1, 5, 17, 18, 33, 39]
            let q9 = (0..<(ntok * 9 * hd)).map { _ in unit() * 3 }
            var q3 = [Float]()
            for t in 0..<ntok { q3 += q9[(t * 9 * hd)..<(t * 9 * hd + 3 * hd)] }
            let scale = 1 / Float(hd).squareRoot()
            var byPrecision: [[Float]] = []
            for f32: Int32 in [0, 1] {
            var results: [[Float]] = []
            for isa in Int32(EDGE_ISA_AVX2.rawValue)...best {
                XCTAssertEqual(edge_isa_force(isa), isa)
                var out9 = [Float](repeating: .nan, count: ntok * 9 * hd)
                var out3 = [Float](repeating: .nan, count: ntok * 3 * hd)
                edge_op_attention(pool, q9, kc, vc, pos, Int64(ntok), 9, 1, Int32(hd), scale, &out9, Int64(ctx), 0, 0, f32)
                edge_op_attention(pool, q3, kc, vc, pos, Int64(ntok), 3, 1, Int32(hd), scale, &out3, Int64(ctx), 0, 0, f32)
                for t in 0..<ntok {
                    for i in 0..<(3 * hd) {
                        let a = out9[t * 9 * hd + i], b = out3[t * 3 * hd + i]
                        XCTAssertEqual(a.bitPattern, b.bitPattern, "f32 \(f32) isa \(isa) hd \(hd) token \(t) element \(i): \(a) vs \(b)")
                    }
                }
                results.append(out3)
            }
            for r in results.dropFirst() {
                XCTAssertEqual(r.map(\.bitPattern), results[0].map(\.bitPattern), "f32 \(f32) hd \(hd): AVX-512 differs from AVX2")
            }
            byPrecision.append(results[0])
            }
            XCTAssertNotEqual(byPrecision[0].map(\.bitPattern), byPrecision[1].map(\.bitPattern), "hd \(hd): the F32 form rounds as the F16 one")
        }
    }

    /// Sliding-window attention over a ring cache with a score soft-cap, on every ISA this host
    /// runs: 40 positions fed in batches of 5 into a ring of window + batch - 1 = 12 rows (it wraps
    /// several times), against a float64 softmax over the full K/V history with the same window and
    /// cap. K and V are rounded to F16 in the reference as the cache holds them, and Q too for the
    /// F16 form, whose F16 accumulator stays within 2e-3 of the |V| scale; the F32 form stays
    /// within 2e-5 of the reference with Q unrounded, which the F16 form misses (checked). Without
    /// the window or the cap the reference moves by far more than that (checked below), so the
    /// test sees both.
    func testWindowedSoftCappedAttentionOverARing() throws {
        guard let pool = edge_pool_create(2, nil) else { return XCTFail("no pool") }
        defer { edge_pool_destroy(pool) }
        var state: UInt64 = 0xA77E_0002
        func unit() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
        func f16(_ x: Float) -> Double { Double(edge_f16_to_f32(edge_f32_to_f16(x))) }
        let hd = 64, heads = 2, total = 40, batch = 5, window = 8, cap: Float = 3
        let rows = window + batch - 1
        let ks = (0..<(total * hd)).map { _ in unit() * 2 }
        let vs = (0..<(total * hd)).map { _ in unit() }
        let qs = (0..<(total * heads * hd)).map { _ in unit() * 2 }
        let scale = 1 / Float(hd).squareRoot()

        func reference(window w: Int?, softcap: Float?, roundQ: Bool = true) -> [Double] {
            var out = [Double](repeating: 0, count: total * heads * hd)
            for p in 0..<total {
                for h in 0..<heads {
                    let first = w.map { max(0, p - $0 + 1) } ?? 0
                    var scores: [Double] = []
                    for j in first...p {
                        var s = 0.0
                        for d in 0..<hd {
                            let q = qs[(p * heads + h) * hd + d]
                            s += (roundQ ? f16(q) : Double(q)) * f16(ks[j * hd + d])
                        }
                        s *= Double(scale)
                        if let c = softcap { s = Double(c) * tanh(s / Double(c)) }
                        scores.append(s)
                    }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let sum = e.reduce(0, +)
                    for (i, j) in (first...p).enumerated() {
                        for d in 0..<hd { out[(p * heads + h) * hd + d] += e[i] / sum * f16(vs[j * hd + d]) }
                    }
                }
            }
            return out
        }
        let want = reference(window: window, softcap: cap), wantF32 = reference(window: window, softcap: cap, roundQ: false)
        let unwindowed = reference(window: nil, softcap: cap), uncapped = reference(window: window, softcap: nil)
        func maxDiff(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) } }
        XCTAssertGreaterThan(maxDiff(want, unwindowed), 0.05, "the window matters on this data")
        XCTAssertGreaterThan(maxDiff(want, uncapped), 0.02, "the cap matters on this data")

        for isa in Int32(EDGE_ISA_SCALAR.rawValue)...edge_isa_detect() {
          for f32: Int32 in [0, 1] {
            XCTAssertEqual(edge_isa_force(isa), isa)
            var kc = [UInt16](repeating: 0, count: rows * hd), vc = kc
            var got = [Float](repeating: .nan, count: total * heads * hd)
            for start in stride(from: 0, to: total, by: batch) {
                let pos = (start..<(start + batch)).map(Int32.init)
                let k = Array(ks[(start * hd)..<((start + batch) * hd)]), v = Array(vs[(start * hd)..<((start + batch) * hd)])
                let q = Array(qs[(start * heads * hd)..<((start + batch) * heads * hd)])
                var out = [Float](repeating: .nan, count: batch * heads * hd)
                edge_op_store_kv(pool, k, v, Int64(batch), Int64(hd), pos, &kc, &vc, Int64(rows))
                edge_op_attention(pool, q, kc, vc, pos, Int64(batch), Int32(heads), 1, Int32(hd), scale, &out,
                                  Int64(rows), Int64(window), cap, f32)
                got.replaceSubrange((start * heads * hd)..<((start + batch) * heads * hd), with: out)
            }
            if f32 == 0 {
                let err = maxDiff(got.map(Double.init), want)
                XCTAssertLessThan(err, 2e-3, "isa \(isa), F16 form: max |kernel - float64 reference| \(err)")
                XCTAssertGreaterThan(maxDiff(got.map(Double.init), wantF32), 2e-5, "isa \(isa): the F16 form is not F32")
            } else {
                let err = maxDiff(got.map(Double.init), wantF32)
                XCTAssertLessThan(err, 2e-5, "isa \(isa), F32 form: max |kernel - float64 reference| \(err)")
            }
          }
        }
    }
}
