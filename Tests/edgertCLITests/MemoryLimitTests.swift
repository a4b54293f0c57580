import Foundation
import XCTest

/// In a memory cgroup whose limit is below the model's size, `edgert run` with no
/// `--memory-budget` streams within what it may use and completes, instead of being killed by the
/// kernel. Needs root and the cgroup-v1 memory controller (as this project's hosts have); skips
/// with the reason elsewhere.
final class MemoryLimitTests: XCTestCase {
    private let controller = "/sys/fs/cgroup/memory"

    private func cgroup(limit: Int) throws -> String {
        guard getuid() == 0 else { throw XCTSkip("needs root to create a memory cgroup") }
        guard FileManager.default.fileExists(atPath: controller + "/memory.limit_in_bytes") else {
            throw XCTSkip("no cgroup-v1 memory controller at \(controller)")
        }
        let path = controller + "/edgert-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        addTeardownBlock { rmdir(path) }
        try "\(limit)".write(toFile: path + "/memory.limit_in_bytes", atomically: false, encoding: .utf8)
        return path
    }

    private func read(_ path: String) -> Int { Int((try? String(contentsOfFile: path, encoding: .utf8))?.filter(\.isNumber) ?? "") ?? -1 }

    func testRunBelowTheModelSizeStreamsAndCompletes() throws {
        let model = try Shared.model("SmolLM2-135M-Instruct.Q8_0.gguf")   // 138 MiB
        let limit = 100 << 20
        let cg = try cgroup(limit: limit)
        let edgert = try CLI.binary().path
        let r = try CLI.run(["-c", "echo $$ > \(cg)/cgroup.procs && exec \"$0\" \"$@\"", edgert, "run", "--model", model, "-n", "8",
                             "--temp", "0", "-t", "1", "Once upon a time"],
                            executable: URL(fileURLWithPath: "/bin/bash"), timeout: 120)
        XCTAssertFalse(r.crashed, r.summary)
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertTrue(r.err.contains("memory: the model does not fit what this process may use"), r.summary)
        XCTAssertTrue(r.err.contains("cgroup v1 memory limit 100.0 MiB"), r.summary)
        XCTAssertTrue(r.err.contains("generation: 8 tokens"), r.summary)
        let oom = (try? String(contentsOfFile: cg + "/memory.oom_control", encoding: .utf8)) ?? ""
        XCTAssertTrue(oom.contains("oom_kill 0"), oom)
        XCTAssertLessThanOrEqual(read(cg + "/memory.max_usage_in_bytes"), limit)
    }
}
