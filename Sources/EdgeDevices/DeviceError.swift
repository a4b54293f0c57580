/// Why a host resource could not be set up.
public enum DeviceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A worker thread could not be started.
    case threadStartFailed(threads: Int)
    /// An allocation for a device buffer failed; `what` names the buffer.
    case allocationFailed(what: String, bytes: Int)
    /// A thread count below 1 or above `limit` (four threads per CPU this process may use).
    case badThreadCount(requested: Int, limit: Int)
    /// A model file could not be opened for streaming.
    case cannotOpen(path: String, reason: String)
    /// A read asked for bytes outside the file.
    case readOutOfBounds(path: String, offset: Int, length: Int, fileSize: Int)
    /// The operating system failed a read at `offset`.
    case readFailed(path: String, offset: Int, reason: String)
    /// Starting thread speeds that are not one positive, finite number per thread.
    case badThreadSpeeds([Double], threads: Int)
    /// A device or feature this build does not have (a GPU backend).
    case notBuilt(String)
    /// The relay thread of a node driven by another node could not be started.
    case relayStartFailed(node: Int)
    /// Work was handed to a node that has no driver of its own (it runs in lockstep with another
    /// node's driver).
    case relayedNode(Int)
    /// The forward pass asked the weight scheduler for a block out of the order it was planned in.
    case blockOutOfOrder(requested: Int, expected: Int)

    public var description: String {
        switch self {
        case let .threadStartFailed(n): "could not start a worker pool of \(n) threads"
        case let .allocationFailed(what, bytes): "could not allocate \(bytes) bytes for \(what)"
        case let .badThreadCount(r, l): "thread count \(r) is invalid: use 1 to \(l) (four per CPU this process may run on)"
        case let .cannotOpen(path, reason): "cannot open \(path) for streaming: \(reason)"
        case let .readOutOfBounds(path, o, n, size): "read of \(n) bytes at offset \(o) is outside \(path) (\(size) bytes)"
        case let .readFailed(path, o, reason): "reading \(path) at offset \(o) failed: \(reason)"
        case let .badThreadSpeeds(s, n): "thread speeds \(s) are invalid: give \(n) positive number\(n == 1 ? "" : "s"), one per thread"
        case let .notBuilt(what): "\(what) is not built"
        case let .relayStartFailed(n): "could not start the relay thread of cpu\(n)"
        case let .relayedNode(n): "cpu\(n) runs in lockstep with another node's driver and takes no work of its own"
        case let .blockOutOfOrder(r, e): "weight block \(r) was requested but block \(e) is next in the streaming order"
        }
    }
}
