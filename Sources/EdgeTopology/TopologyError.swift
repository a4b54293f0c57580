/// Why probing the host failed; each case names what it was probing.
public enum TopologyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The process may run on no CPU (its affinity mask is empty).
    case noCPUs
    /// `/proc/meminfo` could not be read or has no MemTotal.
    case memoryInfoMissing
    /// A thread could not be started or pinned to `cpu` (nil: an unpinned thread).
    case threadStartFailed(cpu: Int?)
    /// A probe's buffer could not be allocated; `what` names the probe.
    case allocationFailed(what: String, bytes: Int)
    /// The storage holding `directory` could not be measured.
    case storageUnavailable(directory: String, reason: String)
    /// A measurement gave no usable figure.
    case measurementFailed(what: String, reason: String)

    public var description: String {
        switch self {
        case .noCPUs: "this process may run on no CPU (its affinity mask is empty)"
        case .memoryInfoMissing: "cannot read MemTotal from /proc/meminfo"
        case let .threadStartFailed(cpu): cpu.map { "cannot start a thread pinned to CPU \($0)" } ?? "cannot start a thread"
        case let .allocationFailed(what, bytes): "cannot allocate \(bytes) bytes for \(what)"
        case let .storageUnavailable(dir, reason): "cannot measure the storage holding \(dir): \(reason)"
        case let .measurementFailed(what, reason): "\(what) failed: \(reason)"
        }
    }
}
