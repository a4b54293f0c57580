import CEdgeKernels
import Foundation

/// Runs a blocking job on a fresh OS thread, pinned to one CPU or free to run anywhere, so that
/// timed loops and blocking reads never occupy Swift's cooperative threads.
enum PinnedThread {
    static func run<T: Sendable>(cpu: Int?, _ body: @escaping @Sendable () throws(TopologyError) -> T) async throws(TopologyError) -> T {
        let result: Result<T, TopologyError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                if let cpu {
                    guard edge_pin_current_thread(Int32(cpu)) == 0 else {
                        return continuation.resume(returning: .failure(.threadStartFailed(cpu: cpu)))
                    }
                } else {
                    // Drop a one-CPU mask inherited from a pinned creator; if that fails the job
                    // still runs, only on fewer CPUs.
                    _ = edge_unpin_current_thread()
                }
                do throws(TopologyError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.name = cpu.map { "edgert-profile-cpu\($0)" } ?? "edgert-profile-io"
            thread.stackSize = 8 << 20
            thread.start()
        }
        return try result.get()
    }
}

/// Monotonic seconds.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + 1e-9 * Double(ts.tv_nsec)
}
