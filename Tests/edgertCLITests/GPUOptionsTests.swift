import Foundation
import XCTest

/// The GPU options' checks (none needs a GPU: each is refused before one is opened) and
/// `edgert devices`, which lists the CPU nodes and either the Vulkan GPUs or, once, why there are none.
final class GPUOptionsTests: XCTestCase {
    func testBadGPUOptionsAreOneErrorLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-gpuopt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("m.gguf").path
        XCTAssertEqual(try CLI.run(["synth", "--shape", "smollm2-135m", "--layers", "2", "--type", "q8_0", "--out", model, "--seed", "3"]).status, 0)
        let cases: [([String], String)] = [
            (["--gpu-layers", "some"], "--gpu-layers"),
            (["--gpu-layers", "-1"], "--gpu-layers"),
            (["--gpu-split", "1.5"], "between 0 and 1"),
            (["--gpu-split", "lots"], "--gpu-split"),
            (["--gpu", "1"], "--gpu is used with"),
            (["--gpu-layers", "1", "--gpu-split", "0.5"], "one or the other"),
            (["--gpu-layers", "all", "--memory-budget", "64M"], "mapped weights only"),
            (["--gpu-layers", "all", "--gpu", "9"], "gpu"),
        ]
        for (args, says) in cases {
            let r = try CLI.run(["run", "--model", model, "-n", "2", "hello"] + args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.summary)")
            XCTAssertEqual(r.errLines.filter { $0.hasPrefix("error:") }.count, 1, "\(args): \(r.summary)")
            XCTAssertTrue(r.err.lowercased().contains(says.lowercased()), "\(args): \(r.summary)")
        }
        let cal = try CLI.run(["calibrate", "--model", model, "--gpu-layers", "1"])
        XCTAssertEqual(cal.status, 1, cal.summary)
        XCTAssertTrue(cal.err.contains("drop --gpu-layers"), cal.summary)
    }

    func testDevicesListsTheCPUNodesAndTheGPUsOrWhyNone() throws {
        let r = try CLI.run(["devices"])
        XCTAssertEqual(r.status, 0, r.summary)
        let out = r.out
        XCTAssertTrue(out.hasPrefix("cpu0: "), out)
        let gpus = out.split(separator: "\n").filter { $0.hasPrefix("gpu") }
        let none = out.split(separator: "\n").filter { $0.hasPrefix("no GPU") }
        XCTAssertEqual(gpus.isEmpty ? 1 : 0, none.count, "either GPUs or one line saying why there are none: \(out)")
        if gpus.isEmpty { print("edgert devices: \(none.first ?? "")") }
    }
}
