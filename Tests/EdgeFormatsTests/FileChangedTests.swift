import EdgeFormats
import Foundation
import XCTest

/// A file truncated or rewritten while it is mapped ends the operation with a typed
/// `fileChanged` error, never with SIGBUS (which is what reading a page past a truncated file's
/// new end raises).
final class FileChangedTests: XCTestCase {
    /// A file of `pages` pages whose every byte is `fill`.
    private func makeFile(pages: Int, fill: UInt8 = 0xAB) throws -> String {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("mapped.bin").path
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(repeating: fill, count: pages * pageSize)))
        return path
    }

    private func assertFileChanged(_ mapped: MappedFile, mentions part: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            try mapped.checkUnchanged()
            XCTFail("no error after the file changed", file: file, line: line)
        } catch {
            guard case let .fileChanged(path, reason) = error else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(path, mapped.path, file: file, line: line)
            XCTAssertTrue(reason.contains(part), "\(part.debugDescription) missing from: \(reason)", file: file, line: line)
            XCTAssertTrue(error.description.contains("changed underneath"), error.description, file: file, line: line)
        }
    }

    func testUnchangedFilePassesTheCheck() throws {
        let mapped = try MappedFile(path: try makeFile(pages: 4))
        XCTAssertEqual(mapped.bytes[100], 0xAB)
        XCTAssertNoThrow(try mapped.checkUnchanged())
    }

    /// Reading past the new end of a truncated file: without the guard this test process would
    /// die of SIGBUS. With it the read sees zeros and the check names the truncation.
    func testReadingPastATruncationIsAnErrorNotASignal() throws {
        let path = try makeFile(pages: 64)
        let mapped = try MappedFile(path: path)
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        XCTAssertEqual(mapped.bytes[40 * pageSize], 0xAB)
        XCTAssertEqual(truncate(path, off_t(8 * pageSize)), 0)
        // Pages before the cut are still the file's; every page after it reads as zero.
        XCTAssertEqual(mapped.bytes[8 * pageSize - 1], 0xAB)
        var sum = 0
        for offset in stride(from: 8 * pageSize, to: 64 * pageSize, by: 512) { sum += Int(mapped.bytes[offset]) }
        XCTAssertEqual(sum, 0)
        XCTAssertEqual(mapped.bytes[64 * pageSize - 1], 0)
        assertFileChanged(mapped, mentions: "truncated to \(8 * pageSize) bytes")
    }

    /// A truncation noticed before any page past the end was touched is reported from the size.
    func testSizeChangeIsReported() throws {
        let path = try makeFile(pages: 4)
        let mapped = try MappedFile(path: path)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data([1, 2, 3]))
        try handle.close()
        assertFileChanged(mapped, mentions: "size changed")
    }

    /// Rewritten in place, same size: the modification time gives it away.
    func testRewriteInPlaceIsReported() throws {
        let path = try makeFile(pages: 4)
        let mapped = try MappedFile(path: path)
        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &times, 0), 0)
        assertFileChanged(mapped, mentions: "modified in place")
    }

    /// A file replaced by renaming another over its path is harmless (the mapping keeps the old
    /// file), so it is not reported.
    func testReplacementByRenameIsHarmless() throws {
        let path = try makeFile(pages: 4)
        let mapped = try MappedFile(path: path)
        let other = path + ".new"
        XCTAssertTrue(FileManager.default.createFile(atPath: other, contents: Data(repeating: 1, count: 10)))
        XCTAssertEqual(rename(other, path), 0)
        XCTAssertEqual(mapped.bytes[0], 0xAB)
        XCTAssertNoThrow(try mapped.checkUnchanged())
    }

    /// Many guarded mappings at once, each truncated: each fault lands in its own region.
    func testEachMappingCountsItsOwnFaults() throws {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let paths = try (0..<3).map { _ in try makeFile(pages: 8) }
        let maps = try paths.map { try MappedFile(path: $0) }
        XCTAssertEqual(truncate(paths[1], off_t(pageSize)), 0)
        XCTAssertEqual(maps[1].bytes[4 * pageSize], 0)
        XCTAssertEqual(maps[0].bytes[4 * pageSize], 0xAB)
        XCTAssertNoThrow(try maps[0].checkUnchanged())
        XCTAssertNoThrow(try maps[2].checkUnchanged())
        assertFileChanged(maps[1], mentions: "truncated")
    }
}
