import EdgeCore
import EdgeTopology
import Foundation
import XCTest

/// The real measurements, made small: they run, give positive finite figures, and leave nothing behind.
final class MeasurementTests: XCTestCase {
    private let bench = MeasuringBenchmarks()
    private var cpu: Int { LinuxHost().allowedCPUs().first ?? 0 }

    func testEveryKernelTypeGivesAPositiveRate() async throws {
        for type in ProbeOptions.allKernelTypes {
            let mv = try await bench.matvec(type: type, cpu: cpu, seconds: 0.003)
            let mm = try await bench.matmul(type: type, cpu: cpu, seconds: 0.003)
            XCTAssertTrue(mv.isFinite && mv > 1e6, "\(type) matvec \(mv)")
            XCTAssertTrue(mm.isFinite && mm > 1e6, "\(type) matmul \(mm)")
        }
    }

    func testAnUnsupportedTypeIsANamedError() async {
        do {
            _ = try await bench.matvec(type: .iq2_xs, cpu: cpu, seconds: 0.001)
            XCTFail("IQ2_XS has no kernel")
        } catch {
            XCTAssertEqual(error, .measurementFailed(what: "IQ2_XS kernel", reason: "edgert has no kernel for this type"))
        }
    }

    func testPinningToACPUThisProcessMayNotUseFails() async {
        let outside = (LinuxHost().allowedCPUs().max() ?? 0) + 1000
        do {
            _ = try await bench.matvec(type: .q8_0, cpu: outside, seconds: 0.001)
            XCTFail("CPU \(outside) is not available")
        } catch {
            XCTAssertEqual(error, .threadStartFailed(cpu: outside))
        }
    }

    func testMemoryReadGivesAPositiveRate() async throws {
        let rate = try await bench.memoryRead(cpus: [cpu], bytes: 32 << 20, passes: 1)
        XCTAssertTrue(rate.isFinite && rate > 1e8, "\(rate)")
        guard LinuxHost().numa() != nil else { return }
        let node = try await bench.memoryRead(cpus: [cpu], memoryNode: 0, bytes: 32 << 20, passes: 1)
        XCTAssertTrue(node.isFinite && node > 1e8, "\(node)")
    }

    func testStorageProbeReadsItsFileAndLeavesNothingBehind() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = StoragePlan(fileBytes: 8 << 20, requestBytes: 1 << 20, inFlight: 3, passes: 2, randomReads: 50, randomSeconds: 5)
        let m = try await bench.storage(directory: dir.path, plan: plan)
        XCTAssertEqual(m.fileBytes, 8 << 20)
        XCTAssertGreaterThan(m.sequentialBytesPerSecond, 0)
        XCTAssertEqual(m.randomLatenciesUs.count, 50)
        XCTAssertEqual(m.randomLatenciesUs, m.randomLatenciesUs.sorted())
        XCTAssertTrue(m.randomLatenciesUs.allSatisfy { $0 > 0 })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "the probe file is gone")
    }

    func testStorageProbeOfAMissingDirectoryNamesIt() async {
        do {
            _ = try await bench.storage(directory: "/nonexistent-edgert-dir", plan: StoragePlan(fileBytes: 8 << 20))
            XCTFail("no such directory")
        } catch {
            XCTAssertTrue(error.description.hasPrefix("cannot measure the storage holding /nonexistent-edgert-dir: "), error.description)
        }
    }

    func testPercentilesAreNearestRank() {
        let m = StorageMeasurement(fileBytes: 1, sequentialBytesPerSecond: 1, randomLatenciesUs: (1...10).reversed().map(Double.init), directIO: true)
        XCTAssertEqual(m.latencyPercentile(50), 5)
        XCTAssertEqual(m.latencyPercentile(90), 9)
        XCTAssertEqual(m.latencyPercentile(99), 10)
        XCTAssertNil(StorageMeasurement(fileBytes: 1, sequentialBytesPerSecond: 1, randomLatenciesUs: [], directIO: true).latencyPercentile(50))
    }
}
