/// Text decoded to Unicode scalars, with each scalar's classes, for the pre-tokenizer.
struct ScalarText {
    /// Scalar values, in order.
    var scalars: [UInt32] = []
    /// Classes of `scalars[i]`.
    var classes: [ScalarClass] = []
    /// Byte offset of `scalars[i]` in the UTF-8 text; one extra entry holds the text's length.
    var byteOffsets: [Int] = []

    /// Decodes UTF-8 bytes that are known to be valid (they come from a Swift string).
    init(utf8 bytes: ArraySlice<UInt8>) {
        scalars.reserveCapacity(bytes.count)
        classes.reserveCapacity(bytes.count)
        byteOffsets.reserveCapacity(bytes.count + 1)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let lead = bytes[i]
            let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            var value = length == 1 ? UInt32(lead) : UInt32(lead) & (0x7F >> UInt32(length))
            var j = 1
            while j < length, i + j < bytes.endIndex {
                value = value << 6 | UInt32(bytes[i + j] & 0x3F)
                j += 1
            }
            scalars.append(value)
            classes.append(ScalarClass(value))
            byteOffsets.append(i - bytes.startIndex)
            i += length
        }
        byteOffsets.append(bytes.count)
    }

    var count: Int { scalars.count }
}

/// One step of a pre-tokenizer: cuts a piece of text (a range of scalar indices) into pieces that
/// together cover it exactly. Each case gives the same cuts as one regular expression of
/// llama.cpp's pre-tokenizer lists, applied as llama.cpp applies it (matches and the text between
/// matches both become pieces); the patterns are written out by hand over scalar classes.
enum SplitRule: Sendable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Llama 3 (`maxDigits` 3) and Qwen2 (`maxDigits` 1):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    case llama3(maxDigits: Int)
    /// `\p{N}`: every number character becomes a piece of its own.
    case singleNumbers
    /// `\p{N}+`
    case numberRuns
    /// `[\p{P}...]+`: runs of punctuation and of the listed ASCII characters.
    case punctuationRuns(extra: [UInt32])
    /// `[0-9][0-9][0-9]`: ASCII digits in threes, from the left.
    case asciiDigitTriples

    /// Appends the pieces of `range` to `out`.
    func split(_ range: Range<Int>, of text: ScalarText, into out: inout [Range<Int>]) {
        switch self {
        case .gpt2: Self.splitGPT2(range, text, &out)
        case let .llama3(maxDigits): Self.splitLlama3(range, text, maxDigits: maxDigits, &out)
        case .singleNumbers:
            Self.splitRuns(range, text, &out, maxRun: 1) { text.classes[$0].contains(.number) }
        case .numberRuns:
            Self.splitRuns(range, text, &out, maxRun: .max) { text.classes[$0].contains(.number) }
        case let .punctuationRuns(extra):
            Self.splitRuns(range, text, &out, maxRun: .max) {
                text.classes[$0].contains(.punctuation) || extra.contains(text.scalars[$0])
            }
        case .asciiDigitTriples: Self.splitDigitTriples(range, text, &out)
        }
    }

    /// Cuts out the runs of scalars for which `matches` holds (at most `maxRun` long, the rest of a
    /// longer run starting the next match); the text between runs becomes pieces too.
    private static func splitRuns(_ range: Range<Int>, _ text: ScalarText, _ out: inout [Range<Int>],
                                  maxRun: Int, matches: (Int) -> Bool) {
        var gapStart = range.lowerBound
        var pos = range.lowerBound
        while pos < range.upperBound {
            guard matches(pos) else {
                pos += 1
                continue
            }
            if gapStart < pos { out.append(gapStart..<pos) }
            let start = pos
            while pos < range.upperBound, pos - start < maxRun, matches(pos) { pos += 1 }
            out.append(start..<pos)
            gapStart = pos
        }
        if gapStart < range.upperBound { out.append(gapStart..<range.upperBound) }
    }

    private static func splitDigitTriples(_ range: Range<Int>, _ text: ScalarText, _ out: inout [Range<Int>]) {
        func isDigit(_ i: Int) -> Bool { text.scalars[i] >= 0x30 && text.scalars[i] <= 0x39 }
        var gapStart = range.lowerBound
        var pos = range.lowerBound
        while pos + 3 <= range.upperBound {
            if isDigit(pos), isDigit(pos + 1), isDigit(pos + 2) {
                if gapStart < pos { out.append(gapStart..<pos) }
                out.append(pos..<(pos + 3))
                pos += 3
                gapStart = pos
            } else {
                pos += 1
            }
        }
        if gapStart < range.upperBound { out.append(gapStart..<range.upperBound) }
    }

    /// Length of an English contraction (`'s`, `'t`, `'m`, `'d`: 2; `'re`, `'ve`, `'ll`: 3) that
    /// starts at `pos`, or 0. `ignoringCase` accepts upper-case ASCII letters too.
    private static func contractionLength(at pos: Int, _ end: Int, _ text: ScalarText, ignoringCase: Bool) -> Int {
        guard text.scalars[pos] == 0x27, pos + 1 < end else { return 0 }
        func letter(_ i: Int) -> UInt32 {
            let s = text.scalars[i]
            return ignoringCase && s >= 0x41 && s <= 0x5A ? s + 0x20 : s
        }
        let next = letter(pos + 1)
        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 }  // s t m d
        guard pos + 2 < end else { return 0 }
        let nextNext = letter(pos + 2)
        let pair = (next, nextNext)
        if pair == (0x72, 0x65) || pair == (0x76, 0x65) || pair == (0x6C, 0x6C) { return 3 }  // re ve ll
        return 0
    }

    private static func splitGPT2(_ range: Range<Int>, _ text: ScalarText, _ out: inout [Range<Int>]) {
        let end = range.upperBound
        // Classes of position i, empty past the end of the piece.
        func cls(_ i: Int) -> ScalarClass { i < end ? text.classes[i] : [] }
        func isOther(_ i: Int) -> Bool { i < end && text.classes[i].isDisjoint(with: .wordish) }
        var pos = range.lowerBound
        func cut(_ to: Int) {
            out.append(pos..<to)
            pos = to
        }
        while pos < end {
            let c = text.scalars[pos]
            let n = contractionLength(at: pos, end, text, ignoringCase: false)
            if n > 0 {
                cut(pos + n)
                continue
            }
            // ` ?X+`: an optional space, then a run of one class.
            let body = c == 0x20 ? pos + 1 : pos
            let bodyClass = cls(body)
            if bodyClass.contains(.letter) || bodyClass.contains(.number) || isOther(body) {
                var i = body
                if bodyClass.contains(.letter) {
                    while cls(i).contains(.letter) { i += 1 }
                } else if bodyClass.contains(.number) {
                    while cls(i).contains(.number) { i += 1 }
                } else {
                    while isOther(i) { i += 1 }
                }
                cut(i)
                continue
            }
            var spaces = 0
            while cls(pos + spaces).contains(.whitespace) { spaces += 1 }
            if spaces > 1, pos + spaces < end {
                cut(pos + spaces - 1)  // `\s+(?!\S)`: leave the last one to prefix the next word
            } else if spaces > 0 {
                cut(pos + spaces)
            } else {
                cut(pos + 1)
            }
        }
    }

    private static func splitLlama3(_ range: Range<Int>, _ text: ScalarText, maxDigits: Int,
                                    _ out: inout [Range<Int>]) {
        let end = range.upperBound
        func cls(_ i: Int) -> ScalarClass { i < end ? text.classes[i] : [] }
        func isOther(_ i: Int) -> Bool { i < end && text.classes[i].isDisjoint(with: .wordish) }
        func isNewline(_ i: Int) -> Bool { i < end && (text.scalars[i] == 0x0A || text.scalars[i] == 0x0D) }
        var pos = range.lowerBound
        func cut(_ to: Int) {
            out.append(pos..<to)
            pos = to
        }
        while pos < end {
            let c = text.scalars[pos]
            let here = text.classes[pos]
            let n = contractionLength(at: pos, end, text, ignoringCase: true)
            if n > 0 {
                cut(pos + n)
                continue
            }
            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            if !isNewline(pos), !here.contains(.number), here.contains(.letter) || cls(pos + 1).contains(.letter) {
                var i = pos + 1
                while cls(i).contains(.letter) { i += 1 }
                cut(i)
                continue
            }
            // `\p{N}{1,maxDigits}`
            if here.contains(.number) {
                var i = pos
                while i < end, i - pos < maxDigits, text.classes[i].contains(.number) { i += 1 }
                cut(i)
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`; a lone space at the very end also lands here (and is
            // cut alone, as `\s+` would cut it).
            let body = c == 0x20 ? pos + 1 : pos
            if cls(body).isDisjoint(with: .wordish) {
                var i = body
                while isOther(i) { i += 1 }
                while isNewline(i) { i += 1 }
                cut(i)
                continue
            }
            var spaces = 0
            var afterLastNewline: Int?
            while cls(pos + spaces).contains(.whitespace) {
                if isNewline(pos + spaces) { afterLastNewline = pos + spaces + 1 }
                spaces += 1
            }
            if let afterLastNewline {
                cut(afterLastNewline)  // `\s*[\r\n]+`
            } else if spaces > 1, pos + spaces < end {
                cut(pos + spaces - 1)  // `\s+(?!\S)`
            } else if spaces > 0 {
                cut(pos + spaces)
            } else {
                cut(pos + 1)
            }
        }
    }
}

/// How a byte-level BPE vocabulary cuts text into words before merging (`tokenizer.ggml.pre`),
/// and the flags that come with the name in llama.cpp (`llama-vocab.cpp`, `load`).
struct PreTokenizer: Sendable {
    /// The name as written in the file.
    let name: String
    /// Applied in order; each rule cuts every piece the previous rules left.
    let rules: [SplitRule]
    /// Whether detokenizing removes the space before `?!.,` and in some contractions
    /// (`clean_up_tokenization_spaces`).
    let cleansSpaces: Bool
    /// Whether a word that is itself a token skips merging.
    let ignoresMerges: Bool
    /// Whether BOS is added when the file does not say (`add_bos_token` absent).
    let addsBOSByDefault: Bool

    private struct Family {
        let rules: [SplitRule]
        let ignoresMerges: Bool
        let addsBOS: Bool
        /// Names, each with its `cleansSpaces` flag.
        let names: [(String, Bool)]
    }

    private static let gpt2Rules: [SplitRule] = [.gpt2]
    private static let families: [Family] = [
        Family(rules: [.punctuationRuns(extra: Array("$+<=>^~|".unicodeScalars.map(\.value))), .gpt2, .numberRuns,
                       .asciiDigitTriples],
               ignoresMerges: false, addsBOS: false, names: [("default", true)]),
        Family(rules: gpt2Rules, ignoresMerges: false, addsBOS: false,
               names: [("gpt-2", true), ("gpt2", true), ("phi-2", true), ("mpt", true), ("olmo", true),
                       ("jais", true), ("exaone4", true), ("gigachat", true), ("mellum", true),
                       ("modern-bert", true), ("jina-es", true), ("jina-de", true), ("jina-v2-es", true),
                       ("jina-v2-de", true), ("a.x-4.0", true), ("trillion", false), ("granite-docling", false)]),
        Family(rules: [.singleNumbers, .gpt2], ignoresMerges: false, addsBOS: false,
               names: [("starcoder", true), ("refact", true), ("codeshell", true), ("exaone", true),
                       ("minerva-7b", true), ("mellum2", true), ("smollm", false), ("command-r", false)]),
        Family(rules: [.punctuationRuns(extra: Array("$+<=>^~|`".unicodeScalars.map(\.value))), .gpt2,
                       .asciiDigitTriples],
               ignoresMerges: false, addsBOS: false, names: [("falcon", true)]),
        Family(rules: [.llama3(maxDigits: 3)], ignoresMerges: true, addsBOS: true,
               names: [("llama3", true), ("llama-v3", true), ("llama-bpe", true), ("falcon3", true),
                       ("falcon-h1", true), ("pixtral", true), ("midm-2.0", true), ("lfm2", true),
                       ("jina-v5-nano", true)]),
        Family(rules: [.llama3(maxDigits: 3)], ignoresMerges: false, addsBOS: false,
               names: [("dbrx", true), ("smaug-bpe", true)]),
        Family(rules: [.llama3(maxDigits: 1)], ignoresMerges: false, addsBOS: false,
               names: [("qwen2", false), ("deepseek-r1-qwen", false), ("kormo", false), ("f2llmv2", false),
                       ("hunyuan", false), ("solar-open", false), ("grok-2", false), ("megrez", true),
                       ("stablelm2", true)]),
    ]

    /// Every accepted name (`gpt2` is accepted as a spelling of llama.cpp's `gpt-2`).
    static let supportedNames: [String] = families.flatMap { $0.names.map(\.0) }

    /// The pre-tokenizer for a `tokenizer.ggml.pre` value; nil or empty means `default`, as in
    /// llama.cpp. Returns nil for a name it does not know.
    static func named(_ name: String?) -> PreTokenizer? {
        let wanted = name.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        for family in families {
            if let entry = family.names.first(where: { $0.0 == wanted }) {
                return PreTokenizer(name: wanted, rules: family.rules, cleansSpaces: entry.1,
                                    ignoresMerges: family.ignoresMerges, addsBOSByDefault: family.addsBOS)
            }
        }
        return nil
    }

    /// The words of `text`, as scalar ranges covering it in order.
    func split(_ text: ScalarText) -> [Range<Int>] {
        guard text.count > 0 else { return [] }
        var pieces = [0..<text.count]
        var next: [Range<Int>] = []
        for rule in rules {
            next.removeAll(keepingCapacity: true)
            for piece in pieces { rule.split(piece, of: text, into: &next) }
            swap(&pieces, &next)
        }
        return pieces
    }
}
