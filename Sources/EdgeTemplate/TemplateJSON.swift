/// JSON text of a template value as Python's `json.dumps` writes it, which is what Hugging
/// Face's `tojson` filter calls: separators `", "` and `": "` (`","` between items when
/// indenting), floats in Python's repr, `NaN` / `Infinity` for non-finite floats, non-ASCII
/// characters kept unless `ensureASCII`.
public enum TemplateJSON {
    public struct Options: Sendable {
        public var indent: String? = nil
        public var itemSeparator = ", "
        public var keySeparator = ": "
        public var ensureASCII = false
        public var sortKeys = false

        public init(indent: String? = nil, ensureASCII: Bool = false, sortKeys: Bool = false) {
            self.indent = indent
            self.ensureASCII = ensureASCII
            self.sortKeys = sortKeys
            if indent != nil { itemSeparator = "," }
        }
    }

    /// Encodes `value`; undefined values, namespaces and callables are not JSON and throw. No
    /// limits: for values the caller built (a template's `tojson` keeps to its render's limits);
    /// it recurses once per level of `value`'s nesting.
    public static func encode(_ value: TemplateValue, _ options: Options = Options(),
                              at location: SourceLocation = SourceLocation(line: 1, column: 1)) throws(TemplateError) -> String {
        var builder = TextBuilder()
        try write(value, options, level: 0, into: &builder, at: location)
        return builder.text
    }

    /// Appends `value`'s JSON to `builder`, stopping early once it is over its limit (the caller
    /// checks `builder.exceeded`). Recurses once per level of `value`'s nesting.
    static func write(_ value: TemplateValue, _ options: Options, level: Int, into out: inout TextBuilder,
                      at location: SourceLocation) throws(TemplateError) {
        if out.exceeded { return }
        switch value {
        case .none: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .int(let i): out.append(String(i))
        case .double(let d):
            if d.isNaN { out.append("NaN") } else if d.isInfinite { out.append(d < 0 ? "-Infinity" : "Infinity") } else {
                out.append(PythonFormat.floatRepr(d))
            }
        case .string(let s): writeString(s, options.ensureASCII, into: &out)
        case .array(let items):
            if items.isEmpty {
                out.append("[]")
                return
            }
            out.append("[")
            for (i, item) in items.enumerated() {
                if out.exceeded { return }
                if i > 0 { out.append(options.itemSeparator) }
                newline(options, level + 1, into: &out)
                try write(item, options, level: level + 1, into: &out, at: location)
            }
            newline(options, level, into: &out)
            out.append("]")
        case .object(let object):
            if object.isEmpty {
                out.append("{}")
                return
            }
            var keys = object.keys
            if options.sortKeys {
                keys.sort { a, b in a.utf8.lexicographicallyPrecedes(b.utf8) }  // code point order
            }
            out.append("{")
            for (i, key) in keys.enumerated() {
                if out.exceeded { return }
                if i > 0 { out.append(options.itemSeparator) }
                newline(options, level + 1, into: &out)
                writeString(key, options.ensureASCII, into: &out)
                out.append(options.keySeparator)
                if let item = object[key] { try write(item, options, level: level + 1, into: &out, at: location) }
            }
            newline(options, level, into: &out)
            out.append("}")
        case .undefined, .namespace, .callable:
            throw TemplateError.type(message: "Object of type \(value.typeName) is not JSON serializable", at: location)
        }
    }

    /// A newline and `level` indents, appended one by one so that the limit holds whatever
    /// the indent's size.
    private static func newline(_ options: Options, _ level: Int, into out: inout TextBuilder) {
        guard let indent = options.indent else { return }
        out.append("\n")
        for _ in 0..<level where !out.exceeded { out.append(indent) }
    }

    /// A JSON string, its length checked before writing: at once when the worst case (6 bytes
    /// per byte, `\u00XX`) fits, else after measuring the exact length.
    private static func writeString(_ s: String, _ ensureASCII: Bool, into out: inout TextBuilder) {
        let bytes = s.utf8.count
        var needed = bytes <= (Int.max - 2) / 6 ? 6 * bytes + 2 : Int.max
        if !out.fits(needed) {
            needed = 2
            for scalar in s.unicodeScalars { needed += escapedLength(scalar, ensureASCII) }
        }
        out.append(atMost: needed) { text in
            text += "\""
            TextBytes.appendEscaped(s, to: &text, plainASCII: { b in
                b >= 0x20 && b != 0x22 && b != 0x5C && !(ensureASCII && b == 0x7F)
            }) { scalar in
                switch scalar {
                case "\"": return "\\\""
                case "\\": return "\\\\"
                case "\n": return "\\n"
                case "\r": return "\\r"
                case "\t": return "\\t"
                case "\u{08}": return "\\b"
                case "\u{0C}": return "\\f"
                default:
                    guard scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7E) else { return nil }
                    if scalar.value > 0xFFFF {
                        let v = scalar.value - 0x10000
                        return "\\u" + PythonFormat.hex(0xD800 + (v >> 10), width: 4)
                            + "\\u" + PythonFormat.hex(0xDC00 + (v & 0x3FF), width: 4)
                    }
                    return "\\u" + PythonFormat.hex(scalar.value, width: 4)
                }
            }
            text += "\""
        }
    }

    /// Bytes `writeString` writes for one character.
    private static func escapedLength(_ scalar: Unicode.Scalar, _ ensureASCII: Bool) -> Int {
        switch scalar {
        case "\"", "\\", "\n", "\r", "\t", "\u{08}", "\u{0C}": return 2
        default:
            if scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7E) { return scalar.value > 0xFFFF ? 12 : 6 }
            return UTF8.width(scalar)
        }
    }
}
