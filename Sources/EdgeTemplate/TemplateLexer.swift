/// One lexical token of a template: a run of literal text, a tag delimiter, or an expression
/// token inside a tag.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        /// An operator or punctuation: `+ - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |`.
        case op(String)
        case end
    }

    var kind: Kind
    var location: SourceLocation
}

/// Splits template source into tokens with the whitespace rules Hugging Face renders with:
/// `trim_blocks` (the first newline after a block or comment tag is dropped), `lstrip_blocks`
/// (spaces and tabs before a block or comment tag at the start of a line are dropped), `-` on a
/// delimiter strips all whitespace on that side, `+` turns the block rules off. Like jinja2, one
/// trailing newline at the end of the source is dropped and `\r\n` / `\r` read as `\n`.
struct TemplateLexer {
    private let source: [Unicode.Scalar]
    private var lineStarts: [Int] = [0]
    private var pos = 0
    private var tokens: [Token] = []

    init(_ text: String) {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.unicodeScalars.count)
        var previousCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\r" {
                scalars.append("\n")
                previousCR = true
                continue
            }
            if scalar == "\n" && previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            scalars.append(scalar)
        }
        if scalars.last == "\n" { scalars.removeLast() }  // keep_trailing_newline=False
        source = scalars
        for (i, scalar) in scalars.enumerated() where scalar == "\n" { lineStarts.append(i + 1) }
    }

    static func tokenize(_ text: String) throws(TemplateError) -> [Token] {
        var lexer = TemplateLexer(text)
        try lexer.run()
        return lexer.tokens
    }

    private func location(_ offset: Int) -> SourceLocation {
        var lo = 0
        var hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return SourceLocation(line: lo + 1, column: offset - lineStarts[lo] + 1)
    }

    private func at(_ i: Int) -> Unicode.Scalar? { i < source.count ? source[i] : nil }

    private static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "\t" || s == "\n" || s == "\u{0B}" || s == "\u{0C}" || s == "\r"
    }

    private mutating func emitText(_ start: Int, _ end: Int) {
        guard end > start else { return }
        var text = String.UnicodeScalarView()
        text.append(contentsOf: source[start..<end])
        tokens.append(Token(kind: .text(String(text)), location: location(start)))
    }

    private mutating func run() throws(TemplateError) {
        var lineStarting = true
        while pos < source.count {
            // Find the next tag opening.
            var i = pos
            var tagStart = -1
            while i + 1 < source.count {
                if source[i] == "{", source[i + 1] == "{" || source[i + 1] == "%" || source[i + 1] == "#" {
                    tagStart = i
                    break
                }
                i += 1
            }
            if tagStart < 0 {
                emitText(pos, source.count)
                break
            }
            let opener = source[tagStart + 1]
            var inner = tagStart + 2
            var sign: Unicode.Scalar? = nil
            if let c = at(inner), c == "-" || c == "+" {
                sign = c
                inner += 1
            }
            var textEnd = tagStart
            if sign == "-" {
                while textEnd > pos, Self.isSpace(source[textEnd - 1]) { textEnd -= 1 }
            } else if sign != "+" && opener != "{" {
                // lstrip_blocks: drop the whitespace between the line start and a block/comment tag.
                var lineStart = textEnd
                while lineStart > pos, source[lineStart - 1] != "\n" { lineStart -= 1 }
                let atLineStart = lineStart > pos || (lineStart == pos && lineStarting)
                if atLineStart && source[lineStart..<textEnd].allSatisfy({ $0 == " " || $0 == "\t" }) {
                    textEnd = lineStart
                }
            }
            emitText(pos, textEnd)

            if opener == "#" {
                var k = inner
                var close = -1
                while k + 1 < source.count {
                    if source[k] == "#" && source[k + 1] == "}" {
                        close = k
                        break
                    }
                    k += 1
                }
                if close < 0 { throw .syntax(message: "missing end of comment tag", at: location(tagStart)) }
                let endSign = close > inner ? source[close - 1] : nil
                pos = close + 2
                finishTag(stripAfter: endSign == "-", trimNewline: endSign != "+")
                lineStarting = pos > 0 && source[pos - 1] == "\n"
                continue
            }

            let isBlock = opener == "%"
            tokens.append(Token(kind: isBlock ? .blockBegin : .variableBegin, location: location(tagStart)))
            pos = inner
            let (stripAfter, plusEnd) = try lexInsideTag(isBlock: isBlock, tagStart: tagStart)
            finishTag(stripAfter: stripAfter, trimNewline: isBlock && !plusEnd)
            lineStarting = pos > 0 && source[pos - 1] == "\n"
        }
        tokens.append(Token(kind: .end, location: location(source.count)))
    }

    /// After a tag's closing delimiter: `-` strips all following whitespace, otherwise
    /// trim_blocks drops one newline.
    private mutating func finishTag(stripAfter: Bool, trimNewline: Bool) {
        if stripAfter {
            while let c = at(pos), Self.isSpace(c) { pos += 1 }
        } else if trimNewline, at(pos) == "\n" {
            pos += 1
        }
    }

    /// Lexes expression tokens up to the tag's closing delimiter (outside brackets and strings).
    /// Returns whether the delimiter had `-` (strip after) or `+` (keep the newline).
    private mutating func lexInsideTag(isBlock: Bool, tagStart: Int) throws(TemplateError) -> (Bool, Bool) {
        let closer: Unicode.Scalar = isBlock ? "%" : "}"
        var depth = 0
        while true {
            while let c = at(pos), Self.isSpace(c) { pos += 1 }
            guard let c = at(pos) else {
                throw .syntax(message: "unclosed \(isBlock ? "block" : "variable") tag", at: location(tagStart))
            }
            let start = pos
            if depth == 0 {
                if c == closer, at(pos + 1) == "}" {
                    tokens.append(Token(kind: isBlock ? .blockEnd : .variableEnd, location: location(start)))
                    pos += 2
                    return (false, false)
                }
                if c == "-" || c == "+", at(pos + 1) == closer, at(pos + 2) == "}" {
                    tokens.append(Token(kind: isBlock ? .blockEnd : .variableEnd, location: location(start)))
                    pos += 3
                    return (c == "-", c == "+")
                }
            }
            if c == "'" || c == "\"" {
                let value = try lexString(quote: c)
                tokens.append(Token(kind: .string(value), location: location(start)))
            } else if c.properties.isXIDStart || c == "_" {
                var name = String.UnicodeScalarView()
                while let d = at(pos), d.properties.isXIDContinue || d == "_" {
                    name.append(d)
                    pos += 1
                }
                tokens.append(Token(kind: .name(String(name)), location: location(start)))
            } else if ("0"..."9").contains(c) {
                tokens.append(Token(kind: try lexNumber(), location: location(start)))
            } else {
                let two = at(pos + 1).map { String(c) + String($0) } ?? ""
                let op: String
                if ["//", "**", "==", "!=", "<=", ">="].contains(two) {
                    op = two
                } else if "+-*/%~<>=()[]{},.:|".unicodeScalars.contains(c) {
                    op = String(c)
                } else {
                    throw .syntax(message: "unexpected character '\(c)'", at: location(start))
                }
                pos += op.unicodeScalars.count
                if op == "(" || op == "[" || op == "{" { depth += 1 }
                if op == ")" || op == "]" || op == "}" {
                    if depth == 0 { throw .syntax(message: "unexpected '\(op)'", at: location(start)) }
                    depth -= 1
                }
                tokens.append(Token(kind: .op(op), location: location(start)))
            }
        }
    }

    private mutating func lexNumber() throws(TemplateError) -> Token.Kind {
        let start = pos
        var text = ""
        func digits(_ lexer: inout TemplateLexer, into text: inout String) {
            while let d = lexer.at(lexer.pos), ("0"..."9").contains(d) || d == "_" {
                if d != "_" { text.unicodeScalars.append(d) }
                lexer.pos += 1
            }
        }
        digits(&self, into: &text)
        var isFloat = false
        if at(pos) == ".", let d = at(pos + 1), ("0"..."9").contains(d) {
            isFloat = true
            text += "."
            pos += 1
            digits(&self, into: &text)
        }
        if let e = at(pos), e == "e" || e == "E" {
            var k = pos + 1
            var expText = "e"
            if let s = at(k), s == "+" || s == "-" {
                expText.unicodeScalars.append(s)
                k += 1
            }
            if let d = at(k), ("0"..."9").contains(d) {
                isFloat = true
                pos = k
                text += expText
                digits(&self, into: &text)
            }
        }
        if isFloat {
            guard let value = Double(text) else { throw .syntax(message: "bad number '\(text)'", at: location(start)) }
            return .float(value)
        }
        guard let value = Int(text) else {
            throw .syntax(message: "integer '\(text)' out of range", at: location(start))
        }
        return .integer(value)
    }

    /// A quoted string with Python's `unicode-escape` rules, as jinja2 decodes string literals.
    private mutating func lexString(quote: Unicode.Scalar) throws(TemplateError) -> String {
        let start = pos
        pos += 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = at(pos) else { throw .syntax(message: "unterminated string", at: location(start)) }
            pos += 1
            if c == quote { return String(out) }
            if c != "\\" {
                out.append(c)
                continue
            }
            guard let e = at(pos) else { throw .syntax(message: "unterminated string", at: location(start)) }
            pos += 1
            switch e {
            case "\n": break
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var value = e.value - 48
                var count = 1
                while count < 3, let d = at(pos), ("0"..."7").contains(d) {
                    value = value * 8 + d.value - 48
                    pos += 1
                    count += 1
                }
                out.append(Unicode.Scalar(value)!)
            case "x", "u", "U":
                let width = e == "x" ? 2 : (e == "u" ? 4 : 8)
                var value: UInt32 = 0
                for _ in 0..<width {
                    guard let d = at(pos), let v = UInt32(String(d), radix: 16) else {
                        throw .syntax(message: "truncated \\\(e) escape in string", at: location(start))
                    }
                    value = value * 16 + v
                    pos += 1
                }
                guard let scalar = Unicode.Scalar(value) else {
                    throw .syntax(message: "invalid \\\(e) escape in string", at: location(start))
                }
                out.append(scalar)
            default:
                out.append("\\")
                out.append(e)
            }
        }
    }
}
