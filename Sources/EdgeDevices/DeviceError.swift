/// Why a host resource could not be set up.
public enum DeviceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A worker thread could not be started.
    case threadStartFailed(threads: Int)
    /// An allocation for a device buffer failed; `what` names the buffer.
    case allocationFailed(what: String, bytes: Int)
    /// A thread count below 1 or above `limit` (four threads per CPU this process may use).
    case badThreadCount(requested: Int, limit: Int)

    public var description: String {
        switch self {
        case let .threadStartFailed(n): "could not start a worker pool of \(n) threads"
        case let .allocationFailed(what, bytes): "could not allocate \(bytes) bytes for \(what)"
        case let .badThreadCount(r, l): "thread count \(r) is invalid: use 1 to \(l) (four per CPU this process may run on)"
        }
    }
}
