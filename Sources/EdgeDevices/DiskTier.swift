#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CEdgeKernels

/// Throughput of a disk tier so far.
public struct DiskStatistics: Sendable {
    /// Bytes delivered to callers (aligned spans, as read from the device).
    public var bytesRead = 0
    /// Wall seconds spent inside ``DiskTier/read(offset:length:into:)`` calls.
    public var seconds = 0.0

    /// Achieved bytes per second while reading (0 before any read).
    public var bytesPerSecond: Double { seconds > 0 ? Double(bytesRead) / seconds : 0 }
}

/// One storage tier holding a model file: reads byte ranges of it into buffers the caller owns.
///
/// Reads bypass the page cache (O_DIRECT, aligned) so that the kernel cannot quietly keep a second
/// copy of the model that counts against a memory limit; where the filesystem refuses O_DIRECT the
/// tier reads through the cache and drops the pages it read right after (POSIX_FADV_DONTNEED).
/// A large read is cut into pieces served by the tier's own I/O threads in parallel, because one
/// request at a time does not reach a virtual or NVMe disk's bandwidth (measured here: 1.1 GB/s
/// with `dd iflag=direct bs=4M`, up to ~2.7 GB/s with 8 concurrent 4 MiB requests).
public actor DiskTier {
    public nonisolated let path: String
    /// File size in bytes.
    public nonisolated let size: Int
    /// True when reads bypass the page cache with O_DIRECT.
    public nonisolated let directIO: Bool
    /// Threads serving the pieces of queued reads (the most requests in flight at once).
    public nonisolated let ioThreads: Int
    private nonisolated let workers: IOWorkers
    private nonisolated let stats = StatisticsBox()

    /// Opens `path` for reading. `ioThreads`: threads serving reads, so at most that many requests
    /// are in flight.
    public init(path: String, ioThreads: Int = 8) throws(DeviceError) {
        self.path = path
        var flags = O_RDONLY | O_CLOEXEC
        var fd = open(path, flags | edge_open_flag_direct())
        var direct = true
        if fd < 0 && errno == EINVAL {
            direct = false
            fd = open(path, flags)
        }
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        flags = 0
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotOpen(path: path, reason: reason)
        }
        self.ioThreads = max(1, ioThreads)
        directIO = direct
        size = Int(st.st_size)
        workers = IOWorkers(count: max(1, ioThreads), fd: fd, directIO: direct)
    }

    // The workers own the descriptor and close it once their last thread has ended, so that a
    // read still running never sees it closed (or reused for another file).
    deinit { workers.stop() }

    /// Reads file bytes [offset, offset + length) into `buffer`, which must be aligned to
    /// ``AlignedBuffer/alignment`` and hold ``AlignedBuffer/span(offset:length:)`` bytes: the read
    /// covers the enclosing aligned span. Returns the address of the byte at `offset` inside
    /// `buffer`. Blocks the calling thread until every piece has arrived.
    public nonisolated func read(offset: Int, length: Int, into buffer: UnsafeMutableRawPointer) throws(DeviceError) -> UnsafeMutableRawPointer {
        let t0 = monotonicNow()
        let done = NSCondition()
        nonisolated(unsafe) var result: DeviceError?? = nil
        try submit(offset: offset, length: length, into: buffer) { error in
            done.lock()
            result = .some(error)
            done.signal()
            done.unlock()
        }
        done.lock()
        while result == nil { done.wait() }
        let error = result!
        done.unlock()
        if let error { throw error }
        stats.add(bytes: AlignedBuffer.span(offset: offset, length: length), seconds: monotonicNow() - t0)
        return buffer + (offset - AlignedBuffer.roundDown(offset))
    }

    /// Queues a read of file bytes [offset, offset + length) into `buffer` (aligned, holding the
    /// aligned span as for ``read(offset:length:into:)``) and returns at once; `completion` runs on
    /// an I/O thread when every piece has arrived, with the first failure if any. Reads queued one
    /// after another keep the device busy with no gap between them.
    public nonisolated func submit(offset: Int, length: Int, into buffer: UnsafeMutableRawPointer,
                                   completion: @escaping @Sendable (DeviceError?) -> Void) throws(DeviceError) {
        guard offset >= 0, length >= 0, offset + length <= size else {
            throw .readOutOfBounds(path: path, offset: offset, length: length, fileSize: size)
        }
        let start = AlignedBuffer.roundDown(offset)
        let end = AlignedBuffer.roundUp(offset + length)
        // Cut into four pieces of 256 KiB to 8 MiB: with two blocks queued that keeps eight requests
        // of a few MiB in flight, which read faster here than more, smaller ones (measured with the
        // 3.4 GB synthetic model: 16 MiB blocks in 4 pieces 2.29-2.35 GB/s, in 8 pieces 1.92-2.25).
        let pieceBytes = min(8 << 20, max(256 << 10, AlignedBuffer.roundUp((end - start + 3) / 4)))
        var pieces: [IOWorkers.Piece] = []
        var at = start
        while at < end {
            let n = min(pieceBytes, end - at)
            // Bytes that must arrive: the span is clipped by the end of the file.
            let need = max(0, min(at + n, size) - at)
            pieces.append(IOWorkers.Piece(fileOffset: at, length: n, required: need, destination: buffer + (at - start)))
            at += n
        }
        let path = self.path
        workers.submit(pieces) { failure in
            completion(failure.map { .readFailed(path: path, offset: $0.offset, reason: $0.reason) })
        }
    }

    /// Figures of the blocking reads so far (queued reads are counted by their owner).
    public nonisolated func statistics() -> DiskStatistics { stats.value }
}

/// Threads that serve the pieces of a tier's reads, in the order they were queued.
///
/// Invariant for `@unchecked Sendable`: `queue`, `batches` and `stopping` are only touched with
/// `condition` locked; a piece's destination is written by one thread.
final class IOWorkers: @unchecked Sendable {
    struct Piece: @unchecked Sendable {
        // Invariant: the destination belongs to the submitter until the batch completes.
        let fileOffset: Int
        let length: Int
        let required: Int
        let destination: UnsafeMutableRawPointer
    }
    struct Failure: Error { let offset: Int; let reason: String }
    private struct Batch {
        var remaining: Int
        var failure: Failure?
        let completion: @Sendable (Failure?) -> Void
    }

    private let condition = NSCondition()
    private var queue: [(Piece, Int)] = []          // piece, batch id (FIFO)
    private var head = 0
    private var batches: [Int: Batch] = [:]
    private var nextBatch = 0
    private var stopping = false
    private let fd: Int32
    private let directIO: Bool

    init(count: Int, fd: Int32, directIO: Bool) {
        self.fd = fd
        self.directIO = directIO
        for i in 0..<count {
            let t = Thread { [self] in self.loop() }
            t.name = "edgert-io\(i)"
            t.stackSize = 256 << 10
            t.start()
        }
    }

    deinit { close(fd) }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Queues `pieces`; `completion` runs on the worker that finishes the last one.
    func submit(_ pieces: [Piece], completion: @escaping @Sendable (Failure?) -> Void) {
        guard !pieces.isEmpty else { return completion(nil) }
        condition.lock()
        let id = nextBatch
        nextBatch += 1
        batches[id] = Batch(remaining: pieces.count, failure: nil, completion: completion)
        for p in pieces { queue.append((p, id)) }
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while head == queue.count && !stopping { condition.wait() }
            if stopping { condition.unlock(); return }
            let (piece, id) = queue[head]
            head += 1
            if head == queue.count { queue.removeAll(keepingCapacity: true); head = 0 }
            condition.unlock()
            let failure = perform(piece)
            condition.lock()
            var batch = batches[id]!
            if let failure, batch.failure == nil { batch.failure = failure }
            batch.remaining -= 1
            if batch.remaining == 0 { batches[id] = nil } else { batches[id] = batch }
            condition.unlock()
            if batch.remaining == 0 { batch.completion(batch.failure) }
        }
    }

    private func perform(_ p: Piece) -> Failure? {
        var done = 0
        while done < p.required {
            let n = pread(fd, p.destination + done, p.length - done, off_t(p.fileOffset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return Failure(offset: p.fileOffset + done, reason: String(cString: strerror(errno)))
            }
            if n == 0 { return Failure(offset: p.fileOffset + done, reason: "unexpected end of file") }
            done += n
        }
        if !directIO { posix_fadvise(fd, off_t(p.fileOffset), off_t(p.length), POSIX_FADV_DONTNEED) }
        return nil
    }
}

/// Lock-protected running totals.
/// Invariant for `@unchecked Sendable`: `totals` is only touched with `lock` held.
final class StatisticsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var totals = DiskStatistics()
    func add(bytes: Int, seconds: Double) {
        lock.lock()
        totals.bytesRead += bytes
        totals.seconds += seconds
        lock.unlock()
    }
    var value: DiskStatistics { lock.lock(); defer { lock.unlock() }; return totals }
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
