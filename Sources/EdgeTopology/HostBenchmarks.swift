import EdgeCore

/// The measurements `edgert profile` makes: timed runs on this host's cores, memory and disk.
/// ``MeasuringBenchmarks`` runs them; tests give fixed figures to check how a profile is assembled.
public protocol HostBenchmarks: Sendable {
    /// Main-memory read bandwidth in bytes per second of one thread pinned to each CPU of `cpus`,
    /// reading a `bytes` buffer they wrote themselves (so it lies on their node); fastest of `passes`.
    func memoryRead(cpus: [Int], bytes: Int, passes: Int) async throws(TopologyError) -> Double
    /// The same with the buffer placed on NUMA node `memoryNode`.
    func memoryRead(cpus: [Int], memoryNode: Int, bytes: Int, passes: Int) async throws(TopologyError) -> Double
    /// Read bandwidth in bytes per second of a working set of `bytes` split over one thread pinned
    /// to each CPU of `cpus`, each reading its slice again and again: median of `passes` passes.
    func workingSetRead(cpus: [Int], bytes: Int, passes: Int) async throws(TopologyError) -> Double
    /// Weight bytes per second of one thread pinned on `cpu` running the 1-token matvec of each of
    /// `types` over `bytes` of weights (far more than the last-level cache holds, so they stream
    /// from main memory): median of `passes` passes over them; for a type whose kernel takes a
    /// ``MemoryAccess``, once per candidate mode, the fastest counting.
    func matvecFromMemory(types: [TensorType], cpu: Int, bytes: Int, passes: Int) async throws(TopologyError) -> [TensorType: KernelFromMemory]
    /// Weight bytes per second of one thread pinned on `cpu` running the 1-token matvec of `type`
    /// over a matrix that fits in its L2 cache, timed for about `seconds`.
    func matvec(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double
    /// The same with rows of ``KernelWorkload/narrowRowElements`` (256) elements and as many more
    /// rows: what the kernel's fixed cost per row adds.
    func matvecNarrowRows(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double
    /// The prompt matmul with rows of ``KernelWorkload/narrowRowElements`` elements, FLOP/s.
    func matmulNarrowRows(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double
    /// Floating-point operations per second (2 per multiply-add) of the same thread and matrix
    /// multiplying a batch of ``KernelWorkload/batchTokens`` tokens.
    func matmul(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double
    /// Sequential and random direct-I/O reads of a temporary file in `directory`.
    func storage(directory: String, plan: StoragePlan) async throws(TopologyError) -> StorageMeasurement
    /// The host's Vulkan devices, each measured (``VulkanDevice/measure(passes:types:)``), with
    /// notes; nil where this benchmark set does not list GPUs through Vulkan (the profile then
    /// lists them from the drivers' files, ``GPUInventory``).
    func vulkanGPUs(types: [TensorType], passes: Int) async -> (gpus: [HostProfile.GPU], notes: [String])?
}

extension HostBenchmarks {
    public func vulkanGPUs(types: [TensorType], passes: Int) async -> (gpus: [HostProfile.GPU], notes: [String])? { nil }
}

/// One kernel's matvec with its weights streaming from main memory.
public struct KernelFromMemory: Sendable, Equatable {
    /// Weight bytes per second in the fastest mode.
    public var bytesPerSecond: Double
    /// That mode, for a type whose kernel takes one; nil otherwise.
    public var access: MemoryAccess?
    /// Every mode tried and its rate (empty when the kernel takes none).
    public var rates: [MemoryAccess: Double]

    public init(bytesPerSecond: Double, access: MemoryAccess? = nil, rates: [MemoryAccess: Double] = [:]) {
        self.bytesPerSecond = bytesPerSecond
        self.access = access
        self.rates = rates
    }
}

/// How large and how long the storage probe is.
public struct StoragePlan: Sendable, Equatable {
    /// Size of the temporary file (rounded down to whole requests; reduced to a quarter of the free space).
    public var fileBytes: Int
    /// Bytes per sequential read request, and how many requests are in flight at once.
    public var requestBytes: Int
    public var inFlight: Int
    /// Sequential passes over the file; the fastest counts.
    public var passes: Int
    /// Most 4 KiB random reads, and the most seconds spent on them.
    public var randomReads: Int
    public var randomSeconds: Double
    /// The read curve: every request size of `curveRequests` at every queue depth of
    /// `curveDepths`, each read `curvePasses` times over `curveBytes` of the file (a different
    /// part each pass, where the file has room); the median pass counts.
    public var curveRequests: [Int]
    public var curveDepths: [Int]
    public var curvePasses: Int
    public var curveBytes: Int

    /// Request sizes the streaming window's reads come in (a block cut into four pieces of
    /// 256 KiB to 8 MiB; see `DiskTier.submit`), and a larger one.
    public static let windowRequestSizes = [256 << 10, 1 << 20, 4 << 20, 16 << 20]
    /// Queue depths: one read at a time, and the window's four and eight pieces in flight.
    public static let windowDepths = [1, 4, 8]

    public init(fileBytes: Int, requestBytes: Int = 4 << 20, inFlight: Int = 8, passes: Int = 1,
                randomReads: Int = 1000, randomSeconds: Double = 1,
                curveRequests: [Int] = StoragePlan.windowRequestSizes, curveDepths: [Int] = StoragePlan.windowDepths,
                curvePasses: Int = 3, curveBytes: Int = 128 << 20) {
        self.fileBytes = fileBytes
        self.requestBytes = requestBytes
        self.inFlight = inFlight
        self.passes = passes
        self.randomReads = randomReads
        self.randomSeconds = randomSeconds
        self.curveRequests = curveRequests
        self.curveDepths = curveDepths
        self.curvePasses = curvePasses
        self.curveBytes = curveBytes
    }
}

/// One point of the storage probe's read curve.
public struct StorageCurvePoint: Sendable, Equatable {
    public var requestBytes: Int
    public var inFlight: Int
    /// Median pass, bytes per second.
    public var bytesPerSecond: Double
    /// Every pass, bytes per second, in the order read.
    public var passes: [Double]

    public init(requestBytes: Int, inFlight: Int, bytesPerSecond: Double, passes: [Double]) {
        self.requestBytes = requestBytes
        self.inFlight = inFlight
        self.bytesPerSecond = bytesPerSecond
        self.passes = passes
    }
}

/// What the storage probe saw.
public struct StorageMeasurement: Sendable, Equatable {
    /// Bytes the file held (it is removed before the probe returns).
    public var fileBytes: Int
    /// Fastest sequential pass, bytes per second.
    public var sequentialBytesPerSecond: Double
    /// Latency of each random 4 KiB read, microseconds, sorted ascending.
    public var randomLatenciesUs: [Double]
    /// True when reads bypassed the page cache (O_DIRECT); false when the file system refused
    /// O_DIRECT and the probe read through the cache after dropping the file's pages.
    public var directIO: Bool
    /// Sequential reads at the window's request sizes and queue depths.
    public var curve: [StorageCurvePoint]

    public init(fileBytes: Int, sequentialBytesPerSecond: Double, randomLatenciesUs: [Double], directIO: Bool,
                curve: [StorageCurvePoint] = []) {
        self.fileBytes = fileBytes
        self.sequentialBytesPerSecond = sequentialBytesPerSecond
        self.randomLatenciesUs = randomLatenciesUs.sorted()
        self.directIO = directIO
        self.curve = curve
    }

    /// Nearest-rank percentile of the random-read latencies (p in 0...100), nil with no reads.
    public func latencyPercentile(_ p: Double) -> Double? {
        guard !randomLatenciesUs.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(randomLatenciesUs.count)).rounded(.up))
        return randomLatenciesUs[min(max(rank, 1), randomLatenciesUs.count) - 1]
    }
}
