import EdgeCore
import EdgePlanner
import Foundation
import XCTest

/// Device names are a type: parsed strictly, written as the names plans and profiles have always
/// used (`cpu0`, `gpu1`, `disk`), also as JSON dictionary keys.
final class DeviceIDTests: XCTestCase {
    func testParsesTheThreeKindsAndNothingElse() {
        XCTAssertEqual(DeviceID("cpu0"), .cpu(0))
        XCTAssertEqual(DeviceID("cpu12"), .cpu(12))
        XCTAssertEqual(DeviceID("gpu1"), .gpu(1))
        XCTAssertEqual(DeviceID("disk"), .disk)
        for bad in ["", "cpu", "gpu", "cpu-1", "cpu+1", "gpu0x", "disk0", "CPU0", " cpu0", "cpu٣", "npu0", "cpu1234567"] {
            XCTAssertNil(DeviceID(bad), "'\(bad)' is not a device name")
        }
        XCTAssertEqual([DeviceID.gpu(0), .disk, .cpu(10), .cpu(2)].sorted(), [.cpu(2), .cpu(10), .disk, .gpu(0)])
        XCTAssertEqual(DeviceID.cpu(3).description, "cpu3")
    }

    func testJSONKeepsTheNamesAsStringsAndKeys() throws {
        let peaks: [DeviceID: Int] = [.cpu(0): 5, .gpu(1): 7]
        let json = String(decoding: try JSONEncoder().encode(peaks), as: UTF8.self)
        XCTAssertTrue(json.contains("\"cpu0\":5") && json.contains("\"gpu1\":7"), json)
        XCTAssertEqual(try JSONDecoder().decode([DeviceID: Int].self, from: Data(json.utf8)), peaks)
        XCTAssertThrowsError(try JSONDecoder().decode([DeviceID].self, from: Data(#"["cpu0", "tpu0"]"#.utf8)))
    }

    func testADeviceUseWhoseKindContradictsItsIdIsRefused() throws {
        let good = #"{"id": "disk", "kind": "disk", "capacity_bytes": 1, "weight_bytes": 2, "other_bytes": 0, "rate_gb_per_s": 1.5}"#
        let use = try JSONDecoder().decode(PlacementPlan.DeviceUse.self, from: Data(good.utf8))
        XCTAssertEqual(use.id, .disk)
        XCTAssertEqual(use.kind, .disk)
        let roundTrip = try JSONDecoder().decode(PlacementPlan.DeviceUse.self, from: try JSONEncoder().encode(use))
        XCTAssertEqual(roundTrip, use)
        let bad = good.replacingOccurrences(of: #""kind": "disk""#, with: #""kind": "gpu""#)
        XCTAssertThrowsError(try JSONDecoder().decode(PlacementPlan.DeviceUse.self, from: Data(bad.utf8)))
    }
}
