/// A number of bytes, printed the way people read memory sizes.
public struct ByteCount: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var bytes: Int64
    public init(_ bytes: Int64) { self.bytes = bytes }
    public init(_ bytes: Int) { self.bytes = Int64(bytes) }
    public static func < (a: ByteCount, b: ByteCount) -> Bool { a.bytes < b.bytes }

    public var description: String {
        let b = Double(bytes)
        if bytes < 1024 { return "\(bytes) B" }
        if b < 1024 * 1024 { return fmt(b / 1024, "KiB") }
        if b < 1024 * 1024 * 1024 { return fmt(b / 1024 / 1024, "MiB") }
        return fmt(b / 1024 / 1024 / 1024, "GiB")
    }

    private func fmt(_ v: Double, _ unit: String) -> String {
        let r = (v * 10).rounded() / 10
        return "\(r) \(unit)"
    }
}
