/// The space clean-up llama.cpp applies when detokenizing vocabularies with
/// `clean_up_tokenization_spaces` (`llama_vocab::impl::detokenize`), in three passes over bytes:
/// 1. a space before `?`, `!`, `.` or `,` is removed;
/// 2. a `'` with a space on both sides loses both spaces;
/// 3. a space before `'s`, `'m`, `'re` or `'ve` is removed (not before `'t`, `'d`, `'ll`).
enum SpaceCleaner {
    static func clean(_ text: [UInt8]) -> [UInt8] {
        contractions(loneApostrophes(punctuation(text)))
    }

    private static let space = UInt8(ascii: " ")
    private static let apostrophe = UInt8(ascii: "'")

    private static func punctuation(_ text: [UInt8]) -> [UInt8] {
        guard var previous = text.first else { return text }
        var out = [previous]
        for x in text.dropFirst() {
            if previous == space, x == UInt8(ascii: "?") || x == UInt8(ascii: "!") || x == UInt8(ascii: ".")
                || x == UInt8(ascii: ",") {
                out.removeLast()
            }
            out.append(x)
            previous = x
        }
        return out
    }

    private static func loneApostrophes(_ text: [UInt8]) -> [UInt8] {
        guard !text.isEmpty else { return text }
        var out = [text[0]]
        var i = 1
        // After a match the space that follows is skipped, and the next character no longer
        // counts as preceded by a space.
        var skippedBefore = false
        while i < text.count {
            let x = text[i]
            let precededBySpace = !skippedBefore && text[i - 1] == space
            skippedBefore = false
            if x == apostrophe, i + 1 < text.count, precededBySpace, text[i + 1] == space {
                out.removeLast()
                out.append(x)
                i += 2
                skippedBefore = true
                continue
            }
            out.append(x)
            i += 1
        }
        return out
    }

    private static func contractions(_ text: [UInt8]) -> [UInt8] {
        guard !text.isEmpty else { return text }
        var out = [text[0]]
        let n = text.count
        for i in 1..<n {
            let x = text[i]
            if text[i - 1] == space, x == apostrophe, i + 1 < n {
                let x1 = text[i + 1]
                if x1 == UInt8(ascii: "s") || x1 == UInt8(ascii: "m") {
                    out.removeLast()
                } else if x1 != UInt8(ascii: "t"), x1 != UInt8(ascii: "d"), i + 2 < n {
                    let x2 = text[i + 2]
                    if x2 == UInt8(ascii: "e"), x1 == UInt8(ascii: "r") || x1 == UInt8(ascii: "v") {
                        out.removeLast()
                    }
                }
            }
            out.append(x)
        }
        return out
    }
}
