// edge_op_attention's SIMD forms against each other: on x86 the query heads that share a KV head
// go through the keys together (8-lane F16C form, or 16-lane V updates on AVX-512), and a group
// wider than the kernel takes falls back to one head at a time. All of them promise the same
// arithmetic per (token, head), so the outputs must agree bit for bit.
import CEdgeKernels
import XCTest

final class AttentionKernelTests: XCTestCase {
    override func tearDown() {
        _ = edge_isa_force(edge_isa_detect())
        super.tearDown()
    }

    /// Heads 0..<3 of a 9-head, 1-KV-head attention (group 9: one head at a time) equal a 3-head,
    /// 1-KV-head attention over the same queries (group 3: heads together), on AVX2 and AVX-512,
    /// for head sizes 64 and 8 (too narrow for the 16-lane form), with positions that skip.
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
            var results: [[Float]] = []
            for isa in Int32(EDGE_ISA_AVX2.rawValue)...best {
                XCTAssertEqual(edge_isa_force(isa), isa)
                var out9 = [Float](repeating: .nan, count: ntok * 9 * hd)
                var out3 = [Float](repeating: .nan, count: ntok * 3 * hd)
                edge_op_attention(pool, q9, kc, vc, pos, Int64(ntok), 9, 1, Int32(hd), scale, &out9)
                edge_op_attention(pool, q3, kc, vc, pos, Int64(ntok), 3, 1, Int32(hd), scale, &out3)
                for t in 0..<ntok {
                    for i in 0..<(3 * hd) {
                        let a = out9[t * 9 * hd + i], b = out3[t * 3 * hd + i]
                        XCTAssertEqual(a.bitPattern, b.bitPattern, "isa \(isa) hd \(hd) token \(t) element \(i): \(a) vs \(b)")
                    }
                }
                results.append(out3)
            }
            for r in results.dropFirst() {
                XCTAssertEqual(r.map(\.bitPattern), results[0].map(\.bitPattern), "hd \(hd): AVX-512 differs from AVX2")
            }
        }
    }
}
