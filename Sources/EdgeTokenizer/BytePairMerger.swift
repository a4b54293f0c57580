/// Byte-level BPE (GPT-2 style) for one word: the word's bytes start as one symbol each (the
/// byte's character in ``ByteLevelAlphabet``), then the adjacent pair with the lowest merge rank
/// is merged, leftmost first among equal ranks, until no pair has a rank.
///
/// Symbols are interned ids, not strings: ids below `vocabularySize` are the vocabulary's token
/// ids, higher ids are strings that occur only in merges. Two symbols are the same string exactly
/// when their ids are equal, so a queued pair is still valid when both ids are unchanged.
struct BytePairMerger: Sendable {
    private struct Merge: Sendable {
        /// Position in the merge list; lower merges first.
        let rank: Int32
        /// The symbol the pair becomes.
        let result: Int32
    }

    private let vocabularySize: Int
    /// Keyed by `left << 32 | right` (symbol ids).
    private let merges: [UInt64: Merge]
    /// The symbol of each byte's alphabet character.
    private let byteSymbols: [Int32]
    /// Texts of the symbols at and above `vocabularySize`.
    private let extraTexts: [[UInt8]]
    /// The vocabulary's one-byte tokens (-1: none), for symbols that are not tokens.
    private let singleByteTokens: [Int32]
    /// Lookup by text, for words that skip merging.
    private let idsByText: [[UInt8]: Int32]
    private let ignoresMerges: Bool

    /// - Parameters:
    ///   - merges: "left right" strings, highest priority first. An entry without a space (after
    ///     its first byte) cannot match any pair and is skipped; a repeated pair keeps its first rank.
    ///   - ignoresMerges: a word that is itself a token becomes that token without merging.
    init(vocabularySize: Int, idsByText: [[UInt8]: Int32], merges: [String], ignoresMerges: Bool) {
        self.vocabularySize = vocabularySize
        self.idsByText = idsByText
        self.ignoresMerges = ignoresMerges
        var interned = idsByText
        var extra: [[UInt8]] = []
        func intern(_ text: [UInt8]) -> Int32 {
            if let id = interned[text] { return id }
            let id = Int32(vocabularySize + extra.count)
            extra.append(text)
            interned[text] = id
            return id
        }
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            let bytes = Array(merge.utf8)
            guard bytes.count > 1, let space = bytes[1...].firstIndex(of: 0x20) else { continue }
            let left = Array(bytes[..<space])
            let right = Array(bytes[(space + 1)...])
            let key = Self.key(intern(left), intern(right))
            if table[key] == nil {
                table[key] = Merge(rank: Int32(rank), result: intern(left + right))
            }
        }
        byteSymbols = ByteLevelAlphabet.utf8.map { intern($0) }
        self.merges = table
        extraTexts = extra
        singleByteTokens = (0..<256).map { idsByText[[UInt8($0)]] ?? -1 }
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    private struct Candidate: Comparable {
        let rank: Int32
        let left: Int32
        let right: Int32
        let leftSymbol: Int32
        let rightSymbol: Int32

        static func < (a: Candidate, b: Candidate) -> Bool {
            a.rank != b.rank ? a.rank < b.rank : a.left < b.left
        }

        static func == (a: Candidate, b: Candidate) -> Bool { a.rank == b.rank && a.left == b.left }
    }

    /// Appends the tokens of one word (raw UTF-8 bytes, before byte-level encoding).
    func encode(_ word: ArraySlice<UInt8>, into out: inout [Int32]) {
        guard !word.isEmpty else { return }
        if ignoresMerges {
            let encoded = word.flatMap { ByteLevelAlphabet.utf8[Int($0)] }
            if let id = idsByText[encoded] {
                out.append(id)
                return
            }
        }
        let n = word.count
        // Doubly linked list over the word's positions; a merged-away position has symbol -1.
        var symbol = word.map { byteSymbols[Int($0)] }
        var prev = Array(-1..<Int32(n - 1))
        var next = Array(Int32(1)...Int32(n))
        next[n - 1] = -1

        var queue = BinaryHeap<Candidate>(capacity: 2 * n)
        func offer(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let l = symbol[Int(left)], r = symbol[Int(right)]
            guard let merge = merges[Self.key(l, r)] else { return }
            queue.push(Candidate(rank: merge.rank, left: left, right: right, leftSymbol: l, rightSymbol: r))
        }
        for i in 1..<max(n, 1) { offer(Int32(i - 1), Int32(i)) }

        while let c = queue.pop() {
            let l = Int(c.left), r = Int(c.right)
            guard symbol[l] == c.leftSymbol, symbol[r] == c.rightSymbol,
                  let merge = merges[Self.key(c.leftSymbol, c.rightSymbol)] else { continue }
            symbol[l] = merge.result
            symbol[r] = -1
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = c.left }
            offer(prev[l], c.left)
            offer(c.left, next[l])
        }

        var i: Int32 = 0
        while i >= 0 {
            let s = symbol[Int(i)]
            if Int(s) < vocabularySize {
                out.append(s)
            } else {
                // Not a token: each byte of its text that is a one-byte token, as llama.cpp does.
                for b in extraTexts[Int(s) - vocabularySize] where singleByteTokens[Int(b)] >= 0 {
                    out.append(singleByteTokens[Int(b)])
                }
            }
            i = next[Int(i)]
        }
    }
}
