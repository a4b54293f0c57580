import EdgeCore
import EdgeTopology
import Foundation
import XCTest

/// A malformed profile is refused with an error naming the file and the field.
final class ProfileValidationTests: XCTestCase {
    /// A valid profile's JSON as a mutable tree.
    private func validTree() async throws -> [String: Any] {
        let r = try await HostProber(system: FakeHost.twoNodeServerWithGPU(),
                                     benchmarks: FakeBenchmarks(cpuSpeed: [:]), options: .test(storage: nil)).probe(name: "t")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: r.profile.encoded()) as? [String: Any])
    }

    private func error(decoding tree: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: tree)
        do {
            _ = try HostProfile.decode(data, file: "Profiles/t.json")
        } catch {
            return error.description
        }
        XCTFail("the profile was accepted")
        return ""
    }

    func testAValidProfileDecodes() async throws {
        let data = try JSONSerialization.data(withJSONObject: try await validTree())
        XCTAssertNoThrow(try HostProfile.decode(data, file: "Profiles/t.json"))
    }

    func testWrongTypeNamesTheField() async throws {
        var t = try await validTree()
        var cpu = t["cpu"] as! [String: Any]
        cpu["hybrid"] = "yes"
        t["cpu"] = cpu
        XCTAssertEqual(try error(decoding: t), "Profiles/t.json: field 'cpu.hybrid' should be true or false")
    }

    func testMissingFieldNamesTheField() async throws {
        var t = try await validTree()
        var memory = t["memory"] as! [String: Any]
        memory["total_bytes"] = nil
        t["memory"] = memory
        XCTAssertEqual(try error(decoding: t), "Profiles/t.json: missing field 'memory.total_bytes'")
    }

    func testNegativeFigureNamesTheField() async throws {
        var t = try await validTree()
        var numa = t["numa"] as! [String: Any]
        var nodes = numa["nodes"] as! [[String: Any]]
        nodes[1]["read_gb_per_s_one_core"] = ["value": -3.5, "source": "measured"]
        numa["nodes"] = nodes
        t["numa"] = numa
        XCTAssertEqual(try error(decoding: t),
                       "Profiles/t.json: field 'numa.nodes[1].read_gb_per_s_one_core.value': -3.5 is not a positive finite number")
    }

    func testCPUInTwoClassesNamesTheClass() async throws {
        var t = try await validTree()
        var cpu = t["cpu"] as! [String: Any]
        var classes = cpu["core_classes"] as! [[String: Any]]
        var second = classes[0]
        second["type"] = "efficiency"
        second["cpus"] = [7, 8]
        classes.append(second)
        cpu["core_classes"] = classes
        t["cpu"] = cpu
        XCTAssertEqual(try error(decoding: t), "Profiles/t.json: field 'cpu.core_classes[1].cpus': CPU 7 is in two classes")
    }

    func testAnotherSchemaVersionIsRefusedWithItsNumber() async throws {
        var t = try await validTree()
        t["schema_version"] = 3
        XCTAssertEqual(try error(decoding: t),
                       "Profiles/t.json: not an edgert.host-profile document of version 1-2 (found schema 'edgert.host-profile', version 3)")
    }

    /// A version 1 document (before the memory hierarchy and the disk curve) is still read, as one
    /// without them; the committed profile of this project's first host is one.
    func testAVersion1DocumentIsReadWithoutTheHierarchy() async throws {
        var t = try await validTree()
        t["schema_version"] = 1
        var cpu = t["cpu"] as! [String: Any]
        cpu["caches"] = nil
        var classes = cpu["core_classes"] as! [[String: Any]]
        for i in classes.indices {
            classes[i]["kernels"] = (classes[i]["kernels"] as! [[String: Any]]).map { k in var k = k; k["matvec_dram_gb_per_s"] = nil; return k }
        }
        cpu["core_classes"] = classes
        t["cpu"] = cpu
        var numa = t["numa"] as! [String: Any]
        numa["nodes"] = (numa["nodes"] as! [[String: Any]]).map { n in var n = n; n["read_curve"] = nil; return n }
        t["numa"] = numa
        let p = try HostProfile.decode(JSONSerialization.data(withJSONObject: t), file: "v1.json")
        XCTAssertEqual(p.schemaVersion, 1)
        XCTAssertNil(p.cpu.caches)
        XCTAssertNil(p.numa.nodes[0].readCurve)
        XCTAssertNil(p.numa.nodes[0].readBytesPerSecond(workingSet: 1 << 20, threads: 1))
        XCTAssertTrue(p.cpu.coreClasses[0].kernels.allSatisfy { $0.matvecDRAMGBPerS == nil })
    }

    func testACurveOutOfOrderNamesThePoint() async throws {
        var t = try await validTree()
        var numa = t["numa"] as! [String: Any]
        var nodes = numa["nodes"] as! [[String: Any]]
        var curve = nodes[1]["read_curve"] as! [[String: Any]]
        curve[2]["working_set_bytes"] = curve[1]["working_set_bytes"]
        nodes[1]["read_curve"] = curve
        numa["nodes"] = nodes
        t["numa"] = numa
        XCTAssertEqual(try error(decoding: t), "Profiles/t.json: field 'numa.nodes[1].read_curve[2].working_set_bytes': must be positive and ascending")
    }

    func testAnUnknownMemoryAccessNamesTheKernel() async throws {
        var t = try await validTree()
        var cpu = t["cpu"] as! [String: Any]
        var classes = cpu["core_classes"] as! [[String: Any]]
        var kernels = classes[0]["kernels"] as! [[String: Any]]
        kernels[1]["matvec_dram_access"] = "prefetch-0"
        classes[0]["kernels"] = kernels
        cpu["core_classes"] = classes
        t["cpu"] = cpu
        XCTAssertEqual(try error(decoding: t),
                       "Profiles/t.json: field 'cpu.core_classes[0].kernels[1].matvec_dram_access': 'prefetch-0' is not hardware, touch or prefetch-N (N > 0 bytes)")
        kernels[1]["matvec_dram_access"] = "prefetch-4096"
        classes[0]["kernels"] = kernels
        cpu["core_classes"] = classes
        t["cpu"] = cpu
        let p = try HostProfile.decode(JSONSerialization.data(withJSONObject: t), file: "ok.json")
        XCTAssertEqual(p.cpu.coreClasses[0].kernels[1].matvecDRAMAccess.flatMap(MemoryAccess.init), .prefetch(bytes: 4096))
    }

    func testADiskPointWithNothingInFlightIsRefused() async throws {
        var t = try await validTree()
        t["storage"] = [["name": "vda", "kind": "virtio", "path": "/m",
                         "sequential_read_gb_per_s": ["value": 1.5, "source": "measured"],
                         "read_curve": [["request_bytes": 1 << 20, "in_flight": 0, "gb_per_s": ["value": 1.0, "source": "measured"]]]]]
        XCTAssertEqual(try error(decoding: t), "Profiles/t.json: field 'storage[0].read_curve[0].in_flight': must be at least 1")
    }

    func testLoadNamesAMissingFileAndAnInvalidOne() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-profile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("none.json").path
        XCTAssertThrowsError(try HostProfile.load(path: missing)) { e in
            XCTAssertEqual(e as? HostProfileFileError, .missing(path: missing))
            XCTAssertEqual("\(e)", "\(missing): no such host profile")
        }
        var t = try await validTree()
        t["kind"] = "guessed"
        let bad = dir.appendingPathComponent("bad.json").path
        try JSONSerialization.data(withJSONObject: t).write(to: URL(fileURLWithPath: bad))
        XCTAssertThrowsError(try HostProfile.load(path: bad)) { e in
            XCTAssertTrue("\(e)".hasPrefix("\(bad): field 'kind'"), "\(e)")
        }
        // write() then load() gives the same profile back.
        let good = try await HostProber(system: FakeHost.hybridLaptop(), benchmarks: FakeBenchmarks(cpuSpeed: [:]),
                                        options: .test(storage: nil)).probe().profile
        let path = dir.appendingPathComponent("Profiles/x.json").path
        try good.write(path: path)
        XCTAssertEqual(try HostProfile.load(path: path), good)
    }

    func testWriteRefusesAnInvalidProfile() async throws {
        var p = try await HostProber(system: FakeHost.hybridLaptop(), benchmarks: FakeBenchmarks(cpuSpeed: [:]),
                                     options: .test(storage: nil)).probe().profile
        p.memory.availableBytes.value = p.memory.totalBytes.value * 2
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-never-\(UUID().uuidString).json").path
        XCTAssertThrowsError(try p.write(path: path)) { e in
            XCTAssertEqual("\(e)", "\(path): field 'memory.available_bytes.value': exceeds memory.total_bytes")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}
