import EdgeCore

/// The measurements `edgert profile` makes: timed runs on this host's cores, memory and disk.
/// ``MeasuringBenchmarks`` runs them; tests give fixed figures to check how a profile is assembled.
public protocol HostBenchmarks: Sendable {
    /// Main-memory read bandwidth in bytes per second of one thread pinned to each CPU of `cpus`,
    /// reading a `bytes` buffer they wrote themselves (so it lies on their node); fastest of `passes`.
    func memoryRead(cpus: [Int], bytes: Int, passes: Int) async throws(TopologyError) -> Double
    /// The same with the buffer placed on NUMA node `memoryNode`.
    func memoryRead(cpus: [Int], memoryNode: Int, bytes: Int, passes: Int) async throws(TopologyError) -> Double
    /// Weight bytes per second of one thread pinned on `cpu` running the 1-token matvec of `type`
    /// over a matrix that fits in its L2 cache, timed for about `seconds`.
    func matvec(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double
    /// Floating-point operations per second (2 per multiply-add) of the same thread and matrix
    /// multiplying a batch of ``KernelWorkload/batchTokens`` tokens.
    func matmul(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double
    /// Sequential and random direct-I/O reads of a temporary file in `directory`.
    func storage(directory: String, plan: StoragePlan) async throws(TopologyError) -> StorageMeasurement
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

    public init(fileBytes: Int, requestBytes: Int = 4 << 20, inFlight: Int = 8, passes: Int = 1,
                randomReads: Int = 1000, randomSeconds: Double = 1) {
        self.fileBytes = fileBytes
        self.requestBytes = requestBytes
        self.inFlight = inFlight
        self.passes = passes
        self.randomReads = randomReads
        self.randomSeconds = randomSeconds
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

    public init(fileBytes: Int, sequentialBytesPerSecond: Double, randomLatenciesUs: [Double], directIO: Bool) {
        self.fileBytes = fileBytes
        self.sequentialBytesPerSecond = sequentialBytesPerSecond
        self.randomLatenciesUs = randomLatenciesUs.sorted()
        self.directIO = directIO
    }

    /// Nearest-rank percentile of the random-read latencies (p in 0...100), nil with no reads.
    public func latencyPercentile(_ p: Double) -> Double? {
        guard !randomLatenciesUs.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(randomLatenciesUs.count)).rounded(.up))
        return randomLatenciesUs[min(max(rank, 1), randomLatenciesUs.count) - 1]
    }
}
