// The x16 row-interleaved layouts (edge_packed.h): repacking is lossless, and every packed matmul
// variant (scalar reference, AVX2, AVX-512 VNNI, each forced with edge_isa_force) gives results
// BIT-IDENTICAL to edge_vec_dot_ref on the file-layout row — error bound 0 ulp — for token counts
// that exercise every register-tile remainder and more than one slice of prepared tokens, for odd
// block counts, and for row ranges that start past the first group.
import CEdgeKernels
import EdgeCore
import EdgeFormats
import EdgeKernels
import XCTest

private typealias Rng = SplitMix64

private extension SplitMix64 {
    /// Uniform in [-1, 1).
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}

final class PackedKernelTests: XCTestCase {
    private let types: [(id: Int32, name: String)] = [
        (Int32(EDGE_TYPE_Q8_0.rawValue), "Q8_0"), (Int32(EDGE_TYPE_Q4_0.rawValue), "Q4_0"),
        (Int32(EDGE_TYPE_Q4_1.rawValue), "Q4_1"), (Int32(EDGE_TYPE_Q5_0.rawValue), "Q5_0"),
        (Int32(EDGE_TYPE_Q5_1.rawValue), "Q5_1"), (Int32(EDGE_TYPE_Q4_K.rawValue), "Q4_K"),
        (Int32(EDGE_TYPE_Q5_K.rawValue), "Q5_K"), (Int32(EDGE_TYPE_Q6_K.rawValue), "Q6_K"),
        (Int32(EDGE_TYPE_Q2_K.rawValue), "Q2_K"), (Int32(EDGE_TYPE_Q3_K.rawValue), "Q3_K"),
        (Int32(EDGE_TYPE_IQ4_NL.rawValue), "IQ4_NL"), (Int32(EDGE_TYPE_IQ4_XS.rawValue), "IQ4_XS"),
    ]

    /// Whether `t` is a K-quant (blocks of 256).
    private func isK(_ t: Int32) -> Bool { edge_type_block_elems(t) == 256 }

    override func tearDown() {
        _ = edge_isa_force(edge_isa_detect())
        super.tearDown()
    }

    private func matrix(_ t: Int32, rows: Int, n: Int, rng: inout Rng) -> [UInt8] { randomQuantRows(t, rows: rows, n: n, rng: &rng) }

    /// `ncols` activation rows quantized by the reference quantizer from random floats.
    private func activations(_ t: Int32, ncols: Int, n: Int, rng: inout Rng) -> (bytes: [UInt8], rowBytes: Int) {
        let arb = edge_act_row_bytes(t, Int64(n))
        var a = [UInt8](repeating: 0, count: ncols * arb)
        for c in 0..<ncols {
            let x = (0..<n).map { _ in rng.unit() * 3 }
            let rc = a.withUnsafeMutableBytes { edge_quantize_act_ref(edge_vec_dot_type(t), x, $0.baseAddress! + c * arb, Int64(n)) }
            XCTAssertEqual(rc, 0)
        }
        return (a, arb)
    }

    func testPackThenUnpackGivesBackEveryRow() {
        var rng = Rng(seed: 1)
        for (t, name) in types {
            let n = isK(t) ? 768 : 96, rows = 32
            let w = matrix(t, rows: rows, n: n, rng: &rng)
            let rb = w.count / rows
            let bytes = edge_packed_bytes(t, Int64(rows), Int64(n))
            XCTAssertEqual(bytes, Int(edge_packed_record_bytes(t)) * 2 * (n / Int(edge_type_block_elems(t))), name)
            var p = [UInt8](repeating: 0, count: bytes)
            XCTAssertEqual(w.withUnsafeBytes { ws in p.withUnsafeMutableBytes { edge_pack_rows(t, Int64(n), ws.baseAddress, rb, Int64(rows), $0.baseAddress) } }, 0)
            XCTAssertNotEqual(Array(p.prefix(rb)), Array(w.prefix(rb)), "\(name): the packed form is a different layout")
            for r in 0..<rows {
                var row = [UInt8](repeating: 0, count: rb)
                XCTAssertEqual(p.withUnsafeBytes { ps in row.withUnsafeMutableBytes { edge_unpack_row(t, Int64(n), ps.baseAddress, Int64(r), $0.baseAddress) } }, 0)
                XCTAssertEqual(row, Array(w[(r * rb)..<((r + 1) * rb)]), "\(name) row \(r)")
            }
        }
    }

    func testPackRejectsShapesAndTypesWithoutALayout() {
        var dst = [UInt8](repeating: 0, count: 1 << 16)
        let src = [UInt8](repeating: 0, count: 1 << 16)
        let q80 = Int32(EDGE_TYPE_Q8_0.rawValue)
        src.withUnsafeBytes { s in dst.withUnsafeMutableBytes { d in
            XCTAssertEqual(edge_pack_rows(q80, 64, s.baseAddress, 68, 8, d.baseAddress), -1, "8 rows: not a multiple of 16")
            XCTAssertEqual(edge_pack_rows(q80, 48, s.baseAddress, 68, 16, d.baseAddress), -1, "48: not whole blocks")
            XCTAssertEqual(edge_pack_rows(Int32(EDGE_TYPE_F16.rawValue), 256, s.baseAddress, 512, 16, d.baseAddress), -1, "F16 has no x16 layout")
            XCTAssertEqual(edge_pack_rows(Int32(EDGE_TYPE_Q6_K.rawValue), 128, s.baseAddress, 210, 16, d.baseAddress), -1, "128: not whole Q6_K blocks")
        } }
        XCTAssertEqual(edge_packed_bytes(q80, 8, 64), 0)
        XCTAssertEqual(edge_packed_supported(Int32(EDGE_TYPE_BF16.rawValue)), 0)
        XCTAssertEqual(edge_packed_record_bytes(Int32(EDGE_TYPE_F32.rawValue)), 0)
        for (t, name) in types { XCTAssertEqual(edge_packed_used(t), 1, "\(name): the runtime uses its x16 layout") }
    }

    /// Every ISA's packed matmul against edge_vec_dot_ref per element, compared bit for bit.
    func testPackedMatmulIsBitIdenticalToReferenceOnEveryISA() {
        var rng = Rng(seed: 7)
        let isas = Array(Int32(EDGE_ISA_SCALAR.rawValue)...edge_isa_detect())
        for (t, name) in types {
            let lengths = isK(t) ? [256, 768, 2816] : [32, 96, 576]
            for n in lengths {
                let rows = 64
                let w = matrix(t, rows: rows, n: n, rng: &rng)
                let rb = w.count / rows
                var p = [UInt8](repeating: 0, count: edge_packed_bytes(t, Int64(rows), Int64(n)))
                _ = w.withUnsafeBytes { ws in p.withUnsafeMutableBytes { edge_pack_rows(t, Int64(n), ws.baseAddress, rb, Int64(rows), $0.baseAddress) } }
                // 1 (generation), every tile remainder, and more than one 16-token slice
                for ncols in [1, 2, 3, 4, 5, 7, 17, 37] {
                    let (a, arb) = activations(t, ncols: ncols, n: n, rng: &rng)
                    var want = [Float](repeating: 0, count: ncols * rows)
                    w.withUnsafeBytes { ws in a.withUnsafeBytes { az in
                        for c in 0..<ncols { for r in 0..<rows {
                            want[c * rows + r] = edge_vec_dot_ref(t, Int64(n), ws.baseAddress! + r * rb, az.baseAddress! + c * arb)
                        } }
                    } }
                    for isa in isas {
                        XCTAssertEqual(edge_isa_force(isa), isa)
                        // rows [16, 64): a range that does not start at the first group
                        var got = [Float](repeating: .nan, count: ncols * rows)
                        p.withUnsafeBytes { ps in a.withUnsafeBytes { az in got.withUnsafeMutableBufferPointer {
                            edge_packed_matmul(t, Int64(n), ps.baseAddress, 16, Int64(rows), az.baseAddress, arb, Int64(ncols), $0.baseAddress, Int64(rows))
                        } } }
                        var bad = 0
                        for c in 0..<ncols { for r in 16..<rows where got[c * rows + r].bitPattern != want[c * rows + r].bitPattern {
                            if bad == 0 { XCTFail("\(name) n \(n) ncols \(ncols) isa \(isa): row \(r) col \(c): \(got[c * rows + r]) vs \(want[c * rows + r])") }
                            bad += 1
                        } }
                        XCTAssertEqual(bad, 0, "\(name) n \(n) ncols \(ncols) isa \(isa): mismatches")
                        XCTAssertTrue(got[0..<16].allSatisfy(\.isNaN), "rows before r0 are not written")
                    }
                }
            }
        }
    }

    /// Every memory access mode (hardware prefetchers, software prefetch, touch) of every type
    /// whose kernel takes one gives the reference's bits on every ISA; the mode is set and read
    /// back per type, and a type whose kernel takes none refuses one.
    func testEveryMemoryAccessModeGivesTheReferenceBits() {
        var rng = Rng(seed: 11)
        let isas = Array(Int32(EDGE_ISA_SCALAR.rawValue)...edge_isa_detect())
        let tunable = KernelMemoryAccess.tunableTypes
        XCTAssertEqual(Set(tunable), [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs])
        XCTAssertFalse(KernelMemoryAccess.set(.touch, for: .q8_0), "Q8_0's kernel takes no mode")
        XCTAssertEqual(KernelMemoryAccess.current(for: .q8_0), .hardware)
        XCTAssertEqual(edge_stream_mode_set(Int32(TensorType.q4_K.rawValue), -2), -1, "a mode below touch is refused")
        for type in tunable {
            let t = Int32(type.rawValue)
            let before = KernelMemoryAccess.current(for: type)
            defer { KernelMemoryAccess.set(before, for: type) }
            let n = 768, rows = 32
            let w = matrix(t, rows: rows, n: n, rng: &rng)
            let rb = w.count / rows
            var p = [UInt8](repeating: 0, count: edge_packed_bytes(t, Int64(rows), Int64(n)))
            _ = w.withUnsafeBytes { ws in p.withUnsafeMutableBytes { edge_pack_rows(t, Int64(n), ws.baseAddress, rb, Int64(rows), $0.baseAddress) } }
            for ncols in [1, 4, 5] {
                let (a, arb) = activations(t, ncols: ncols, n: n, rng: &rng)
                var want = [Float](repeating: 0, count: ncols * rows)
                w.withUnsafeBytes { ws in a.withUnsafeBytes { az in
                    for c in 0..<ncols { for r in 0..<rows {
                        want[c * rows + r] = edge_vec_dot_ref(t, Int64(n), ws.baseAddress! + r * rb, az.baseAddress! + c * arb)
                    } }
                } }
                for access in MemoryAccess.candidates + [.prefetch(bytes: 512)] {
                    XCTAssertTrue(KernelMemoryAccess.set(access, for: type))
                    XCTAssertEqual(KernelMemoryAccess.current(for: type), access)
                    for isa in isas {
                        XCTAssertEqual(edge_isa_force(isa), isa)
                        var got = [Float](repeating: .nan, count: ncols * rows)
                        p.withUnsafeBytes { ps in a.withUnsafeBytes { az in got.withUnsafeMutableBufferPointer {
                            edge_packed_matmul(t, Int64(n), ps.baseAddress, 0, Int64(rows), az.baseAddress, arb, Int64(ncols), $0.baseAddress, Int64(rows))
                        } } }
                        XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "\(type) \(access) ncols \(ncols) isa \(isa)")
                    }
                }
            }
        }
        _ = edge_isa_force(edge_isa_detect())
    }

    /// The pool-parallel op over a packed matrix: same bits as the reference for 1 and 2 threads.
    func testPackedOpIsBitIdenticalForAnyThreadCount() throws {
        var rng = Rng(seed: 11)
        let t = Int32(EDGE_TYPE_Q8_0.rawValue), n = 576, rows = 16 * 40
        let w = matrix(t, rows: rows, n: n, rng: &rng)
        let rb = w.count / rows
        var p = [UInt8](repeating: 0, count: edge_packed_bytes(t, Int64(rows), Int64(n)))
        _ = w.withUnsafeBytes { ws in p.withUnsafeMutableBytes { edge_pack_rows(t, Int64(n), ws.baseAddress, rb, Int64(rows), $0.baseAddress) } }
        for ntok in [1, 9] {
            let (a, arb) = activations(t, ncols: ntok, n: n, rng: &rng)
            var want = [Float](repeating: 0, count: ntok * rows)
            p.withUnsafeBytes { ps in a.withUnsafeBytes { az in want.withUnsafeMutableBufferPointer {
                edge_packed_matmul_ref(t, Int64(n), ps.baseAddress, 0, Int64(rows), az.baseAddress, arb, Int64(ntok), $0.baseAddress, Int64(rows))
            } } }
            for threads in [1, 2] {
                let pool = try XCTUnwrap(edge_pool_create(Int32(threads), nil))
                defer { edge_pool_destroy(pool) }
                var got = [Float](repeating: 0, count: ntok * rows)
                p.withUnsafeBytes { ps in a.withUnsafeBytes { az in got.withUnsafeMutableBufferPointer {
                    edge_op_matmul_packed(pool, t, Int64(n), ps.baseAddress, Int64(rows), az.baseAddress, arb, Int64(ntok), $0.baseAddress, Int64(rows))
                } } }
                XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "ntok \(ntok), \(threads) threads")
            }
        }
    }

    /// The file-layout op (mapped, resident or streamed pieces) gives the repacked matrix's bits,
    /// including a piece whose row count leaves a partial group (rows 0..<40: 2 groups + 8 rows).
    func testFileLayoutOpMatchesPackedBits() throws {
        var rng = Rng(seed: 13)
        let pool = try XCTUnwrap(edge_pool_create(2, nil))
        defer { edge_pool_destroy(pool) }
        for (t, name) in types where edge_packed_used(t) != 0 {
            let n = isK(t) ? 512 : 160, rows = 48
            let w = matrix(t, rows: rows, n: n, rng: &rng)
            let rb = w.count / rows
            for ntok in [1, 6] {
                let (a, arb) = activations(t, ncols: ntok, n: n, rng: &rng)
                var want = [Float](repeating: 0, count: ntok * rows)
                w.withUnsafeBytes { ws in a.withUnsafeBytes { az in
                    for c in 0..<ntok { for r in 0..<rows {
                        want[c * rows + r] = edge_vec_dot_ref(t, Int64(n), ws.baseAddress! + r * rb, az.baseAddress! + c * arb)
                    } }
                } }
                for pieceRows in [48, 40] {
                    var got = [Float](repeating: 0, count: ntok * rows)
                    w.withUnsafeBytes { ws in a.withUnsafeBytes { az in got.withUnsafeMutableBufferPointer {
                        edge_op_matmul(pool, t, Int64(n), ws.baseAddress, rb, Int64(pieceRows), az.baseAddress, arb, Int64(ntok),
                                       $0.baseAddress, Int64(rows))
                    } } }
                    for c in 0..<ntok {
                        XCTAssertEqual(got[(c * rows)..<(c * rows + pieceRows)].map(\.bitPattern),
                                       want[(c * rows)..<(c * rows + pieceRows)].map(\.bitPattern), "\(name) ntok \(ntok) rows \(pieceRows)")
                    }
                }
            }
        }
    }

    /// Real weights: every x16-capable matrix type in the SmolLM2 Q4_K_M file (Q5_0, Q4_K, Q6_K, Q8_0),
    /// first matrix of each type, against the reference bit for bit on every ISA.
    func testPackedMatmulIsBitIdenticalOnRealWeights() throws {
        guard let models = sharedModelsDirectory() else { throw XCTSkip("no ../shared/models") }
        let file = try GGUFFile(path: models.appendingPathComponent("SmolLM2-135M-Instruct.Q4_K_M.gguf").path)
        var rng = Rng(seed: 17)
        var seen = Set<Int32>()
        for info in file.tensors where info.dims.count == 2 {
            let t = Int32(info.type.rawValue)
            guard edge_packed_supported(t) != 0, !seen.contains(t) else { continue }
            seen.insert(t)
            let n = info.dims[0], rows = min(info.dims[1], 256), rb = info.rowBytes
            let w = file.data(of: info)
            var p = [UInt8](repeating: 0, count: edge_packed_bytes(t, Int64(rows), Int64(n)))
            XCTAssertEqual(p.withUnsafeMutableBytes { edge_pack_rows(t, Int64(n), w.baseAddress, rb, Int64(rows), $0.baseAddress) }, 0)
            for ncols in [1, 5] {
                let (a, arb) = activations(t, ncols: ncols, n: n, rng: &rng)
                var want = [Float](repeating: 0, count: ncols * rows)
                a.withUnsafeBytes { az in
                    for c in 0..<ncols { for r in 0..<rows {
                        want[c * rows + r] = edge_vec_dot_ref(t, Int64(n), w.baseAddress! + r * rb, az.baseAddress! + c * arb)
                    } }
                }
                for isa in Int32(EDGE_ISA_SCALAR.rawValue)...edge_isa_detect() {
                    _ = edge_isa_force(isa)
                    var got = [Float](repeating: 0, count: ncols * rows)
                    p.withUnsafeBytes { ps in a.withUnsafeBytes { az in got.withUnsafeMutableBufferPointer {
                        edge_packed_matmul(t, Int64(n), ps.baseAddress, 0, Int64(rows), az.baseAddress, arb, Int64(ncols), $0.baseAddress, Int64(rows))
                    } } }
                    XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "\(info.name) (\(info.type)) ncols \(ncols) isa \(isa)")
                }
            }
        }
        XCTAssertEqual(seen.count, 4, "Q5_0, Q4_K, Q6_K and Q8_0 matrices found")
    }
}
