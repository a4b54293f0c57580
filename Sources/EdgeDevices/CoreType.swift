import CEdgeKernels

/// The kind of a CPU core, as CPUID's hybrid information reports it (see `edge_cpuinfo.h`).
public enum CoreType: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// Not a hybrid CPU: every core is alike (AMD, non-x86, most servers and VMs).
    case uniform
    /// A performance core (Intel "Core" type, CPUID 0x1A core type 0x40).
    case performance
    /// An efficiency core (Intel "Atom" type, CPUID 0x1A core type 0x20).
    case efficiency
    /// A core-type byte this code does not know (a future CPU).
    case other(UInt8)
    /// The CPU could not be read (not in this process's affinity mask, or offline).
    case unknown

    /// Starting speed of a thread on this core relative to a performance (or uniform) core, for
    /// the pool's balancer before it has measured anything. 0.6 for an efficiency core is an
    /// estimate, not a measurement on this project's hosts: Gracemont E-cores run at ~75-80% of the
    /// P-cores' clock with about 80% of their per-clock throughput on integer and 128-bit SIMD code
    /// (Intel's Alder Lake figures), and have half the P-cores' vector width for the matmuls.
    /// The balancer replaces it with measured speeds within a few parallel regions.
    public var relativeSpeed: Double {
        switch self {
        case .efficiency: 0.6
        case .uniform, .performance, .other, .unknown: 1.0
        }
    }

    init(cpuidByte value: Int32) {
        switch value {
        case Int32(EDGE_CORE_UNIFORM): self = .uniform
        case Int32(EDGE_CORE_PERFORMANCE): self = .performance
        case Int32(EDGE_CORE_EFFICIENCY): self = .efficiency
        case Int32(EDGE_CORE_UNREADABLE): self = .unknown
        default: self = .other(UInt8(truncatingIfNeeded: value))
        }
    }

    public var description: String {
        switch self {
        case .uniform: "uniform"
        case .performance: "performance"
        case .efficiency: "efficiency"
        case let .other(b): "other(0x\(String(b, radix: 16)))"
        case .unknown: "unknown"
        }
    }
}

/// One CPU and its core type.
public struct CPUCore: Sendable, Equatable, Codable {
    public let cpu: Int
    public let type: CoreType

    public init(cpu: Int, type: CoreType) {
        self.cpu = cpu
        self.type = type
    }
}

/// The core type of each CPU of a host, read with CPUID.
public struct CoreTypes: Sendable, Equatable, Codable {
    /// Whether CPUID reports a hybrid CPU (leaf 7 EDX bit 15).
    public let isHybrid: Bool
    /// Each CPU asked about, with its core type, in the order asked.
    public let cores: [CPUCore]

    public init(isHybrid: Bool, cores: [CPUCore]) {
        self.isHybrid = isHybrid
        self.cores = cores
    }

    /// Reads the core type of each CPU in `cpus` (default: every CPU this process may use). On a
    /// hybrid CPU a helper thread visits each CPU in turn (the caller's own affinity is left
    /// alone); on other CPUs no thread is started and every core is ``CoreType/uniform``.
    public static func detect(cpus: [Int]? = nil) -> CoreTypes {
        let ids = (cpus ?? WorkerPool.allowedCPUs()).map { Int32(truncatingIfNeeded: $0) }
        var types = [Int32](repeating: Int32(EDGE_CORE_UNREADABLE), count: ids.count)
        if !ids.isEmpty { _ = edge_cpu_core_types(ids, Int32(ids.count), &types) }
        return CoreTypes(isHybrid: hostIsHybrid,
                         cores: zip(ids, types).map { CPUCore(cpu: Int($0), type: CoreType(cpuidByte: $1)) })
    }

    /// Whether CPUID reports a hybrid CPU, without visiting the cores.
    public static var hostIsHybrid: Bool { edge_cpu_is_hybrid() != 0 }

    /// The type of `cpu`, if it was asked about.
    public func type(of cpu: Int) -> CoreType? { cores.first { $0.cpu == cpu }?.type }

    /// Starting relative speeds for threads pinned to `cpus` (``CoreType/relativeSpeed``; 1 for a
    /// CPU not asked about).
    public func relativeSpeeds(for cpus: [Int]) -> [Double] {
        cpus.map { type(of: $0)?.relativeSpeed ?? 1.0 }
    }
}
