import EdgeRuntime
import Foundation
import XCTest

/// The allowance is read from cgroup v1 and v2 files and /proc/meminfo (a fake tree here): the
/// tightest limit along the cgroup path wins, less its usage and the margin.
final class MemoryAllowanceTests: XCTestCase {
    private func tree(_ files: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("allowance-\(UUID().uuidString)")
        for (path, text) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        return root.path
    }

    func testCgroupV1AncestorLimitWins() throws {
        let root = try tree([
            "proc/self/cgroup": "5:devices:/\n4:memory:/jobs/run1\n0::/\n",
            "sys/fs/cgroup/memory/jobs/run1/memory.limit_in_bytes": "9223372036854771712\n",
            "sys/fs/cgroup/memory/jobs/run1/memory.usage_in_bytes": "10485760\n",
            "sys/fs/cgroup/memory/jobs/memory.limit_in_bytes": "104857600\n",
            "sys/fs/cgroup/memory/jobs/memory.usage_in_bytes": "31457280\n",
            // 10 MiB of it is page cache, which the kernel reclaims when the cgroup needs room.
            "sys/fs/cgroup/memory/jobs/memory.stat": "cache 10485760\ntotal_active_file 4194304\ntotal_inactive_file 6291456\n",
            "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
            "proc/meminfo": "MemTotal:       24000000 kB\nMemAvailable:   20000000 kB\n",
        ])
        let a = MemoryAllowance.current(root: root)
        let headroom = 100 * 1048576 - 20 * 1048576
        XCTAssertEqual(a.headrooms.first?.bytes, headroom)
        XCTAssertTrue(a.headrooms.first?.source.contains("cgroup v1 memory limit 100.0 MiB (/jobs)") ?? false, "\(a)")
        XCTAssertEqual(a.marginBytes, MemoryAllowance.marginFixedBytes + Int(Double(headroom) * MemoryAllowance.marginFraction))
        XCTAssertEqual(a.allowedBytes, headroom - a.marginBytes)
        XCTAssertEqual(a.headrooms.count, 2, "the cgroup and MemAvailable")
    }

    func testCgroupV2AndMemAvailable() throws {
        let root = try tree([
            "proc/self/cgroup": "0::/user.slice/app\n",
            "sys/fs/cgroup/user.slice/app/memory.max": "max\n",
            "sys/fs/cgroup/user.slice/app/memory.current": "1000\n",
            "sys/fs/cgroup/user.slice/memory.max": "2147483648\n",
            "sys/fs/cgroup/user.slice/memory.current": "1073741824\n",
            "sys/fs/cgroup/user.slice/memory.stat": "anon 1000\nfile 0\nactive_file 0\ninactive_file 0\n",
            "proc/meminfo": "MemTotal:       24000000 kB\nMemAvailable:     524288 kB\n",
        ])
        let a = MemoryAllowance.current(root: root)
        // MemAvailable (512 MiB) is tighter than the cgroup's 1 GiB of headroom.
        XCTAssertEqual(a.headrooms.map(\.bytes), [512 << 20, 1 << 30])
        XCTAssertTrue(a.headrooms[1].source.contains("cgroup v2 memory limit 2048.0 MiB (/user.slice)"), "\(a)")
        XCTAssertEqual(a.allowedBytes, (512 << 20) - a.marginBytes)
    }

    func testNoLimitsFound() throws {
        let a = MemoryAllowance.current(root: try tree(["proc/self/cgroup": "0::/\n"]))
        XCTAssertNil(a.allowedBytes)
        XCTAssertEqual(a.description, "no memory limit found")
    }

    /// The real host: at least MemAvailable is found, and the allowance is below it.
    func testThisHost() {
        let a = MemoryAllowance.current()
        guard let allowed = a.allowedBytes else { return XCTFail("no limit found on this host: \(a)") }
        XCTAssertGreaterThan(allowed, 0)
        XCTAssertTrue(a.headrooms.contains { $0.source.hasPrefix("MemAvailable") }, "\(a)")
    }
}
