import Foundation
import XCTest

/// `edgert plan` over specs and catalogue shapes, `run --plan` refusing a device the host lacks,
/// and `run --stats-json` writing measured and predicted figures.
final class PlanCommandTests: XCTestCase {
    private let devices = CLI.packageRoot.appendingPathComponent("Devices").path

    func testPlansACatalogueShapeOnASpecWithoutTheFile() throws {
        let r = try CLI.run(["plan", "--shape", "llama-2-70b", "--type", "Q4_0", "--device", "\(devices)/desktop-rtx4060-8gb.json"])
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertTrue(r.out.contains("strategy gpu-layers"), r.summary)
        XCTAssertTrue(r.out.contains("gpu0"), r.summary)
        XCTAssertTrue(r.out.contains("why:"), r.summary)
    }

    func testImpossibleBudgetNamesTheSmallestThatWorks() throws {
        let r = try CLI.run(["plan", "--shape", "llama-2-7b", "--device", "\(devices)/raspberry-pi-5-8gb.json", "--memory-budget", "64M"])
        XCTAssertEqual(r.status, 1, r.summary)
        XCTAssertTrue(r.err.contains("smallest budget that works"), r.summary)
    }

    func testJSONPlanAndRunRefusesADeviceTheHostLacks() throws {
        let model = try Shared.model("aidreams260K.Q8_0.gguf")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let host = "\(devices)/raspberry-pi-5-8gb.json"
        let planPath = dir.appendingPathComponent("plan.json").path
        let r = try CLI.run(["plan", "--model", model, "--profile", host, "--ctx", "64", "--json", "--out", planPath])
        XCTAssertEqual(r.status, 0, r.summary)
        var plan = try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.summary)
        XCTAssertEqual(plan["schema"] as? String, "edgert.placement-plan")
        XCTAssertNotNil(FileManager.default.contents(atPath: planPath))
        // The same plan with its first block moved to a GPU this host does not have (gpu9: a test
        // host has at most lavapipe, gpu0).
        var blocks = try XCTUnwrap(plan["blocks"] as? [[String: Any]])
        blocks[0]["shares"] = [["device": "gpu9", "fraction": 1.0]]
        plan["blocks"] = blocks
        let gpuPlan = dir.appendingPathComponent("gpu.json").path
        try JSONSerialization.data(withJSONObject: plan).write(to: URL(fileURLWithPath: gpuPlan))
        let refused = try CLI.run(["run", "--model", model, "--plan", gpuPlan, "-n", "2", "hi"])
        XCTAssertEqual(refused.status, 1, refused.summary)
        XCTAssertTrue(refused.err.contains("'gpu9'"), refused.summary)
    }

    /// A `numa-split` plan (made for the two-socket Xeon spec, its thread count cut to two) runs
    /// as written when the host has two CPU nodes: here `--numa-nodes 2` makes them from this
    /// host's CPUs. The text equals one node's; without the two nodes the plan is refused.
    func testANUMASplitPlanRunsAsWrittenOnTwoNodes() throws {
        guard ProcessInfo.processInfo.activeProcessorCount >= 2 else { throw XCTSkip("two CPU nodes need two CPUs") }
        let model = try Shared.model("SmolLM2-135M-Instruct.Q8_0.gguf")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-numa-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try CLI.run(["plan", "--model", model, "--device", "\(devices)/xeon-2s-server.json", "--ctx", "128", "--json"])
        XCTAssertEqual(made.status, 0, made.summary)
        var plan = try XCTUnwrap(JSONSerialization.jsonObject(with: made.stdout) as? [String: Any], made.summary)
        XCTAssertEqual(plan["strategy"] as? String, "numa-split", made.summary)
        plan["threads"] = ["count": 2, "cpus": [0, 1], "starting_shares": [0.5, 0.5]]
        let planPath = dir.appendingPathComponent("numa.json").path
        try JSONSerialization.data(withJSONObject: plan).write(to: URL(fileURLWithPath: planPath))
        let args = ["-n", "12", "--temp", "0", "--ctx", "128", "--", "Once upon a time"]
        let one = try CLI.run(["run", "--model", model, "-t", "2"] + args)
        XCTAssertEqual(one.status, 0, one.summary)
        let two = try CLI.run(["run", "--model", model, "--plan", planPath, "--numa-nodes", "2"] + args)
        XCTAssertEqual(two.status, 0, two.summary)
        XCTAssertEqual(two.out, one.out, "two nodes generate what one does")
        XCTAssertTrue(two.err.contains("on 2 CPU nodes"), two.summary)
        XCTAssertTrue(two.err.contains("plan: numa-split"), two.summary)
        let realNodes = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/devices/system/node")) ?? [])
            .filter { $0.hasPrefix("node") && $0.dropFirst(4).allSatisfy(\.isNumber) }.count
        if realNodes < 2 {   // a one-node host has no cpu1 of its own
            let refused = try CLI.run(["run", "--model", model, "--plan", planPath] + args)
            XCTAssertEqual(refused.status, 1, refused.summary)
            XCTAssertTrue(refused.err.contains("'cpu1'"), refused.summary)
        }
    }

    /// A saved plan's threads run on the CPUs it names; a CPU this process may not use is refused
    /// by number, before anything is loaded.
    func testAPlanRunsOnItsCPUs() throws {
        guard ProcessInfo.processInfo.activeProcessorCount >= 2 else { throw XCTSkip("the plan below pins two threads") }
        let model = try Shared.model("aidreams260K.Q8_0.gguf")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-cpus-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try CLI.run(["plan", "--model", model, "--device", "\(devices)/raspberry-pi-5-8gb.json", "--ctx", "64", "--json"])
        XCTAssertEqual(made.status, 0, made.summary)
        var plan = try XCTUnwrap(JSONSerialization.jsonObject(with: made.stdout) as? [String: Any], made.summary)
        func run(cpus: [Int]) throws -> CLIResult {
            plan["threads"] = ["count": cpus.count, "cpus": cpus, "starting_shares": cpus.map { _ in 1.0 / Double(cpus.count) }]
            let path = dir.appendingPathComponent("plan-\(cpus.count)-\(cpus.last!).json").path
            try JSONSerialization.data(withJSONObject: plan).write(to: URL(fileURLWithPath: path))
            return try CLI.run(["run", "--model", model, "--plan", path, "-n", "4", "--temp", "0", "--verbose", "--", "Once"])
        }
        let ok = try run(cpus: [1, 0])
        XCTAssertEqual(ok.status, 0, ok.summary)
        XCTAssertTrue(ok.err.contains("pool pinned to CPUs [1, 0]"), ok.summary)
        let refused = try run(cpus: [0, 4096])
        XCTAssertEqual(refused.status, 1, refused.summary)
        XCTAssertTrue(refused.err.contains("CPU 4096"), refused.summary)
    }

    func testStatsJSONHoldsMeasuredAndPredictedFigures() throws {
        let model = try Shared.model("aidreams260K.Q8_0.gguf")
        let stats = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-stats-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: stats) }
        let r = try CLI.run(["run", "--model", model, "--profile", "\(devices)/raspberry-pi-5-8gb.json", "-n", "8", "--temp", "0",
                             "--stats-json", stats, "Once upon a time"])
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertTrue(r.err.contains("predicted vs measured"), r.summary)
        let data = try XCTUnwrap(FileManager.default.contents(atPath: stats), r.summary)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["prompt_tokens_per_s", "gen_tokens_per_s", "peak_rss_bytes"] {
            XCTAssertGreaterThan((o[key] as? NSNumber)?.doubleValue ?? 0, 0, "\(key) in \(o)")
        }
        let predicted = try XCTUnwrap(o["predicted"] as? [String: Any], "\(o)")
        XCTAssertGreaterThan((predicted["gen_tokens_per_s"] as? NSNumber)?.doubleValue ?? 0, 0)
        XCTAssertGreaterThan((predicted["peak_memory_bytes"] as? NSNumber)?.intValue ?? 0, 0)

        // Each term of the cost model, predicted beside measured; the furthest off is named when
        // it is beyond the tolerance (a Raspberry Pi's profile on this host is far off somewhere).
        let terms = try XCTUnwrap(o["terms"] as? [[String: Any]], "\(o)")
        XCTAssertEqual(terms.compactMap { $0["name"] as? String }, ["compute", "peak memory", "time to first token"])
        var worst: (name: String, error: Double)?
        for t in terms {
            let p = (t["predicted"] as? NSNumber)?.doubleValue ?? .nan, m = (t["measured"] as? NSNumber)?.doubleValue ?? .nan
            let e = (t["error_pct"] as? NSNumber)?.doubleValue ?? .nan
            XCTAssertEqual(e, 100 * (p - m) / m, accuracy: 1e-6, "\(t)")
            if abs(e) > abs(worst?.error ?? 0) { worst = (t["name"] as! String, e) }
        }
        let w = try XCTUnwrap(worst)
        if abs(w.error) > 15 {
            XCTAssertTrue(r.err.contains("self-check: the cost model's furthest term is \(w.name): predicted"), r.summary)
        } else {
            XCTAssertFalse(r.err.contains("self-check:"), r.summary)
        }
    }
}
