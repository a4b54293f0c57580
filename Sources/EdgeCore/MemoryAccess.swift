/// How a kernel brings its weights in from main memory while it streams over them: the x16 kernels
/// of Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS take one of these per weight type. Every mode gives
/// the same bits; only the speed from memory differs, and which mode is fastest depends on the host
/// (on one EPYC VM Q6_K read 9 GB/s with the hardware prefetchers and 22 GB/s touching each record
/// first, while Q4_K lost a quarter of its speed to software prefetches that a Zen 5 host needed):
/// `edgert profile` measures each and the engine sets the winner.
public enum MemoryAccess: Sendable, Hashable, CustomStringConvertible {
    /// The hardware prefetchers alone.
    case hardware
    /// A software prefetch this many bytes ahead of the record being read.
    case prefetch(bytes: Int)
    /// Every cache line of a record loaded before its products, so all its misses are in flight at once.
    case touch

    /// The modes `edgert profile` tries, the kernels' default (a prefetch 8192 bytes ahead) among them.
    public static let candidates: [MemoryAccess] = [.hardware, .prefetch(bytes: 8192), .touch]

    /// The profile's spelling: `hardware`, `prefetch-8192`, `touch`.
    public var description: String {
        switch self {
        case .hardware: "hardware"
        case .prefetch(let bytes): "prefetch-\(bytes)"
        case .touch: "touch"
        }
    }

    /// Reads the profile's spelling; nil for anything else (a prefetch distance must be positive).
    public init?(_ name: String) {
        switch name {
        case "hardware": self = .hardware
        case "touch": self = .touch
        default:
            guard name.hasPrefix("prefetch-"), let bytes = Int(name.dropFirst("prefetch-".count)), bytes > 0 else { return nil }
            self = .prefetch(bytes: bytes)
        }
    }

    /// The C kernels' code (`edge_stream_mode_set`): 0, the distance, or -1.
    public var code: Int32 {
        switch self {
        case .hardware: 0
        case .prefetch(let bytes): Int32(clamping: bytes)
        case .touch: -1
        }
    }

    /// The mode a C code stands for; nil below -1.
    public init?(code: Int32) {
        switch code {
        case 0: self = .hardware
        case -1: self = .touch
        case 1...: self = .prefetch(bytes: Int(code))
        default: return nil
        }
    }
}
