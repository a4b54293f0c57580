import EdgeCore

/// What a device may be asked to run: the operations of the layer programs, at the granularity a
/// device implements them (a matrix product of one weight type, a norm, attention, ...).
public enum DeviceOperation: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Weight matrix (of a tensor type) times activations.
    case matmul
    /// Rows of an embedding table (of a tensor type) into F32.
    case embeddingRows
    case rmsNorm, rope, attention, swiglu, geglu, add, scale, softcap

    public var description: String { rawValue }
}

/// A device of the host, as the engine and the planner ask about it — in the spirit of ggml's
/// backend device table (`get_memory`, `supports_op`, buffers from the device): its name, its
/// memory, which operations it runs on which weight types, memory allocated from its own pool,
/// and a way to run a batch of operations on the threads (or queues) it owns. Callers ask; they
/// never switch on a device's concrete type.
public protocol ComputeDevice: AnyObject, Sendable {
    /// What the device computes with while it runs a batch (a CPU node: its worker pool).
    associatedtype Context

    var id: DeviceID { get }
    /// A readable name (`cpu0: 2 threads on CPUs 0-1`).
    var name: String { get }
    /// Memory the device can hold buffers in, and what of it is free now (bytes).
    var memoryCapacityBytes: Int { get }
    func freeMemoryBytes() -> Int
    /// Whether the device runs `op`; `weightType` is the weight's type for matmul and
    /// embeddingRows (nil for the others, whose operands are F32 activations).
    func supports(_ op: DeviceOperation, weightType: TensorType?) -> Bool
    /// A buffer in the device's own memory (for a CPU node, pages bound to its NUMA node).
    func allocate(bytes: Int, what: String) throws(DeviceError) -> AlignedBuffer
    /// Runs a batch of operations (`body`, a layer or a whole forward pass) on the device's own
    /// threads, and returns its result. One coordination per batch, none per operation.
    func run<T: Sendable>(_ body: @escaping @Sendable (Context) throws -> T) async throws -> T
}
