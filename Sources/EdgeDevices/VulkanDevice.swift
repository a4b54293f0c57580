import CEdgeVulkan
import EdgeCore

/// A Vulkan device as `edgert devices` lists it.
public struct GPUInfo: Sendable, Equatable, Codable {
    /// Position in the Vulkan loader's order (`--gpu N`, `gpuN`).
    public var index: Int
    public var name: String
    /// discrete, integrated, virtual, cpu (a software device such as lavapipe) or other.
    public var kind: String
    public var vendorID: UInt32
    public var deviceID: UInt32
    /// Vulkan version the driver speaks ("1.3.230").
    public var apiVersion: String
    /// The largest device-local heap (bytes).
    public var memoryBytes: Int
    /// Device-local memory the host can map (integrated GPUs and CPU devices share the host's RAM).
    public var sharedWithHost: Bool
    /// Largest storage buffer one binding can address (bytes).
    public var maxBufferBytes: Int
    public var subgroupSize: Int

    init(index: Int, _ i: edge_vk_info) {
        self.index = index
        name = withUnsafeBytes(of: i.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        kind = switch i.type {
        case 1: "integrated"
        case 2: "discrete"
        case 3: "virtual"
        case 4: "cpu"
        default: "other"
        }
        vendorID = i.vendor_id
        deviceID = i.device_id
        apiVersion = "\(i.api_version >> 22 & 0x7f).\(i.api_version >> 12 & 0x3ff).\(i.api_version & 0xfff)"
        memoryBytes = Int(i.device_local_bytes)
        sharedWithHost = i.host_visible_device_local != 0
        maxBufferBytes = Int(i.max_storage_buffer_range)
        subgroupSize = Int(i.subgroup_size)
    }
}

/// Why the GPU device could not be found, opened or used.
public enum GPUError: Error, Equatable, Sendable, CustomStringConvertible {
    /// This build has no Vulkan support, or the host has no Vulkan loader or instance.
    case vulkanUnavailable(String)
    /// `--gpu N` (or a plan's `gpuN`) names a device this host lacks.
    case noSuchDevice(index: Int, available: Int)
    /// A Vulkan call failed; `what` says which step.
    case failed(what: String, reason: String)

    public var description: String {
        switch self {
        case let .vulkanUnavailable(why): "no GPU: \(why)"
        case let .noSuchDevice(i, n): n == 0 ? "no GPU \(i): this host has no Vulkan device"
            : "no GPU \(i): this host has \(n) Vulkan device\(n == 1 ? "" : "s") (gpu0\(n > 1 ? "...gpu\(n - 1)" : ""); `edgert devices` lists them)"
        case let .failed(what, reason): "GPU: \(what) failed: \(reason)"
        }
    }
}

/// The Vulkan devices of this host. Throws ``GPUError/vulkanUnavailable(_:)`` where there is no
/// loader (or the build has no Vulkan); a host with a loader and no device gives [].
public func vulkanDevices() throws(GPUError) -> [GPUInfo] {
    var err = [CChar](repeating: 0, count: 512)
    var infos = [edge_vk_info](repeating: edge_vk_info(), count: 32)
    let n = edge_vk_list(&infos, 32, &err, err.count)
    guard n >= 0 else { throw .vulkanUnavailable(cText(err)) }
    return (0..<min(Int(n), 32)).map { GPUInfo(index: $0, infos[$0]) }
}

/// One opened Vulkan device: its memory (buffers), its kernels (compute shaders built into
/// pipelines at first use) and one queue, fed with command buffers that the runner records per
/// layer and submits once per batch; the submitting thread sleeps on a fence until the GPU is done.
///
/// Invariant for `@unchecked Sendable`: the handle is used by one thread at a time — the forward
/// pass's driver thread, serialised by the owning session — as `edge_vk.h` requires.
public final class VulkanDevice: ComputeDevice, @unchecked Sendable {
    public typealias Context = VulkanDevice
    public let id: DeviceID
    public let info: GPUInfo
    let handle: OpaquePointer

    /// Opens GPU `index` (of ``vulkanDevices()``).
    public init(index: Int) throws(GPUError) {
        let all = try vulkanDevices()
        guard all.indices.contains(index) else { throw .noSuchDevice(index: index, available: all.count) }
        var err = [CChar](repeating: 0, count: 512)
        var h: OpaquePointer?
        guard edge_vk_open(Int32(index), &h, &err, err.count) == 0, let h else {
            throw .failed(what: "opening gpu\(index)", reason: cText(err))
        }
        handle = h
        id = .gpu(index)
        info = all[index]
    }

    deinit { edge_vk_close(handle) }

    public var name: String { "\(id): \(info.name) (Vulkan \(info.apiVersion), \(info.kind))" }
    public var memoryCapacityBytes: Int { info.memoryBytes }
    /// Device memory not yet allocated by this process (the driver's own figure is an extension
    /// not every device has).
    public func freeMemoryBytes() -> Int { max(0, info.memoryBytes - Int(edge_vk_allocated(handle))) }
    /// Bytes of device memory this process holds on the device.
    public var allocatedBytes: Int { Int(edge_vk_allocated(handle)) }
    /// The largest buffer a kernel can address: the device's storage-buffer range, and the shaders'
    /// 32-bit offsets.
    public var bindableBytes: Int { min(Int(UInt32.max), info.maxBufferBytes) }

    /// Matrix products of the types the shaders dequantize, and every other operation of the
    /// layer programs; embedding rows stay on the host (the first layer's input crosses once).
    public func supports(_ op: DeviceOperation, weightType: TensorType?) -> Bool {
        switch op {
        case .matmul: weightType.map { Self.matmulKernel($0) != nil } ?? false
        case .embeddingRows, .scale, .softcap: false
        case .rmsNorm, .rope, .attention, .swiglu, .geglu, .add: true
        }
    }

    /// Host-addressed buffers are not what a GPU holds: its buffers come from ``buffer(bytes:hostVisible:what:)``.
    public func allocate(bytes: Int, what: String) throws(DeviceError) -> AlignedBuffer {
        throw .notBuilt("host-addressed \(what) on \(id) (the GPU's memory is reached through its own buffers)")
    }

    public func run<T: Sendable>(_ body: @escaping @Sendable (VulkanDevice) throws -> T) async throws -> T { try body(self) }

    /// The matmul kernel of a weight type, nil where there is none.
    public static func matmulKernel(_ type: TensorType) -> edge_vk_kernel? {
        switch type {
        case .f32: EDGE_VK_MATMUL_F32
        case .f16: EDGE_VK_MATMUL_F16
        case .q4_0: EDGE_VK_MATMUL_Q4_0
        case .q4_1: EDGE_VK_MATMUL_Q4_1
        case .q5_0: EDGE_VK_MATMUL_Q5_0
        case .q5_1: EDGE_VK_MATMUL_Q5_1
        case .q8_0: EDGE_VK_MATMUL_Q8_0
        case .q4_K: EDGE_VK_MATMUL_Q4_K
        case .q5_K: EDGE_VK_MATMUL_Q5_K
        case .q6_K: EDGE_VK_MATMUL_Q6_K
        default: nil
        }
    }

    // MARK: buffers and recording (the runner's driver thread only)

    /// A buffer of the device: device-local, or host-visible (the activations' way in and out).
    public func buffer(bytes: Int, hostVisible: Bool = false, what: String) throws(GPUError) -> GPUBuffer {
        var err = [CChar](repeating: 0, count: 512)
        guard let b = edge_vk_buffer(handle, UInt64(max(bytes, 4)), hostVisible ? 1 : 0, what, &err, err.count) else {
            throw .failed(what: "allocating \(bytes) bytes for \(what) on \(id)", reason: cText(err))
        }
        return GPUBuffer(device: self, raw: b, bytes: bytes)
    }

    public func upload(_ src: UnsafeRawPointer, bytes: Int, to dst: GPUBuffer, at offset: Int) throws(GPUError) {
        var err = [CChar](repeating: 0, count: 512)
        guard edge_vk_upload(handle, dst.raw, UInt64(offset), src, UInt64(bytes), &err, err.count) == 0 else {
            throw .failed(what: "uploading \(bytes) bytes", reason: cText(err))
        }
    }

    public func zero(_ dst: GPUBuffer) throws(GPUError) {
        var err = [CChar](repeating: 0, count: 512)
        guard edge_vk_zero(handle, dst.raw, &err, err.count) == 0 else { throw .failed(what: "clearing a buffer", reason: cText(err)) }
    }

    public func begin() throws(GPUError) {
        var err = [CChar](repeating: 0, count: 512)
        guard edge_vk_begin(handle, &err, err.count) == 0 else { throw .failed(what: "recording", reason: cText(err)) }
    }

    /// Records `kernel` over a grid of (x, y, z) workgroups with buffers bound at 0... and the push
    /// words (at most 16), then a barrier so that the next dispatch sees its writes.
    public func dispatch(_ kernel: edge_vk_kernel, _ buffers: [GPUBuffer?], _ push: [UInt32], groups: (Int, Int, Int)) throws(GPUError) {
        precondition(buffers.count <= 4 && push.count <= Int(EDGE_VK_PUSH_WORDS))
        var words = push + [UInt32](repeating: 0, count: Int(EDGE_VK_PUSH_WORDS) - push.count)
        var raws: [OpaquePointer?] = buffers.map { $0?.raw } + [OpaquePointer?](repeating: nil, count: 4 - buffers.count)
        var err = [CChar](repeating: 0, count: 512)
        let rc = raws.withUnsafeMutableBufferPointer { b in
            edge_vk_dispatch(handle, kernel, b.baseAddress, &words, UInt32(groups.0), UInt32(groups.1), UInt32(groups.2), &err, err.count)
        }
        guard rc == 0 else { throw .failed(what: "dispatching \(String(cString: edge_vk_kernel_name(Int32(kernel.rawValue))))", reason: cText(err)) }
        edge_vk_barrier(handle)
    }

    public func copy(_ src: GPUBuffer, at srcOffset: Int, to dst: GPUBuffer, at dstOffset: Int, bytes: Int) {
        edge_vk_copy(handle, src.raw, UInt64(srcOffset), dst.raw, UInt64(dstOffset), UInt64(bytes))
        edge_vk_barrier(handle)
    }

    /// Submits what was recorded without waiting: the host computes while the GPU runs it;
    /// ``wait()`` then sleeps on the fence until it is done.
    public func submitAsync() throws(GPUError) {
        var err = [CChar](repeating: 0, count: 512)
        guard edge_vk_submit_async(handle, &err, err.count) == 0 else { throw .failed(what: "submitting a command buffer", reason: cText(err)) }
    }

    /// Drops a recording left unfinished by an error, so that the next ``begin()`` starts clean.
    public func abandon() { edge_vk_abandon(handle) }

    public func wait() throws(GPUError) {
        var err = [CChar](repeating: 0, count: 512)
        guard edge_vk_wait(handle, &err, err.count) == 0 else { throw .failed(what: "running a command buffer", reason: cText(err)) }
    }

    /// Submits what was recorded and waits (on a fence) until the GPU has run it.
    public func submit() throws(GPUError) {
        var err = [CChar](repeating: 0, count: 512)
        guard edge_vk_submit(handle, &err, err.count) == 0 else { throw .failed(what: "running a command buffer", reason: cText(err)) }
    }
}

/// A buffer in a ``VulkanDevice``'s memory, freed with the object.
///
/// Invariant for `@unchecked Sendable`: used only on the owning device's driver thread.
public final class GPUBuffer: @unchecked Sendable {
    let device: VulkanDevice
    let raw: OpaquePointer
    public let bytes: Int
    init(device: VulkanDevice, raw: OpaquePointer, bytes: Int) {
        self.device = device
        self.raw = raw
        self.bytes = bytes
    }
    deinit { edge_vk_buffer_free(device.handle, raw) }
    /// The host address of a mapped buffer (host-visible, or device memory the host can map).
    public var mapped: UnsafeMutableRawPointer? { edge_vk_buffer_map(raw) }
}

/// The NUL-terminated text a C call wrote into `buffer`.
private func cText(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
