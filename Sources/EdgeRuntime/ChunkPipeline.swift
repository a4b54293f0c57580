import Foundation

/// Overlaps making chunks of bytes with using them: a thread of its own runs `produce` for jobs
/// 0, 1, 2, ... into a ring of `slots` buffers, while the caller takes the chunks in the same
/// order with ``consumeNext(_:)``. The producer runs at most `slots` chunks ahead.
///
/// Used by ``ModelSynthesizer`` so that generating random weights (one core) and writing them
/// (the disk, waited for on another) happen at the same time. One semaphore wait per chunk of
/// megabytes: the synchronization costs nothing next to the work.
final class ChunkPipeline: @unchecked Sendable {
    // Invariant for @unchecked Sendable: slot k is written only by the producer, between its
    // `free.wait()` and `filled.signal()`, and read only by the consumer, between its
    // `filled.wait()` and `free.signal()`; the semaphores order those accesses. `cancelled` is
    // read and written under `lock`. The consumer is one thread at a time.
    private let buffers: [UnsafeMutableRawPointer]
    private var lengths: [Int]
    private let jobCount: Int
    private let free: DispatchSemaphore
    private let filled = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var cancelled = false
    private var stopped = false
    private var consumed = 0

    /// - Parameters:
    ///   - slots: buffers in the ring (2 or more lets producing and consuming overlap).
    ///   - slotBytes: size of each buffer; `produce` must not write more.
    ///   - jobs: how many chunks there are.
    ///   - produce: writes job `j`'s chunk into the buffer and returns its length in bytes.
    init(slots: Int, slotBytes: Int, jobs: Int,
         produce: @escaping @Sendable (_ job: Int, _ buffer: UnsafeMutableRawPointer) -> Int) {
        precondition(slots >= 1 && slotBytes >= 1 && jobs >= 0)
        buffers = (0..<slots).map { _ in UnsafeMutableRawPointer.allocate(byteCount: slotBytes, alignment: 64) }
        lengths = [Int](repeating: 0, count: slots)
        jobCount = jobs
        free = DispatchSemaphore(value: slots)
        let thread = Thread { [self] in
            for j in 0..<jobCount {
                free.wait()
                if isCancelled { break }
                let k = j % buffers.count
                lengths[k] = produce(j, buffers[k])
                filled.signal()
            }
            finished.signal()
        }
        thread.name = "edgert-chunk-producer"
        thread.start()
    }

    private var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    /// Waits for the next chunk and passes it to `body`; the bytes are valid only during the call.
    func consumeNext(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        precondition(consumed < jobCount, "all \(jobCount) chunks were consumed")
        filled.wait()
        let k = consumed % buffers.count
        consumed += 1
        defer { free.signal() }
        try body(UnsafeRawBufferPointer(start: buffers[k], count: lengths[k]))
    }

    /// Stops the producer (if it has not finished) and waits for its thread to end. Call it once
    /// the chunks are consumed or when giving up (the thread holds the pipeline until then); the
    /// buffers are freed here.
    func stop() {
        guard !stopped else { return }
        stopped = true
        lock.lock()
        cancelled = true
        lock.unlock()
        // Wake a producer waiting for a free slot; extra signals are harmless.
        for _ in 0..<buffers.count { free.signal() }
        finished.wait()
        for b in buffers { b.deallocate() }
    }

    deinit { stop() }
}
