// AMX detection (edge_amx_status) against what Linux reports in /proc/cpuinfo: the kernel lists
// `amx_tile` and `amx_int8` only when the CPU has them and it supports the tile state.
import CEdgeKernels
import Foundation
import XCTest

final class AMXDetectionTests: XCTestCase {
    func testAMXStatusAgreesWithProcCpuinfo() throws {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no /proc/cpuinfo flags line")
        }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let status = edge_amx_status()
        if flags.contains("amx_tile") && flags.contains("amx_int8") {
            XCTAssertNotEqual(status, Int32(EDGE_AMX_ABSENT.rawValue), "cpuinfo lists AMX, detection says absent")
        } else {
            XCTAssertEqual(status, Int32(EDGE_AMX_ABSENT.rawValue), "cpuinfo lists no AMX, detection found it")
        }
        // Asking twice gives the same answer (the permission request is idempotent).
        XCTAssertEqual(edge_amx_status(), status)
    }
}
