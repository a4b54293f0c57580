// edge_type_* facts agree with EdgeCore's TensorType (which cites ggml's type_traits) and with the
// activation-type table of ggml-cpu.c.
import CEdgeKernels
import EdgeCore
import XCTest

final class ReferenceTypeFactsTests: XCTestCase {
    func testBlockFactsMatchTensorType() {
        for type in TensorType.allCases {
            let raw = Int32(type.rawValue)
            XCTAssertEqual(edge_type_supported(raw) == 1, type.isSupported, "\(type) supported")
            if type.isSupported || type == .q8_1 || type == .q8_K {
                XCTAssertEqual(Int(edge_type_block_elems(raw)), type.blockSize, "\(type) block elements")
                XCTAssertEqual(Int(edge_type_block_bytes(raw)), type.blockBytes, "\(type) block bytes")
            } else {
                XCTAssertEqual(edge_type_block_elems(raw), 0, "\(type) is unknown to the kernels")
            }
        }
    }

    func testActivationTypes() {
        let expected: [TensorType: TensorType] = [
            .f32: .f32, .f16: .f16, .bf16: .bf16,
            .q4_0: .q8_0, .q5_0: .q8_0, .q8_0: .q8_0, .q4_1: .q8_1, .q5_1: .q8_1,
            .q4_K: .q8_K, .q5_K: .q8_K, .q6_K: .q8_K,
            .q2_K: .q8_K, .q3_K: .q8_K, .iq4_nl: .q8_0, .iq4_xs: .q8_K,  // ggml-cpu.c type_traits_cpu
        ]
        for (weight, act) in expected {
            XCTAssertEqual(edge_vec_dot_type(Int32(weight.rawValue)), Int32(act.rawValue), "\(weight)")
            XCTAssertEqual(Int(edge_act_row_bytes(Int32(weight.rawValue), 4096)), act.rowBytes(4096),
                           "\(weight) activation row bytes")
        }
        XCTAssertEqual(edge_vec_dot_type(Int32(TensorType.iq2_xs.rawValue)), -1)
        XCTAssertEqual(edge_act_row_bytes(Int32(TensorType.iq2_xs.rawValue), 256), 0)
    }
}
