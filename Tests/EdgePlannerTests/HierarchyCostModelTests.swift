import EdgeCore
import EdgePlanner
import Foundation
import XCTest

/// The cost model reads the memory hierarchy and the disk curve of a version 2 profile: weights
/// that fit a cache are served at its speed, kernels between their in-cache and from-memory
/// figures, the window's reads at the disk curve's rate for its request size.
final class HierarchyCostModelTests: XCTestCase {
    private static func f(_ v: Double) -> Figure { .measured(v) }

    /// One node of two CPUs; Q8_0 matvec 30 GB/s in cache and 10 GB/s from memory on one core;
    /// a read curve with 60 GB/s a core up to `cacheBytes` and 15 GB/s (20 on both) beyond it;
    /// a disk whose window-sized reads run at `diskCurve` GB/s and large ones at 0.8.
    private static func host(cacheBytes: Int = 32 << 20, curve: Bool = true, diskCurve: Double? = 2.0) -> HostProfile {
        var points: [HostProfile.ReadPoint] = []
        var size = 16 << 10
        while size <= 1 << 30 {
            let inCache = size <= cacheBytes
            points.append(.init(workingSetBytes: size, oneCoreGBPerS: f(inCache ? 60 : 15), allCoresGBPerS: f(inCache ? 120 : 20)))
            size *= 2
        }
        let kernels = [HostProfile.KernelSpeed(weightType: "Q8_0", matvecGBPerS: f(30), matmulGflops: f(100),
                                               matvecDRAMGBPerS: curve ? f(10) : nil)]
        let storage = HostProfile.Storage(
            name: "vda", kind: "virtio", path: "/m", sequentialReadGBPerS: f(0.8), random4KLatencyUs: nil,
            readCurve: diskCurve.map { d in
                [256 << 10, 1 << 20, 4 << 20].flatMap { r in
                    [1, 4, 8].map { q in HostProfile.DiskPoint(requestBytes: r, inFlight: q, gbPerS: f(q == 4 ? d : d / 2)) }
                }
            })
        return HostProfile(
            kind: .measured,
            host: .init(name: "t", description: "test", created: "2026-12-06", tool: "test"),
            cpu: .init(model: "Test", architecture: "x86_64", features: ["avx2"], hybrid: false,
                       coreClasses: [.init(type: "uniform", cpus: [0, 1], relativeSpeed: f(1), kernels: kernels)],
                       caches: [.init(level: 2, bytes: f(Double(512 << 10)), sharedByCPUs: 1), .init(level: 3, bytes: f(Double(cacheBytes)), sharedByCPUs: 2)]),
            memory: .init(totalBytes: f(Double(24 << 30)), availableBytes: f(Double(20 << 30))),
            numa: .init(nodes: [.init(id: 0, cpus: [0, 1], memoryBytes: f(Double(24 << 30)), readGBPerSOneCore: f(15),
                                      readGBPerSAllCores: f(20), readCurve: curve ? points : nil)],
                        distances: [[10]]),
            storage: [storage], gpus: [])
    }

    private func plan(_ host: HostProfile, threads: Int = 1, budget: Int? = nil, shape: String = "smollm2-135m") throws -> PlacementPlan {
        let m = try ModelManifest(shape: try ModelShape.named(shape), type: .q8_0)
        return try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, memoryBudget: budget, context: 256,
                                                          promptTokens: 16, generateTokens: 16, threads: threads, useGPUs: false))
    }

    func testTheReadCurveIsInterpolatedInLogSizeAndThreads() throws {
        let node = Self.host(cacheBytes: 1 << 20).numa.nodes[0]
        // At a measured size, and held beyond the ends.
        XCTAssertEqual(try XCTUnwrap(node.readBytesPerSecond(workingSet: 1 << 20, threads: 1)), 60e9, accuracy: 1)
        XCTAssertEqual(try XCTUnwrap(node.readBytesPerSecond(workingSet: 1 << 40, threads: 1)), 15e9, accuracy: 1)
        XCTAssertEqual(try XCTUnwrap(node.readBytesPerSecond(workingSet: 1, threads: 2)), 120e9, accuracy: 1)
        // Halfway between 1 MiB and 2 MiB in log2 size: halfway between 60 and 15.
        let mid = Int((Double(1 << 20) * 2.0.squareRoot()).rounded())
        XCTAssertEqual(try XCTUnwrap(node.readBytesPerSecond(workingSet: mid, threads: 1)), 37.5e9, accuracy: 1e7)
        // Threads beyond the node's CPUs count as all of them.
        XCTAssertEqual(node.readBytesPerSecond(workingSet: 1 << 30, threads: 8), 20e9)
    }

    func testTheDiskCurveIsReadAtTheDeepestQueueNotDeeperThanAsked() throws {
        let disk = Self.host(diskCurve: 2.0).storage[0]
        XCTAssertEqual(disk.readBytesPerSecond(requestBytes: 1 << 20, inFlight: 4), 2e9)
        XCTAssertEqual(disk.readBytesPerSecond(requestBytes: 1 << 20, inFlight: 6), 2e9, "depth 4 is the deepest not above 6")
        XCTAssertEqual(disk.readBytesPerSecond(requestBytes: 1 << 20, inFlight: 64), 1e9, "depth 8")
        XCTAssertEqual(disk.readBytesPerSecond(requestBytes: 64 << 20, inFlight: 4), 2e9, "held beyond the largest request")
        XCTAssertNil(Self.host(diskCurve: nil).storage[0].readBytesPerSecond(requestBytes: 1 << 20, inFlight: 4))
    }

    /// The same model is predicted faster on a host whose last-level cache holds it, and the
    /// reason says it is served from cache.
    func testAModelThatFitsTheCacheIsPredictedAtCacheSpeed() throws {
        // SmolLM2-135M Q8_0: ~140 MiB of weights.
        let small = try plan(Self.host(cacheBytes: 32 << 20))
        let large = try plan(Self.host(cacheBytes: 512 << 20))
        XCTAssertGreaterThan(large.predicted.genTokensPerSecond, 1.5 * small.predicted.genTokensPerSecond,
                             "\(large.predicted.genTokensPerSecond) vs \(small.predicted.genTokensPerSecond)")
        XCTAssertTrue(large.reasons.contains { $0.contains("from cache") }, large.reasons.joined(separator: "\n"))
        XCTAssertTrue(small.reasons.contains { $0.contains("from main memory") }, small.reasons.joined(separator: "\n"))
    }

    /// From main memory, one thread's rate is the kernel's measured from-memory figure (the
    /// curve's largest working set is where that was measured), not the in-cache one, nor the
    /// read bandwidth.
    func testFromMemoryAThreadRunsAtTheKernelsFromMemoryFigure() throws {
        let p = try plan(Self.host(cacheBytes: 32 << 20), threads: 1)
        let cpu = try XCTUnwrap(p.devices.first { $0.id == .cpu(0) })
        // Weights plus per-block overheads: the weights alone at 10 GB/s bound the rate.
        let weights = Double(p.model.weightBytesPerToken)
        XCTAssertLessThan(p.predicted.genTokensPerSecond, 10e9 / weights * 1.001)
        XCTAssertGreaterThan(p.predicted.genTokensPerSecond, 0.8 * 10e9 / weights)
        XCTAssertGreaterThan(cpu.rateGBPerS, 0)
        // A version 1 profile (no curve, no from-memory figure) keeps the old model: the smaller of
        // the in-cache kernel rate and 90% of the read figure, 13.5 GB/s here.
        let old = try plan(Self.host(cacheBytes: 32 << 20, curve: false), threads: 1)
        XCTAssertGreaterThan(old.predicted.genTokensPerSecond, 1.2 * p.predicted.genTokensPerSecond)
    }

    /// The stall model goes through both measurements of a kernel.
    func testTheKernelModelReproducesBothMeasurements() throws {
        let host = Self.host(cacheBytes: 32 << 20)
        let node = host.numa.nodes[0]
        let k = host.cpu.coreClasses[0].kernels[0]
        let atCache = try XCTUnwrap(node.readBytesPerSecond(workingSet: PlacementPlanner.kernelProbeWorkingSet, threads: 1))
        XCTAssertEqual(try XCTUnwrap(PlacementPlanner.kernelRate(k, node: node, perThreadBandwidth: atCache)), 30e9, accuracy: 1e6)
        XCTAssertEqual(try XCTUnwrap(PlacementPlanner.kernelRate(k, node: node, perThreadBandwidth: 15e9)), 10e9, accuracy: 1e6)
        // Two threads sharing 20 GB/s: each sees 10, slower than alone.
        let shared = try XCTUnwrap(PlacementPlanner.kernelRate(k, node: node, perThreadBandwidth: 10e9))
        XCTAssertLessThan(shared, 10e9)
        XCTAssertGreaterThan(2 * shared, 10e9, "two threads together still beat one")
    }

    /// A streamed plan reads at the disk curve's rate for the window's requests, not at a
    /// fraction of the sequential figure, and says which.
    func testTheWindowStreamsAtTheDiskCurvesRate() throws {
        let curved = try plan(Self.host(diskCurve: 2.0), threads: 2, budget: 256 << 20, shape: "llama-3.2-1b")
        let disk = try XCTUnwrap(curved.devices.first { $0.kind == .disk })
        XCTAssertEqual(disk.rateGBPerS, 2.0, accuracy: 1e-9)
        XCTAssertTrue(curved.reasons.contains { $0.contains("disk curve") }, curved.reasons.joined(separator: "\n"))
        let flat = try plan(Self.host(diskCurve: nil), threads: 2, budget: 256 << 20, shape: "llama-3.2-1b")
        let flatDisk = try XCTUnwrap(flat.devices.first { $0.kind == .disk })
        XCTAssertEqual(flatDisk.rateGBPerS, 0.8 * PlacementPlanner.diskStreamingEfficiency, accuracy: 1e-9)
        XCTAssertGreaterThan(curved.predicted.genTokensPerSecond, 2 * flat.predicted.genTokensPerSecond)
    }
}
