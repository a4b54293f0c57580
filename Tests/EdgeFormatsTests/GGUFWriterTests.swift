import EdgeCore
import EdgeFormats
import Foundation
import XCTest

/// Writer -> reader round trips, streaming, and the writer's own checks.
final class GGUFWriterTests: XCTestCase {
    func testRoundTripEveryValueTypeV2V3AndAlignments() throws {
        for version: UInt32 in [2, 3] {
            for alignment in [8, 32, 64, 4096] {
                let w = try sampleWriter(version: version, alignment: alignment)
                let bytes = try w.bytes()
                let layout = try w.layout()
                XCTAssertEqual(bytes.count, layout.fileSize)
                let f = try parse(bytes)
                XCTAssertEqual(f.version, version)
                XCTAssertEqual(f.alignment, alignment)
                XCTAssertEqual(f.dataOffset, layout.dataOffset)
                XCTAssertEqual(f.dataOffset % alignment, 0)
                XCTAssertEqual(f.tensors, layout.tensors)

                var expectedKeys = ["general.architecture"] + everyValueKind.map(\.0)
                if alignment != 32 { expectedKeys.append("general.alignment") }
                XCTAssertEqual(f.metadataKeys, expectedKeys)
                if alignment != 32 { XCTAssertEqual(f.value("general.alignment"), .uint32(UInt32(alignment))) }
                for (key, value) in everyValueKind {
                    XCTAssertEqual(f.value(key), normalized(value), "\(key) v\(version) align \(alignment)")
                }
                XCTAssertEqual(try f.string("general.architecture"), "llama")

                XCTAssertEqual(f.tensors.map(\.name), ["a.f32", "b.q8_0", "c.f16", "d.q4_K"])
                XCTAssertEqual(f.tensors.map(\.type), [.f32, .q8_0, .f16, .q4_K])
                XCTAssertEqual(f.tensor(named: "c.f16")?.dims, [3, 2, 2, 1])
                for (i, t) in f.tensors.enumerated() {
                    XCTAssertEqual(Array(f.data(of: t)), pattern(t.byteCount, seed: UInt8(i + 1)))
                }
                assertConsistent(f, "v\(version) align \(alignment)")
            }
        }
    }

    func testTypedAccessors() throws {
        let f = try parse(try sampleWriter().bytes())
        XCTAssertEqual(try f.int("test.uint32"), 4_000_000_000)
        XCTAssertEqual(try f.optionalInt("test.int8"), -100)
        XCTAssertNil(try f.optionalInt("absent"))
        XCTAssertEqual(try f.optionalFloat("test.float64"), 3.141592653589793)
        XCTAssertEqual(try f.optionalBool("test.bool_true"), true)
        XCTAssertEqual(try f.optionalStringArray("test.strings"), ["a", "", "ü", "<|im_end|>"])
        XCTAssertEqual(try f.optionalIntArray("test.int32s"), [0, -1, Int32.max, Int32.min])
        XCTAssertEqual(try f.optionalFloatArray("test.float32s"), [0, -0.5, .infinity, 1e30])
        XCTAssertEqual(try f.optionalIntArray("test.uint32s"), [7, 8, 9])
        XCTAssertThrowsError(try f.string("test.uint8")) { error in
            XCTAssertEqual(error as? FormatError, .keyType(key: "test.uint8", expected: "string", found: "uint8"))
        }
        XCTAssertThrowsError(try f.int("missing.key")) { error in
            XCTAssertEqual(error as? FormatError, .missingKey("missing.key"))
            XCTAssertTrue("\(error)".contains("missing.key"))
        }
    }

    func testEmptyFileWithoutTensorsOrMetadata() throws {
        let bytes = try GGUFWriter().bytes()
        XCTAssertEqual(bytes.count, 32)  // 24-byte header padded to the default alignment
        let f = try parse(bytes)
        XCTAssertTrue(f.tensors.isEmpty)
        XCTAssertTrue(f.metadataKeys.isEmpty)
        XCTAssertEqual(f.dataOffset, 32)
    }

    func testStreamingWriteInChunksMatchesInMemoryBytes() throws {
        let dir = try temporaryDirectory(self)
        var streamed = try GGUFWriter(alignment: 64)
        var inMemory = try GGUFWriter(alignment: 64)
        for w in [0, 1] {
            try (w == 0 ? { try streamed.addMetadata("general.name", .string("stream")) } :
                          { try inMemory.addMetadata("general.name", .string("stream")) })()
        }
        let shapes: [(String, TensorType, [Int])] = [
            ("big.f32", .f32, [1000, 300]), ("q.q4_0", .q4_0, [256, 17]), ("n.f32", .f32, [7]),
        ]
        for (i, (name, type, dims)) in shapes.enumerated() {
            try streamed.addTensor(name: name, type: type, dims: dims)
            let n = try GGUFWriter.byteCount(name: name, type: type, dims: dims)
            try inMemory.addTensor(name: name, type: type, dims: dims, data: pattern(n, seed: UInt8(i)))
        }
        let path = dir.appendingPathComponent("streamed.gguf").path
        var calls: [String] = []
        try streamed.write(toFile: path) { tensor, sink in
            calls.append(tensor.name)
            let all = pattern(tensor.byteCount, seed: UInt8(calls.count - 1))
            var at = 0
            var step = 1
            while at < all.count {  // chunks of 1, 2, 4, ... bytes, crossing the output buffer
                let end = min(all.count, at + step)
                try all[at..<end].withUnsafeBytes { try sink.write($0) }
                at = end
                step = min(step * 2, 1 << 21)
            }
            XCTAssertEqual(sink.remaining, 0)
        }
        XCTAssertEqual(calls, shapes.map(\.0))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
        let onDisk = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual([UInt8](onDisk), try inMemory.bytes())
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.tensors, try streamed.layout().tensors)
        assertConsistent(f, "streamed")

        // The same through a caller's file descriptor, after some bytes of its own.
        let fdPath = dir.appendingPathComponent("fd.gguf").path
        let fd = open(fdPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        try inMemory.write(toFileDescriptor: fd) { _, _ in XCTFail("all tensors have data") }
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: fdPath))), try inMemory.bytes())
    }

    /// An uncached (direct I/O) write gives the same bytes as an in-memory one: tensors larger
    /// than the 8 MiB staging buffer, chunks that straddle it, an unaligned tail, padding.
    func testUncachedWriteMatchesInMemoryBytes() throws {
        let dir = try temporaryDirectory(self)
        var streamed = try GGUFWriter()
        var inMemory = try GGUFWriter()
        let shapes: [(String, TensorType, [Int])] = [
            ("a.f32", .f32, [4096, 700]), ("b.q8_0", .q8_0, [4096, 70]), ("c.f32", .f32, [3]), ("d.f16", .f16, [4099, 1000]),
        ]
        for (i, (name, type, dims)) in shapes.enumerated() {
            try streamed.addMetadata("k\(i)", .string(name))
            try inMemory.addMetadata("k\(i)", .string(name))
            try streamed.addTensor(name: name, type: type, dims: dims)
            let n = try GGUFWriter.byteCount(name: name, type: type, dims: dims)
            try inMemory.addTensor(name: name, type: type, dims: dims, data: pattern(n, seed: UInt8(i)))
        }
        let path = dir.appendingPathComponent("uncached.gguf").path
        var index = 0
        try streamed.write(toFile: path, uncached: true) { tensor, sink in
            let all = pattern(tensor.byteCount, seed: UInt8(index))
            index += 1
            var at = 0
            while at < all.count {  // 3 MiB + 1 byte at a time: never aligned to the staging buffer
                let end = min(all.count, at + (3 << 20) + 1)
                try all[at..<end].withUnsafeBytes { try sink.write($0) }
                at = end
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
        let expected = try inMemory.bytes()
        XCTAssertGreaterThan(expected.count, 16 << 20)
        XCTAssertNotEqual(expected.count % 4096, 0, "the file ends with an unaligned tail")
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), expected)
    }

    func testStreamingWrongSizesFailAndLeaveNoFile() throws {
        let dir = try temporaryDirectory(self)
        var w = try GGUFWriter()
        try w.addTensor(name: "t", type: .f32, dims: [4])
        let path = dir.appendingPathComponent("x.gguf").path

        XCTAssertThrowsError(try w.write(toFile: path) { _, sink in try sink.write([UInt8](repeating: 0, count: 15)) }) {
            XCTAssertEqual($0 as? GGUFWriterError, .tensorDataSize(name: "t", expected: 16, got: 15))
        }
        XCTAssertThrowsError(try w.write(toFile: path) { _, sink in try sink.write(values: [Float](repeating: 1, count: 5)) }) {
            XCTAssertEqual($0 as? GGUFWriterError, .tensorDataSize(name: "t", expected: 16, got: 20))
        }
        struct Cancelled: Error {}
        XCTAssertThrowsError(try w.write(toFile: path) { _, _ in throw Cancelled() }) { XCTAssertTrue($0 is Cancelled) }
        XCTAssertThrowsError(try w.write(toFile: path)) {
            XCTAssertEqual($0 as? GGUFWriterError, .missingTensorData(name: "t"))
        }
        XCTAssertThrowsError(try w.bytes()) { XCTAssertEqual($0 as? GGUFWriterError, .missingTensorData(name: "t")) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])

        XCTAssertThrowsError(try w.write(toFile: dir.appendingPathComponent("no/such/dir.gguf").path) { _, _ in }) {
            guard case .io(_, "open", _)? = $0 as? GGUFWriterError else { return XCTFail("\($0)") }
        }
    }

    func testWriterRejectsWhatTheReaderWould() throws {
        XCTAssertThrowsError(try GGUFWriter(version: 1)) { XCTAssertEqual($0 as? GGUFWriterError, .badVersion(1)) }
        for a in [0, 3, 4, 24, 1 << 21] {
            XCTAssertThrowsError(try GGUFWriter(alignment: a)) { XCTAssertEqual($0 as? GGUFWriterError, .badAlignment(a)) }
        }
        var w = try GGUFWriter()
        try w.addMetadata("a.b", .uint8(1))
        XCTAssertThrowsError(try w.addMetadata("a.b", .uint8(2))) { XCTAssertEqual($0 as? GGUFWriterError, .duplicateKey("a.b")) }
        XCTAssertThrowsError(try w.addMetadata("", .uint8(2))) { guard case .badKey? = $0 as? GGUFWriterError else { return XCTFail() } }
        XCTAssertThrowsError(try w.addMetadata("ключ", .uint8(2))) { guard case .badKey? = $0 as? GGUFWriterError else { return XCTFail() } }
        XCTAssertThrowsError(try w.addMetadata("general.alignment", .uint32(64))) {
            guard case .badValue(key: "general.alignment", _)? = $0 as? GGUFWriterError else { return XCTFail("\($0)") }
        }
        try w.addMetadata("general.alignment", .uint32(32))
        XCTAssertThrowsError(try w.addMetadata("mixed", .array(elementType: .uint8, [.uint8(1), .int8(1)]))) {
            guard case .badValue(key: "mixed", _)? = $0 as? GGUFWriterError else { return XCTFail("\($0)") }
        }
        // Four levels of arrays; the reader takes three (GGUFFile.maxArrayDepth).
        let tooDeep = GGUFValue.array(elementType: .array, [
            .array(elementType: .array, [.array(elementType: .array, [.int32Array([1])])]),
        ])
        XCTAssertThrowsError(try w.addMetadata("deep", tooDeep)) {
            guard case .badValue(key: "deep", _)? = $0 as? GGUFWriterError else { return XCTFail("\($0)") }
        }

        try w.addTensor(name: "t", type: .f32, dims: [2], data: [0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertThrowsError(try w.addTensor(name: "t", type: .f32, dims: [2], data: [UInt8](repeating: 0, count: 8))) {
            XCTAssertEqual($0 as? GGUFWriterError, .duplicateTensor("t"))
        }
        XCTAssertThrowsError(try w.addTensor(name: "u", type: .f32, dims: [2], data: [0])) {
            XCTAssertEqual($0 as? GGUFWriterError, .tensorDataSize(name: "u", expected: 8, got: 1))
        }
        let badShapes: [(String, TensorType, [Int])] = [
            ("", .f32, [1]), (String(repeating: "n", count: 64), .f32, [1]), ("r0", .f32, []), ("r5", .f32, [1, 1, 1, 1, 1]),
            ("zero", .f32, [0]), ("neg", .f32, [-1]), ("huge", .f32, [1 << 31]), ("product", .f32, [1 << 30, 1 << 30]),
            ("blocks", .q8_0, [33]),
        ]
        for (name, type, dims) in badShapes {
            XCTAssertThrowsError(try w.addTensor(name: name, type: type, dims: dims), name) {
                guard case .badTensor(name, _)? = $0 as? GGUFWriterError else { return XCTFail("\(name): \($0)") }
            }
        }
        // Everything refused left the writer as it was: the file still reads back.
        let f = try parse(try w.bytes())
        XCTAssertEqual(f.metadataKeys, ["a.b", "general.alignment"])
        XCTAssertEqual(f.tensors.map(\.name), ["t"])
    }
}
