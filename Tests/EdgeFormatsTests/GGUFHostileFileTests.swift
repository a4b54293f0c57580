import EdgeCore
import EdgeFormats
import Foundation
import XCTest

/// Hand-built files that break one rule each. Offsets in comments: the header is magic (0),
/// version (4), tensor count (8), metadata count (16); the first key/value starts at 24.
final class GGUFHostileFileTests: XCTestCase {
    /// Asserts the error and that its description names `words` (the field, tensor or offset).
    private func expect(_ bytes: [UInt8], _ expected: FormatError, names words: [String],
                        file: StaticString = #filePath, line: UInt = #line) {
        guard let error = parseError(bytes, file: file, line: line) else { return }
        XCTAssertEqual(error, expected, file: file, line: line)
        for w in words {
            XCTAssertTrue(error.description.contains(w), "'\(error.description)' does not name \(w)", file: file, line: line)
        }
    }

    /// A file with one f32 tensor `t` of `dims` at data offset `offset`, with `dataBytes` of data.
    private func oneTensor(dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0, dataBytes: Int = 64) -> [UInt8] {
        var r = RawGGUF.header(tensors: 1, kvs: 0)
        r.tensorInfo("t", dims: dims, type: type, offset: offset)
        r.padAndData(dataBytes)
        return r.bytes
    }

    func testHugeCounts() {
        var r = RawGGUF.header(tensors: .max, kvs: 0)
        r.padAndData(100)
        expect(r.bytes, .implausibleCount(field: "tensor count", offset: 8, count: .max), names: ["tensor count", "offset 8"])

        r = RawGGUF.header(tensors: 0, kvs: 1 << 40)
        r.padAndData(100)
        expect(r.bytes, .implausibleCount(field: "metadata count", offset: 16, count: 1 << 40), names: ["metadata count", "offset 16"])

        r = RawGGUF.header(tensors: 0, kvs: 1)
        r.key("arr", .array)
        r.u32(GGUFValueType.uint8.rawValue)
        r.u64(1 << 60)  // at 24 + 8 + 3 + 4 + 4 = 43
        r.padAndData(100)
        expect(r.bytes, .implausibleCount(field: "element count of 'arr'", offset: 43, count: 1 << 60), names: ["'arr'", "offset 43"])
    }

    func testStringLength2To63() {
        var r = RawGGUF.header(tensors: 0, kvs: 1)
        r.u64(1 << 63)
        r.padAndData(100)
        guard let e = parseError(r.bytes) else { return }
        guard case .truncated(field: "key of metadata entry 0", offset: 24, _, r.count) = e else { return XCTFail("\(e)") }
        XCTAssertTrue(e.description.contains("key of metadata entry 0") && e.description.contains("offset 24"), e.description)

        r = RawGGUF.header(tensors: 0, kvs: 1)
        r.key("k", .string)
        r.u64(1 << 63)  // at 24 + 8 + 1 + 4 = 37
        r.padAndData(100)
        guard let e2 = parseError(r.bytes) else { return }
        guard case .truncated(field: "value of 'k'", offset: 37, _, _) = e2 else { return XCTFail("\(e2)") }

        r = RawGGUF.header(tensors: 1, kvs: 0)
        r.u64(1 << 63)
        r.padAndData(100)
        guard let e3 = parseError(r.bytes) else { return }
        guard case .truncated(field: "name of tensor 0", offset: 24, _, _) = e3 else { return XCTFail("\(e3)") }
    }

    func testStringArrayLongerThanTheFile() {
        // Ten strings is a plausible count, but the fourth claims more bytes than are left.
        var r = RawGGUF.header(tensors: 0, kvs: 1)
        r.key("vocab", .array)
        r.u32(GGUFValueType.string.rawValue)
        r.u64(10)
        for s in ["a", "b", "c"] { r.string(s) }
        let at = r.count
        r.u64(1000)
        r.padAndData(100)
        guard let e = parseError(r.bytes) else { return }
        guard case .truncated(field: "element 3 of 'vocab'", offset: at, needed: 1000, _) = e else { return XCTFail("\(e)") }
    }

    func testDimensions() {
        let big: UInt64 = 1 << 31 - 1
        expect(oneTensor(dims: [big, big, big]), .tensorDimensions(name: "t", offset: 24, dims: [big, big, big]), names: ["'t'", "offset 24"])
        expect(oneTensor(dims: [4, 0]), .tensorDimensions(name: "t", offset: 24, dims: [4, 0]), names: ["'t'"])
        expect(oneTensor(dims: [1 << 63]), .tensorDimensions(name: "t", offset: 24, dims: [1 << 63]), names: ["'t'"])
        expect(oneTensor(dims: [.max, .max]), .tensorDimensions(name: "t", offset: 24, dims: [.max, .max]), names: ["'t'"])
        expect(oneTensor(dims: []), .tensorRank(name: "t", offset: 24, rank: 0), names: ["'t'", "0 dimensions"])
        expect(oneTensor(dims: [1, 1, 1, 1, 1]), .tensorRank(name: "t", offset: 24, rank: 5), names: ["'t'", "5 dimensions"])
        expect(oneTensor(dims: [33], type: TensorType.q8_0.rawValue),
               .tensorRowNotWholeBlocks(name: "t", type: .q8_0, rowLength: 33), names: ["'t'", "33"])
        // A rank of 2^32-1 must not make the reader loop over dimensions it cannot have.
        var r = RawGGUF.header(tensors: 1, kvs: 0)
        r.string("t")
        r.u32(.max)
        r.padAndData(64)
        expect(r.bytes, .tensorRank(name: "t", offset: 24, rank: .max), names: ["'t'"])
    }

    func testOffsets() {
        // 16 floats = 64 bytes; the data section holds 64 bytes.
        expect(oneTensor(dims: [16], offset: 32), .tensorOutOfBounds(name: "t", offset: 32, size: 64, fileSize: 64 + 64),
               names: ["'t'", "offset 32"])
        let far = UInt64.max - 31
        expect(oneTensor(dims: [16], offset: far), .tensorOutOfBounds(name: "t", offset: far, size: 64, fileSize: 128), names: ["'t'"])
        expect(oneTensor(dims: [16], offset: 4), .tensorMisaligned(name: "t", offset: 4, alignment: 32), names: ["'t'", "offset 4"])
        // Fits exactly: parses.
        XCTAssertNoThrow(try parse(oneTensor(dims: [16], offset: 0)))
    }

    func testOverlappingTensors() {
        var r = RawGGUF.header(tensors: 2, kvs: 0)
        r.tensorInfo("first", dims: [16], offset: 0)  // bytes 0..<64
        r.tensorInfo("second", dims: [16], offset: 32)  // bytes 32..<96
        r.padAndData(128)
        expect(r.bytes, .tensorsOverlap(name: "second", other: "first", offset: 32), names: ["'second'", "'first'", "32"])

        r = RawGGUF.header(tensors: 2, kvs: 0)
        r.tensorInfo("a", dims: [8], offset: 0)
        r.tensorInfo("b", dims: [8], offset: 0)
        r.padAndData(64)
        guard let e = parseError(r.bytes) else { return }
        guard case .tensorsOverlap = e else { return XCTFail("\(e)") }

        // Out of file order and with a gap: allowed.
        r = RawGGUF.header(tensors: 2, kvs: 0)
        r.tensorInfo("late", dims: [8], offset: 64)
        r.tensorInfo("early", dims: [8], offset: 0)
        r.padAndData(96)
        XCTAssertEqual(try parse(r.bytes).tensors.map(\.name), ["late", "early"])
    }

    func testUnknownTypes() {
        for raw: UInt32 in [13, 100, .max] {
            var r = RawGGUF.header(tensors: 0, kvs: 1)
            r.string("k")
            r.u32(raw)  // at 24 + 8 + 1 = 33
            r.padAndData(32)
            expect(r.bytes, .unknownValueType(key: "k", offset: 33, raw: raw), names: ["'k'", "offset 33", "\(raw)"])
        }
        var r = RawGGUF.header(tensors: 0, kvs: 1)
        r.key("k", .array)
        r.u32(99)  // at 37
        r.u64(1)
        r.padAndData(32)
        expect(r.bytes, .unknownValueType(key: "k", offset: 37, raw: 99), names: ["'k'", "offset 37"])

        for raw: UInt32 in [4, 5, 31, 33, 36, 40, 1000] {  // removed ggml types and beyond the end
            // tensor type at 24 + 8 + 1 + 4 + 8 = 45
            expect(oneTensor(dims: [16], type: raw), .unknownTensorType(name: "t", offset: 45, raw: raw),
                   names: ["'t'", "offset 45", "type \(raw)"])
        }
    }

    func testAlignmentValues() {
        func file(_ write: (inout RawGGUF) -> Void) -> [UInt8] {
            var r = RawGGUF.header(tensors: 0, kvs: 1)
            write(&r)
            r.padAndData(64)
            return r.bytes
        }
        for v: UInt32 in [0, 3, 24, 1 << 21, .max] {
            let f = file { $0.key("general.alignment", .uint32); $0.u32(v) }
            expect(f, .badAlignment(value: "\(v)"), names: ["general.alignment", "\(v)"])
        }
        let u64 = file { $0.key("general.alignment", .uint64); $0.u64(32) }
        expect(u64, .badAlignment(value: "a value of type uint64"), names: ["general.alignment", "uint64"])
        let str = file { $0.key("general.alignment", .string); $0.string("32") }
        expect(str, .badAlignment(value: "a value of type string"), names: ["general.alignment"])
        // Powers of two below 8 are against the spec but accepted, as llama.cpp does.
        for v: UInt32 in [1, 2, 4, 8, 1 << 20] {
            let f = file { $0.key("general.alignment", .uint32); $0.u32(v) }
            XCTAssertEqual(try parse(f).alignment, Int(v))
        }
    }

    func testNestingTooDeep() {
        var r = RawGGUF.header(tensors: 0, kvs: 1)
        r.key("k", .array)
        // Depths 0, 1, 2 are arrays of one array; the array at depth 3 is refused where its
        // element type would be read: 37 + 3 * (4 + 8) = 73.
        for _ in 0..<4 {
            r.u32(GGUFValueType.array.rawValue)
            r.u64(1)
        }
        r.padAndData(32)
        expect(r.bytes, .nestingTooDeep(key: "k", offset: 73), names: ["'k'", "offset 73"])

        // Three levels parse.
        r = RawGGUF.header(tensors: 0, kvs: 1)
        r.key("k", .array)
        r.u32(GGUFValueType.array.rawValue); r.u64(1)
        r.u32(GGUFValueType.array.rawValue); r.u64(1)
        r.u32(GGUFValueType.uint8.rawValue); r.u64(1); r.u8(7)
        XCTAssertEqual(try parse(r.bytes).value("k"),
                       .array(elementType: .array, [.array(elementType: .array, [.array(elementType: .uint8, [.uint8(7)])])]))
    }

    func testDuplicates() {
        var r = RawGGUF.header(tensors: 0, kvs: 2)
        r.key("k", .uint8); r.u8(1)
        r.key("k", .uint8); r.u8(2)  // second key at 24 + 8 + 1 + 4 + 1 = 38
        expect(r.bytes, .duplicateKey(key: "k", offset: 38), names: ["'k'", "offset 38"])

        r = RawGGUF.header(tensors: 2, kvs: 0)
        r.tensorInfo("t", dims: [8], offset: 0)
        r.tensorInfo("t", dims: [8], offset: 32)
        r.padAndData(64)
        expect(r.bytes, .duplicateTensor(name: "t"), names: ["'t'"])
    }

    func testHeaderFields() {
        var r = RawGGUF()
        r.bytes = Array("GGML".utf8) + [3, 0, 0, 0]
        guard let e = parseError(r.bytes) else { return }
        guard case .badMagic = e else { return XCTFail("\(e)") }
        XCTAssertTrue(e.description.contains("offset 0"))

        expect(RawGGUF.header(version: 1, tensors: 0, kvs: 0).bytes, .unsupportedVersion(1), names: ["version 1", "offset 4"])
        let bigEndian = RawGGUF.header(version: UInt32(3).byteSwapped, tensors: 0, kvs: 0).bytes
        expect(bigEndian, .unsupportedVersion(UInt32(3).byteSwapped), names: ["big-endian"])

        r = RawGGUF.header(tensors: 0, kvs: 1)
        r.key("flag", .bool)
        r.u8(2)  // at 24 + 8 + 4 + 4 = 40
        guard let b = parseError(r.bytes) else { return }
        guard case .badValue(key: "flag", _) = b else { return XCTFail("\(b)") }
        XCTAssertTrue(b.description.contains("'flag'") && b.description.contains("offset 40"), b.description)
    }

    func testBoxedArrayElementsAreBounded() {
        // 2^24 + 1 uint8 values are all present in the file, but each would be a boxed GGUFValue.
        var r = RawGGUF.header(tensors: 0, kvs: 1)
        r.key("blob", .array)
        r.u32(GGUFValueType.uint8.rawValue)
        let n = UInt64(GGUFFile.maxBoxedArrayElements + 1)
        r.u64(n)
        r.bytes.append(contentsOf: [UInt8](repeating: 0, count: Int(n)))
        expect(r.bytes, .implausibleCount(field: "element count of 'blob'", offset: 44, count: n), names: ["'blob'"])
    }
}
