// The sparse feed-forward kernels (edge_sparse.h): the neuron-major W_down product is
// BIT-IDENTICAL (0 ulp) to edge_vec_dot_ref on the file-layout rows for every supported type, every
// ISA the CPU has, 1 and 2 threads, and activation rows from all-active to all-zero (rows not a
// multiple of the 64-row tile check the padding); the gathered up rows equal edge_op_matmul bit for
// bit in exact mode and within 1e-5 relative in fast mode; selection and masking agree.
import CEdgeKernels
import EdgeCore
import XCTest

final class SparseKernelTests: XCTestCase {
    private let downTypes: [(id: Int32, name: String)] = [
        (Int32(EDGE_TYPE_Q8_0.rawValue), "Q8_0"), (Int32(EDGE_TYPE_Q4_0.rawValue), "Q4_0"),
        (Int32(EDGE_TYPE_Q5_0.rawValue), "Q5_0"), (Int32(EDGE_TYPE_Q4_K.rawValue), "Q4_K"),
        (Int32(EDGE_TYPE_Q5_K.rawValue), "Q5_K"), (Int32(EDGE_TYPE_Q6_K.rawValue), "Q6_K"),
    ]

    override func tearDown() {
        _ = edge_isa_force(edge_isa_detect())
        _ = edge_sparse_exact_set(0)
        super.tearDown()
    }

    private var isas: [Int32] {
        [Int32(EDGE_ISA_SCALAR.rawValue), Int32(EDGE_ISA_AVX2.rawValue), Int32(EDGE_ISA_AVX512.rawValue)].filter { $0 <= edge_isa_detect() }
    }

    /// A feed-forward activation row of n values with a fraction `density` nonzero, quantized for
    /// `t`'s activation type.
    private func hidden(_ t: Int32, n: Int, density: Double, rng: inout SplitMix64) -> [UInt8] {
        let x = (0..<n).map { _ in Double(rng.next() >> 11) / Double(1 << 53) < density ? unitFloat(&rng) * 4 : 0 }
        var a = [UInt8](repeating: 0, count: edge_act_row_bytes(t, Int64(n)))
        let rc = a.withUnsafeMutableBytes { edge_quantize_act_ref(edge_vec_dot_type(t), x, $0.baseAddress!, Int64(n)) }
        XCTAssertEqual(rc, 0)
        return a
    }

    func testNeuronMajorDownIsBitIdenticalToTheReferenceDot() throws {
        var rng = SplitMix64(seed: 17)
        let rows = 80, cols = 512   // 80: a second, padded tile
        for (t, name) in downTypes {
            XCTAssertEqual(edge_sparse_down_supported(t, Int64(rows), Int64(cols)), 1, name)
            let w = randomQuantRows(t, rows: rows, n: cols, rng: &rng)
            let rowBytes = w.count / rows
            var copy = [UInt8](repeating: 0xee, count: edge_sparse_down_bytes(t, Int64(rows), Int64(cols)) + 64)
            let built = w.withUnsafeBytes { wb in
                copy.withUnsafeMutableBytes { edge_sparse_down_build(t, Int64(rows), Int64(cols), wb.baseAddress!, rowBytes, $0.baseAddress!) }
            }
            XCTAssertEqual(built, 0, name)
            for density in [1.0, 0.5, 0.1, 0.0] {
                let a = hidden(t, n: cols, density: density, rng: &rng)
                let expected: [Float] = w.withUnsafeBytes { wb in
                    a.withUnsafeBytes { ab in (0..<rows).map { edge_vec_dot_ref(t, Int64(cols), wb.baseAddress! + $0 * rowBytes, ab.baseAddress!) } }
                }
                for isa in isas {
                    XCTAssertEqual(edge_isa_force(isa), isa)
                    for threads in [1, 2] {
                        guard let pool = edge_pool_create(Int32(threads), nil) else { return XCTFail("no pool") }
                        defer { edge_pool_destroy(pool) }
                        var y = [Float](repeating: .nan, count: rows)
                        copy.withUnsafeBytes { cb in
                            a.withUnsafeBytes { edge_op_sparse_down(pool, t, Int64(rows), Int64(cols), cb.baseAddress!, $0.baseAddress!, &y) }
                        }
                        XCTAssertEqual(y.map(\.bitPattern), expected.map(\.bitPattern),
                                       "\(name) density \(density) isa \(isa) threads \(threads)")
                    }
                }
            }
        }
    }

    func testUnsupportedShapesHaveNoCopy() {
        XCTAssertEqual(edge_sparse_down_supported(Int32(EDGE_TYPE_Q8_0.rawValue), 72, 512), 0, "rows not a multiple of 16")
        XCTAssertEqual(edge_sparse_down_supported(Int32(EDGE_TYPE_Q4_K.rawValue), 64, 320), 0, "columns not whole K blocks")
        XCTAssertEqual(edge_sparse_down_supported(Int32(EDGE_TYPE_Q4_1.rawValue), 64, 512), 0, "Q4_1 has a float min term")
        XCTAssertEqual(edge_sparse_down_bytes(Int32(EDGE_TYPE_F32.rawValue), 64, 512), 0)
    }

    func testGatheredRowsMatchTheMatrixProduct() throws {
        var rng = SplitMix64(seed: 23)
        let rows = 100, n = 512
        for (t, name) in downTypes + [(Int32(EDGE_TYPE_Q4_1.rawValue), "Q4_1"), (Int32(EDGE_TYPE_F16.rawValue), "F16")] {
            let w = randomQuantRows(t, rows: rows, n: n, rng: &rng)
            let rowBytes = w.count / rows
            let x = (0..<n).map { _ in unitFloat(&rng) * 2 }
            var a = [UInt8](repeating: 0, count: edge_act_row_bytes(t, Int64(n)))
            a.withUnsafeMutableBytes { _ = edge_quantize_act(edge_vec_dot_type(t), x, $0.baseAddress!, Int64(n)) }
            guard let pool = edge_pool_create(2, nil) else { return XCTFail("no pool") }
            defer { edge_pool_destroy(pool) }
            var dense = [Float](repeating: 0, count: rows)
            w.withUnsafeBytes { wb in
                a.withUnsafeBytes { edge_op_matmul(pool, t, Int64(n), wb.baseAddress!, rowBytes, Int64(rows), $0.baseAddress!, 0, 1, &dense, Int64(rows)) }
            }
            // 37 rows, not a multiple of 16, scattered.
            let idx = (0..<rows).filter { ($0 * 7) % 19 < 7 }.map(Int32.init)
            for exact in [1, 0] {
                _ = edge_sparse_exact_set(Int32(exact))
                var y = [Float](repeating: .nan, count: rows)
                w.withUnsafeBytes { wb in
                    a.withUnsafeBytes { edge_op_matvec_gather(pool, t, Int64(n), wb.baseAddress!, rowBytes, idx, Int64(idx.count), $0.baseAddress!, &y) }
                }
                for r in 0..<rows where !idx.contains(Int32(r)) { XCTAssertTrue(y[r].isNaN, "\(name): row \(r) was not selected but written") }
                for i in idx.map(Int.init) {
                    if exact == 1 && edge_packed_used(t) != 0 {
                        XCTAssertEqual(y[i].bitPattern, dense[i].bitPattern, "\(name) exact row \(i)")
                    } else {
                        XCTAssertEqual(y[i], dense[i], accuracy: 1e-5 * max(1, abs(dense[i])), "\(name) row \(i)")
                    }
                }
            }
        }
    }

    func testSelectionAndMaskAgree() {
        var rng = SplitMix64(seed: 3)
        let n = 300
        let gate = (0..<n).map { _ in unitFloat(&rng) * 6 }
        for tau: Float in [0, 0.05, 0.3, 1, 100] {
            var idx = [Int32](repeating: -1, count: n)
            let k = Int(edge_sparse_select(gate, Int64(n), tau, &idx))
            var up = [Float](repeating: 1, count: n)
            let kept = Int(edge_sparse_mask(gate, &up, Int64(n), tau))
            XCTAssertEqual(k, kept)
            XCTAssertEqual(Array(idx.prefix(k)).map(Int.init), (0..<n).filter { up[$0] != 0 })
            // The score is |silu(g)|.
            for i in 0..<n { XCTAssertEqual(edge_sparse_score(gate[i]), abs(gate[i] / (1 + exp(-gate[i]))), accuracy: 1e-6) }
            if tau == 0 { XCTAssertEqual(k, n, "a zero threshold selects every neuron") }
            if tau == 100 { XCTAssertEqual(k, 0) }
        }
    }
}
