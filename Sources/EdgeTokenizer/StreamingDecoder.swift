/// Turns token ids into text one id at a time, for streaming generated output. A token may end
/// in the middle of a UTF-8 character (byte-level and `<0xNN>` tokens often do); those bytes are
/// held back until the character is complete, so every returned string is whole characters and
/// the concatenation of all returned strings equals the UTF-8 decoding of all pieces.
///
/// Pieces are taken as they are (no leading-space removal and no space clean-up, unlike
/// ``Tokenizer/detokenize(_:removeSpecial:unparseSpecial:)``), the way generated text is
/// usually streamed.
public struct StreamingDecoder: Sendable {
    public let tokenizer: Tokenizer
    /// Whether control tokens come out as their text.
    public let renderSpecial: Bool
    /// Bytes of an unfinished character (at most 3).
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, renderSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// The text that the token completes; empty while a character is still unfinished.
    public mutating func append(_ id: Int32) -> String {
        pending += tokenizer.piece(id, renderSpecial: renderSpecial)
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is held back, with an unfinished character replaced by U+FFFD; resets the decoder.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Bytes that are still held back.
    public var pendingByteCount: Int { pending.count }

    /// Length of the longest prefix that does not end inside a UTF-8 character: everything but a
    /// trailing lead byte and the continuation bytes after it when they are fewer than the lead
    /// announces. Invalid bytes are not held back (decoding turns them into U+FFFD).
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var i = n - 1
        while i >= 0, i >= n - 4 {
            let b = bytes[i]
            if b & 0xC0 == 0x80 {  // continuation byte: look further back for its lead
                i -= 1
                continue
            }
            let needed = b < 0x80 ? 1 : b & 0xE0 == 0xC0 ? 2 : b & 0xF0 == 0xE0 ? 3 : b & 0xF8 == 0xF0 ? 4 : 1
            return n - i < needed ? i : n
        }
        return n
    }
}
