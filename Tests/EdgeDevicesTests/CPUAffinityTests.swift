import XCTest
import EdgeDevices

/// The CPUs a process may use do not depend on which thread asks: a thread created by a pinned
/// thread inherits its one-CPU mask, and a second engine built from such a thread must still see
/// (and pin to) every CPU.
final class CPUAffinityTests: XCTestCase {
    func testAllowedCPUsAreTheProcesssFromAPinnedThread() async throws {
        let all = WorkerPool.allowedCPUs()
        guard all.count >= 2 else { throw XCTSkip("this process may use one CPU: a pinned thread's mask is the process's") }
        let node = try CPUNode(threads: 1, cpus: [all[0]])
        // The driver thread is pinned to all[0]; build another node from it, as a benchmark that
        // sweeps thread counts can end up doing.
        let (seen, pinned) = try await node.run { _ in
            let inner = try CPUNode(threads: 2)
            return (WorkerPool.allowedCPUs(), inner.pool.cpus)
        }
        XCTAssertEqual(seen, all)
        XCTAssertEqual(pinned.count, 2, "a two-thread pool built on a pinned thread is still pinned to two CPUs")
        XCTAssertEqual(Set(pinned).count, 2)
    }
}
