import CEdgeKernels
import CEdgeVulkan
import EdgeCore
import EdgeDevices
import Foundation
import XCTest

/// The Vulkan matrix kernels against the CPU's F32-activation matmul (`edge_op_matmul_f32`: each
/// row dequantized by the reference dequantizer, then a float dot), on the first Vulkan device
/// (lavapipe on the test machines). Skipped, with a message, where there is none.
///
/// Bound: |gpu - cpu| <= 1e-6 · Σ|w_i x_i| per output. Both sides dequantize to the same floats
/// (the shaders follow edge_ref.c value by value); only the summation order differs, whose
/// rounding errors mostly cancel: ~sqrt(n)·2^-24 of Σ|terms| for n terms is ~1.3e-6 at 768 as a
/// rough upper figure, and lavapipe measures at most 6e-8. A wrong scale, nibble or sign moves an
/// output by far more than 1e-6 of Σ|w x|.
final class VulkanKernelTests: XCTestCase {
    static func device() throws -> VulkanDevice {
        let devices: [GPUInfo]
        do { devices = try vulkanDevices() } catch {
            throw XCTSkip("no Vulkan: \(error) — skipping the GPU kernel tests (scripts/setup.sh installs lavapipe)")
        }
        guard !devices.isEmpty else { throw XCTSkip("no Vulkan device on this host — skipping the GPU kernel tests") }
        return try VulkanDevice(index: 0)
    }

    func testMatmulKernelsMatchTheCPUReference() throws {
        let device = try Self.device()
        let pool = try WorkerPool(threads: 1, cpus: [], balance: .static)
        var rng = SplitMix64(seed: 0x7a11)
        let types: [TensorType] = [.f32, .f16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]
        for type in types {
            let t = Int32(type.rawValue)
            for (rows, cols, ntok) in [(37, 512, 1), (9, 256, 11), (130, 768, 3)] {
                let w: [UInt8]
                switch type {
                case .f32: w = (0..<(rows * cols)).flatMap { _ in withUnsafeBytes(of: unitFloat(&rng).bitPattern.littleEndian, Array.init) }
                case .f16: w = (0..<(rows * cols)).flatMap { _ in withUnsafeBytes(of: edge_f32_to_f16(unitFloat(&rng)).littleEndian, Array.init) }
                default: w = randomQuantRows(t, rows: rows, n: cols, rng: &rng)
                }
                let rowBytes = w.count / rows
                let x = (0..<(ntok * cols)).map { _ in unitFloat(&rng) }
                var cpu = [Float](repeating: 0, count: ntok * rows)
                edge_op_matmul_f32(pool.raw, t, Int64(cols), w, rowBytes, Int64(rows), x, Int64(ntok), &cpu, Int64(rows))
                // Σ|w_i x_i| per output, from the reference dequantization.
                var bound = [Double](repeating: 0, count: ntok * rows)
                var row = [Float](repeating: 0, count: cols)
                for r in 0..<rows {
                    w.withUnsafeBytes { _ = edge_dequantize_row_ref(t, $0.baseAddress! + r * rowBytes, &row, Int64(cols)) }
                    for k in 0..<ntok {
                        var s = 0.0
                        for i in 0..<cols { s += Double(abs(row[i] * x[k * cols + i])) }
                        bound[k * rows + r] = 1e-6 * s + 1e-30
                    }
                }
                // X at float 0 and Y after it, with a 5-float gap to catch a wrong offset.
                let yOff = ntok * cols + 5
                let wb = try device.buffer(bytes: w.count + 16, what: "test weights")
                let ab = try device.buffer(bytes: (yOff + ntok * rows) * 4, what: "test activations")
                try w.withUnsafeBytes { try device.upload($0.baseAddress!, bytes: w.count, to: wb, at: 0) }
                try x.withUnsafeBytes { try device.upload($0.baseAddress!, bytes: $0.count, to: ab, at: 0) }
                let groups = (rows + 3) / 4
                try device.begin()
                try device.dispatch(VulkanDevice.matmulKernel(type)!, [wb, ab, ab],
                                    [0, UInt32(rowBytes), UInt32(cols), UInt32(rows), UInt32(ntok), 0, UInt32(cols),
                                     UInt32(yOff), UInt32(rows), 65535],
                                    groups: (groups, 1, (ntok + 7) / 8))
                try device.submit()
                let out = try readBack(device, ab, floats: yOff + ntok * rows)
                var worst = 0.0
                for i in 0..<(ntok * rows) {
                    let diff = Double(abs(out[yOff + i] - cpu[i]))
                    worst = max(worst, diff / bound[i] * 1e-6)
                    XCTAssertLessThanOrEqual(diff, bound[i], "\(type) \(rows)x\(cols), \(ntok) tokens: output \(i) is \(out[yOff + i]), CPU \(cpu[i])")
                }
                print("GPU matmul \(type) \(rows)x\(cols) x\(ntok): worst |diff| / Σ|w x| = \(worst)")
            }
        }
    }

    /// Copies a device buffer's first `floats` floats back to the host.
    private func readBack(_ device: VulkanDevice, _ buffer: GPUBuffer, floats: Int) throws -> [Float] {
        if let p = buffer.mapped { return Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: floats)) }
        let host = try device.buffer(bytes: floats * 4, hostVisible: true, what: "read-back")
        try device.begin()
        device.copy(buffer, at: 0, to: host, at: 0, bytes: floats * 4)
        try device.submit()
        return Array(UnsafeBufferPointer(start: host.mapped!.assumingMemoryBound(to: Float.self), count: floats))
    }

    func testANamedGPUThatIsAbsentIsATypedError() throws {
        _ = try Self.device()
        let n = try vulkanDevices().count
        XCTAssertThrowsError(try VulkanDevice(index: n)) { error in
            XCTAssertEqual(error as? GPUError, .noSuchDevice(index: n, available: n))
            XCTAssertTrue("\(error)".contains("edgert devices"), "\(error)")
        }
    }

    /// The committed SPIR-V is what scripts/build-shaders.sh makes of the GLSL beside it.
    func testCommittedSPIRVMatchesTheShaderSources() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let which = Process()
        which.executableURL = URL(fileURLWithPath: "/bin/sh")
        which.arguments = ["-c", "command -v glslc"]
        which.standardOutput = FileHandle.nullDevice
        try which.run()
        which.waitUntilExit()
        guard which.terminationStatus == 0 else { throw XCTSkip("glslc is absent: not recompiling the shaders (apt-get install glslc)") }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("edge_vk_spirv-\(UUID().uuidString).c")
        defer { try? FileManager.default.removeItem(at: out) }
        let p = Process()
        p.executableURL = root.appendingPathComponent("scripts/build-shaders.sh")
        p.arguments = [out.path]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "scripts/build-shaders.sh failed")
        let committed = try String(contentsOf: root.appendingPathComponent("Sources/CEdgeVulkan/edge_vk_spirv.c"), encoding: .utf8)
        let fresh = try String(contentsOf: out, encoding: .utf8)
        // The first line names the compiler's version; the arrays must agree exactly.
        XCTAssertEqual(committed.split(separator: "\n").dropFirst(), fresh.split(separator: "\n").dropFirst(),
                       "Sources/CEdgeVulkan/edge_vk_spirv.c is stale: run scripts/build-shaders.sh and commit it")
    }
}
