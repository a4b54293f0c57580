import CEdgeKernels
import CEdgeVulkan
import EdgeCore
import EdgeDevices

/// HeteGen's split, executed: every weight matrix's first rows on a Vulkan device and the rest on
/// the CPU, both computing each product at once. The GPU's rows of each matrix are uploaded once at
/// load; per product the activations go to the GPU, its share of the rows is submitted, the CPU
/// computes its own rows meanwhile, and the GPU's outputs join the CPU's before the next operation.
///
/// The cut is `fraction` of the rows, rounded to a multiple of 16 (so the CPU's rows keep the x16
/// layout's 16-row groups), at least 0 and at most all rows; a matrix whose cut is 0 runs on the CPU.
///
/// Invariant for `@unchecked Sendable`: used by one forward pass at a time, on its driver thread.
public final class GPUSplit: @unchecked Sendable {
    public let device: VulkanDevice
    /// Where each matrix's GPU rows live, by the matrix's file offset.
    struct Part {
        let rows: Int
        let buffer: GPUBuffer
        let kernel: edge_vk_kernel
    }
    private var parts: [Int: Part] = [:]
    /// Host-visible activations in (maxBatch × widest input) and out (maxBatch × most GPU rows).
    private let input: GPUBuffer
    private let output: GPUBuffer
    public let maxBatch: Int
    /// Weight bytes uploaded.
    public let weightBytes: Int
    /// Rows of all matrices on the GPU, and in all.
    public let rowsOnGPU: Int, rowsTotal: Int

    /// - Parameter fraction: the fraction of each matrix's rows to run on the GPU (0 for none).
    public init(weights: ModelWeights, fraction: (MatrixWeight) -> Double, device: VulkanDevice, maxBatch: Int) throws {
        self.device = device
        self.maxBatch = maxBatch
        let matrices = weights.layers.flatMap(\.matrices) + [weights.output]
        var widest = 1, most = 1, bytes = 0, onGPU = 0, total = 0
        for m in matrices {
            total += m.rows
            let f = fraction(m)
            guard f >= 0, f <= 1, f.isFinite else {
                throw RuntimeError.badParameter(name: "GPU split", reason: "\(f) of \(m.name)'s rows is not a fraction in [0, 1]")
            }
            let g = min(m.rows, Int((Double(m.rows) * f / 16).rounded()) * 16)
            guard g > 0 else { continue }
            guard let kernel = VulkanDevice.matmulKernel(m.type) else {
                throw RuntimeError.unsupportedOperation(device: device.name, operation: "matmul", type: m.type, at: m.name)
            }
            guard g * m.rowBytes + 16 <= device.bindableBytes, maxBatch * max(m.columns, g) * 4 <= device.bindableBytes else {
                throw RuntimeError.badParameter(name: "GPU split", reason: "\(m.name)'s \(g) rows exceed the largest buffer \(device.id) binds (\(device.bindableBytes) bytes)")
            }
            let b: GPUBuffer
            do {
                b = try device.buffer(bytes: g * m.rowBytes + 16, what: "\(m.name) rows 0..<\(g)")
                try device.upload(m.data, bytes: g * m.rowBytes, to: b, at: 0)
            } catch { throw RuntimeError.gpu(error) }
            parts[m.fileOffset] = Part(rows: g, buffer: b, kernel: kernel)
            widest = max(widest, m.columns)
            most = max(most, g)
            bytes += g * m.rowBytes
            onGPU += g
        }
        weightBytes = bytes
        rowsOnGPU = onGPU
        rowsTotal = total
        do {
            input = try device.buffer(bytes: maxBatch * widest * 4, hostVisible: true, what: "split input")
            output = try device.buffer(bytes: maxBatch * most * 4, hostVisible: true, what: "split output")
        } catch { throw RuntimeError.gpu(error) }
    }

    /// The GPU's rows of `W` (0 when it has none).
    func rows(of W: MatrixWeight) -> Int { parts[W.fileOffset]?.rows ?? 0 }

    /// Starts rows 0..<rows(of: W) of out (n, W.rows) = x (n, W.columns) Wᵀ on the GPU; the caller
    /// computes the other rows, then calls ``finish(_:n:out:)``.
    func start(_ W: MatrixWeight, x: UnsafePointer<Float>, n: Int) throws(GPUError) {
        guard let p = parts[W.fileOffset] else { return }
        precondition(n <= maxBatch)
        input.mapped!.copyMemory(from: x, byteCount: n * W.columns * 4)
        do {
            try device.begin()
            let groups = (p.rows + 3) / 4
            try device.dispatch(p.kernel, [p.buffer, input, output],
                                [0, UInt32(W.rowBytes), UInt32(W.columns), UInt32(p.rows), UInt32(n), 0, UInt32(W.columns), 0, UInt32(p.rows),
                                 UInt32(min(groups, 65535))],
                                groups: (min(groups, 65535), (groups + 65534) / 65535, (n + 7) / 8))
            try device.submitAsync()
        } catch {
            device.abandon()
            throw error
        }
    }

    /// Waits for the GPU's rows of the product ``start(_:x:n:)`` began and writes them into out
    /// (n rows of W.rows floats).
    func finish(_ W: MatrixWeight, n: Int, out: UnsafeMutablePointer<Float>) throws(GPUError) {
        guard let p = parts[W.fileOffset] else { return }
        try device.wait()
        let y = output.mapped!.assumingMemoryBound(to: Float.self)
        for t in 0..<n { (out + t * W.rows).update(from: y + t * p.rows, count: p.rows) }
    }
}
