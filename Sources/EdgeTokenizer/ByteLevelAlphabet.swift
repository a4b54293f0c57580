/// GPT-2's reversible map between the 256 byte values and 256 printable Unicode characters, in
/// which byte-level BPE vocabularies spell their tokens (a space byte is `Ġ`, U+0120).
///
/// The printable bytes `!`...`~`, `¡`...`¬` and `®`...`ÿ` stand for themselves; the other 68
/// bytes (controls, space, DEL, the C1 range, NBSP and the soft hyphen) take U+0100, U+0101, ...
/// in increasing byte order. (Radford et al., GPT-2 `encoder.py`, `bytes_to_unicode`.)
enum ByteLevelAlphabet {
    /// The character standing for each byte: `scalar[b]`.
    static let scalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The UTF-8 encoding of each byte's character.
    static let utf8: [[UInt8]] = scalar.map { Array(String(Unicode.Scalar($0)!).utf8) }

    /// The byte a character stands for, indexed by scalar value (-1: not in the alphabet).
    private static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, s) in scalar.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// The byte that `scalar` stands for, or nil when it is not one of the 256 characters.
    static func byte(for scalar: UInt32) -> UInt8? {
        guard scalar < UInt32(byteForScalar.count) else { return nil }
        let b = byteForScalar[Int(scalar)]
        return b < 0 ? nil : UInt8(b)
    }
}
