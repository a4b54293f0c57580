import EdgeFormats
import Foundation
import XCTest

/// Opening things that are not model files gives a clear `cannotOpen`, never a crash or a hang.
final class MappedFileTests: XCTestCase {
    private func openError(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> (path: String, reason: String)? {
        do {
            _ = try GGUFFile(path: path)
            XCTFail("\(path) opened", file: file, line: line)
        } catch {
            guard case let .cannotOpen(p, reason) = error else {
                XCTFail("\(path): \(error)", file: file, line: line)
                return nil
            }
            XCTAssertTrue(error.description.contains(path), file: file, line: line)
            return (p, reason)
        }
        return nil
    }

    func testMissingPath() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("absent.gguf").path
        XCTAssertEqual(openError(path)?.reason, "No such file or directory")
    }

    func testDirectory() throws {
        let dir = try temporaryDirectory(self)
        XCTAssertEqual(openError(dir.path)?.reason, "is a directory, not a file")
    }

    func testEmptyFile() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("empty.gguf").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        XCTAssertEqual(try MappedFile(path: path).size, 0)
        XCTAssertEqual(openError(path)?.reason, "file is empty (0 bytes)")
    }

    func testFIFODoesNotBlock() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("fifo").path
        guard mkfifo(path, 0o600) == 0 else { throw XCTSkip("mkfifo failed; FIFO test skipped") }
        XCTAssertEqual(openError(path)?.reason, "not a regular file")
    }

    func testMappedBytesMatchTheFile() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("w.gguf").path
        let w = try sampleWriter()
        try w.write(toFile: path)
        let m = try MappedFile(path: path)
        let expected = try w.bytes()
        withExtendedLifetime(m) { XCTAssertEqual(Array(m.bytes), expected) }
        let copy = MappedFile(copying: [1, 2, 3])
        withExtendedLifetime(copy) { XCTAssertEqual(Array(copy.bytes), [1, 2, 3]) }
        XCTAssertEqual(MappedFile(copying: []).size, 0)
    }
}
