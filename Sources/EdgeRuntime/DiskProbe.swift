import EdgeDevices
import Foundation

extension DiskTier {
    /// Read bandwidth of the file as streaming will see it: reads of `piece` bytes, two in flight
    /// (as with a two-slot window), over up to 32 pieces (at least 64 MiB where the file has it) of
    /// file bytes [lo, hi). Direct I/O, so the page cache cannot inflate it.
    public nonisolated func measureReadBytesPerSecond(from lo: Int, to hi: Int, piece: Int) throws -> Double {
        let disk = self
        let total = min(max(32 * piece, 64 << 20), hi - lo)
        guard total > 0 else { return 1e9 }
        let buffers = try (0..<2).map { _ in try AlignedBuffer(byteCount: piece + 2 * AlignedBuffer.alignment, what: "disk bandwidth probe") }
        let done = NSCondition()
        nonisolated(unsafe) var finished = 0
        nonisolated(unsafe) var failure: DeviceError?
        func waitUntil(inFlight most: Int, _ submitted: Int) {
            done.lock()
            while submitted - finished > most { done.wait() }
            done.unlock()
        }
        let t0 = monotonicSeconds()
        var at = lo, submitted = 0
        var thrown: Error?
        while at < lo + total && failure == nil {
            waitUntil(inFlight: 1, submitted)
            let n = min(piece, lo + total - at)
            do {
                try disk.submit(offset: at, length: n, into: buffers[submitted % 2].base) { error in
                    done.lock()
                    if let error { failure = error }
                    finished += 1
                    done.signal()
                    done.unlock()
                }
            } catch {
                thrown = error
                break
            }
            submitted += 1
            at += n
        }
        // Every read in flight writes into `buffers`: wait for all of them, keeping the buffers alive.
        waitUntil(inFlight: 0, submitted)
        withExtendedLifetime(buffers) {}
        if let thrown { throw thrown }
        if let failure { throw failure }
        return Double(total) / max(monotonicSeconds() - t0, 1e-6)
    }
}
