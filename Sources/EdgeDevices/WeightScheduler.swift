import Foundation

/// A contiguous byte range of the model file that is streamed as one unit.
public struct StreamedBlock: Sendable, Hashable {
    public let offset: Int
    public let length: Int
    public init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }
}

/// What the weight scheduler did so far.
public struct SchedulerStatistics: Sendable {
    /// Blocks read from disk.
    public var blocksLoaded = 0
    /// Bytes read from disk (aligned spans).
    public var bytesLoaded = 0
    /// Seconds the loader spent reading.
    public var loadSeconds = 0.0
    /// Seconds the compute thread waited for a block that had not arrived: I/O not hidden.
    public var exposedSeconds = 0.0
    /// Blocks handed to the compute thread.
    public var acquisitions = 0

    /// Seconds of reading that ran while the compute thread was busy with something else.
    public var hiddenSeconds: Double { max(0, loadSeconds - exposedSeconds) }
}

/// The sliding window over streamed weights (in the manner of TPI-LLM's memory scheduler): the
/// blocks are consumed in a fixed cyclic order (one forward pass reads them all, the next pass
/// starts again); a loader thread keeps up to `window` of them in memory, reading block i + window
/// while the compute thread works on block i, and reuses a block's slot once it is released.
///
/// Use: `acquire(b)` before reading block b (waits until it has arrived), `release(b)` when done;
/// both in the planned order.
///
/// Invariant for `@unchecked Sendable`: all counters live in `State`, touched only with its
/// condition locked; a slot's bytes are written by the loader before its block is published
/// (`loaded` advanced under the lock) and read by the consumer only between acquire and release.
public final class WeightScheduler: @unchecked Sendable {
    public let blocks: [StreamedBlock]
    public let window: Int
    /// Bytes of one slot: the largest aligned span of any block.
    public let slotBytes: Int
    private let slots: AlignedBuffer
    private let state: State

    final class State: @unchecked Sendable {
        let condition = NSCondition()
        var loaded = 0          // sequence numbers < loaded are in their slots
        var acquired = 0        // next sequence number to acquire
        var released = 0        // sequence numbers < released have given their slot back
        var stopping = false
        var failure: DeviceError?
        var stats = SchedulerStatistics()
    }

    /// - Parameters:
    ///   - blocks: the streamed blocks in the order the compute thread consumes them.
    ///   - window: slots kept in memory (≥ 1; 2 or more overlap reading with compute).
    public init(disk: DiskTier, blocks: [StreamedBlock], window: Int) throws(DeviceError) {
        precondition(!blocks.isEmpty && window >= 1, "a scheduler needs blocks and a window")
        self.blocks = blocks
        self.window = window
        slotBytes = blocks.map { AlignedBuffer.span(offset: $0.offset, length: $0.length) }.max()!
        slots = try AlignedBuffer(byteCount: slotBytes * window, what: "weight streaming window (\(window) slots)")
        state = State()
        let state = self.state, slots = self.slots, slotBytes = self.slotBytes
        let t = Thread {
            WeightScheduler.loaderLoop(disk: disk, blocks: blocks, window: window, slots: slots,
                                       slotBytes: slotBytes, state: state)
        }
        t.name = "edgert-stream"
        t.start()
    }

    deinit {
        state.condition.lock()
        state.stopping = true
        state.condition.broadcast()
        state.condition.unlock()
    }

    /// Memory the window holds.
    public var windowBytes: Int { slotBytes * window }

    /// Waits until block `block` is in memory and returns the address of its first byte.
    public func acquire(_ block: Int) throws(DeviceError) -> UnsafeRawPointer {
        let s = state
        s.condition.lock()
        defer { s.condition.unlock() }
        let seq = s.acquired
        let expected = seq % blocks.count
        guard block == expected else { throw .blockOutOfOrder(requested: block, expected: expected) }
        if s.loaded <= seq {
            let t0 = monotonicNow()
            while s.loaded <= seq && s.failure == nil { s.condition.wait() }
            s.stats.exposedSeconds += monotonicNow() - t0
        }
        if let f = s.failure { throw f }
        s.acquired += 1
        s.stats.acquisitions += 1
        let b = blocks[block]
        return UnsafeRawPointer(slots.base + (seq % window) * slotBytes + (b.offset - AlignedBuffer.roundDown(b.offset)))
    }

    /// Gives block `block`'s slot back to the loader.
    public func release(_ block: Int) {
        let s = state
        s.condition.lock()
        precondition(s.released < s.acquired && s.released % blocks.count == block,
                     "weight block \(block) released out of order")
        s.released += 1
        s.condition.broadcast()
        s.condition.unlock()
    }

    /// Figures so far.
    public func statistics() -> SchedulerStatistics {
        state.condition.lock()
        defer { state.condition.unlock() }
        return state.stats
    }

    private static func loaderLoop(disk: DiskTier, blocks: [StreamedBlock], window: Int, slots: AlignedBuffer,
                                   slotBytes: Int, state s: State) {
        var seq = 0
        while true {
            s.condition.lock()
            // Slot seq % window is free once sequence number seq - window has been released.
            while !s.stopping && seq - window >= s.released { s.condition.wait() }
            if s.stopping { s.condition.unlock(); return }
            s.condition.unlock()

            let b = blocks[seq % blocks.count]
            let t0 = monotonicNow()
            var failure: DeviceError?
            do {
                _ = try disk.read(offset: b.offset, length: b.length, into: slots.base + (seq % window) * slotBytes)
            } catch {
                failure = error
            }
            let dt = monotonicNow() - t0

            s.condition.lock()
            if let failure {
                s.failure = failure
                s.condition.broadcast()
                s.condition.unlock()
                return
            }
            s.stats.loadSeconds += dt
            s.stats.blocksLoaded += 1
            s.stats.bytesLoaded += AlignedBuffer.span(offset: b.offset, length: b.length)
            seq += 1
            s.loaded = seq
            s.condition.broadcast()
            s.condition.unlock()
        }
    }
}
