import XCTest
import Foundation
import EdgeDevices
import CEdgeKernels

/// The worker pool's balancer: every item is processed exactly once whoever takes it, shares
/// follow measured speed in the dynamic mode and stay equal in the static one, and results do not
/// depend on the mode. The slow thread is faked by a body that works longer on thread 1, so these
/// hold on any host, loaded or not, with one CPU or many (threads need not be pinned).
final class BalancerTests: XCTestCase {
    /// Busy-waits about `nanoseconds` (a fake op whose cost is known).
    private static func spin(nanoseconds: UInt64) {
        let end = DispatchTime.now().uptimeNanoseconds + nanoseconds
        while DispatchTime.now().uptimeNanoseconds < end {}
    }

    /// Chunks each thread was handed in one region, recorded without sharing: thread t appends to
    /// its own list.
    private final class ChunkLog: @unchecked Sendable {
        // Invariant for @unchecked Sendable: lists[t] is only touched by pool thread t during a
        // region, and by the test thread only between regions.
        private var lists: UnsafeMutablePointer<[Range<Int>]>
        let threads: Int
        init(threads: Int) {
            self.threads = threads
            lists = .allocate(capacity: threads)
            lists.initialize(repeating: [], count: threads)
        }
        func record(_ r: Range<Int>, thread: Int) { lists[thread].append(r) }
        func all() -> [[Range<Int>]] { (0..<threads).map { lists[$0] } }
        func clear() { for t in 0..<threads { lists[t].removeAll(keepingCapacity: true) } }
        deinit { lists.deinitialize(count: threads); lists.deallocate() }
    }

    /// With random totals and chunk sizes, in both modes, the chunks the threads were handed tile
    /// 0..<total exactly: on the chunk grid, no item twice, none missing.
    func testEveryItemIsProcessedExactlyOnce() throws {
        for balance in WorkerPool.Balance.allCases {
            let pool = try WorkerPool(threads: 3, cpus: [], balance: balance)
            let log = ChunkLog(threads: 3)
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<2000 {
                let total = Int.random(in: 1...5000, using: &rng)
                let chunk = Int.random(in: 1...80, using: &rng)
                log.clear()
                pool.parallelFor(total, chunk: chunk) { range, thread in
                    log.record(range, thread: thread)
                    // A little uneven work, so threads take from each other's shares.
                    if thread == 1 && range.lowerBound % 3 == 0 { Self.spin(nanoseconds: 2_000) }
                }
                let chunks = log.all().joined().sorted { $0.lowerBound < $1.lowerBound }
                var next = 0
                for c in chunks {
                    XCTAssertEqual(c.lowerBound, next, "\(balance): total \(total), chunk \(chunk): gap or overlap at \(c)")
                    XCTAssertEqual(c.lowerBound % chunk, 0, "\(balance): chunk \(c) is off the grid of \(chunk)")
                    XCTAssertTrue(c.count == chunk || c.upperBound == total, "\(balance): chunk \(c) of \(chunk)")
                    next = c.upperBound
                }
                XCTAssertEqual(next, total, "\(balance): total \(total), chunk \(chunk)")
                if next != total { return }
            }
        }
    }

    /// A thread whose items take four times as long ends up with a smaller share and a lower
    /// speed in the dynamic mode. Judged on the mean over the last 100 of 150 regions: one region's
    /// snapshot can be moved by the host preempting a thread inside a chunk (the tests run unpinned
    /// beside other work).
    func testSharesFollowMeasuredSpeed() throws {
        let pool = try WorkerPool(threads: 2, cpus: [], balance: .dynamic)
        let start = pool.balanceState()
        XCTAssertEqual(start.map(\.share), [0.5, 0.5])
        var share1 = 0.0, speed0 = 0.0, speed1 = 0.0, sampled = 0.0
        for region in 0..<150 {
            pool.parallelFor(256, chunk: 4) { range, thread in
                Self.spin(nanoseconds: UInt64(range.count) * (thread == 1 ? 8_000 : 2_000))
            }
            if region >= 50 {
                let s = pool.balanceState()
                XCTAssertEqual(s[0].share + s[1].share, 1, accuracy: 1e-9)
                share1 += s[1].share
                speed0 += s[0].speed
                speed1 += s[1].speed
                sampled += 1
            }
        }
        let state = pool.balanceState()
        XCTAssertGreaterThan(state[1].items, 0, "thread 1 never worked, so it was never measured: \(state)")
        XCTAssertLessThan(speed1 / sampled, speed0 / sampled, "mean speeds; last state \(state)")
        XCTAssertLessThan(share1 / sampled, 0.4, "the 4x slower thread should hold well under half on average: \(state)")
        XCTAssertEqual(state.map(\.speed).reduce(0, +) / 2, 1, accuracy: 0.05, "speeds are relative, mean 1: \(state)")
    }

    /// A worker that stalls inside its chunks (as one preempted by another process on its core
    /// does) while its work saves little is left out by the dynamic balancer: it gets no share and
    /// takes nothing, so regions stop waiting for it. The static split keeps waiting.
    func testStallingWorkerIsLeftOut() throws {
        let pool = try WorkerPool(threads: 2, cpus: [], balance: .dynamic)
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<100 {
            pool.parallelFor(64, chunk: 1) { _, thread in
                if thread == 1 { usleep(2_000) } else { Self.spin(nanoseconds: 1_000) }
            }
        }
        let dynamicSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let state = pool.balanceState()
        XCTAssertGreaterThanOrEqual(state[1].exclusions, 1, "\(state)")
        XCTAssertFalse(state[0].excluded, "the driving thread is never left out")
        XCTAssertLessThan(state[1].items, 64, "left out after its first slow chunks: \(state)")
        XCTAssertEqual(state[0].items + state[1].items, 6400)
        // The static split waits for thread 1's 32 chunks of 2 ms in every region: at least 64 ms for
        // ten regions, which the dynamic pool's hundred regions beat.
        let fixed = try WorkerPool(threads: 2, cpus: [], balance: .static)
        let s0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<10 {
            fixed.parallelFor(64, chunk: 1) { _, thread in
                if thread == 1 { usleep(2_000) } else { Self.spin(nanoseconds: 1_000) }
            }
        }
        let staticSeconds = Double(DispatchTime.now().uptimeNanoseconds - s0) / 1e9
        XCTAssertEqual(fixed.balanceState().map(\.exclusions), [0, 0])
        XCTAssertLessThan(dynamicSeconds, staticSeconds, "dynamic, 100 regions: \(dynamicSeconds) s; static, 10 regions: \(staticSeconds) s")
    }

    /// A worker whose core is shared with a CPU hog is preempted at the scheduler's ticks. It learns
    /// them from its own clock and stops claiming chunks just before each one, so it does a real part
    /// of the work without holding regions up: without this it was either caught inside a chunk at
    /// nearly every tick (the region waiting a whole time slice for it) or left out for good.
    func testWorkerOnSharedCoreWorksBetweenTicks() throws {
        let cpus = WorkerPool.allowedCPUs().sorted()
        guard cpus.count >= 2 else { throw XCTSkip("needs 2 CPUs to share one with a hog; this process may use \(cpus)") }
        let hogCPU = cpus[1]
        let hogUntil = DispatchTime.now().uptimeNanoseconds + 3_200_000_000
        let hog = Thread {
            _ = edge_pin_current_thread(Int32(hogCPU))
            while DispatchTime.now().uptimeNanoseconds < hogUntil {}
        }
        hog.start()
        defer { while DispatchTime.now().uptimeNanoseconds < hogUntil { usleep(10_000) } }
        usleep(50_000)
        let pool = try WorkerPool(threads: 2, cpus: [cpus[0], hogCPU], balance: .dynamic)
        func regions(seconds: Double, until stop: () -> Bool = { false }) -> Int {
            let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
            var count = 0
            while DispatchTime.now().uptimeNanoseconds < end && !stop() {
                pool.parallelFor(16, chunk: 1) { _, _ in Self.spin(nanoseconds: 2_000) }
                count += 1
            }
            return count
        }
        // Learning takes 8 preemptions (tens of ms) once the worker spins; the first back-off after
        // it is caught inside a chunk comes before that.
        let before = regions(seconds: 1.5) { let t = pool.balanceState()[1]; return t.tickNanoseconds != nil && !t.excluded }
        let first = pool.balanceState()
        let tick = try XCTUnwrap(first[1].tickNanoseconds, "the worker sharing CPU \(hogCPU) with the hog never learnt its ticks in \(before) regions: \(first)")
        XCTAssertTrue([1_000_000, 3_333_333, 4_000_000, 10_000_000].contains(tick), "a tick period of a usual CONFIG_HZ: \(tick) ns")
        pool.resetStats()
        let after = regions(seconds: 1.0)
        let state = pool.balanceState()
        let share = Double(state[1].items) / Double(max(1, state[0].items + state[1].items))
        // The worker gets about half its core: a fair part of the items, with a pause before most ticks.
        XCTAssertGreaterThan(share, 0.1, "the worker should do part of the work between ticks: \(after) regions: \(state)")
        XCTAssertGreaterThan(state[1].tickPauses, 20, "it should pause before ticks (~125 a second at 4 ms): \(state)")
        // Caught inside a chunk at every preemption, it would hold up ~125 regions a second.
        XCTAssertLessThan(state[1].stalls, 25, "regions held up by the worker: \(after) regions: \(state)")
        XCTAssertEqual(state[0].stalls, 0)
    }

    /// Resumption times on a tick grid give its period and phase, with a few times off the grid
    /// (a thread that wakes on the core preempts at any time) and each seen a little late.
    func testFitTickFindsPeriodAndPhase() {
        let base: UInt64 = 1_000_000_000_123
        // 4 ms ticks; resumptions at every second tick, seen 20-150 us late; two off the grid.
        var times: [UInt64] = (0..<6).map { base + UInt64($0) * 8_000_000 + [20_000, 150_000, 60_000, 35_000, 90_000, 45_000][$0] }
        times += [base + 49_700_000, base + 18_600_000]
        var ref: UInt64 = 0
        XCTAssertEqual(edge_fit_tick(times, Int32(times.count), 6, 200_000, &ref), 4_000_000)
        // The earliest phase of the group (20 us late), placed at or before the newest time.
        XCTAssertEqual(ref % 4_000_000, (base + 20_000) % 4_000_000)
        XCTAssertLessThanOrEqual(ref, times.max()!)
        XCTAssertGreaterThan(ref + 4_000_000, times.max()!)
        // Three off the grid (and off a 1 ms grid too) are too many for 6 of 8.
        var three = times
        three[0] = base + 2_550_000
        XCTAssertEqual(edge_fit_tick(three, 8, 6, 200_000, nil), 0)
        // 1 ms ticks, resumptions 1-3 ms apart: not a 4 ms grid, and not 10 ms.
        let fine: [UInt64] = [0, 1, 3, 5, 6, 9, 11, 12].map { base + $0 * 1_000_000 + 10_000 }
        XCTAssertEqual(edge_fit_tick(fine, 8, 8, 200_000, nil), 1_000_000)
        // 10 ms ticks are found as 10 ms, not as the shorter periods they also fit.
        let coarse: [UInt64] = (0..<8).map { base + UInt64($0) * 20_000_000 + UInt64($0 % 3) * 30_000 }
        XCTAssertEqual(edge_fit_tick(coarse, 8, 8, 200_000, nil), 10_000_000)
        // Times with no common phase fit nothing.
        let scattered: [UInt64] = [0, 1_370, 2_910, 4_450, 6_230, 7_610, 9_170, 10_880].map { base + $0 * 1_000 + $0 * 577 % 997 * 1_000 }
        XCTAssertEqual(edge_fit_tick(scattered, 8, 6, 200_000, nil), 0)
    }

    /// The static mode keeps equal shares however slow a thread is, and no thread takes another's chunks.
    func testStaticModeKeepsEqualShares() throws {
        let pool = try WorkerPool(threads: 2, cpus: [], balance: .static)
        XCTAssertEqual(pool.balance, .static)
        for _ in 0..<50 {
            pool.parallelFor(256, chunk: 4) { range, thread in
                Self.spin(nanoseconds: UInt64(range.count) * (thread == 1 ? 8_000 : 2_000))
            }
        }
        let state = pool.balanceState()
        XCTAssertEqual(state.map(\.share), [0.5, 0.5], "\(state)")
        XCTAssertEqual(state.map(\.takenItems), [0, 0], "\(state)")
        XCTAssertEqual(state.map(\.items), [128 * 50, 128 * 50], "each thread computes exactly its half: \(state)")
    }

    /// Given starting speeds set the first shares (normalised to mean 1), before anything is measured.
    func testGivenSpeedsSetTheStartingShares() throws {
        let pool = try WorkerPool(threads: 2, cpus: [], balance: .dynamic, speeds: [3, 1])
        let state = pool.balanceState()
        XCTAssertEqual(state[0].speed, 1.5, accuracy: 1e-9)
        XCTAssertEqual(state[1].speed, 0.5, accuracy: 1e-9)
        // The first region cuts 100 chunks 75/25 (then measures, but equal work keeps it near).
        let log = ChunkLog(threads: 2)
        pool.parallelFor(100, chunk: 1) { range, thread in log.record(range, thread: thread) }
        XCTAssertEqual(pool.balanceState()[0].share, 0.75, accuracy: 1e-9)
        XCTAssertEqual(log.all().joined().map(\.count).reduce(0, +), 100)
        XCTAssertThrowsError(try WorkerPool(threads: 2, cpus: [], speeds: [1])) { error in
            XCTAssertEqual(error as? DeviceError, .badThreadSpeeds([1], threads: 2))
        }
        XCTAssertThrowsError(try WorkerPool(threads: 2, cpus: [], speeds: [1, 0]))
        XCTAssertThrowsError(try pool.setSpeeds([1, .nan]))
    }

    /// The same computation gives bit-identical results in both modes and with uneven thread speeds:
    /// which thread computes an item never matters.
    func testResultsDoNotDependOnTheMode() throws {
        let n = 10_000
        func compute(_ balance: WorkerPool.Balance) throws -> [Float] {
            let pool = try WorkerPool(threads: 3, cpus: [], balance: balance)
            let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
            defer { out.deallocate() }
            nonisolated(unsafe) let o = out
            for _ in 0..<20 {
                pool.parallelFor(n, chunk: 37) { range, thread in
                    for i in range {
                        var s: Float = 0
                        for k in 0..<64 { s += sin(Float(i &* 31 &+ k)) * 0.5 }
                        o[i] = s
                    }
                    if thread == 2 { Self.spin(nanoseconds: 3_000) }
                }
            }
            return Array(out)
        }
        let a = try compute(.static), b = try compute(.dynamic)
        XCTAssertEqual(a.count, n)
        XCTAssertTrue(a.elementsEqual(b) { $0.bitPattern == $1.bitPattern })
    }

    /// An empty region costs well under a millisecond (it is ~0.1 us spinning on an idle host; the
    /// bound only catches a pool that sleeps or waits per region, and is not a benchmark).
    func testEmptyRegionIsCheap() throws {
        let pool = try WorkerPool(threads: 2, cpus: [])
        let ns = pool.measureRegionNanoseconds(regions: 2_000)
        XCTAssertGreaterThan(ns, 0)
        XCTAssertLessThan(ns, 1_000_000)
    }

    /// This development host (an AMD EPYC under KVM) is not hybrid: every CPU reads as uniform and
    /// a node's starting speeds are equal. On an Intel hybrid host the types are P or E cores.
    func testCoreTypesOfThisHost() throws {
        let cpus = WorkerPool.allowedCPUs()
        let types = CoreTypes.detect()
        XCTAssertEqual(types.cores.map(\.cpu), cpus)
        if types.isHybrid {
            XCTAssertTrue(types.cores.allSatisfy { $0.type == .performance || $0.type == .efficiency }, "\(types)")
        } else {
            XCTAssertTrue(types.cores.allSatisfy { $0.type == .uniform }, "\(types)")
            XCTAssertEqual(types.relativeSpeeds(for: cpus), cpus.map { _ in 1.0 })
            let node = try CPUNode(threads: 1)
            XCTAssertEqual(node.speedSource, .equal)
        }
        XCTAssertLessThan(CoreType.efficiency.relativeSpeed, CoreType.performance.relativeSpeed)
        let given = try CPUNode(threads: 2, cpus: [], balance: .static, speeds: [1, 2])
        XCTAssertEqual(given.speedSource, .given([1, 2]))
        XCTAssertEqual(given.pool.balance, .static)
    }
}
