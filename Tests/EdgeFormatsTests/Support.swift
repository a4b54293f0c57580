import EdgeCore
import EdgeFormats
import Foundation
import XCTest

/// Hand-built GGUF bytes, field by field, for files the writer refuses to make.
struct RawGGUF {
    var bytes: [UInt8] = []
    var count: Int { bytes.count }

    /// Magic, version and the two counts.
    static func header(version: UInt32 = 3, tensors: UInt64, kvs: UInt64) -> RawGGUF {
        var r = RawGGUF()
        r.bytes = Array("GGUF".utf8)
        r.u32(version)
        r.u64(tensors)
        r.u64(kvs)
        return r
    }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes.append(contentsOf: s.utf8) }
    /// A key and the type tag of its value.
    mutating func key(_ k: String, _ type: GGUFValueType) { string(k); u32(type.rawValue) }
    mutating func tensorInfo(_ name: String, dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0) {
        string(name)
        u32(UInt32(dims.count))
        for d in dims { u64(d) }
        u32(type)
        u64(offset)
    }
    /// Zero bytes up to the next multiple of `alignment`, then `n` data bytes.
    mutating func padAndData(alignment: Int = 32, _ n: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
        bytes.append(contentsOf: (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) })
    }
}

/// Parses bytes held in memory.
func parse(_ bytes: [UInt8]) throws(FormatError) -> GGUFFile {
    try GGUFFile(mapping: MappedFile(copying: bytes, name: "test.gguf"))
}

/// The error parsing `bytes` throws, or a test failure when it parses.
func parseError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> FormatError? {
    do {
        _ = try parse(bytes)
        XCTFail("expected a FormatError, but the file parsed", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

/// Checks what a successful parse promises: every tensor lies inside the data section and the
/// file, aligned, no two overlap, and its bytes can be read.
func assertConsistent(_ f: GGUFFile, _ context: @autoclosure () -> String,
                      file: StaticString = #filePath, line: UInt = #line) {
    var ranges: [(start: Int, end: Int)] = []
    for t in f.tensors {
        guard t.fileOffset >= f.dataOffset, t.byteCount > 0, t.fileOffset + t.byteCount <= f.fileSize else {
            XCTFail("\(context()): tensor '\(t.name)' at \(t.fileOffset)+\(t.byteCount) outside file of \(f.fileSize)",
                    file: file, line: line)
            return
        }
        XCTAssertEqual((t.fileOffset - f.dataOffset) % f.alignment, 0, "\(context()): '\(t.name)' misaligned",
                       file: file, line: line)
        let d = f.data(of: t)
        XCTAssertEqual(d.count, t.byteCount, file: file, line: line)
        _ = d[0] &+ d[d.count - 1]
        ranges.append((t.fileOffset, t.fileOffset + t.byteCount))
    }
    ranges.sort { $0.start < $1.start }
    for (a, b) in zip(ranges, ranges.dropFirst()) where b.start < a.end {
        XCTFail("\(context()): tensors overlap at \(b.start)", file: file, line: line)
    }
    XCTAssertEqual(f.tensors.count, f.tensorsByName.count, file: file, line: line)
}

/// `../shared/models`, found by walking up from this source file; nil when absent.
func sharedModelsDirectory() -> URL? {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent("shared/models")
        if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        dir.deleteLastPathComponent()
    }
    return nil
}

/// The path of a shared model file, or an XCTSkip that says where it was looked for.
func sharedModel(_ name: String) throws -> String {
    guard let dir = sharedModelsDirectory() else {
        throw XCTSkip("shared models not found: no shared/models directory above \(#filePath)")
    }
    let path = dir.appendingPathComponent(name).path
    guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("shared model \(path) is absent") }
    return path
}

/// A fresh empty directory for one test, removed by the test's teardown block.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgeformats-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

/// Deterministic tensor bytes.
func pattern(_ n: Int, seed: UInt8) -> [UInt8] {
    (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
}

/// One of each scalar value type, every typed array, a generic array of each scalar type,
/// empty arrays and nested arrays (as deep as the reader allows).
let everyValueKind: [(String, GGUFValue)] = [
    ("test.uint8", .uint8(200)),
    ("test.int8", .int8(-100)),
    ("test.uint16", .uint16(60000)),
    ("test.int16", .int16(-30000)),
    ("test.uint32", .uint32(4_000_000_000)),
    ("test.int32", .int32(-2_000_000_000)),
    ("test.float32", .float32(-1.5e-7)),
    ("test.bool_true", .bool(true)),
    ("test.bool_false", .bool(false)),
    ("test.string", .string("héllo, ✓ world")),
    ("test.string_empty", .string("")),
    ("test.uint64", .uint64(UInt64.max - 1)),
    ("test.int64", .int64(Int64.min + 1)),
    ("test.float64", .float64(3.141592653589793)),
    ("test.strings", .stringArray(["a", "", "ü", "<|im_end|>"])),
    ("test.int32s", .int32Array([0, -1, Int32.max, Int32.min])),
    ("test.float32s", .float32Array([0, -0.5, .infinity, 1e30])),
    ("test.uint8s", .array(elementType: .uint8, [.uint8(0), .uint8(255)])),
    ("test.int8s", .array(elementType: .int8, [.int8(-128), .int8(127)])),
    ("test.uint16s", .array(elementType: .uint16, [.uint16(1), .uint16(65535)])),
    ("test.int16s", .array(elementType: .int16, [.int16(-1)])),
    ("test.uint32s", .array(elementType: .uint32, [.uint32(7), .uint32(8), .uint32(9)])),
    ("test.bools", .array(elementType: .bool, [.bool(true), .bool(false), .bool(true)])),
    ("test.uint64s", .array(elementType: .uint64, [.uint64(1 << 40)])),
    ("test.int64s", .array(elementType: .int64, [.int64(-(1 << 40))])),
    ("test.float64s", .array(elementType: .float64, [.float64(-2.25)])),
    ("test.empty_uint8s", .array(elementType: .uint8, [])),
    ("test.empty_arrays", .array(elementType: .array, [])),
    ("test.nested", .array(elementType: .array, [
        .int32Array([1, 2]),
        .stringArray(["x"]),
        .array(elementType: .array, [.float32Array([0.25])]),
    ])),
]

/// What the reader gives back for a value the writer wrote: arrays of string, int32 and float32
/// come back as the typed array cases.
func normalized(_ v: GGUFValue) -> GGUFValue {
    guard case let .array(type, items) = v else { return v }
    switch type {
    case .string: return .stringArray(items.compactMap(\.stringValue))
    case .int32: return .int32Array(items.map { if case let .int32(x) = $0 { x } else { 0 } })
    case .float32: return .float32Array(items.map { if case let .float32(x) = $0 { x } else { 0 } })
    default: return .array(elementType: type, items.map(normalized))
    }
}

/// A small valid file with every value kind and tensors of several types.
func sampleWriter(version: UInt32 = 3, alignment: Int = 32) throws -> GGUFWriter {
    var w = try GGUFWriter(version: version, alignment: alignment)
    try w.addMetadata("general.architecture", .string("llama"))
    for (k, v) in everyValueKind { try w.addMetadata(k, v) }
    try w.addTensor(name: "a.f32", type: .f32, dims: [5], data: pattern(20, seed: 1))
    try w.addTensor(name: "b.q8_0", type: .q8_0, dims: [64, 3], data: pattern(2 * 34 * 3, seed: 2))
    try w.addTensor(name: "c.f16", type: .f16, dims: [3, 2, 2, 1], data: pattern(24, seed: 3))
    try w.addTensor(name: "d.q4_K", type: .q4_K, dims: [256, 2], data: pattern(288, seed: 4))
    return w
}
