import EdgeCore
import EdgeDevices
import EdgeKernels
import EdgePlanner
import EdgeRuntime
import Foundation
import XCTest

/// The engine plans once, with ``PlacementPlanner``, and runs what the plan says: its threads on
/// the CPUs it names, its batch, its nodes. Without a host profile the plan is made from estimates
/// and says so; a profile measured under another CPU mask is cut to the CPUs this process may use.
final class EnginePlanTests: XCTestCase {
    private var directory: URL!
    private var path: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("tiny.gguf").path
        try ModelSynthesizer(shape: ModelSynthesizerTests.tinyLlama, type: .q8_0, seed: 5).write(toFile: path)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private var allowed: [Int] { WorkerPool.allowedCPUs() }

    /// A measured-looking profile of `cpus` in one node, one kernel rate for every type.
    private func profile(cpus: [Int]) -> HostProfile {
        func f(_ v: Double) -> Figure { Figure(v, source: "test") }
        let kernels = TensorType.allCases.map {
            HostProfile.KernelSpeed(weightType: $0.description, matvecGBPerS: f(10), matmulGflops: f(40))
        }
        return HostProfile(
            kind: .measured,
            host: .init(name: "test host", description: "test", created: "2026-12-07", tool: "test"),
            cpu: .init(model: "Test", architecture: "x86_64", features: [], hybrid: false,
                       coreClasses: [.init(type: "uniform", cpus: cpus, relativeSpeed: f(1), kernels: kernels)]),
            memory: .init(totalBytes: f(Double(8 << 30)), availableBytes: f(Double(4 << 30))),
            numa: .init(nodes: [.init(id: 0, cpus: cpus, memoryBytes: f(Double(8 << 30)), readGBPerSOneCore: f(15),
                                      readGBPerSAllCores: f(30))], distances: [[10]]),
            storage: [], gpus: [])
    }

    func testWithoutAProfileThePlanIsEstimatedAndExecutedAsWritten() async throws {
        var o = EngineOptions(threads: min(2, allowed.count), contextLength: 64)
        o.batchSize = 32
        let engine = try Engine(modelPath: path, options: o)
        XCTAssertEqual(engine.plan.hostKind, .estimated)
        XCTAssertEqual(engine.plan.strategy, "cpu")
        XCTAssertEqual(engine.plan.threads.count, o.threads)
        XCTAssertEqual(engine.node.cpus, engine.plan.threads.cpus, "the node's threads run on the plan's CPUs")
        XCTAssert(Set(engine.plan.threads.cpus).isSubset(of: Set(allowed)))
        XCTAssertEqual(engine.plan.batch, 32)
        XCTAssertEqual(engine.batchSize, 32)
        XCTAssertNil(engine.placement.disk, "a model this small is mapped, not streamed")
        XCTAssert(engine.plan.reasons.contains { !$0.isEmpty })
        let out = try await engine.makeSession().evaluate([1, 2, 3], allLogits: false)
        XCTAssertFalse(out.isEmpty)
    }

    func testAProfileIsCutToTheCPUsThisProcessMayUse() throws {
        let stranger = (allowed.max() ?? 0) + 1000
        var o = EngineOptions(threads: 1, contextLength: 64)
        o.hostProfile = profile(cpus: [stranger] + allowed)
        let engine = try Engine(modelPath: path, options: o)
        XCTAssertEqual(engine.plan.hostKind, .measured)
        XCTAssertEqual(engine.plan.threads.cpus.count, 1)
        XCTAssertFalse(engine.plan.threads.cpus.contains(stranger), "CPU \(stranger) is not this process's to use")
        XCTAssertEqual(engine.node.cpus, engine.plan.threads.cpus)

        o.hostProfile = profile(cpus: [stranger])
        XCTAssertThrowsError(try Engine(modelPath: path, options: o)) { error in
            XCTAssert("\(error)".contains("none of its CPUs (\(stranger))"), "\(error)")
        }
    }

    /// The profile's memory access modes are set for the kernels at load, and the engine says which.
    func testTheProfilesMemoryAccessModesAreSetForTheKernels() throws {
        let before = KernelMemoryAccess.tunableTypes.map { ($0, KernelMemoryAccess.current(for: $0)) }
        defer { for (t, a) in before { KernelMemoryAccess.set(a, for: t) } }
        var o = EngineOptions(threads: 1, contextLength: 64)
        o.hostProfile = profile(cpus: allowed)
        let engine = try Engine(modelPath: path, options: o)
        XCTAssertEqual(engine.kernelMemoryAccess, [:], "a profile without modes leaves the kernels' defaults")

        var p = profile(cpus: allowed)
        for (i, k) in p.cpu.coreClasses[0].kernels.enumerated() {
            if k.weightType == "Q6_K" { p.cpu.coreClasses[0].kernels[i].matvecDRAMAccess = "touch" }
            if k.weightType == "Q4_K" { p.cpu.coreClasses[0].kernels[i].matvecDRAMAccess = "hardware" }
            if k.weightType == "Q8_0" { p.cpu.coreClasses[0].kernels[i].matvecDRAMAccess = "touch" }  // takes none
        }
        KernelMemoryAccess.set(.prefetch(bytes: 8192), for: .q6_K)
        KernelMemoryAccess.set(.prefetch(bytes: 8192), for: .q4_K)
        o.hostProfile = p
        let withModes = try Engine(modelPath: path, options: o)
        XCTAssertEqual(withModes.kernelMemoryAccess, [.q6_K: .touch, .q4_K: .hardware])
        XCTAssertEqual(KernelMemoryAccess.current(for: .q6_K), .touch)
        XCTAssertEqual(KernelMemoryAccess.current(for: .q4_K), .hardware)
        XCTAssertEqual(KernelMemoryAccess.current(for: .q8_0), .hardware)
    }

    func testMoreThreadsThanCPUsAreRefusedByThePlanner() throws {
        let o = EngineOptions(threads: allowed.count + 1, contextLength: 64)
        XCTAssertThrowsError(try Engine(modelPath: path, options: o)) { error in
            XCTAssert("\(error)".contains("CPU"), "\(error)")
        }
    }

    func testTwoNodesArePlannedAsANumaSplitAndRunAsOne() throws {
        guard allowed.count >= 2 else { throw XCTSkip("two nodes need two CPUs; this process may use one") }
        var o = EngineOptions(threads: 2, contextLength: 64)
        o.numaNodes = 2
        let engine = try Engine(modelPath: path, options: o)
        XCTAssertEqual(engine.plan.strategy, "numa-split")
        XCTAssertEqual(engine.peers.count, 1)
        XCTAssertEqual(engine.placement.nodeCount, 2)
        XCTAssertEqual(Set(engine.node.cpus + engine.peers[0].cpus), Set(engine.plan.threads.cpus))
        XCTAssert(Set(engine.node.cpus).isDisjoint(with: engine.peers[0].cpus), "each node has its own CPUs")
    }
}
