import XCTest
import EdgePlanner

final class StreamingPlannerTests: XCTestCase {
    private let mb = 1 << 20

    private func request(budget: Int, fixed: Int = 8 << 20, blocks: [Int]? = nil) -> StreamingRequest {
        StreamingRequest(budget: budget, fixedBytes: fixed, blockBytes: blocks ?? Array(repeating: 4 << 20, count: 40),
                         diskBytesPerSecond: 2e9, computeBytesPerSecond: 12e9)
    }

    func testEverythingFitsMeansNothingStreams() throws {
        let p = try StreamingPlanner.plan(request(budget: 200 * mb))
        XCTAssertEqual(p.window, 0)
        XCTAssertEqual(p.streamedBytesPerPass, 0)
        XCTAssertTrue(p.resident.allSatisfy { $0 })
        XCTAssertEqual(p.plannedBytes, 8 * mb + 160 * mb)
    }

    func testTooSmallBudgetStatesTheMinimum() {
        XCTAssertThrowsError(try StreamingPlanner.plan(request(budget: 10 * mb))) { error in
            XCTAssertEqual(error as? PlanError, .budgetTooSmall(budget: 10 * mb, minimum: 12 * mb, fixedBytes: 8 * mb, slotBytes: 4 * mb))
            XCTAssertTrue("\(error)".contains("smallest budget that works is 12 MiB"), "\(error)")
        }
        // At the minimum a plan exists: one slot, no overlap.
        let p = try? StreamingPlanner.plan(request(budget: 12 * mb))
        XCTAssertEqual(p?.window, 1)
        XCTAssertEqual(p?.residentBytes, 0)
    }

    func testNeverAboveBudgetAndNeverSlowerAsBudgetGrows() throws {
        var previous = Double.infinity
        let blocks = (0..<57).map { 1 * mb + ($0 * 7919 % 13) * (mb / 4) }  // uneven sizes
        for budget in stride(from: 12 * mb, through: 140 * mb, by: 3 * mb) {
            let p = try StreamingPlanner.plan(request(budget: budget, fixed: 5 * mb, blocks: blocks))
            XCTAssertLessThanOrEqual(p.plannedBytes, budget, "budget \(budget)")
            let resident = zip(blocks, p.resident).reduce(0) { $0 + ($1.1 ? $1.0 : 0) }
            XCTAssertEqual(resident, p.residentBytes)
            XCTAssertEqual(p.streamedBytesPerPass, blocks.reduce(0, +) - resident)
            if p.streamedBytesPerPass > 0 {
                XCTAssertGreaterThanOrEqual(p.slotBytes, blocks.max()!, "a streamed block fits its slot")
            }
            let seconds = 1 / p.predictedTokensPerSecond
            XCTAssertLessThanOrEqual(seconds, previous * 1.0000001, "budget \(budget)")
            previous = seconds
        }
    }

    func testResidentBlocksAreSpreadThroughThePass() throws {
        // Room for about half: residents must alternate, not fill the first half.
        let p = try StreamingPlanner.plan(request(budget: 8 * mb + 2 * 4 * mb + 80 * mb))
        XCTAssertEqual(p.resident.filter { $0 }.count, 20)
        let firstHalf = p.resident.prefix(20).filter { $0 }.count
        XCTAssertTrue((8...12).contains(firstHalf), "residents \(p.resident)")
        XCTAssertFalse(p.reasons.isEmpty)
    }

    func testWindowOverlapsWhenASecondSlotPays() throws {
        // Plenty of room: two slots, reading overlaps compute.
        let p = try StreamingPlanner.plan(request(budget: 100 * mb))
        XCTAssertEqual(p.window, 2)
        XCTAssertTrue(p.overlapped)
        XCTAssertEqual(p.predictedTokensPerSecond, 1 / max(p.predictedDiskSeconds, p.predictedComputeSeconds), accuracy: 1e-9)
        // Room for one slot only: no overlap, and the prediction adds the two times.
        let q = try StreamingPlanner.plan(request(budget: 8 * mb + 4 * mb + 3 * mb))
        XCTAssertEqual(q.window, 1)
        XCTAssertEqual(q.predictedTokensPerSecond, 1 / (q.predictedDiskSeconds + q.predictedComputeSeconds), accuracy: 1e-9)
    }
}
