import XCTest
import Foundation
import EdgeDevices

final class WeightSchedulerTests: XCTestCase {
    private var path = ""
    private var bytes: [UInt8] = []

    override func setUpWithError() throws {
        path = NSTemporaryDirectory() + "edgert-disk-\(getpid())-\(UUID().uuidString).bin"
        var g = SystemRandomNumberGenerator()
        bytes = (0..<(3 << 20) + 777).map { _ in UInt8.random(in: 0...255, using: &g) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: path) }

    func testUnalignedReadsReturnTheFileBytes() throws {
        let disk = try DiskTier(path: path, ioThreads: 3)
        for (offset, length) in [(0, 1), (1, 4095), (4095, 2), (12345, 1 << 20), (bytes.count - 5, 5), (100, (2 << 20) + 3)] {
            let buf = try AlignedBuffer(byteCount: AlignedBuffer.span(offset: offset, length: length), what: "test")
            let p = try disk.read(offset: offset, length: length, into: buf.base)
            XCTAssertEqual(Array(UnsafeRawBufferPointer(start: p, count: length)), Array(bytes[offset..<offset + length]),
                           "offset \(offset) length \(length)")
        }
        XCTAssertGreaterThan(disk.statistics().bytesRead, 3 << 20)
    }

    func testOutOfBoundsReadIsATypedError() throws {
        let disk = try DiskTier(path: path)
        let buf = try AlignedBuffer(byteCount: 8192, what: "test")
        XCTAssertThrowsError(try disk.read(offset: bytes.count - 10, length: 11, into: buf.base)) { e in
            XCTAssertEqual(e as? DeviceError, .readOutOfBounds(path: path, offset: bytes.count - 10, length: 11, fileSize: bytes.count))
        }
        XCTAssertThrowsError(try DiskTier(path: path + ".missing")) { e in
            guard case .cannotOpen = e as? DeviceError else { return XCTFail("\(e)") }
        }
    }

    func testWindowDeliversEveryBlockInOrderAcrossPasses() throws {
        let disk = try DiskTier(path: path)
        let blocks = stride(from: 0, to: bytes.count - 70_000, by: 61_111).map { StreamedBlock(offset: $0 + 13, length: 50_000 + $0 % 977) }
        for window in [1, 2, 3] {
            let s = try WeightScheduler(disk: disk, blocks: blocks, window: window)
            for _ in 0..<3 {   // three passes over the cyclic order
                for (i, b) in blocks.enumerated() {
                    let p = try s.acquire(i)
                    XCTAssertEqual(Array(UnsafeRawBufferPointer(start: p, count: b.length)), Array(bytes[b.offset..<b.offset + b.length]),
                                   "window \(window) block \(i)")
                    s.release(i)
                }
            }
            let st = s.statistics()
            XCTAssertEqual(st.acquisitions, 3 * blocks.count)
            XCTAssertGreaterThanOrEqual(st.blocksLoaded, 3 * blocks.count)
            XCTAssertLessThanOrEqual(st.blocksLoaded, 3 * blocks.count + window)
        }
    }

    func testOutOfOrderAcquireIsRefused() throws {
        let disk = try DiskTier(path: path)
        let s = try WeightScheduler(disk: disk, blocks: [StreamedBlock(offset: 0, length: 10), StreamedBlock(offset: 10, length: 10)], window: 2)
        XCTAssertThrowsError(try s.acquire(1)) { e in
            XCTAssertEqual(e as? DeviceError, .blockOutOfOrder(requested: 1, expected: 0))
        }
        _ = try s.acquire(0)
        s.release(0)
        _ = try s.acquire(1)
        s.release(1)
    }
}
