import EdgeCore
import EdgeFormats
import Foundation
import XCTest

/// Truncated and randomly corrupted files: each must parse (and then every tensor lies inside
/// the file) or throw a FormatError; none may crash. Debug builds trap on any out-of-bounds
/// read through the buffer pointers, so these tests also catch over-reads.
final class GGUFRobustnessTests: XCTestCase {
    /// Every prefix of `bytes` of the given lengths: throws, or parses only when the prefix still
    /// holds every tensor's data.
    private func checkPrefixes(_ bytes: [UInt8], lengths: some Sequence<Int>, name: String) throws {
        let full = try parse(bytes)
        let needed = full.tensors.map { $0.fileOffset + $0.byteCount }.max() ?? full.dataOffset
        var parsed = 0, thrown = 0
        for n in lengths {
            do {
                let f = try parse(Array(bytes[0..<n]))
                parsed += 1
                XCTAssertGreaterThanOrEqual(n, needed, "\(name) prefix \(n) parsed without all tensor data")
                XCTAssertEqual(f.tensors, full.tensors, "\(name) prefix \(n)")
                assertConsistent(f, "\(name) prefix \(n)")
            } catch {
                thrown += 1
                XCTAssertLessThan(n, needed, "\(name) prefix \(n) holds everything yet threw \(error)")
                if n == 0 {
                    XCTAssertEqual(error, .cannotOpen(path: "test.gguf", reason: "file is empty (0 bytes)"))
                }
            }
        }
        XCTAssertGreaterThan(thrown, 0, name)
    }

    func testEveryPrefixOfAWrittenFile() throws {
        let bytes = try sampleWriter().bytes()
        let f = try parse(bytes)
        // Every length through the header and its padding, then every 7th through the data.
        let lengths = Array(0...f.dataOffset) + Array(stride(from: f.dataOffset + 1, through: bytes.count, by: 7)) + [bytes.count]
        try checkPrefixes(bytes, lengths: lengths, name: "sample")
    }

    func testPrefixesOfTheRealAidreamsQ8File() throws {
        let path = try sharedModel("aidreams260K.Q8_0.gguf")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let f = try parse(bytes)
        // A few hundred lengths across the header (13728 bytes), then some through the data.
        var rng = SplitMix64(seed: 260)
        var lengths = Set(stride(from: 0, through: f.dataOffset, by: 61))
        for _ in 0..<150 { lengths.insert(Int.random(in: 0...f.dataOffset, using: &rng)) }
        for _ in 0..<40 { lengths.insert(Int.random(in: f.dataOffset...bytes.count, using: &rng)) }
        lengths.formUnion([0, 1, 3, 4, 7, 8, 23, 24, f.dataOffset - 1, f.dataOffset, bytes.count - 1, bytes.count])
        XCTAssertGreaterThan(lengths.count, 300)
        try checkPrefixes(bytes, lengths: lengths.sorted(), name: "aidreams Q8_0")
    }

    /// Flips bytes in the header region: one byte, a few bytes, or a whole little-endian word set
    /// to an extreme (0, 1, all ones, a sign bit), which hits counts and lengths harder.
    private func corrupt(_ original: [UInt8], headerEnd: Int, rounds: Int, seed: UInt64, name: String) {
        var rng = SplitMix64(seed: seed)
        var parsed = 0
        for round in 0..<rounds {
            var b = original
            switch round % 4 {
            case 0:
                b[Int.random(in: 0..<headerEnd, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            case 1:
                for _ in 0..<Int.random(in: 2...8, using: &rng) {
                    b[Int.random(in: 0..<headerEnd, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 2:
                let at = Int.random(in: 0..<(headerEnd - 8), using: &rng)
                let v: UInt64 = [0, 1, .max, 1 << 63, 1 << 31, UInt64(original.count)].randomElement(using: &rng)!
                withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[at + i] = x } }
            default:
                let at = Int.random(in: 0..<(headerEnd - 4), using: &rng)
                let v = UInt32.random(in: 0...40, using: &rng)  // near valid type numbers
                withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[at + i] = x } }
            }
            do {
                let f = try parse(b)
                parsed += 1
                assertConsistent(f, "\(name) seed \(seed) round \(round)")
            } catch {
                XCTAssertFalse(error.description.isEmpty)
            }
        }
        // Many flips land in string bytes or values and leave a valid file.
        XCTAssertGreaterThan(parsed, 0, name)
    }

    func testRandomCorruptionOfAWrittenFile() throws {
        let bytes = try sampleWriter().bytes()
        let f = try parse(bytes)
        corrupt(bytes, headerEnd: f.dataOffset, rounds: 4000, seed: 1, name: "sample")
    }

    func testRandomCorruptionOfTheRealAidreamsFiles() throws {
        for (i, model) in ["aidreams260K.Q8_0.gguf", "aidreams260K.Q4_0.gguf"].enumerated() {
            let path = try sharedModel(model)
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let f = try parse(bytes)
            // The tensor infos sit at the end of the header; bias half the rounds there.
            corrupt(bytes, headerEnd: f.dataOffset, rounds: 1000, seed: 10 + UInt64(i), name: model)
            let infosSize = f.tensors.reduce(0) { $0 + 8 + $1.name.utf8.count + 4 + 8 * $1.dims.count + 4 + 8 }
            let infosStart = f.dataOffset - f.alignment - infosSize
            corruptRange(bytes, from: infosStart, to: f.dataOffset, rounds: 1000, seed: 20 + UInt64(i), name: model)
        }
    }

    private func corruptRange(_ original: [UInt8], from: Int, to: Int, rounds: Int, seed: UInt64, name: String) {
        var rng = SplitMix64(seed: seed)
        for round in 0..<rounds {
            var b = original
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                b[Int.random(in: from..<to, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
            do {
                assertConsistent(try parse(b), "\(name) tensor infos seed \(seed) round \(round)")
            } catch {
                XCTAssertFalse(error.description.isEmpty)
            }
        }
    }
}
