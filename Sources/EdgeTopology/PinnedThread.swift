import CEdgeKernels
import Foundation

/// Runs a blocking job on a fresh OS thread, pinned to one CPU or free to run anywhere, so that
/// timed loops and blocking reads never occupy Swift's cooperative threads.
enum PinnedThread {
    static func run<T: Sendable>(cpu: Int?, _ body: @escaping @Sendable () throws(TopologyError) -> T) async throws(TopologyError) -> T {
        let result: Result<T, TopologyError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                let pinned = cpu.map { edge_pin_current_thread(Int32($0)) == 0 } ?? (edge_unpin_current_thread() == 0 || true)
                guard pinned else { return continuation.resume(returning: .failure(.threadStartFailed(cpu: cpu))) }
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
