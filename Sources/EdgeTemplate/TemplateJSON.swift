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

    /// Encodes `value`; undefined values, namespaces and callables are not JSON and throw.
    public static func encode(_ value: TemplateValue, _ options: Options = Options(),
                              at location: SourceLocation = SourceLocation(line: 1, column: 1)) throws(TemplateError) -> String {
        var out = ""
        try write(value, options, level: 0, into: &out, at: location)
        return out
    }

    private static func write(_ value: TemplateValue, _ options: Options, level: Int, into out: inout String,
                              at location: SourceLocation) throws(TemplateError) {
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else {
                out += PythonFormat.floatRepr(d)
            }
        case .string(let s): writeString(s, options.ensureASCII, into: &out)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += options.itemSeparator }
                newline(options, level + 1, into: &out)
                try write(item, options, level: level + 1, into: &out, at: location)
            }
            newline(options, level, into: &out)
            out += "]"
        case .object(let object):
            if object.isEmpty {
                out += "{}"
                return
            }
            var pairs = object.pairs
            if options.sortKeys {
                pairs.sort { a, b in a.key.unicodeScalars.lexicographicallyPrecedes(b.key.unicodeScalars) { $0.value < $1.value } }
            }
            out += "{"
            for (i, pair) in pairs.enumerated() {
                if i > 0 { out += options.itemSeparator }
                newline(options, level + 1, into: &out)
                writeString(pair.key, options.ensureASCII, into: &out)
                out += options.keySeparator
                try write(pair.value, options, level: level + 1, into: &out, at: location)
            }
            newline(options, level, into: &out)
            out += "}"
        case .undefined, .namespace, .callable:
            throw TemplateError.type(message: "Object of type \(value.typeName) is not JSON serializable", at: location)
        }
    }

    private static func newline(_ options: Options, _ level: Int, into out: inout String) {
        guard let indent = options.indent else { return }
        out += "\n" + String(repeating: indent, count: level)
    }

    private static func writeString(_ s: String, _ ensureASCII: Bool, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7E) {
                    if scalar.value > 0xFFFF {
                        let v = scalar.value - 0x10000
                        out += "\\u" + PythonFormat.hex(0xD800 + (v >> 10), width: 4)
                        out += "\\u" + PythonFormat.hex(0xDC00 + (v & 0x3FF), width: 4)
                    } else {
                        out += "\\u" + PythonFormat.hex(scalar.value, width: 4)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
