/// Why a ``ModelShape`` could not be found, cut down or used.
public enum ModelShapeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No catalogue entry has this name; `known` lists the names there are.
    case unknownName(String, known: [String])
    /// A block count outside 1...`available` was asked of the shape.
    case badBlockCount(Int, shape: String, available: Int)
    /// A field whose value no runtime can use (a zero size, heads that do not divide, ...).
    case badField(shape: String, field: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownName(name, known):
            "unknown model shape '\(name)' (known: \(known.joined(separator: ", ")))"
        case let .badBlockCount(n, shape, available):
            "cannot keep \(n) blocks of \(shape): it has \(available) (1...\(available) allowed)"
        case let .badField(shape, field, reason):
            "model shape \(shape): \(field) \(reason)"
        }
    }
}
