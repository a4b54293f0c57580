/// Substring search in linear time, on UTF-8 bytes.
///
/// Python's `str` methods index by code point; searching the UTF-8 bytes finds the same
/// occurrences, because a valid UTF-8 needle can only match a valid UTF-8 haystack at a code
/// point boundary (a lead byte never equals a continuation byte). Knuth-Morris-Pratt keeps every
/// search O(haystack + needle) whatever the text, where a naive search is O(haystack x needle):
/// with 16 MiB strings that is the difference between milliseconds and days.
struct TextSearch {
    /// The needle's bytes; never empty (callers handle the empty needle, whose Python semantics
    /// differ per method).
    let needle: [UInt8]
    /// failure[i]: length of the longest proper prefix of needle[0...i] that is also its suffix.
    private let failure: [Int]

    init?(_ needle: String) {
        let bytes = Array(needle.utf8)
        guard !bytes.isEmpty else { return nil }
        var failure = [Int](repeating: 0, count: bytes.count)
        var k = 0
        for i in 1..<bytes.count {
            while k > 0 && bytes[i] != bytes[k] { k = failure[k - 1] }
            if bytes[i] == bytes[k] { k += 1 }
            failure[i] = k
        }
        self.needle = bytes
        self.failure = failure
    }

    /// Calls `body` with the start offset of each occurrence in `hay`, left to right:
    /// non-overlapping (as `split`, `replace` and `count` take them) or overlapping; at most
    /// `limit` of them (negative: all). Returns how many it found.
    @discardableResult
    func forEachOccurrence(in hay: UnsafeBufferPointer<UInt8>, overlapping: Bool = false, limit: Int = -1,
                           _ body: (Int) -> Void = { _ in }) -> Int {
        if limit == 0 { return 0 }
        var found = 0
        var k = 0
        let first = needle[0]
        var i = 0
        let n = hay.count
        while i < n {
            let byte = hay[i]
            if k == 0 && byte != first {  // the common case: skip ahead to the needle's first byte
                i += 1
                continue
            }
            while k > 0 && byte != needle[k] { k = failure[k - 1] }
            if byte == needle[k] { k += 1 }
            i += 1
            if k == needle.count {
                body(i - k)
                found += 1
                if limit > 0 && found == limit { break }
                k = overlapping ? failure[k - 1] : 0
            }
        }
        return found
    }

    /// Start offsets of occurrences (see `forEachOccurrence`).
    func occurrences(in hay: UnsafeBufferPointer<UInt8>, overlapping: Bool = false, limit: Int = -1) -> [Int] {
        var found: [Int] = []
        forEachOccurrence(in: hay, overlapping: overlapping, limit: limit) { found.append($0) }
        return found
    }

    /// The first occurrence's start offset.
    func first(in hay: UnsafeBufferPointer<UInt8>) -> Int? {
        var position: Int? = nil
        forEachOccurrence(in: hay, limit: 1) { position = $0 }
        return position
    }

    /// The last occurrence's start offset (occurrences may overlap, as for `rfind`).
    func last(in hay: UnsafeBufferPointer<UInt8>) -> Int? {
        var position: Int? = nil
        forEachOccurrence(in: hay, overlapping: true) { position = $0 }
        return position
    }
}

/// Byte-level helpers for strings.
enum TextBytes {
    /// Runs `body` on the string's UTF-8 bytes (contiguous: native strings already are).
    static func with<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) throws(TemplateError) -> R) throws(TemplateError) -> R {
        var copy = s
        return try copy.withUTF8 { (buffer: UnsafeBufferPointer<UInt8>) -> Result<R, TemplateError> in
            do throws(TemplateError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }.get()
    }

    /// `with` for a body that cannot fail.
    static func read<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var copy = s
        return copy.withUTF8(body)
    }

    /// Appends `s` to `out`, replacing each character `escape` returns a replacement for. Runs
    /// of other characters are copied at once; ASCII bytes for which `plainASCII` holds are
    /// not even offered to `escape` (the fast path of JSON and `repr` writers).
    static func appendEscaped(_ s: String, to out: inout String, plainASCII: (UInt8) -> Bool,
                              escape: (Unicode.Scalar) -> String?) {
        read(s) { bytes in
            let n = bytes.count
            var runStart = 0
            var i = 0
            func flush(_ end: Int) {
                if end > runStart { out += text(bytes, runStart..<end) }
            }
            while i < n {
                let b = bytes[i]
                if b < 0x80 && plainASCII(b) {
                    i += 1
                    continue
                }
                let (scalar, length) = decode(bytes, at: i)
                if let replacement = escape(scalar) {
                    flush(i)
                    out += replacement
                    runStart = i + length
                }
                i += length
            }
            flush(n)
        }
    }

    /// The scalar starting at `i` of valid UTF-8 and its length in bytes.
    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (Unicode.Scalar, Int) {
        let b0 = UInt32(bytes[i])
        let length = b0 < 0x80 ? 1 : (b0 < 0xE0 ? 2 : (b0 < 0xF0 ? 3 : 4))
        guard i + length <= bytes.count else { return ("\u{FFFD}", 1) }
        var value: UInt32
        switch length {
        case 1: value = b0
        case 2: value = b0 & 0x1F
        case 3: value = b0 & 0x0F
        default: value = b0 & 0x07
        }
        for k in 1..<max(1, length) { value = value << 6 | (UInt32(bytes[i + k]) & 0x3F) }
        return (Unicode.Scalar(value) ?? "\u{FFFD}", length)
    }

    /// The code point index of a byte offset (the number of scalars that start before it).
    static func scalarIndex(ofByte offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        for i in 0..<offset where bytes[i] & 0xC0 != 0x80 { count += 1 }
        return count
    }

    /// The text of `bytes[range]`; the range's ends must be code point boundaries.
    static func text(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Builds a string of exactly `count` bytes by writing them (`write` returns how many).
    static func build(count: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Int) -> String {
        String(unsafeUninitializedCapacity: count, initializingUTF8With: write)
    }
}
