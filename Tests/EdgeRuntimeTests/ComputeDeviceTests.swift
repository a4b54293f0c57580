import EdgeCore
import EdgeDevices
import EdgeRuntime
import Foundation
import XCTest

/// The device table: a CPU node answers what it runs, allocates in its own memory and runs a
/// batch (the Vulkan device: VulkanKernelTests, GPULayersTests); the engine asks a device about every
/// (operation, weight type) a model needs before placing anything on it.
final class ComputeDeviceTests: XCTestCase {
    func testACPUNodeAnswersTheTable() async throws {
        let node = try CPUNode(threads: 1)
        let device: any ComputeDevice = node
        XCTAssertEqual(device.id, .cpu(0))
        XCTAssertTrue(device.name.hasPrefix("cpu0: 1 thread"), device.name)
        XCTAssertGreaterThan(device.memoryCapacityBytes, 0)
        XCTAssertLessThanOrEqual(device.freeMemoryBytes(), device.memoryCapacityBytes)
        XCTAssertTrue(device.supports(.matmul, weightType: .q4_K))
        XCTAssertTrue(device.supports(.embeddingRows, weightType: .iq4_xs))
        XCTAssertFalse(device.supports(.matmul, weightType: .iq2_xs), "no IQ2_XS kernel")
        XCTAssertFalse(device.supports(.matmul, weightType: nil))
        XCTAssertTrue(device.supports(.geglu, weightType: nil))
        let buffer = try device.allocate(bytes: 1 << 16, what: "test buffer")
        XCTAssertEqual(buffer.byteCount, 1 << 16)
        buffer.base.storeBytes(of: 7, as: Int.self)
        let threads = try await node.run { pool in pool.threadCount }
        XCTAssertEqual(threads, 1)
    }

    /// Runs every operation but the ones it is told to refuse.
    private final class RefusingDevice: ComputeDevice {
        typealias Context = Void
        let refuse: @Sendable (DeviceOperation, TensorType?) -> Bool
        init(refuse: @escaping @Sendable (DeviceOperation, TensorType?) -> Bool) { self.refuse = refuse }
        var id: DeviceID { .cpu(7) }
        var name: String { "cpu7: test device" }
        var memoryCapacityBytes: Int { 1 << 30 }
        func freeMemoryBytes() -> Int { 1 << 30 }
        func supports(_ op: DeviceOperation, weightType: TensorType?) -> Bool { !refuse(op, weightType) }
        func allocate(bytes: Int, what: String) throws(DeviceError) -> AlignedBuffer { try AlignedBuffer(byteCount: bytes, what: what) }
        func run<T: Sendable>(_ body: @escaping @Sendable (Void) throws -> T) async throws -> T { try body(()) }
    }

    func testTheEngineAsksTheDeviceAboutEveryOperationAModelNeeds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-devices-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let gemmaPath = dir.appendingPathComponent("gemma3.gguf").path
        try TinyModelSpec.gemma3(.q8_0).write(to: gemmaPath)
        let gemma = try Model(path: gemmaPath)
        let ops = DeviceSupport.operations(of: gemma)
        XCTAssertEqual(Set(ops.map(\.op)), [.embeddingRows, .scale, .rmsNorm, .matmul, .rope, .attention, .geglu, .add])
        XCTAssertNoThrow(try DeviceSupport.check(gemma, on: RefusingDevice { _, _ in false }))
        XCTAssertThrowsError(try DeviceSupport.check(gemma, on: RefusingDevice { op, _ in op == .geglu })) { error in
            XCTAssertEqual(error as? RuntimeError,
                           .unsupportedOperation(device: "cpu7: test device", operation: "geglu", type: nil, at: "layer 0"))
        }
        XCTAssertThrowsError(try DeviceSupport.check(gemma, on: RefusingDevice { op, t in op == .matmul && t == .q8_0 })) { error in
            XCTAssertEqual(error as? RuntimeError,
                           .unsupportedOperation(device: "cpu7: test device", operation: "matmul", type: .q8_0, at: "blk.0.attn_q.weight"))
            XCTAssertTrue("\(error)".contains("does not run matmul on Q8_0 weights (needed by blk.0.attn_q.weight)"), "\(error)")
        }
    }
}
