/// Learns byte-level BPE merges from a text, the way GPT-2's vocabulary was learned (Sennrich et
/// al. 2016, "Neural Machine Translation of Rare Words with Subword Units", Algorithm 1, over
/// bytes): cut the text into words with a pre-tokenizer, spell each word in
/// ``ByteLevelAlphabet`` characters, then repeatedly merge the most frequent adjacent pair.
///
/// Deterministic: ties between equally frequent pairs go to the pair whose left, then right,
/// symbol sorts first by bytes, so the same text always gives the same merges.
struct BytePairTrainer {
    /// One distinct word: its current symbols (byte-level UTF-8) and how often it occurs.
    private struct Word {
        var symbols: [[UInt8]]
        let count: Int
    }

    private var words: [Word]

    /// - Parameters:
    ///   - text: the training text.
    ///   - preTokenizer: cuts the text into words, as the tokenizer will at encoding time.
    init(text: String, preTokenizer: PreTokenizer) {
        let bytes = Array(text.utf8)
        let scalars = ScalarText(utf8: bytes[...])
        var counts: [[UInt8]: Int] = [:]
        for piece in preTokenizer.split(scalars) {
            let word = Array(bytes[scalars.byteOffsets[piece.lowerBound]..<scalars.byteOffsets[piece.upperBound]])
            counts[word, default: 0] += 1
        }
        // Sorted, so that nothing below depends on dictionary order.
        words = counts.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { word, count in
            Word(symbols: word.map { ByteLevelAlphabet.utf8[Int($0)] }, count: count)
        }
    }

    /// Learns at most `limit` merges, stopping early when no pair occurs at least `minimumCount`
    /// times. Each merge is returned as its two symbols, highest priority first.
    mutating func learn(limit: Int, minimumCount: Int = 2) -> [(left: [UInt8], right: [UInt8])] {
        var merges: [(left: [UInt8], right: [UInt8])] = []
        while merges.count < limit {
            var pairs: [Pair: Int] = [:]
            for w in words where w.symbols.count > 1 {
                for i in 0..<(w.symbols.count - 1) {
                    pairs[Pair(left: w.symbols[i], right: w.symbols[i + 1]), default: 0] += w.count
                }
            }
            guard let (best, count) = pairs.max(by: { a, b in
                a.value != b.value ? a.value < b.value : b.key.sortsBefore(a.key)
            }), count >= minimumCount else { break }
            merges.append((best.left, best.right))
            let joined = best.left + best.right
            for k in words.indices where words[k].symbols.count > 1 {
                let s = words[k].symbols
                var i = 0
                var out: [[UInt8]] = []
                out.reserveCapacity(s.count)
                while i < s.count {
                    if i + 1 < s.count, s[i] == best.left, s[i + 1] == best.right {
                        out.append(joined)
                        i += 2
                    } else {
                        out.append(s[i])
                        i += 1
                    }
                }
                words[k].symbols = out
            }
        }
        return merges
    }

    private struct Pair: Hashable {
        let left: [UInt8]
        let right: [UInt8]

        func sortsBefore(_ other: Pair) -> Bool {
            left != other.left ? left.lexicographicallyPrecedes(other.left) : right.lexicographicallyPrecedes(other.right)
        }
    }
}
