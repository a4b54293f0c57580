// edge_membw: the timed read loop of each ISA against the portable one (the same XOR of every
// 64-bit word), and the probe itself on a small buffer.
import CEdgeKernels
import XCTest

final class MemoryBandwidthKernelTests: XCTestCase {
    override func tearDown() {
        _ = edge_isa_force(edge_isa_detect())
        super.tearDown()
    }

    func testEveryISAFoldsTheSameWords() throws {
        let bytes = 1 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { buf.deallocate() }
        var state: UInt64 = 0x1234_5678
        let words = buf.bindMemory(to: UInt64.self, capacity: bytes / 8)
        for i in 0..<bytes / 8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            words[i] = state
        }
        // 256 bytes is one step of four 64-byte loads; odd step counts and a whole page too.
        for length in [256, 768, 4096, 65536 + 256, bytes] {
            let expected = edge_membw_xor_generic(buf, length)
            XCTAssertNotEqual(expected, 0)
            for isa in Int32(EDGE_ISA_SCALAR.rawValue)...edge_isa_detect() {
                XCTAssertEqual(edge_isa_force(isa), isa)
                XCTAssertEqual(edge_membw_xor(buf, length), expected, "ISA \(isa), \(length) bytes")
            }
        }
    }

    func testProbeReportsARate() throws {
        let pool = try XCTUnwrap(edge_pool_create(1, nil))
        defer { edge_pool_destroy(pool) }
        // 4 MiB fits in a cache: this checks the plumbing, not the figure.
        let rate = edge_membw_read(pool, 4 << 20, 2)
        XCTAssertGreaterThan(rate, 1e8, "bytes/s")
    }
}
