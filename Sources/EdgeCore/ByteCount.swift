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

    /// The size in the largest binary unit that holds it whole (`16 KiB`, `4 MiB`, `1 GiB`, else
    /// bytes): for the power-of-two sizes a profile measures at.
    public var whole: String {
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(unit)"
        }
        return "\(bytes) B"
    }

    private func fmt(_ v: Double, _ unit: String) -> String {
        let r = (v * 10).rounded() / 10
        return "\(r) \(unit)"
    }
}

extension ByteCount {
    /// Parses a size such as `64M`, `1.5G`, `512MiB`, `800k` or `1048576` (binary units: K = 1024
    /// bytes, M = 1024 K, G = 1024 M, T = 1024 G; an optional `B` or `iB` after the letter).
    /// Returns nil for anything else, including zero and negative sizes.
    public init?(parsing text: String) {
        var s = text.trimmingCharacters(in: " ").uppercased()
        if s.hasSuffix("IB") { s.removeLast(2) } else if s.hasSuffix("B") { s.removeLast() }
        var multiplier: Double = 1
        if let last = s.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(last)] {
            multiplier = pow1024(power)
            s.removeLast()
        }
        guard !s.isEmpty, s.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(s), value > 0 else { return nil }
        let bytes = value * multiplier
        guard bytes >= 1, bytes < 9e18 else { return nil }
        self.init(Int64(bytes.rounded()))
    }
}

private func pow1024(_ n: Int) -> Double { (0..<n).reduce(1.0) { acc, _ in acc * 1024 } }

private extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
