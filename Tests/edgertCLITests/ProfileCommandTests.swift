import EdgeCore
import Foundation
import XCTest

/// `edgert profile`: one quick run on this host (about 10-20 s) checks the written profile
/// validates against the schema and the summary reports the measurements; argument errors.
final class ProfileCommandTests: XCTestCase {
    func testQuickProfileWritesAValidProfileAndASummary() throws {
        let tmp = try TemporaryFolder()
        let out = tmp.path("profiles/this-host.json")
        let r = try CLI.run(["profile", "--quick", "--out", out, "--storage-path", tmp.url.path, "--name", "test-host"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.summary)
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        let p = try HostProfile.decode(data, file: out)
        XCTAssertEqual(p.kind, .measured)
        XCTAssertEqual(p.host.name, "test-host")
        XCTAssertEqual(p.host.tool, "edgert profile --quick")
        XCTAssertEqual(Set(p.cpu.cpuIDs).count, p.cpu.cpuIDs.count)
        XCTAssertEqual(p.cpu.coreClasses.first?.kernels.count, 15, "every weight type's kernels")
        XCTAssertEqual(p.storage.first?.path, tmp.url.path)
        XCTAssertNotNil(p.storage.first?.random4KLatencyUs)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.url.path), ["profiles"], "the storage probe's file is gone")

        // The summary names the figures just written.
        let node = p.numa.nodes[0]
        XCTAssertTrue(r.out.contains(String(format: "memory read %.2f GB/s one core, %.2f GB/s all cores",
                                            node.readGBPerSOneCore.value, node.readGBPerSAllCores.value)), r.summary)
        XCTAssertTrue(r.out.contains(String(format: "sequential read %.2f GB/s", p.storage[0].sequentialReadGBPerS.value)), r.summary)
        XCTAssertTrue(r.outLines.contains { $0.hasPrefix("  Q4_K ") }, r.summary)
        XCTAssertTrue(r.outLines.contains { $0.hasPrefix("GPU      ") }, r.summary)
        if p.gpus.isEmpty { XCTAssertTrue(r.outLines.contains("GPU      none"), r.summary) }
        XCTAssertTrue(r.outLines.last?.hasPrefix("Wrote    \(out)") ?? false, r.summary)
        // Progress on standard error, one started line per step.
        let started = r.errLines.filter { $0.hasPrefix("[") }
        XCTAssertGreaterThan(started.count, 11, r.summary)
        XCTAssertTrue(started.last?.hasPrefix("[\(started.count)/\(started.count)] storage") ?? false, r.summary)
    }

    /// A profile under this host's name measured on a CPU with other ISA features (a cloud VM's
    /// "AMD EPYC" with and without AVX-512 read alike) is never overwritten: the new profile goes
    /// to the feature-qualified name, which `run` also looks for, with a message.
    func testAnotherCPUsProfileOfTheSameNameIsKept() throws {
        let tmp = try TemporaryFolder()
        try FileManager.default.createDirectory(atPath: tmp.path("Profiles"), withIntermediateDirectories: true)
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var other = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: repo.appendingPathComponent("Profiles/amd-epyc-2c.json"))) as? [String: Any])
        var cpu = try XCTUnwrap(other["cpu"] as? [String: Any])
        cpu["features"] = ["an_isa_this_host_lacks"]
        other["cpu"] = cpu
        let original = try JSONSerialization.data(withJSONObject: other, options: [.prettyPrinted, .sortedKeys])
        try original.write(to: tmp.url.appendingPathComponent("Profiles/test-host.json"))
        let r = try CLI.run(["profile", "--quick", "--storage-path", tmp.url.path, "--name", "test-host"], directory: tmp.url, timeout: 120)
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertEqual(try Data(contentsOf: tmp.url.appendingPathComponent("Profiles/test-host.json")), original, "the other CPU's profile is untouched")
        let written = try FileManager.default.contentsOfDirectory(atPath: tmp.path("Profiles")).filter { $0.hasPrefix("test-host-") && $0.hasSuffix(".json") }
        XCTAssertEqual(written.count, 1, r.summary)
        XCTAssertTrue(r.err.contains("is a profile of a CPU with other features (an_isa_this_host_lacks); writing Profiles/\(written.first ?? "")"), r.summary)
        let p = try HostProfile.decode(Data(contentsOf: tmp.url.appendingPathComponent("Profiles/" + (written.first ?? ""))), file: "written")
        XCTAssertEqual(p.host.name + ".json", written.first, "the profile is named as its file")
        XCTAssertTrue(p.host.name.hasPrefix("test-host-"))
    }

    /// The first `run` on a host with no profile measures one quickly in a child process: the
    /// probes' 1 GiB buffer never counts in the run's peak memory (it used to: 1.1 GiB reported
    /// for a 92 MiB model), and the load time does not include the profiling.
    func testFirstRunProfilesInAChildProcess() throws {
        let model = try Shared.model("SmolLM2-135M-Instruct.Q8_0.gguf")
        let tmp = try TemporaryFolder()
        // A copy of the binary in a folder with an empty Profiles/: no profile of this host.
        let binary = tmp.url.appendingPathComponent("edgert")
        try FileManager.default.copyItem(at: try CLI.binary(), to: binary)
        try FileManager.default.createDirectory(atPath: tmp.path("Profiles"), withIntermediateDirectories: true)
        let r = try CLI.run(["run", "--model", model, "-n", "8", "--temp", "0", "--stats-json", tmp.path("stats.json"), "Hello"],
                            directory: tmp.url, executable: binary, timeout: 180)
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertTrue(r.err.contains("measuring it quickly first (edgert profile --quick, in a child process)"), r.summary)
        // The profile, and beside it its drawing.
        let files = try FileManager.default.contentsOfDirectory(atPath: tmp.path("Profiles")).sorted()
        let written = files.filter { $0.hasSuffix(".json") }
        XCTAssertEqual(written.count, 1, "\(files)")
        XCTAssertEqual(files, written + written.map { String($0.dropLast(5)) + ".svg" }, "\(files)")
        XCTAssertTrue(r.err.contains("profile written to"), r.summary)
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: tmp.url.appendingPathComponent("stats.json"))) as? [String: Any]
        let peak = try XCTUnwrap(r.errLines.first { $0.hasPrefix("peak memory (RSS): ") })
        let mib = Double(peak.dropFirst("peak memory (RSS): ".count).split(separator: " ")[0]) ?? .infinity
        // The model is 138 MiB; with the profile's buffer the peak was over 1 GiB.
        XCTAssertLessThan(mib, 400, r.summary)
        XCTAssertNotNil(stats, "stats written")
        let load = try XCTUnwrap(r.errLines.first { $0.hasPrefix("load: ") })
        let seconds = Double(load.dropFirst("load: ".count).split(separator: " ")[0]) ?? .infinity
        XCTAssertLessThan(seconds, 5, "load time excludes the profiling: \(load)")

        // The same name measured on a CPU with other features (a cloud "AMD EPYC" with AVX-512 and
        // one without read alike): not used; this host is measured under a feature-qualified name.
        let own = tmp.path("Profiles/\(written[0])")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: own))) as? [String: Any])
        var cpu = try XCTUnwrap(json["cpu"] as? [String: Any])
        let features = cpu["features"] as? [String] ?? []
        cpu["features"] = features.isEmpty ? ["avx2"] : Array(features.dropLast())
        json["cpu"] = cpu
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: own))
        let again = try CLI.run(["run", "--model", model, "-n", "2", "--temp", "0", "Hello"], directory: tmp.url, executable: binary, timeout: 180)
        XCTAssertEqual(again.status, 0, again.summary)
        XCTAssertTrue(again.err.contains("\(own) was measured on a CPU with"), again.summary)
        XCTAssertTrue(again.err.contains("so other kernels run here: measuring this host quickly first as"), again.summary)
        let both = try FileManager.default.contentsOfDirectory(atPath: tmp.path("Profiles")).sorted().filter { $0.hasSuffix(".json") }
        XCTAssertEqual(both.count, 2, "\(both)")
        // A third run finds the feature-qualified profile and measures nothing.
        let third = try CLI.run(["run", "--model", model, "-n", "2", "--temp", "0", "Hello"], directory: tmp.url, executable: binary, timeout: 60)
        XCTAssertEqual(third.status, 0, third.summary)
        XCTAssertFalse(third.err.contains("measuring"), third.summary)
        XCTAssertTrue(third.err.contains("plan: cpu from \(tmp.path("Profiles"))/\(both.first { $0 != written[0] } ?? "?")"), third.summary)

        // A version 1 profile of this host (before the memory hierarchy) is measured again, in place.
        let qualified = tmp.path("Profiles/\(both.first { $0 != written[0] } ?? "?")")
        var v1 = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: qualified))) as? [String: Any])
        v1["schema_version"] = 1
        try JSONSerialization.data(withJSONObject: v1).write(to: URL(fileURLWithPath: qualified))
        let fourth = try CLI.run(["run", "--model", model, "-n", "2", "--temp", "0", "Hello"], directory: tmp.url, executable: binary, timeout: 180)
        XCTAssertEqual(fourth.status, 0, fourth.summary)
        XCTAssertTrue(fourth.err.contains("\(qualified) is a version 1 profile"), fourth.summary)
        let rewritten = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: qualified))) as? [String: Any])
        XCTAssertEqual(rewritten["schema_version"] as? Int, 2)
    }

    func testAMissingStorageDirectoryIsAnArgumentError() throws {
        let r = try CLI.run(["profile", "--quick", "--storage-path", "/nonexistent-edgert"])
        XCTAssertFalse(r.crashed, r.summary)
        XCTAssertEqual(r.status, 1, r.summary)
        XCTAssertTrue(r.err.contains("--storage-path /nonexistent-edgert: no such directory"), r.summary)
    }

    func testABadNameIsAnArgumentError() throws {
        let r = try CLI.run(["profile", "--quick", "--name", "my host"])
        XCTAssertEqual(r.status, 1, r.summary)
        XCTAssertTrue(r.err.contains("--name 'my host': use letters, digits"), r.summary)
    }
}
