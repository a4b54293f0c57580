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
/// starts again); up to `window` of them are in memory or on their way. Releasing block i queues
/// the read of the block that takes its slot (i + window in the order), so the disk always has
/// the next reads queued while the compute thread works: reading overlaps compute with no loader
/// thread and no gap between reads.
///
/// Use: `acquire(b)` before reading block b (waits until it has arrived), `release(b)` when done;
/// both in the planned order.
///
/// Invariant for `@unchecked Sendable`: all counters live in `State`, touched only with its
/// condition locked; a slot's bytes are written by the disk tier's threads before its sequence
/// number is published in `arrived` (under the lock) and read by the consumer only between acquire
/// and release, after which the slot is handed to the next read.
public final class WeightScheduler: @unchecked Sendable {
    public let blocks: [StreamedBlock]
    public let window: Int
    /// Bytes of one slot: the largest aligned span of any block.
    public let slotBytes: Int
    private let slots: AlignedBuffer
    private let state: State
    private let disk: DiskTier

    final class State: @unchecked Sendable {
        let condition = NSCondition()
        var arrived = Set<Int>()  // sequence numbers whose block is in its slot
        var acquired = 0          // next sequence number to acquire
        var released = 0          // sequence numbers < released have given their slot back
        var inFlight = 0          // reads queued and not finished
        var busySince = 0.0       // when inFlight last went from 0 to 1
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
        self.disk = disk
        slotBytes = blocks.map { AlignedBuffer.span(offset: $0.offset, length: $0.length) }.max()!
        slots = try AlignedBuffer(byteCount: slotBytes * window, what: "weight streaming window (\(window) slots)")
        state = State()
        for seq in 0..<window { try queueRead(seq) }
    }

    /// Memory the window holds.
    public var windowBytes: Int { slotBytes * window }

    /// Queues the read of sequence number `seq` into its slot. Called with the lock held or
    /// before the scheduler is shared.
    private func queueRead(_ seq: Int) throws(DeviceError) {
        let b = blocks[seq % blocks.count]
        let s = state, span = AlignedBuffer.span(offset: b.offset, length: b.length)
        // The completion keeps the slots alive: a read still in flight when the scheduler goes
        // away writes into memory that still exists.
        let slots = self.slots
        if s.inFlight == 0 { s.busySince = monotonicNow() }
        s.inFlight += 1
        try disk.submit(offset: b.offset, length: b.length, into: slots.base + (seq % window) * slotBytes) { error in
            s.condition.lock()
            withExtendedLifetime(slots) {}
            s.inFlight -= 1
            if s.inFlight == 0 { s.stats.loadSeconds += monotonicNow() - s.busySince }
            if let error, s.failure == nil { s.failure = error }
            if error == nil {
                s.arrived.insert(seq)
                s.stats.blocksLoaded += 1
                s.stats.bytesLoaded += span
            }
            s.condition.broadcast()
            s.condition.unlock()
        }
    }

    /// Waits until block `block` is in memory and returns the address of its first byte.
    public func acquire(_ block: Int) throws(DeviceError) -> UnsafeRawPointer {
        let s = state
        s.condition.lock()
        defer { s.condition.unlock() }
        let seq = s.acquired
        let expected = seq % blocks.count
        guard block == expected else { throw .blockOutOfOrder(requested: block, expected: expected) }
        if !s.arrived.contains(seq) {
            let t0 = monotonicNow()
            while !s.arrived.contains(seq) && s.failure == nil { s.condition.wait() }
            s.stats.exposedSeconds += monotonicNow() - t0
        }
        if let f = s.failure { throw f }
        s.arrived.remove(seq)
        s.acquired += 1
        s.stats.acquisitions += 1
        let b = blocks[block]
        return UnsafeRawPointer(slots.base + (seq % window) * slotBytes + (b.offset - AlignedBuffer.roundDown(b.offset)))
    }

    /// Gives block `block`'s slot back: the read of the block that reuses it is queued at once.
    public func release(_ block: Int) {
        let s = state
        s.condition.lock()
        defer { s.condition.unlock() }
        precondition(s.released < s.acquired && s.released % blocks.count == block,
                     "weight block \(block) released out of order")
        s.released += 1
        do {
            try queueRead(s.released - 1 + window)
        } catch {
            if s.failure == nil { s.failure = error }
        }
    }

    /// Figures so far. `loadSeconds` counts the time at least one read was in flight, up to now.
    public func statistics() -> SchedulerStatistics {
        state.condition.lock()
        defer { state.condition.unlock() }
        var st = state.stats
        if state.inFlight > 0 { st.loadSeconds += monotonicNow() - state.busySince }
        return st
    }
}
