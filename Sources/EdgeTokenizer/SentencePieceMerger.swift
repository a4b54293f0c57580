/// SentencePiece-style BPE (`tokenizer.ggml.model = llama`) for one run of text whose spaces are
/// already U+2581: the text starts as one symbol per UTF-8 character, then the adjacent pair whose
/// concatenation is a token with the highest score is merged (leftmost first among equal scores),
/// until no adjacent pair forms a token.
///
/// A merged symbol is always a token, so a symbol that is not a token is a single character
/// missing from the vocabulary; it falls back to its bytes' `<0xNN>` tokens.
struct SentencePieceMerger: Sendable {
    private let scores: [Float]
    private let idsByText: [[UInt8]: Int32]
    /// The fallback token of each byte: `<0xNN>`, else the one-byte token, else the unknown token
    /// (-1: none, the byte is dropped; llama.cpp stops with an error there).
    private let byteTokens: [Int32]

    init(scores: [Float], idsByText: [[UInt8]: Int32], unknownID: Int32?) {
        self.scores = scores
        self.idsByText = idsByText
        let hex = Array("0123456789ABCDEF".utf8)
        byteTokens = (0..<256).map { b -> Int32 in
            let name: [UInt8] = Array("<0x".utf8) + [hex[b >> 4], hex[b & 15], UInt8(ascii: ">")]
            return idsByText[name] ?? idsByText[[UInt8(b)]] ?? unknownID ?? -1
        }
    }

    private struct Candidate: Comparable {
        let score: Float
        let left: Int32
        let right: Int32
        /// Byte length of the pair when queued; a pair whose symbols changed has another length.
        let size: Int32

        /// Higher score first, then the leftmost pair.
        static func < (a: Candidate, b: Candidate) -> Bool {
            a.score != b.score ? a.score > b.score : a.left < b.left
        }

        static func == (a: Candidate, b: Candidate) -> Bool { a.score == b.score && a.left == b.left }
    }

    /// Appends the tokens of `text` (UTF-8, spaces already escaped).
    func encode(_ text: [UInt8], into out: inout [Int32]) {
        guard !text.isEmpty else { return }
        // Symbols: start offset and byte length (0 = merged into its left neighbour).
        var start: [Int32] = []
        var length: [Int32] = []
        var offset = 0
        while offset < text.count {
            let lead = text[offset]
            let n = min(lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, text.count - offset)
            start.append(Int32(offset))
            length.append(Int32(n))
            offset += n
        }
        let count = start.count
        var prev = Array(-1..<Int32(count - 1))
        var next = Array(Int32(1)...Int32(count))
        next[count - 1] = -1

        var queue = BinaryHeap<Candidate>(capacity: 2 * count)
        func offer(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let from = Int(start[Int(left)])
            let size = Int(length[Int(left)] + length[Int(right)])
            guard let id = idsByText[Array(text[from..<(from + size)])] else { return }
            queue.push(Candidate(score: scores[Int(id)], left: left, right: right, size: Int32(size)))
        }
        for i in 1..<max(count, 1) { offer(Int32(i - 1), Int32(i)) }

        while let c = queue.pop() {
            let l = Int(c.left), r = Int(c.right)
            guard length[l] > 0, length[r] > 0, length[l] + length[r] == c.size else { continue }
            length[l] += length[r]
            length[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = c.left }
            offer(prev[l], c.left)
            offer(c.left, next[l])
        }

        var i: Int32 = 0
        while i >= 0 {
            let from = Int(start[Int(i)])
            let bytes = text[from..<(from + Int(length[Int(i)]))]
            if let id = idsByText[Array(bytes)] {
                out.append(id)
            } else {
                for b in bytes where byteTokens[Int(b)] >= 0 { out.append(byteTokens[Int(b)]) }
            }
            i = next[Int(i)]
        }
    }
}
