/// Why a host resource could not be set up.
public enum DeviceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A worker thread could not be started.
    case threadStartFailed(threads: Int)
    /// An allocation for a device buffer failed; `what` names the buffer.
    case allocationFailed(what: String, bytes: Int)
    /// A thread count outside what this host allows.
    case badThreadCount(requested: Int, available: Int)

    public var description: String {
        switch self {
        case let .threadStartFailed(n): "could not start a worker pool of \(n) threads"
        case let .allocationFailed(what, bytes): "could not allocate \(bytes) bytes for \(what)"
        case let .badThreadCount(r, a): "thread count \(r) is invalid: this host lets the process use 1 to \(a) CPUs"
        }
    }
}
