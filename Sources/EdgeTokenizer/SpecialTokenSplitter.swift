/// A part of the input: plain text (a byte range) or a special token found in it.
enum TextFragment: Equatable {
    case text(Range<Int>)
    case token(Int32)
}

/// Finds the text of special tokens in the input before it is tokenized, as llama.cpp's
/// `tokenizer_st_partition` does: the special tokens are tried one after another, longest text
/// first, and each cuts every occurrence (leftmost first, not overlapping) out of the text that
/// earlier ones left. Control and unknown tokens take part only when special parsing is asked
/// for; user-defined tokens always do.
struct SpecialTokenSplitter: Sendable {
    struct Entry: Sendable {
        let id: Int32
        let text: [UInt8]
        /// User-defined (and neither control nor unknown): matched even without special parsing.
        let alwaysParsed: Bool
    }

    /// Longest text first; equal lengths by id.
    let entries: [Entry]

    init(texts: [[UInt8]], attributes: [TokenAttributes]) {
        var list: [Entry] = []
        for (id, attr) in attributes.enumerated() where !attr.isDisjoint(with: [.control, .userDefined, .unknown]) {
            list.append(Entry(id: Int32(id), text: texts[id], alwaysParsed: attr.isDisjoint(with: [.control, .unknown])))
        }
        list.sort { $0.text.count != $1.text.count ? $0.text.count > $1.text.count : $0.id < $1.id }
        entries = list
    }

    func split(_ bytes: [UInt8], parseSpecial: Bool) -> [TextFragment] {
        guard !bytes.isEmpty else { return [] }
        var fragments: [TextFragment] = [.text(0..<bytes.count)]
        var next: [TextFragment] = []
        for entry in entries where parseSpecial || entry.alwaysParsed {
            guard let first = entry.text.first else { continue }
            var changed = false
            next.removeAll(keepingCapacity: true)
            for fragment in fragments {
                guard case let .text(range) = fragment else {
                    next.append(fragment)
                    continue
                }
                var rest = range.lowerBound
                var from = range.lowerBound
                while let match = Self.find(entry.text, first: first, in: bytes, from: from, to: range.upperBound) {
                    if match > rest { next.append(.text(rest..<match)) }
                    next.append(.token(entry.id))
                    rest = match + entry.text.count
                    from = rest
                    changed = true
                }
                if rest < range.upperBound { next.append(.text(rest..<range.upperBound)) }
            }
            if changed { swap(&fragments, &next) }
        }
        return fragments
    }

    /// The first index in `from..<to` at which `needle` occurs entirely inside that range.
    private static func find(_ needle: [UInt8], first: UInt8, in bytes: [UInt8], from: Int, to: Int) -> Int? {
        let last = to - needle.count
        guard last >= from else { return nil }
        var i = from
        while i <= last {
            if bytes[i] == first {
                var j = 1
                while j < needle.count, bytes[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}
