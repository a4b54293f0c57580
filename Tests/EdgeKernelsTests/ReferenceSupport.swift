// Shared helpers of the Reference*Tests: a seeded generator, realistic random blocks, the gguf-py
// oracle runner and the shared-models lookup.
import CEdgeKernels
import EdgeCore
import Foundation
import XCTest

enum RefTypes {
    /// The weight types the reference kernels compute with, in a fixed order.
    static let weights: [TensorType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K,
                                        .q2_K, .q3_K, .iq4_nl, .iq4_xs]

    /// Byte offsets of the f16 scale fields (d, and m or dmin) inside one block.
    /// Source: the block structs in Sources/CEdgeKernels/include/edge_quant.h.
    static func scaleOffsets(_ type: TensorType) -> [Int] {
        switch type {
        case .q4_0, .q5_0, .q8_0, .iq4_nl, .iq4_xs: return [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: return [0, 2]
        case .q6_K: return [208]
        case .q3_K: return [108]
        case .q2_K: return [80, 82]
        default: return []
        }
    }

    /// The quant bits of a block with an additive offset (m or dmin): zeroing these bytes leaves a
    /// block whose dequantized values are exactly the offset part.
    static func quantBits(_ type: TensorType) -> Range<Int>? {
        switch type {
        case .q4_1, .q5_1: return 4..<type.blockBytes
        case .q4_K, .q5_K: return 16..<type.blockBytes
        case .q2_K: return 16..<80  // qs; the scales' low nibbles multiply them, so they may stay
        default: return nil
        }
    }

    static func half(_ value: Float) -> UInt16 { edge_f32_to_f16(value) }

    /// `blocks` random blocks of `type`: random quant bits, finite modest f16 scales
    /// (|d| in [2^-12, 2^-4], either sign), finite f16/bf16/f32 values including f16 subnormals.
    static func randomBlocks(_ type: TensorType, blocks: Int, rng: inout SplitMix64) -> [UInt8] {
        var bytes = (0..<(blocks * type.blockBytes)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        switch type {
        case .f32:
            for i in 0..<blocks {
                let v = Float.random(in: -4...4, using: &rng)
                withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.replaceSubrange(4 * i ..< 4 * i + 4, with: $0) }
            }
        case .f16:
            for i in 0..<blocks where bytes[2 * i + 1] & 0x7C == 0x7C { bytes[2 * i + 1] &= 0xBF }  // no inf/NaN
        case .bf16:
            for i in 0..<blocks where bytes[2 * i + 1] & 0x7F == 0x7F { bytes[2 * i + 1] &= 0xBF }  // exponent < 255
        default:
            for b in 0..<blocks {
                for offset in scaleOffsets(type) {
                    let magnitude = Float(sign: .plus, exponent: Int.random(in: -12 ... -5, using: &rng),
                                          significand: Float.random(in: 1..<2, using: &rng))
                    let value = Bool.random(using: &rng) ? magnitude : -magnitude
                    let h = half(value)
                    bytes[b * type.blockBytes + offset] = UInt8(h & 0xFF)
                    bytes[b * type.blockBytes + offset + 1] = UInt8(h >> 8)
                }
            }
        }
        return bytes
    }
}

/// Floats equal, or within `relative` of each other; NaN matches NaN.
func close(_ a: Float, _ b: Float, relative: Float = 1e-6) -> Bool {
    if a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) { return true }
    return abs(a - b) <= relative * max(abs(a), abs(b))
}

/// gguf-py's numpy dequantizers (PyPI `gguf`), run through oracle/dequantize.py.
enum Oracle {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("oracle/dequantize.py")

    /// A fresh scratch directory under the system temporary directory.
    static func scratchDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-ref-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Runs the jobs (tab-separated lines, see the script's doc). Throws XCTSkip, naming the reason,
    /// when python3, numpy or gguf is missing.
    static func run(_ jobs: [[String]]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw XCTSkip("cannot start /usr/bin/env python3 for the gguf-py oracle: \(error)")
        }
        let text = jobs.map { $0.joined(separator: "\t") }.joined(separator: "\n") + "\n"
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        switch process.terminationStatus {
        case 0: return
        case 3: throw XCTSkip("gguf-py oracle unavailable (pip install gguf numpy): \(stderr)")
        case 127: throw XCTSkip("python3 not found on PATH; the gguf-py oracle needs it")
        default:
            XCTFail("oracle failed with status \(process.terminationStatus): \(stderr)")
            throw CocoaError(.executableLoad)
        }
    }

    static func readFloats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }
}

/// ../shared/models seen from the package root, found by walking up from this file; nil if absent.
func sharedModelsDirectory() -> URL? {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent("shared/models")
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), isDir.boolValue {
            return candidate
        }
        dir.deleteLastPathComponent()
    }
    return nil
}
