import CEdgeKernels
import CEdgeVulkan
import EdgeCore
import EdgeDevices

/// The first `count` layers of a model on a Vulkan device (the planner's `gpu-layers` family): their
/// weights uploaded once at load into device memory, their K and V in device buffers per sequence,
/// and per batch one command buffer that runs every op of those layers' programs. The residual
/// stream crosses once each way per batch: in after the embedding, out before the first CPU layer.
///
/// Arithmetic: weights dequantized to F32 in the shaders and multiplied with F32 activations (the
/// CPU's `--f32-activations` path is the reference), K and V in F16 as on the CPU.
///
/// Invariant for `@unchecked Sendable`: used by one forward pass at a time, on its driver thread.
public final class GPULayers: @unchecked Sendable {
    public let device: VulkanDevice
    /// Layers 0..<count run on the device.
    public let count: Int
    public let maxBatch: Int
    let config: ModelConfig
    let programs: [LayerProgram]
    /// Per layer: its weights in one buffer, the byte offset of each matrix (program order) and
    /// the float offset of each vector.
    private let layerBuffers: [GPUBuffer]
    private let matrixOffsets: [[Int]]
    private let matrices: [[MatrixWeight]]
    private let vectorOffsets: [[WeightRole: Int]]
    /// Every activation slot, (maxBatch, width) floats each, at ``slotOffset``.
    private let act: GPUBuffer
    private let slotOffset: [Int]
    /// Host-visible: the residual rows in and out, and the positions.
    private let io: GPUBuffer
    private let positions: GPUBuffer
    private let ropeFactors: GPUBuffer?
    /// Rows of each layer's K and V (as the CPU cache: a window layer keeps window + batch - 1).
    private let cacheRows: [Int]
    /// Bytes of weights uploaded.
    public let weightBytes: Int

    /// A sequence's K and V for the device's layers, kept beside its CPU ``KVCache``.
    final class Cache: @unchecked Sendable {
        // Invariant: used on the owning pass's driver thread only (as the KVCache it hangs on).
        let keys: [GPUBuffer], values: [GPUBuffer]
        init(keys: [GPUBuffer], values: [GPUBuffer]) { self.keys = keys; self.values = values }
    }

    /// Uploads layers 0..<count of `weights` (count clamped to the model's layers).
    public init(weights: ModelWeights, count: Int, device: VulkanDevice, maxBatch: Int, cacheRows: [Int],
                ropeFactors: [Float]?, progress: ((Int, Int) -> Void)? = nil) throws {
        let c = weights.config
        let k = max(0, min(count, weights.layers.count))
        self.device = device
        self.count = k
        self.maxBatch = maxBatch
        config = c
        programs = weights.layers.prefix(k).map(\.program)
        self.cacheRows = Array(cacheRows.prefix(k))
        matrices = weights.layers.prefix(k).map(\.matrices)
        func gpu<T>(_ body: () throws(GPUError) -> T) throws(RuntimeError) -> T {
            do { return try body() } catch { throw .gpu(error) }
        }
        for (li, l) in weights.layers.prefix(k).enumerated() {
            for m in l.matrices where VulkanDevice.matmulKernel(m.type) == nil {
                throw RuntimeError.unsupportedOperation(device: device.name, operation: "matmul", type: m.type, at: "layer \(li), \(m.name)")
            }
            if c.headDim > 512 || c.headDim % 2 != 0 {
                throw RuntimeError.badParameter(name: "GPU layers", reason: "head size \(c.headDim): the GPU's attention takes even sizes up to 512")
            }
        }
        var buffers: [GPUBuffer] = [], mOffsets: [[Int]] = [], vOffsets: [[WeightRole: Int]] = []
        var total = 0
        for (li, l) in weights.layers.prefix(k).enumerated() {
            // Matrices first (16-byte aligned), then the F32 vectors.
            var at = 0, mo: [Int] = [], vo: [WeightRole: Int] = [:]
            for m in l.matrices { mo.append(at); at += (m.byteCount + 15) & ~15 }
            let roles = l.vectors.keys.sorted { $0.rawValue < $1.rawValue }
            for r in roles { vo[r] = at / 4; at += (l.vectors[r]!.count * 4 + 15) & ~15 }
            // The shaders address a buffer with 32-bit offsets, within the device's largest binding.
            let limit = device.bindableBytes
            guard at + 16 <= limit else {
                throw RuntimeError.badParameter(name: "GPU layers", reason: "layer \(li)'s weights (\(at) bytes) exceed the largest buffer \(device.id) binds (\(limit) bytes)")
            }
            // 16 bytes of slack: the shaders' unaligned word reads may touch the word after a row.
            let b = try gpu { () throws(GPUError) in try device.buffer(bytes: at + 16, what: "layer \(li) weights") }
            for (m, o) in zip(l.matrices, mo) {
                try gpu { () throws(GPUError) in try device.upload(m.data, bytes: m.byteCount, to: b, at: o) }
            }
            for r in roles {
                try l.vectors[r]!.withUnsafeBytes { v in
                    try gpu { () throws(GPUError) in try device.upload(v.baseAddress!, bytes: v.count, to: b, at: vo[r]! * 4) }
                }
            }
            buffers.append(b)
            mOffsets.append(mo)
            vOffsets.append(vo)
            total += at
            progress?(li + 1, k)
        }
        layerBuffers = buffers
        matrixOffsets = mOffsets
        vectorOffsets = vOffsets
        weightBytes = total
        var offsets: [Int] = [], floats = 0
        for slot in ActivationSlot.allCases {
            offsets.append(floats)
            floats += maxBatch * slot.width(c)
        }
        slotOffset = offsets
        guard floats * 4 <= device.bindableBytes else {
            throw RuntimeError.badParameter(name: "GPU layers", reason: "the activations of a \(maxBatch)-token batch (\(floats * 4) bytes) exceed the largest buffer \(device.id) binds; use a smaller batch")
        }
        act = try gpu { () throws(GPUError) in try device.buffer(bytes: floats * 4, what: "activations") }
        io = try gpu { () throws(GPUError) in try device.buffer(bytes: maxBatch * c.embeddingLength * 4, hostVisible: true, what: "residual in/out") }
        positions = try gpu { () throws(GPUError) in try device.buffer(bytes: maxBatch * 4, hostVisible: true, what: "positions") }
        if let rf = ropeFactors {
            let b = try gpu { () throws(GPUError) in try device.buffer(bytes: rf.count * 4, what: "rope factors") }
            try rf.withUnsafeBytes { v in
                try gpu { () throws(GPUError) in try device.upload(v.baseAddress!, bytes: v.count, to: b, at: 0) }
            }
            self.ropeFactors = b
        } else {
            self.ropeFactors = nil
        }
    }

    /// The device's K and V for `kv`'s sequence, made at its first use.
    private func cache(for kv: KVCache) throws(GPUError) -> Cache {
        if let c = kv.deviceCopy as? Cache { return c }
        var keys: [GPUBuffer] = [], values: [GPUBuffer] = []
        for (li, rows) in cacheRows.enumerated() {
            keys.append(try device.buffer(bytes: rows * config.kvDim * 2, what: "layer \(li) keys"))
            values.append(try device.buffer(bytes: rows * config.kvDim * 2, what: "layer \(li) values"))
        }
        let c = Cache(keys: keys, values: values)
        kv.deviceCopy = c
        return c
    }

    /// Runs the device's layers over x (n, d_model) in place: tokens at `positions` (n), rows
    /// `segments[i].rows` of the batch against `segments[i].cache`.
    public func run(x: UnsafeMutablePointer<Float>, n: Int, positions pos: UnsafePointer<Int32>,
                    segments: [(rows: Range<Int>, cache: KVCache)]) throws(RuntimeError) {
        guard count > 0 else { return }
        precondition(n <= maxBatch)
        do {
            try record(x: x, n: n, positions: pos, segments: segments)
        } catch {
            device.abandon()
            throw .gpu(error)
        }
    }

    private func record(x: UnsafeMutablePointer<Float>, n: Int, positions pos: UnsafePointer<Int32>,
                        segments: [(rows: Range<Int>, cache: KVCache)]) throws(GPUError) {
        let c = config, d = c.embeddingLength
        let caches = try segments.map { s throws(GPUError) in try cache(for: s.cache) }
        io.mapped!.copyMemory(from: x, byteCount: n * d * 4)
        positions.mapped!.copyMemory(from: pos, byteCount: n * 4)
        try device.begin()
        func slot(_ s: ActivationSlot) -> UInt32 { UInt32(slotOffset[s.rawValue]) }
        func width(_ s: ActivationSlot) -> Int { s.width(c) }
        // A grid of `count` invocations in workgroups of 64, wrapped into y past 65535 groups.
        func linear(_ count: Int) -> (Int, Int, Int) {
            let groups = max(1, (count + 63) / 64)
            return (min(groups, 65535), (groups + 65534) / 65535, 1)
        }
        // One workgroup per row, wrapped into y past 32768.
        func perRow(_ rows: Int) -> (x: Int, y: Int, line: UInt32) { (min(rows, 32768), (rows + 32767) / 32768, 32768) }
        device.copy(io, at: 0, to: act, at: Int(slot(.residual)) * 4, bytes: n * d * 4)
        for li in 0..<count {
            let program = programs[li], shape = program.attention
            let weights = layerBuffers[li]
            var mi = 0
            for op in program.ops {
                switch op {
                case let .rmsNorm(role, input, output):
                    let g = perRow(n)
                    try device.dispatch(EDGE_VK_RMSNORM, [act, weights],
                                        [slot(input), UInt32(vectorOffsets[li][role]!), slot(output), UInt32(d), c.rmsEpsilon.bitPattern,
                                         UInt32(n), g.line], groups: (g.x, g.y, 1))
                case let .matmul(_, input, output):
                    let m = matrices[li][mi]
                    let g = perRow((m.rows + 3) / 4)   // 4 rows per workgroup
                    try device.dispatch(VulkanDevice.matmulKernel(m.type)!, [weights, act, act],
                                        [UInt32(matrixOffsets[li][mi]), UInt32(m.rowBytes), UInt32(m.columns), UInt32(m.rows), UInt32(n),
                                         slot(input), UInt32(m.columns), slot(output), UInt32(m.rows), g.line],
                                        groups: (g.x, g.y, (n + 7) / 8))
                    mi += 1
                case let .bias(role, s):
                    guard let off = vectorOffsets[li][role] else { continue }
                    try device.dispatch(EDGE_VK_BIAS, [act, weights], [slot(s), UInt32(off), UInt32(width(s)), UInt32(n)],
                                        groups: linear(n * width(s)))
                case let .headNorm(role, s):
                    let heads = s == .query ? c.headCount : c.headCountKV
                    let g = perRow(n * heads)
                    try device.dispatch(EDGE_VK_RMSNORM, [act, weights],
                                        [slot(s), UInt32(vectorOffsets[li][role]!), slot(s), UInt32(c.headDim), c.rmsEpsilon.bitPattern,
                                         UInt32(n * heads), g.line], groups: (g.x, g.y, 1))
                case let .rope(s):
                    let heads = s == .query ? c.headCount : c.headCountKV
                    try device.dispatch(EDGE_VK_ROPE, [act, positions, ropeFactors],
                                        [slot(s), UInt32(n), UInt32(heads), UInt32(c.headDim), UInt32(c.ropeDimensions),
                                         shape.ropeBase.bitPattern, shape.ropeFrequencyScale.bitPattern, c.ropeStyle == .neox ? 1 : 0,
                                         ropeFactors == nil ? 0 : 1, 0],
                                        groups: linear(n * heads * c.ropeDimensions / 2))
                case .attention:
                    let scale = shape.softcap.map { shape.scale / $0 } ?? shape.scale
                    for (s, cache) in zip(segments, caches) {
                        let r0 = UInt32(s.rows.lowerBound), m = s.rows.count
                        try device.dispatch(EDGE_VK_STORE_KV, [act, cache.keys[li], cache.values[li], positions],
                                            [slot(.key) + r0 * UInt32(c.kvDim), slot(.value) + r0 * UInt32(c.kvDim), UInt32(c.kvDim),
                                             UInt32(m), UInt32(cacheRows[li]), r0],
                                            groups: linear(m * c.kvDim / 2))
                        try device.dispatch(EDGE_VK_ATTENTION, [act, cache.keys[li], cache.values[li], positions],
                                            [slot(.query) + r0 * UInt32(c.qDim), slot(.attention) + r0 * UInt32(c.qDim), r0,
                                             UInt32(c.headCount), UInt32(c.headCountKV), UInt32(c.headDim), scale.bitPattern,
                                             UInt32(cacheRows[li]), UInt32(shape.window ?? 0), (shape.softcap ?? 0).bitPattern, UInt32(m),
                                             ForwardPass.attentionInF32(rows: m) ? 1 : 0],
                                            groups: (c.headCount, m, 1))
                    }
                case let .glu(kind):
                    let count = n * c.feedForwardLength
                    try device.dispatch(EDGE_VK_GLU, [act], [slot(.gate), slot(.up), UInt32(count), kind == .swiglu ? 0 : 1],
                                        groups: linear(count))
                case let .add(input, into):
                    try device.dispatch(EDGE_VK_ADD, [act], [slot(into), slot(input), UInt32(n * d)], groups: linear(n * d))
                }
            }
        }
        device.copy(act, at: Int(slot(.residual)) * 4, to: io, at: 0, bytes: n * d * 4)
        try device.submit()
        x.update(from: io.mapped!.assumingMemoryBound(to: Float.self), count: n * d)
    }
}
