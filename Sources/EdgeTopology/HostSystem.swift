/// The facts about a host that `edgert profile` reads rather than measures: files under `/proc`
/// and `/sys`, CPUID, libnuma, and which device holds a directory. ``LinuxHost`` answers from the
/// running system; tests answer with a fake host (a hybrid CPU, two NUMA nodes, an NVIDIA GPU).
///
/// Every method answers nil (or an empty list) for "not there", never throws: an absent file is a
/// fact about the host (no NVIDIA driver, no NUMA), not a failure.
public protocol HostSystem: Sendable {
    /// `uname -m`: `x86_64`, `aarch64`.
    var architecture: String { get }
    /// The contents of a text file (`/proc/meminfo`), or nil when it cannot be read.
    func readFile(_ path: String) -> String?
    /// The names in a directory (not sorted), or nil when it cannot be listed.
    func listDirectory(_ path: String) -> [String]?
    /// The path a symbolic link chain ends at, made absolute (`/sys/dev/block/254:0` ->
    /// `/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda`), or nil.
    func resolvePath(_ path: String) -> String?
    /// CPUID leaf/subleaf as (eax, ebx, ecx, edx); nil on a processor without CPUID.
    func cpuid(leaf: UInt32, subleaf: UInt32) -> CPUIDRegisters?
    /// XCR0, the register state the OS saves (0 when unknown).
    func enabledRegisterState() -> UInt64
    /// CPUID leaf 0x1A EAX[31:24] read on `cpu`: 0x40 performance, 0x20 efficiency; nil when
    /// the leaf is absent or the CPU cannot be reached.
    func coreType(cpu: Int) -> UInt8?
    /// CPU ids this process may run on (its affinity mask).
    func allowedCPUs() -> [Int]
    /// NUMA layout from libnuma; nil when libnuma reports NUMA unavailable.
    func numa() -> NUMAFacts?
    /// The device number (`st_dev`) of the file system holding `path`, or nil when it cannot be
    /// examined.
    func deviceNumber(ofPath path: String) -> (major: Int, minor: Int)?
}

/// One CPUID answer.
public struct CPUIDRegisters: Sendable, Equatable {
    public var eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32
    public init(eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        self.eax = eax; self.ebx = ebx; self.ecx = ecx; self.edx = edx
    }
    public func bit(_ register: KeyPath<CPUIDRegisters, UInt32>, _ n: Int) -> Bool { self[keyPath: register] >> n & 1 == 1 }
}

/// libnuma's view of the host: nodes with their CPUs (all of them, not only the allowed ones) and
/// memory, and the SLIT distances.
public struct NUMAFacts: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var id: Int
        public var cpus: [Int]
        public var memoryBytes: Int
        public init(id: Int, cpus: [Int], memoryBytes: Int) {
            self.id = id; self.cpus = cpus; self.memoryBytes = memoryBytes
        }
    }
    public var nodes: [Node]
    /// distances[i][j] between nodes[i] and nodes[j] (same order as `nodes`).
    public var distances: [[Int]]
    public init(nodes: [Node], distances: [[Int]]) {
        self.nodes = nodes; self.distances = distances
    }
}
