import Foundation
import CEdgeKernels

/// One dedicated OS thread that runs submitted jobs in order. The forward pass runs here, so a
/// long computation never blocks Swift's cooperative thread pool.
///
/// Invariant for `@unchecked Sendable`: `queue` and `stopping` are only touched with `condition`
/// locked; the thread itself only runs the jobs it dequeues.
final class DriverThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [@Sendable () -> Void] = []
    private var stopping = false

    init(name: String, cpu: Int?) {
        // The running thread holds this object strongly until its loop returns (after stop()), so
        // the object outlives the loop even when its owner is gone; it keeps no reference back to
        // the Thread, so there is no cycle.
        let t = Thread { [self] in
            // Unpinned, it may still run anywhere the process may, whatever thread created it.
            if let cpu { _ = edge_pin_current_thread(Int32(cpu)) } else { _ = edge_unpin_current_thread() }
            self.loop()
        }
        t.name = name
        t.stackSize = 8 << 20
        t.start()
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty && stopping { condition.unlock(); return }
            let job = queue.removeFirst()
            condition.unlock()
            job()
        }
    }
}
