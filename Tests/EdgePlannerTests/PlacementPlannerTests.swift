import Foundation
import XCTest
import EdgeCore
import EdgePlanner

/// The placement planner over the specs in `Devices/` and the catalogue shapes: capacities are
/// never exceeded, a larger budget is never slower, blocks fit where they are placed, impossible
/// budgets name the smallest that works, and the plans match the golden summaries.
final class PlacementPlannerTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private static func devices() throws -> [(String, HostProfile)] {
        let dir = root.appendingPathComponent("Devices")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted().map { name in
            let data = try Data(contentsOf: dir.appendingPathComponent(name))
            return (String(name.dropLast(5)), try HostProfile.decode(data, file: name))
        }
    }

    private func manifest(_ shape: String, _ type: TensorType = .q4_0) throws -> ModelManifest {
        try ModelManifest(shape: try ModelShape.named(shape), type: type)
    }

    /// Every capacity holds, every block's shares sum to 1 and name devices that exist, streamed
    /// blocks fit the window's slot.
    private func checkInvariants(_ p: PlacementPlan, host: HostProfile, _ what: String) {
        for d in p.devices where d.kind != .disk {
            XCTAssertLessThanOrEqual(d.plannedBytes, d.capacityBytes, "\(what): \(d.id) over its capacity")
        }
        let ids = Set(host.numa.nodes.map { DeviceID.cpu($0.id) } + host.gpus.map(\.id))
        var streamed = 0
        for b in p.blocks {
            XCTAssertEqual(b.shares.reduce(0) { $0 + $1.fraction }, 1, accuracy: 1e-9, "\(what): \(b.name)")
            for s in b.shares { XCTAssertTrue(ids.contains(s.device), "\(what): \(b.name) on unknown \(s.device)") }
            if b.tier == .streamed {
                streamed += 1
                XCTAssertLessThanOrEqual(PlacementPlanner.span(offset: b.offset, length: b.bytes), p.window.slotBytes,
                                         "\(what): streamed \(b.name) larger than a slot")
                XCTAssertEqual(b.shares.map(\.device), [.cpu(0)], "\(what): streamed blocks run on the CPU")
            }
        }
        XCTAssertEqual(streamed > 0, p.window.slots > 0, "\(what): a window exactly when something streams")
        XCTAssertGreaterThan(p.predicted.genTokensPerSecond, 0, what)
        XCTAssertFalse(p.reasons.isEmpty, what)
    }

    func testEverySpecAndCatalogueModelGivesAValidPlan() throws {
        for (name, host) in try Self.devices() {
            for shape in ModelShape.catalogueNames {
                let m = try manifest(shape)
                let p = try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, context: 4096))
                checkInvariants(p, host: host, "\(name)/\(shape)")
            }
        }
    }

    /// The process's own bytes: a measured figure in the request replaces the fitted footprint in
    /// the peak, byte for byte, and in the memory left for weights when no budget is given.
    func testMeasuredProcessBytesReplaceTheFittedFootprint() throws {
        let (_, host) = try XCTUnwrap(try Self.devices().first { $0.0 == "raspberry-pi-5-8gb" })
        let m = try manifest("llama-3.2-1b")
        let fitted = RuntimeFootprint.processBytes(m)
        let cpu = DeviceID.cpu(0)
        let base = try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, memoryBudget: 2 << 30, context: 1024,
                                                              useGPUs: false))
        let measured = try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, memoryBudget: 2 << 30, context: 1024,
                                                                  useGPUs: false, processBytes: fitted + (9 << 20)))
        XCTAssertEqual(measured.predicted.peakMemoryBytes[cpu]! - base.predicted.peakMemoryBytes[cpu]!, 9 << 20)
        // Without a budget the weights get the host's available memory less the process: a process
        // that leaves less than the model needs turns a resident plan into a streamed one.
        let available = Int(host.memory.availableBytes.value)
        let roomy = try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, context: 1024, useGPUs: false))
        XCTAssertEqual(roomy.window.slots, 0, "the 1B model fits the Pi's memory")
        let crowded = try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, context: 1024, useGPUs: false,
                                                                 processBytes: available - (400 << 20)))
        XCTAssertGreaterThan(crowded.window.slots, 0, "400 MiB left: the weights stream")
    }

    func testCapacitiesHoldAndLargerBudgetsAreNeverSlower() throws {
        for (name, host) in try Self.devices() {
            for shape in ["llama-3.2-1b", "llama-2-7b", "llama-2-70b"] {
                let m = try manifest(shape)
                var last = 0.0
                for budgetMiB in stride(from: 256, through: 64 * 1024, by: 4096 + 37) {
                    let what = "\(name)/\(shape)/\(budgetMiB) MiB"
                    let p: PlacementPlan
                    do {
                        p = try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, memoryBudget: budgetMiB << 20, context: 2048))
                    } catch let PlacementError.budgetTooSmall(_, budget, minimum, _) {
                        XCTAssertGreaterThan(minimum, budget, what)
                        XCTAssertEqual(last, 0, "\(what): refused after a smaller budget was planned")
                        continue
                    }
                    checkInvariants(p, host: host, what)
                    XCTAssertGreaterThanOrEqual(p.predicted.genTokensPerSecond, last * (1 - 1e-9), "\(what): slower than with less memory")
                    last = p.predicted.genTokensPerSecond
                }
                XCTAssertGreaterThan(last, 0, "\(name)/\(shape): no budget planned")
            }
        }
    }

    /// A fine sweep across the budgets where the block size, the batch and the window change.
    func testFineBudgetSweepIsMonotone() throws {
        let host = try XCTUnwrap(Self.devices().first { $0.0 == "raspberry-pi-5-8gb" }?.1)
        for (shape, type) in [("llama-3.2-1b", TensorType.q4_0), ("qwen2.5-0.5b", .q8_0)] {
            let m = try manifest(shape, type)
            var last = 0.0
            for budgetMiB in stride(from: 40, through: 1600, by: 5) {
                guard let p = try? PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, memoryBudget: budgetMiB << 20, context: 1024)) else {
                    XCTAssertEqual(last, 0, "\(shape) \(budgetMiB) MiB refused after a smaller budget was planned")
                    continue
                }
                checkInvariants(p, host: host, "\(shape) \(budgetMiB) MiB")
                XCTAssertGreaterThanOrEqual(p.predicted.genTokensPerSecond, last * (1 - 1e-9), "\(shape) \(budgetMiB) MiB: slower than with less memory")
                last = p.predicted.genTokensPerSecond
            }
        }
    }

    func testLargerGPUBudgetIsNeverSlower() throws {
        let host = try XCTUnwrap(Self.devices().first { $0.0 == "desktop-rtx4060-8gb" }?.1)
        let m = try manifest("llama-3-8b", .q8_0)
        var last = 0.0
        for gib in stride(from: 0.5, through: 7.5, by: 0.5) {
            let p = try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, gpuBudgets: [.gpu(0): Int(gib * 1073741824)], context: 4096))
            checkInvariants(p, host: host, "\(gib) GiB")
            XCTAssertGreaterThanOrEqual(p.predicted.genTokensPerSecond, last * (1 - 1e-9), "gpu budget \(gib) GiB")
            last = p.predicted.genTokensPerSecond
        }
    }

    func testTheSmallestBudgetNamedIsTheSmallestThatWorks() throws {
        for (name, host) in try Self.devices() {
            let m = try manifest("llama-2-7b")
            do {
                _ = try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, memoryBudget: 64 << 20, context: 4096, useGPUs: false))
                XCTFail("\(name): 64 MiB cannot hold a 2 GiB KV cache")
            } catch let PlacementError.budgetTooSmall(device, budget, minimum, _) {
                XCTAssertEqual(device, .cpu(0))
                XCTAssertEqual(budget, 64 << 20)
                XCTAssertNoThrow(try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, memoryBudget: minimum, context: 4096, useGPUs: false)),
                                 "\(name): the named minimum \(minimum) must work")
                XCTAssertThrowsError(try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, memoryBudget: minimum - 4096, context: 4096, useGPUs: false)),
                                     "\(name): 4 KiB less than the minimum must not")
                let text = "\(PlacementError.budgetTooSmall(device: device, budget: budget, minimum: minimum, detail: "x"))"
                XCTAssertTrue(text.contains("smallest budget that works"), text)
            }
        }
    }

    func testShapesOfTheFamilies() throws {
        let hosts = Dictionary(uniqueKeysWithValues: try Self.devices())
        // A two-socket server splits every matrix over both nodes.
        let xeon = try PlacementPlanner.plan(PlacementRequest(manifest: manifest("llama-2-7b"), host: XCTUnwrap(hosts["xeon-2s-server"]), context: 4096))
        XCTAssertEqual(xeon.strategy, "numa-split")
        XCTAssertEqual(Set(xeon.blocks[0].shares.map(\.device)), [.cpu(0), .cpu(1)])
        // A 70B model on an 8 GB GPU: the GPU holds a prefix of the pass, the rest is on the CPU
        // (resident or streamed); never a GPU block after a CPU-only one.
        let desk = try PlacementPlanner.plan(PlacementRequest(manifest: manifest("llama-2-70b"), host: XCTUnwrap(hosts["desktop-rtx4060-8gb"]), context: 4096))
        XCTAssertTrue(desk.strategy.hasPrefix("gpu-layers"), desk.strategy)
        let onGPU = desk.blocks.map { $0.shares.contains { $0.device == .gpu(0) } }
        XCTAssertTrue(onGPU[0])
        XCTAssertFalse(zip(onGPU, onGPU.dropFirst()).contains { !$0 && $1 }, "GPU blocks form a prefix")
        XCTAssertLessThanOrEqual(desk.blocks.filter { $0.shares.count == 2 }.count, 1, "at most the boundary block is split")
        // A Pi 5 streams a 70B model with a double-buffered window.
        let pi = try PlacementPlanner.plan(PlacementRequest(manifest: manifest("llama-2-70b"), host: XCTUnwrap(hosts["raspberry-pi-5-8gb"]), context: 2048))
        XCTAssertEqual(pi.strategy, "cpu+disk")
        XCTAssertEqual(pi.window.slots, 2)
        XCTAssertTrue(pi.window.overlapped)
        // The laptop's hybrid cores start with unequal shares.
        let laptop = try PlacementPlanner.plan(PlacementRequest(manifest: manifest("llama-3.2-1b"), host: XCTUnwrap(hosts["core-ultra-7-155h-laptop"]),
                                                                context: 2048, useGPUs: false))
        XCTAssertEqual(laptop.strategy, "cpu")
        XCTAssertGreaterThan(laptop.threads.startingShares.max()!, laptop.threads.startingShares.min()! * 1.5)
        XCTAssertEqual(laptop.threads.startingShares.reduce(0, +), 1, accuracy: 1e-9)
    }

    /// Generation speed depends on the positions a run fills, not on the context it reserves:
    /// attention reads the KV cache of the prompt and the tokens generated so far. (The planner
    /// once charged every token half of a 128K context's cache, and predicted a 1B model 2x slow.)
    /// More positions do cost more.
    func testTokenRateFollowsPositionsUsedNotContextReserved() throws {
        let hosts = Dictionary(uniqueKeysWithValues: try Self.devices())
        let host = try XCTUnwrap(hosts["raspberry-pi-5-8gb"])
        let m = try manifest("llama-3.2-1b")
        func rate(context: Int, prompt: Int) throws -> Double {
            try PlacementPlanner.plan(PlacementRequest(manifest: m, host: host, context: context, promptTokens: prompt,
                                                       generateTokens: 64, useGPUs: false)).predicted.genTokensPerSecond
        }
        let short = try rate(context: 4096, prompt: 16)
        XCTAssertEqual(try rate(context: 131072, prompt: 16), short, accuracy: short * 1e-9)
        XCTAssertLessThan(try rate(context: 131072, prompt: 100_000), short * 0.95, "a 100K-token prompt's cache is read every token")
    }

    func testAPromptLongerThanTheContextIsRefused() throws {
        let host = try XCTUnwrap(Self.devices().first?.1)
        XCTAssertThrowsError(try PlacementPlanner.plan(PlacementRequest(manifest: manifest("llama-3.2-1b"), host: host, context: 100, promptTokens: 100))) { e in
            XCTAssertTrue("\(e)".contains("does not fit a context of 100"), "\(e)")
        }
    }

    /// One line per spec and catalogue model: strategy, blocks per tier and device, window, and
    /// predictions rounded to 3 significant digits. `EDGERT_UPDATE_GOLDEN=1` rewrites the file.
    func testGoldenPlans() throws {
        var lines: [String] = []
        func sig(_ v: Double) -> String { String(format: "%.3g", v) }
        for (name, host) in try Self.devices() {
            for shape in ModelShape.catalogueNames {
                let p = try PlacementPlanner.plan(PlacementRequest(manifest: manifest(shape), host: host, context: 4096))
                var counts: [String: Int] = [:]
                for b in p.blocks { counts["\(b.tier.rawValue):\(b.shares.map(\.device.description).joined(separator: "+"))", default: 0] += 1 }
                let peaks = p.predicted.peakMemoryBytes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value >> 20)MiB" }
                lines.append("\(name) \(shape) Q4_0: \(p.strategy) blocks[\(counts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))] window=\(p.window.slots) tok/s=\(sig(p.predicted.genTokensPerSecond)) ttft=\(sig(p.predicted.timeToFirstTokenSeconds))s peak[\(peaks.joined(separator: " "))]")
            }
        }
        let text = lines.joined(separator: "\n") + "\n"
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("golden/plans.txt")
        if ProcessInfo.processInfo.environment["EDGERT_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        let expected = golden.split(separator: "\n"), got = text.split(separator: "\n")
        XCTAssertEqual(expected.count, got.count, "plan count changed; rerun with EDGERT_UPDATE_GOLDEN=1 if intended")
        for (e, g) in zip(expected, got) where e != g {
            XCTFail("golden plan changed (EDGERT_UPDATE_GOLDEN=1 rewrites it when intended):\n  expected \(e)\n  got      \(g)")
        }
    }
}
