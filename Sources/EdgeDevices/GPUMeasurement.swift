import CEdgeVulkan
import EdgeCore
import Foundation

/// What `edgert profile` and `edgert devices --measure` measure on a Vulkan device.
public struct GPUMeasurement: Sendable, Equatable {
    /// Device-memory bandwidth: a buffer-to-buffer copy on the device, bytes read plus written per second.
    public var memoryBytesPerSecond: Double
    /// Host memory to device memory (through the staging buffer where the device's memory is not
    /// host-visible), bytes per second.
    public var uploadBytesPerSecond: Double
    /// Weight bytes per second of the one-token matmul kernel of each type, from device memory.
    public var matvecBytesPerSecond: [TensorType: Double]
    /// Floating-point operations per second (2 per multiply-add) of the F32 matmul kernel on a
    /// batch of 8 tokens (the prompt path; the shaders multiply in F32, there is no F16 math kernel).
    public var matmulFlops: Double
}

extension VulkanDevice {
    /// Measures the device: each figure the median of `passes` timed runs (one untimed run first,
    /// which also builds the kernel's pipeline). Buffers of 32 MiB (copy, upload) and matrices of
    /// about 16 MiB per type.
    public func measure(passes: Int = 3, types: [TensorType] = [.f32, .f16, .q8_0, .q4_0, .q4_1, .q5_0, .q4_K, .q5_K, .q6_K])
        throws(GPUError) -> GPUMeasurement {
        let bytes = 32 << 20
        let a = try buffer(bytes: bytes, what: "bandwidth source")
        let b = try buffer(bytes: bytes, what: "bandwidth destination")
        try zero(a)
        try zero(b)
        func median(_ body: () throws(GPUError) -> Void) throws(GPUError) -> Double {
            try body()
            var t: [Double] = []
            for _ in 0..<max(1, passes) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try body()
                t.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
            }
            return t.sorted()[t.count / 2]
        }
        let copySeconds = try median { () throws(GPUError) in
            try begin()
            self.copy(a, at: 0, to: b, at: 0, bytes: bytes)
            try submit()
        }
        let host = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { host.deallocate() }
        memset(host, 1, bytes)
        let upload = try median { () throws(GPUError) in try self.upload(host, bytes: bytes, to: b, at: 0) }
        // Matrices of 4096-wide rows, ~16 MiB of each type; one token (X) after them in b.
        let cols = 4096
        var rates: [TensorType: Double] = [:]
        for type in types {
            guard let kernel = Self.matmulKernel(type) else { continue }
            guard let rowBytes = type.rowBytes(cols) else { continue }
            let rows = (16 << 20) / rowBytes
            let seconds = try median { () throws(GPUError) in
                try begin()
                try dispatch(kernel, [a, b, b], [0, UInt32(rowBytes), UInt32(cols), UInt32(rows), 1, 0, UInt32(cols),
                                                 UInt32(cols), UInt32(rows), 65535],
                             groups: ((rows + 3) / 4, 1, 1))
                try submit()
            }
            rates[type] = Double(rows * rowBytes) / seconds
        }
        let rows = 1024
        let mm = try median { () throws(GPUError) in
            try begin()
            try dispatch(EDGE_VK_MATMUL_F32, [a, b, b], [0, UInt32(cols * 4), UInt32(cols), UInt32(rows), 8, 0, UInt32(cols),
                                                      UInt32(8 * cols), UInt32(rows), 65535],
                         groups: (rows / 4, 1, 1))
            try submit()
        }
        return GPUMeasurement(memoryBytesPerSecond: 2 * Double(bytes) / copySeconds, uploadBytesPerSecond: Double(bytes) / upload,
                              matvecBytesPerSecond: rates, matmulFlops: 2 * Double(rows * cols * 8) / mm)
    }
}
