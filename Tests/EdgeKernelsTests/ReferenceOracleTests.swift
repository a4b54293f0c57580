// The reference dequantizers against an independent implementation: gguf-py's numpy code, on
// random blocks of every weight type and on real tensors of the shared models.
import CEdgeKernels
import EdgeCore
import EdgeFormats
import EdgeKernels
import Foundation
import XCTest

final class ReferenceOracleTests: XCTestCase {
    /// gguf-py spells the types as ggml does; TensorType's description is that spelling.
    private func oracleName(_ type: TensorType) -> String { type.description }

    /// Every value equal to the oracle's, or within 1e-6 relative (none expected: both sides do the
    /// same float32 operations in the same order). Returns the number of values compared.
    private func assertMatches(_ ours: [Float], _ theirs: [Float], _ what: String) -> Int {
        XCTAssertEqual(ours.count, theirs.count, "\(what): value count")
        var bad = 0, inexact = 0
        for i in 0..<min(ours.count, theirs.count) {
            if ours[i].bitPattern != theirs[i].bitPattern && !(ours[i].isNaN && theirs[i].isNaN) { inexact += 1 }
            if !close(ours[i], theirs[i]) {
                if bad < 5 { XCTFail("\(what)[\(i)]: ours \(ours[i]), gguf-py \(theirs[i])") }
                bad += 1
            }
        }
        XCTAssertEqual(bad, 0, "\(what): \(bad) values differ by more than 1e-6 relative")
        XCTAssertEqual(inexact, 0, "\(what): \(inexact) values not bit-identical (within 1e-6 though)")
        return ours.count
    }

    func testRandomBlocksOfEveryTypeMatchGGUFPy() throws {
        let dir = try Oracle.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SplitMix64(seed: 0x5EED_0001)
        var inputs: [TensorType: [UInt8]] = [:]
        var jobs: [[String]] = []
        for type in RefTypes.weights {
            // 64 blocks: 2048 legacy / 16384 K-quant values; 1024 elements for the float types.
            let blocks = type.blockSize == 1 ? 1024 : 64
            let bytes = RefTypes.randomBlocks(type, blocks: blocks, rng: &rng)
            inputs[type] = bytes
            let inURL = dir.appendingPathComponent("\(type).in"), outURL = dir.appendingPathComponent("\(type).out")
            try Data(bytes).write(to: inURL)
            jobs.append(["raw", oracleName(type), inURL.path, outURL.path])
        }
        try Oracle.run(jobs)
        var total = 0
        for type in RefTypes.weights {
            let bytes = inputs[type]!
            let count = bytes.count / type.blockBytes * type.blockSize
            let ours = try bytes.withUnsafeBytes { try Dequantizer.dequantize(type, $0, count: count) }
            let theirs = try Oracle.readFloats(dir.appendingPathComponent("\(type).out"))
            total += assertMatches(ours, theirs, "\(type) random blocks")
        }
        XCTAssertEqual(total, 3 * 1024 + 6 * 64 * 32 + 6 * 64 * 256)
    }

    func testSharedModelTensorsMatchGGUFPy() throws {
        guard let models = sharedModelsDirectory() else {
            throw XCTSkip("no shared/models directory above \(#filePath); real-tensor check not run")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: models.path)
            .filter { $0.hasSuffix(".gguf") }.sorted()
        guard !files.isEmpty else { throw XCTSkip("no .gguf files in \(models.path)") }
        let dir = try Oracle.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }

        // For each file and each supported type in it: the first tensor of that type, at most
        // 65536 elements of it (whole rows).
        var cases: [(file: GGUFFile, tensor: GGUFTensorInfo, rows: Int, out: URL)] = []
        for name in files {
            let file = try GGUFFile(path: models.appendingPathComponent(name).path)
            var seen: Set<TensorType> = []
            for tensor in file.tensors where tensor.type.isSupported && !seen.contains(tensor.type) {
                seen.insert(tensor.type)
                let rowLength = tensor.dims.first ?? 1
                let rows = max(1, min(tensor.rowCount, 65536 / max(rowLength, 1)))
                let out = dir.appendingPathComponent("\(cases.count).out")
                cases.append((file, tensor, rows, out))
            }
        }
        try Oracle.run(cases.map { ["tensor", $0.file.path, $0.tensor.name, String($0.rows), $0.out.path] })
        var checked: [String] = []
        for c in cases {
            let count = c.rows * (c.tensor.dims.first ?? 1)
            let ours = try Dequantizer.dequantize(c.tensor.type, c.file.data(of: c.tensor), count: count)
            let theirs = try Oracle.readFloats(c.out)
            let what = "\((c.file.path as NSString).lastPathComponent) \(c.tensor.name) (\(c.tensor.type))"
            _ = assertMatches(ours, theirs, what)
            checked.append("\(c.tensor.type)")
        }
        // The Q4_K_M file holds Q4_K, Q5_0, Q6_K, Q8_0 and F32; the aidreams files Q4_0, F16, F32.
        XCTAssertFalse(checked.isEmpty)
    }

    func testDequantizerErrorsNameTheProblem() throws {
        let bytes = [UInt8](repeating: 0, count: 64)
        try bytes.withUnsafeBytes { raw in
            XCTAssertThrowsError(try Dequantizer.dequantize(.iq2_xs, raw, count: 256)) {
                XCTAssertEqual($0 as? KernelError, .unsupportedType(.iq2_xs))
            }
            XCTAssertThrowsError(try Dequantizer.dequantize(.q4_0, raw, count: 33)) {
                XCTAssertEqual($0 as? KernelError,
                               .shape(op: "dequantize", type: .q4_0, count: 33, byteCount: 64, expectedBytes: nil))
            }
            XCTAssertThrowsError(try Dequantizer.dequantize(.q8_0, raw, count: 64)) {
                XCTAssertEqual($0 as? KernelError,
                               .shape(op: "dequantize", type: .q8_0, count: 64, byteCount: 64, expectedBytes: 68))
            }
            XCTAssertEqual(try Dequantizer.dequantize(.q4_0, raw, count: 0), [])
        }
        // An unaligned source gives the same values as an aligned one.
        var rng = SplitMix64(seed: 7)
        let blocks = RefTypes.randomBlocks(.q4_K, blocks: 2, rng: &rng)
        let aligned = try blocks.withUnsafeBytes { try Dequantizer.dequantize(.q4_K, $0, count: 512) }
        let shifted = [0] + blocks
        let unaligned = try shifted.withUnsafeBytes {
            try Dequantizer.dequantize(.q4_K, UnsafeRawBufferPointer(rebasing: $0[1...]), count: 512)
        }
        XCTAssertEqual(aligned, unaligned)
    }
}
