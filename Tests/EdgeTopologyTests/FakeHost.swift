import EdgeCore
import EdgeTopology
import Foundation

/// A host described by tables: files, directories, links, CPUID answers, libnuma's layout.
struct FakeHost: HostSystem {
    var architecture = "x86_64"
    var files: [String: String] = [:]
    var directories: [String: [String]] = [:]
    var links: [String: String] = [:]
    var cpuidTable: [String: CPUIDRegisters] = [:]
    var xcr0: UInt64 = 0xE7   // x87, SSE, AVX, AVX-512 state
    var coreTypes: [Int: UInt8] = [:]
    var cpus: [Int] = [0, 1]
    var numaFacts: NUMAFacts?
    var devices: [String: (major: Int, minor: Int)] = [:]

    func readFile(_ path: String) -> String? { files[path] }
    func listDirectory(_ path: String) -> [String]? { directories[path] }
    func resolvePath(_ path: String) -> String? { links[path] ?? (files[path] != nil || directories[path] != nil ? path : nil) }
    func cpuid(leaf: UInt32, subleaf: UInt32) -> CPUIDRegisters? {
        guard architecture == "x86_64" else { return nil }
        return cpuidTable["\(leaf):\(subleaf)"] ?? CPUIDRegisters(eax: 0, ebx: 0, ecx: 0, edx: 0)
    }
    func enabledRegisterState() -> UInt64 { xcr0 }
    func coreType(cpu: Int) -> UInt8? { coreTypes[cpu] }
    func allowedCPUs() -> [Int] { cpus }
    func numa() -> NUMAFacts? { numaFacts }
    func deviceNumber(ofPath path: String) -> (major: Int, minor: Int)? { devices[path] }

    mutating func setCPUID(_ leaf: UInt32, _ subleaf: UInt32 = 0, eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0) {
        cpuidTable["\(leaf):\(subleaf)"] = CPUIDRegisters(eax: eax, ebx: ebx, ecx: ecx, edx: edx)
    }

    /// CPUID's brand leaves 0x80000002-4 spelling `brand`.
    mutating func setBrand(_ brand: String) {
        var bytes = Array(brand.utf8.prefix(47))
        bytes += [UInt8](repeating: 0, count: 48 - bytes.count)
        setCPUID(0x8000_0000, eax: 0x8000_0008)
        for i in 0..<3 {
            let w = (0..<4).map { k in (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[16 * i + 4 * k + $1]) << (8 * $1) } }
            setCPUID(0x8000_0002 + UInt32(i), eax: w[0], ebx: w[1], ecx: w[2], edx: w[3])
        }
    }

    static let meminfo = "MemTotal:       32768000 kB\nMemFree:        1000000 kB\nMemAvailable:   30000000 kB\n"

    /// An Intel hybrid laptop: CPUs 0-3 performance, 4-7 efficiency, 8-9 low-power efficiency
    /// (Atom cores without an L3), AVX2 and AVX-VNNI but no AVX-512 state, one NVMe disk holding
    /// /models on partition nvme0n1p2.
    static func hybridLaptop() -> FakeHost {
        var h = FakeHost()
        h.cpus = Array(0..<10)
        h.xcr0 = 0x7
        h.setCPUID(0, eax: 0x23)
        h.setCPUID(1, ecx: 1 << 27)
        h.setCPUID(7, 0, eax: 1, ebx: 1 << 5 | 1 << 16, edx: 1 << 15)  // AVX2, (AVX512F bit with no OS state), hybrid
        h.setCPUID(7, 1, eax: 1 << 4)
        h.setBrand("Intel(R) Core(TM) Ultra 7 155H")
        for cpu in 0..<10 {
            h.coreTypes[cpu] = cpu < 4 ? 0x40 : 0x20
            let root = "/sys/devices/system/cpu/cpu\(cpu)/cache"
            let levels = cpu < 8 ? [1, 1, 2, 3] : [1, 1, 2]
            h.directories[root] = levels.indices.map { "index\($0)" }
            for (i, l) in levels.enumerated() { h.files["\(root)/index\(i)/level"] = "\(l)\n" }
        }
        h.files["/proc/meminfo"] = meminfo
        h.numaFacts = NUMAFacts(nodes: [.init(id: 0, cpus: Array(0..<10), memoryBytes: 32768000 * 1024)], distances: [[10]])
        h.devices["/models"] = (259, 2)
        h.links["/sys/dev/block/259:2"] = "/sys/devices/pci0000:00/0000:00:06.0/nvme/nvme0/nvme0n1/nvme0n1p2"
        h.files["/sys/devices/pci0000:00/0000:00:06.0/nvme/nvme0/nvme0n1/nvme0n1p2/partition"] = "2\n"
        return h
    }

    /// A two-socket server: node 0 CPUs 0-3, node 1 CPUs 4-7, 16 GiB each, SLIT 10/21; an NVIDIA
    /// GPU on a PCIe 4.0 x16 link; AVX-512 with VNNI and BF16, AMX; not hybrid.
    static func twoNodeServerWithGPU() -> FakeHost {
        var h = FakeHost()
        h.cpus = Array(0..<8)
        h.xcr0 = 0x600E7
        h.setCPUID(0, eax: 0x20)
        h.setCPUID(1, ecx: 1 << 27 | 1 << 31)
        h.setCPUID(7, 0, eax: 1, ebx: 1 << 5 | 1 << 16, ecx: 1 << 11, edx: 1 << 25)
        h.setCPUID(7, 1, eax: 1 << 5)
        h.setCPUID(0x4000_0000, ebx: 0x4B4D_564B, ecx: 0x564B_4D56, edx: 0x4D)  // "KVMKVMKVM"
        h.setBrand("Intel(R) Xeon(R) Platinum 8480+")
        h.files["/proc/meminfo"] = "MemTotal:       33554432 kB\nMemAvailable:   30000000 kB\n"
        h.numaFacts = NUMAFacts(nodes: [.init(id: 0, cpus: [0, 1, 2, 3], memoryBytes: 16 << 30),
                                        .init(id: 1, cpus: [4, 5, 6, 7], memoryBytes: 16 << 30)],
                                distances: [[10, 21], [21, 10]])
        h.directories["/proc/driver/nvidia/gpus"] = ["0000:17:00.0"]
        h.files["/proc/driver/nvidia/gpus/0000:17:00.0/information"] = """
            Model: \t\t NVIDIA GeForce RTX 4060
            IRQ:   \t\t 160
            GPU UUID: \t GPU-00000000-0000-0000-0000-000000000000
            Bus Type: \t PCIe
            Bus Location: \t 0000:17:00.0
            Device Minor: \t 0
            """
        h.files["/sys/bus/pci/devices/0000:17:00.0/current_link_speed"] = "16.0 GT/s PCIe\n"
        h.files["/sys/bus/pci/devices/0000:17:00.0/current_link_width"] = "16\n"
        return h
    }
}

/// Figures chosen by the test: each CPU's matvec rate, memory rates by thread count.
struct FakeBenchmarks: HostBenchmarks {
    /// Q4_K matvec bytes/s of each CPU (other types scale it).
    var cpuSpeed: [Int: Double]
    /// A CPU listed here reads slow the first `n` times it is timed, then at its speed.
    var slowAtFirst: [Int: Int] = [:]
    var calls = CallLog()
    var storageResult = StorageMeasurement(fileBytes: 256 << 20, sequentialBytesPerSecond: 3.2e9,
                                           randomLatenciesUs: (1...100).map(Double.init), directIO: true)

    func memoryRead(cpus: [Int], bytes: Int, passes: Int) async throws(TopologyError) -> Double {
        calls.add("memory \(cpus)")
        return 10e9 * Double(cpus.count).squareRoot()
    }
    func memoryRead(cpus: [Int], memoryNode: Int, bytes: Int, passes: Int) async throws(TopologyError) -> Double {
        calls.add("cross \(cpus) node \(memoryNode)")
        return 7e9
    }
    /// A two-level hierarchy: 100 GB/s per thread up to 1 MiB per thread, 40 GB/s in all up to
    /// 32 MiB, then main memory (the memoryRead figures).
    func workingSetRead(cpus: [Int], bytes: Int, passes: Int) async throws(TopologyError) -> Double {
        calls.add("working set \(cpus) \(bytes)")
        if bytes / cpus.count <= 1 << 20 { return 100e9 * Double(cpus.count) }
        if bytes <= 32 << 20 { return 40e9 }
        return 10e9 * Double(cpus.count).squareRoot()
    }
    /// Q6_K reads fastest touching each record first, Q4_K with the hardware alone; the other
    /// types take no mode.
    func matvecFromMemory(types: [TensorType], cpu: Int, bytes: Int, passes: Int) async throws(TopologyError) -> [TensorType: KernelFromMemory] {
        calls.add("matvec from memory \(types) \(cpu)")
        var r: [TensorType: KernelFromMemory] = [:]
        for t in types {
            let rate = min((cpuSpeed[cpu] ?? 1e9) * (t == .q8_0 ? 2 : 1), 8e9)
            switch t {
            case .q6_K: r[t] = KernelFromMemory(bytesPerSecond: rate, access: .touch,
                                                rates: [.hardware: rate / 2, .prefetch(bytes: 8192): rate / 2, .touch: rate])
            case .q4_K: r[t] = KernelFromMemory(bytesPerSecond: rate, access: .hardware,
                                                rates: [.hardware: rate, .prefetch(bytes: 8192): rate * 0.7, .touch: rate * 0.9])
            default: r[t] = KernelFromMemory(bytesPerSecond: rate)
            }
        }
        return r
    }
    func matvec(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double {
        let n = calls.add("matvec \(type) \(cpu)")
        let base = cpuSpeed[cpu] ?? 1e9
        if type == ProbeOptions.referenceKernelType, n <= slowAtFirst[cpu] ?? 0 { return base / 4 }
        return base * (type == .q8_0 ? 2 : 1)
    }
    /// Narrow rows read at half the speed: a fixed cost per row.
    func matvecNarrowRows(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double {
        calls.add("matvec narrow \(type) \(cpu)")
        return (cpuSpeed[cpu] ?? 1e9) * (type == .q8_0 ? 2 : 1) / 2
    }
    func matmulNarrowRows(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double {
        calls.add("matmul narrow \(type) \(cpu)")
        return (cpuSpeed[cpu] ?? 1e9) * 5
    }
    func matmul(type: TensorType, cpu: Int, seconds: Double) async throws(TopologyError) -> Double {
        calls.add("matmul \(type) \(cpu)")
        return (cpuSpeed[cpu] ?? 1e9) * 10
    }
    func storage(directory: String, plan: StoragePlan) async throws(TopologyError) -> StorageMeasurement {
        calls.add("storage \(directory)")
        return storageResult
    }
}

/// What a FakeBenchmarks was asked, in order.
///
/// Invariant for `@unchecked Sendable`: `entries` is only touched with `lock` held.
final class CallLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []

    /// Appends `entry`; returns how many times it has now been logged.
    @discardableResult func add(_ entry: String) -> Int {
        lock.lock(); defer { lock.unlock() }
        entries.append(entry)
        return entries.filter { $0 == entry }.count
    }

    var all: [String] { lock.lock(); defer { lock.unlock() }; return entries }
}

extension ProbeOptions {
    /// Fake benchmarks take no time; two types keep the assertions short.
    static func test(storage: String?) -> ProbeOptions {
        var o = ProbeOptions.quick(storageDirectory: storage)
        o.kernelTypes = [.q4_0, .q8_0]
        return o
    }
}
