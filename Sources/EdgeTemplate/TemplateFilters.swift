#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The jinja2 filters this engine implements, with jinja2's argument names and defaults
/// (`tojson` takes Hugging Face's override's arguments: ensure_ascii, indent, separators,
/// sort_keys).
///
/// Each filter sizes its result and checks it against the render's limits before building it,
/// and charges the render's budget for the elements and bytes it walks.
enum TemplateFilters {
    static let names: Set<String> = [
        "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
        "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject",
        "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string", "sum",
        "title", "tojson", "trim", "unique", "upper", "wordcount",
    ]

    /// Python's `str.isspace` characters, which `strip()` and `split()` remove.
    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
    }

    /// Python's `strip` / `lstrip` / `rstrip`: whitespace, or any of `chars`.
    static func strip(_ s: String, chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        func strippable(_ c: Unicode.Scalar) -> Bool { set?.contains(c) ?? isPythonSpace(c) }
        let scalars = s.unicodeScalars
        var lo = scalars.startIndex
        var hi = scalars.endIndex
        if leading { while lo < hi, strippable(scalars[lo]) { lo = scalars.index(after: lo) } }
        if trailing {
            while hi > lo {
                let before = scalars.index(before: hi)
                guard strippable(scalars[before]) else { break }
                hi = before
            }
        }
        if lo == scalars.startIndex && hi == scalars.endIndex { return s }
        return String(scalars[lo..<hi])
    }

    /// jinja2's `title`: capitalize each piece after `-`, whitespace, `(`, `{`, `[` or `<`.
    static func jinjaTitle(_ s: String) -> String {
        var out = ""
        var atWordStart = true
        for c in s {
            let isBoundary = c == "-" || c == "(" || c == "{" || c == "[" || c == "<"
                || c.unicodeScalars.allSatisfy(isPythonSpace)
            if isBoundary {
                out.append(c)
                atWordStart = true
            } else {
                out += atWordStart ? c.uppercased() : c.lowercased()
                atWordStart = false
            }
        }
        return out
    }

    /// Python's `str.capitalize`.
    static func capitalize(_ s: String) -> String {
        guard let first = s.first else { return s }
        return first.uppercased() + s.dropFirst().lowercased()
    }

    /// Unicode case mapping makes at most 3 bytes of one (U+0390 ΐ, 2 bytes, upper-cases to
    /// 3 scalars, 6 bytes): the bound `caseMapped` checks against before mapping.
    static let caseMappingGrowth = 3

    /// The HTML-escaped text's length: 5 bytes for `&#34;` / `&#39;` / `&amp;`, 4 for `&lt;` `&gt;`.
    static func htmlEscapedLength(_ s: String) -> Int {
        var extra = 0
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "&"), UInt8(ascii: "\""), UInt8(ascii: "'"): extra += 4
            case UInt8(ascii: "<"), UInt8(ascii: ">"): extra += 3
            default: break
            }
        }
        return s.utf8.count + extra
    }

    static func htmlEscape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(htmlEscapedLength(s))
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Python's line boundaries for `splitlines`.
    static func isLineBreak(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }

    /// Python's `str.splitlines()` (without keepends); nil when there would be more than
    /// `maxLines` lines.
    static func splitLines(_ s: String, maxLines: Int = .max) -> [String]? {
        var lines: [String] = []
        let scalars = s.unicodeScalars
        var start = scalars.startIndex
        var i = start
        while i < scalars.endIndex {
            let c = scalars[i]
            if isLineBreak(c) {
                if lines.count == maxLines { return nil }
                lines.append(String(scalars[start..<i]))
                i = scalars.index(after: i)
                if c == "\r", i < scalars.endIndex, scalars[i] == "\n" { i = scalars.index(after: i) }
                start = i
            } else {
                i = scalars.index(after: i)
            }
        }
        if start < scalars.endIndex {
            if lines.count == maxLines { return nil }
            lines.append(String(scalars[start...]))
        }
        return lines
    }
}

/// A dotted attribute path (`function.name`, `0.role`) as `map`, `sort`, `selectattr` take it,
/// split once per filter call: each part a key, or an index when it is a number.
struct AttributePath {
    let parts: [TemplateValue]

    init(_ path: String) {
        parts = path.split(separator: ".", omittingEmptySubsequences: false).map { part in
            if let i = Int(part) { return .int(i) }
            return .string(String(part))
        }
    }
}

extension TemplateRenderer {
    func applyFilter(_ name: String, to value: TemplateValue, _ args: CallArguments,
                     at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        let construct = "filter '\(name)'"
        try budget.enter(construct, at: location)
        defer { budget.leave() }
        func string() throws(TemplateError) -> String { try self.string(value, construct, at: location) }
        func typeError(_ message: String) -> TemplateError { .type(message: message, at: location) }
        /// The attribute path argument `argument`, if it is a string.
        func path(_ argument: TemplateValue) throws(TemplateError) -> AttributePath? {
            guard case .string(let p) = argument else { return nil }
            try budget.chargeBytes(p.utf8.count, construct, at: location)
            return AttributePath(p)
        }
        /// A case mapping of `s`, within `maxStringBytes`.
        func caseMapped(_ s: String, _ map: (String) -> String) throws(TemplateError) -> TemplateValue {
            .string(try self.caseMapped(s, construct, at: location, map))
        }

        switch name {
        case "abs":
            switch value.numericValue {
            case .int(let i)?:
                guard i != .min else { throw TemplateError.integerOverflow(operation: construct, at: location) }
                return .int(abs(i))
            case .double(let d)?: return .double(abs(d))
            case nil: throw typeError("bad operand type for abs(): '\(value.typeName)'")
            }
        case "attr":
            guard case .string(let attributeName) = args.value(0, "name") else { throw typeError("attr name must be a string") }
            try budget.chargeKey(attributeName, construct, at: location)
            if case .object = value, !TemplateMethods.dictMethods.contains(attributeName) { return .undefined }
            return attribute(of: value, attributeName)
        case "capitalize":
            return try caseMapped(try string(), TemplateFilters.capitalize)
        case "count", "length":
            switch value {
            case .undefined: return .int(0)
            case .string(let s):
                try budget.chargeBytes(s.utf8.count, construct, at: location)
                return .int(s.unicodeScalars.count)
            case .array(let items): return .int(items.count)
            case .object(let object): return .int(object.count)
            case .callable(let c) where c.loopContext != nil:
                return .int(c.loopContext!.items.count)
            default: throw typeError("object of type '\(value.typeName)' has no len()")
            }
        case "d", "default":
            let fallback = args.value(0, "default_value", default: .string(""))
            let boolean = args.value(1, "boolean", default: .bool(false)).isTruthy
            if case .undefined = value { return fallback }
            return boolean && !value.isTruthy ? fallback : value
        case "dictsort":
            guard case .object(let object) = value else { throw typeError("dictsort expects a mapping") }
            let caseSensitive = args.value(0, "case_sensitive", default: .bool(false)).isTruthy
            let byValue = args.value(1, "by", default: .string("key")) == .string("value")
            let reverse = args.value(2, "reverse", default: .bool(false)).isTruthy
            try budget.reservePairs(object.count, construct, at: location)
            try budget.checkNesting(wrapping: object.pairs.lazy.map(\.value), levels: 2, construct, at: location)
            let pairs: [TemplateValue] = object.pairs.map { .array([.string($0.key), $0.value]) }
            var keys: [TemplateValue] = []
            for pair in object.pairs {
                let key = byValue ? pair.value : .string(pair.key)
                keys.append(caseSensitive ? key : try foldedKey(key, construct, at: location))
            }
            return .array(try sorted(pairs, keys: keys, reverse: reverse, at: location))
        case "e", "escape":
            let s = try string()
            try budget.reserveString(TemplateFilters.htmlEscapedLength(s), construct, at: location)
            return .string(TemplateFilters.htmlEscape(s))
        case "first":
            if case .string(let s) = value { return s.unicodeScalars.first.map { .string(String($0)) } ?? .undefined }
            return try iterate(value, construct, at: location).first ?? .undefined
        case "last":
            if case .string(let s) = value { return s.unicodeScalars.last.map { .string(String($0)) } ?? .undefined }
            return try iterate(value, construct, at: location).last ?? .undefined
        case "float":
            let fallback = args.value(0, "default", default: .double(0))
            switch value {
            case .int, .bool, .double: return .double(value.numericValue!.asDouble)
            case .string(let s):
                try budget.chargeBytes(2 * s.utf8.count, construct, at: location)
                let text = TemplateFilters.strip(s, chars: nil, leading: true, trailing: true).removingUnderscores
                if let d = text.pythonFloat { return .double(d) }
                return fallback
            default: return fallback
            }
        case "int":
            return try toInt(value, args, construct, at: location)
        case "indent":
            return try indent(try string(), args, construct, at: location)
        case "items":
            switch value {
            case .undefined: return .array([])
            case .object(let object):
                try budget.reservePairs(object.count, construct, at: location)
                try budget.checkNesting(wrapping: object.pairs.lazy.map(\.value), levels: 2, construct, at: location)
                return .array(object.pairs.map { .array([.string($0.key), $0.value]) })
            default: throw typeError("Can only get item pairs from a mapping.")
            }
        case "join":
            let separator = try self.string(args.value(0, "d", default: .string("")), construct, at: location)
            var items = try iterate(value, construct, at: location)
            if let attribute = try path(args.value(1, "attribute", default: .none)) {
                var picked: [TemplateValue] = []
                for item in items { picked.append(try itemAttribute(item, attribute, at: location)) }
                items = picked
            }
            var parts: [String] = []
            var size = 0
            for item in items {
                let part = try self.string(item, construct, at: location)
                size = try budget.sum(size, part.utf8.count, .stringBytes, construct, at: location)
                if size > budget.limits.maxStringBytes { throw budget.failure(.stringBytes, construct, location) }
                parts.append(part)
            }
            let separators = try budget.product(separator.utf8.count, max(0, parts.count - 1), .stringBytes, construct, at: location)
            try budget.reserveString(try budget.sum(size, separators, .stringBytes, construct, at: location), construct, at: location)
            return .string(parts.joined(separator: separator))
        case "list":
            return .array(try iterate(value, construct, at: location))
        case "lower":
            return try caseMapped(try string()) { $0.lowercased() }
        case "upper":
            return try caseMapped(try string()) { $0.uppercased() }
        case "map":
            let items = try iterate(value, construct, at: location)
            if let attribute = try path(args.value(-1, "attribute", default: .none)) {
                let fallback = args.value(-1, "default", default: .undefined)
                try budget.reserveElements(items.count, construct, at: location)
                var out: [TemplateValue] = []
                for item in items {
                    let found = try itemAttribute(item, attribute, at: location)
                    if case .undefined = found { out.append(fallback) } else { out.append(found) }
                }
                return .array(out)
            }
            guard case .string(let filterName)? = args.positional.first else {
                throw typeError("map requires a filter name or attribute=")
            }
            guard TemplateFilters.names.contains(filterName) else {
                throw TemplateError.unsupported(kind: "filter", name: filterName, at: location)
            }
            let rest = args.droppingFirst
            try budget.reserveElements(items.count, construct, at: location)
            var out: [TemplateValue] = []
            for item in items { out.append(try applyFilter(filterName, to: item, rest, at: location)) }
            return .array(out)
        case "max", "min":
            let items = try iterate(value, construct, at: location)
            let caseSensitive = args.value(0, "case_sensitive", default: .bool(false)).isTruthy
            let attribute = try path(args.value(1, "attribute", default: .none))
            let keys = try sortKeys(items, attribute: attribute, caseSensitive: caseSensitive, construct, at: location)
            return try sorted(items, keys: keys, reverse: name == "max", at: location).first ?? .undefined
        case "select", "reject":
            return .array(try selectItems(value, args, attribute: nil, keep: name == "select", construct, at: location))
        case "selectattr", "rejectattr":
            guard case .string(let attributeName)? = args.positional.first else {
                throw typeError("\(name) requires an attribute name")
            }
            try budget.chargeBytes(attributeName.utf8.count, construct, at: location)
            let rest = args.droppingFirst
            return .array(try selectItems(value, rest, attribute: AttributePath(attributeName),
                                          keep: name == "selectattr", construct, at: location))
        case "replace":
            let old = try self.string(args.value(0, "old"), construct, at: location)
            let new = try self.string(args.value(1, "new"), construct, at: location)
            var count = -1
            if case .int(let c)? = args.value(2, "count", default: .none).numericValue { count = c }
            return .string(try replace(try string(), old, new, count: count, construct, at: location))
        case "reverse":
            if case .string(let s) = value {
                try budget.reserveString(s.utf8.count, construct, at: location)
                return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed())))
            }
            let items = try iterate(value, construct, at: location)
            try budget.reserveElements(items.count, construct, at: location)
            return .array(items.reversed())
        case "round":
            guard case .int(let precision)? = args.value(0, "precision", default: .int(0)).numericValue else {
                throw typeError("round precision must be an int")
            }
            let method = try self.string(args.value(1, "method", default: .string("common")), construct, at: location)
            guard let number = value.numericValue else { throw typeError("round expects a number") }
            let x = number.asDouble
            // 10 ** precision overflows to inf past 308 and underflows to 0 below -323: a float
            // has no digits there, so rounding keeps it (or, rounding to 10 ** 309, makes 0).
            let scale = pow(10.0, Double(precision))
            func scaled(_ rule: FloatingPointRoundingRule) -> Double {
                if !scale.isFinite || !(x * scale).isFinite { return x }
                if scale == 0 { return x.sign == .minus ? -0.0 : 0.0 }
                return (x * scale).rounded(rule) / scale
            }
            switch method {
            case "common":
                if case .int(let i) = number { return .int(i) }
                if precision == 0 { return .double(x.rounded(.toNearestOrEven)) }
                return .double(scaled(.toNearestOrEven))
            case "floor": return .double(scaled(.down))
            case "ceil": return .double(scaled(.up))
            default: throw typeError("method must be common, ceil or floor")
            }
        case "safe":
            return value
        case "sort":
            let reverse = args.value(0, "reverse", default: .bool(false)).isTruthy
            let caseSensitive = args.value(1, "case_sensitive", default: .bool(false)).isTruthy
            let attribute = try path(args.value(2, "attribute", default: .none))
            let items = try iterate(value, construct, at: location)
            let keys = try sortKeys(items, attribute: attribute, caseSensitive: caseSensitive, construct, at: location)
            return .array(try sorted(items, keys: keys, reverse: reverse, at: location))
        case "string":
            return .string(try string())
        case "sum":
            let attribute = try path(args.value(0, "attribute", default: .none))
            var total = args.value(1, "start", default: .int(0))
            for item in try iterate(value, construct, at: location) {
                var term = item
                if let attribute { term = try itemAttribute(item, attribute, at: location) }
                total = try PythonOperators.arithmetic("+", total, term, budget, at: location)
            }
            return total
        case "title":
            return try caseMapped(try string(), TemplateFilters.jinjaTitle)
        case "tojson":
            return .string(try toJSON(value, args, construct, at: location))
        case "trim":
            var chars: String? = nil
            if case .string(let c) = args.value(0, "chars", default: .none) { chars = c }
            let s = try string()
            try budget.chargeBytes(s.utf8.count + (chars?.utf8.count ?? 0), construct, at: location)
            return .string(TemplateFilters.strip(s, chars: chars, leading: true, trailing: true))
        case "unique":
            let caseSensitive = args.value(0, "case_sensitive", default: .bool(false)).isTruthy
            let attribute = try path(args.value(1, "attribute", default: .none))
            var seen: [TemplateValue] = []
            var out: [TemplateValue] = []
            let items = try iterate(value, construct, at: location)
            try budget.reserveElements(items.count, construct, at: location)
            for item in items {
                var key = item
                if let attribute { key = try itemAttribute(item, attribute, at: location) }
                if !caseSensitive { key = try foldedKey(key, construct, at: location) }
                var isNew = true
                for earlier in seen where try PythonOperators.equals(earlier, key, budget, at: location) {
                    isNew = false
                    break
                }
                if isNew {
                    seen.append(key)
                    out.append(item)
                }
            }
            return .array(out)
        case "wordcount":
            let s = try string()
            try budget.chargeBytes(s.utf8.count, construct, at: location)
            var count = 0
            var inWord = false
            for c in s.unicodeScalars {
                let wordChar = c.properties.isAlphabetic || c.properties.numericType != nil || c == "_"
                if wordChar && !inWord { count += 1 }
                inWord = wordChar
            }
            return .int(count)
        default:
            throw TemplateError.unsupported(kind: "filter", name: name, at: location)
        }
    }

    /// `s` mapped by a Unicode case mapping (`upper`, `lower`, `title`, ...), within
    /// `maxStringBytes`. A mapping can lengthen text (at most `caseMappingGrowth` times), so
    /// when the worst case could cross the limit the result is measured before it is kept; the
    /// transient text is then at most `caseMappingGrowth` times the limit.
    func caseMapped(_ s: String, _ construct: @autoclosure () -> String, at location: SourceLocation,
                    _ map: (String) -> String) throws(TemplateError) -> String {
        let bytes = s.utf8.count
        let worstCase = try budget.product(bytes, TemplateFilters.caseMappingGrowth, .steps, construct(), at: location)
        try budget.chargeBytes(worstCase, construct(), at: location)
        let mapped = map(s)
        if mapped.utf8.count > budget.limits.maxStringBytes { throw budget.failure(.stringBytes, construct(), location) }
        return mapped
    }

    /// The key `sort`, `unique`, `dictsort` compare when not case-sensitive: a string lower-cased.
    func foldedKey(_ key: TemplateValue, _ construct: @autoclosure () -> String,
                   at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        guard case .string(let s) = key else { return key }
        return .string(try caseMapped(s, construct(), at: location) { $0.lowercased() })
    }

    private func sortKeys(_ items: [TemplateValue], attribute: AttributePath?, caseSensitive: Bool,
                          _ construct: String, at location: SourceLocation) throws(TemplateError) -> [TemplateValue] {
        var keys: [TemplateValue] = []
        keys.reserveCapacity(items.count)
        for item in items {
            var key = item
            if let attribute { key = try itemAttribute(item, attribute, at: location) }
            keys.append(caseSensitive ? key : try foldedKey(key, construct, at: location))
        }
        return keys
    }

    /// jinja2's `int` filter: `int(value)`, or for a string `int(value, base)`, falling back to
    /// `int(float(value))`, then to `default`. A whole number too big for 64 bits (which Python
    /// would keep) is an overflow, as is an infinite float (Python's OverflowError).
    private func toInt(_ value: TemplateValue, _ args: CallArguments, _ construct: String,
                       at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        let fallback = args.value(0, "default", default: .int(0))
        func fromDouble(_ d: Double) throws(TemplateError) -> TemplateValue {
            if d.isNaN { return fallback }
            // Doubles in [-2^63, 2^63) convert exactly; 2^63 itself does not fit.
            guard d >= -9_223_372_036_854_775_808.0 && d < 9_223_372_036_854_775_808.0 else {
                throw TemplateError.integerOverflow(operation: construct, at: location)
            }
            return .int(Int(d))
        }
        switch value {
        case .int(let i): return .int(i)
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d): return try fromDouble(d)
        case .string(let s):
            try budget.chargeBytes(2 * s.utf8.count, construct, at: location)
            let text = TemplateFilters.strip(s, chars: nil, leading: true, trailing: true).removingUnderscores
            var base = 10
            if case .int(let b)? = args.value(1, "base", default: .int(10)).numericValue { base = b }
            if let parsed = try Self.parseInteger(text, base: base, construct, at: location) { return .int(parsed) }
            if let d = text.pythonFloat { return try fromDouble(d) }
            return fallback
        default: return fallback
        }
    }

    /// Python's `int(text, base)` for a stripped text: an optional sign, then digits of `base`
    /// (2...36; 0 reads a `0x` / `0o` / `0b` prefix). nil when Python would raise ValueError;
    /// an overflow error when the digits are valid but the number does not fit in 64 bits.
    static func parseInteger(_ text: String, base: Int, _ construct: String,
                             at location: SourceLocation) throws(TemplateError) -> Int? {
        guard base == 0 || (2...36).contains(base) else { return nil }
        var scalars = Substring(text)
        var negative = false
        if let sign = scalars.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            scalars = scalars.dropFirst()
        }
        var radix = base
        let lowered = scalars.lowercased()
        for (prefix, prefixRadix) in [("0x", 16), ("0o", 8), ("0b", 2)] where lowered.hasPrefix(prefix) {
            if base == 0 || base == prefixRadix {
                radix = prefixRadix
                scalars = scalars.dropFirst(2)
            }
            break
        }
        if radix == 0 {
            radix = 10
            // Python refuses leading zeros in base 0 ("010"), except for zero itself.
            if scalars.count > 1, scalars.first == "0", scalars.contains(where: { $0 != "0" }) { return nil }
        }
        func digitValue(_ c: Character) -> Int? {
            guard let a = c.asciiValue else { return nil }
            switch a {
            case 48...57: return Int(a) - 48
            case 97...122: return Int(a) - 87
            case 65...90: return Int(a) - 55
            default: return nil
            }
        }
        guard !scalars.isEmpty, scalars.allSatisfy({ digitValue($0).map { $0 < radix } ?? false }) else { return nil }
        guard let magnitude = UInt(scalars, radix: radix) else {
            throw TemplateError.integerOverflow(operation: construct, at: location)
        }
        if negative {
            if magnitude == UInt(Int.max) + 1 { return .min }
            guard magnitude <= UInt(Int.max) else { throw TemplateError.integerOverflow(operation: construct, at: location) }
            return -Int(magnitude)
        }
        guard magnitude <= UInt(Int.max) else { throw TemplateError.integerOverflow(operation: construct, at: location) }
        return Int(magnitude)
    }

    /// jinja2's `indent(width, first, blank)`, sized before it is built.
    private func indent(_ s: String, _ args: CallArguments, _ construct: String,
                        at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        let widthValue = args.value(0, "width", default: .int(4))
        let indentation: String
        switch widthValue {
        case .string(let s): indentation = s
        default:
            guard case .int(let w)? = widthValue.numericValue else {
                throw TemplateError.type(message: "indent width must be an int or a string", at: location)
            }
            try budget.reserveString(max(0, w), construct, at: location)
            indentation = String(repeating: " ", count: max(0, w))
        }
        let first = args.value(1, "first", default: .bool(false)).isTruthy
        let blank = args.value(2, "blank", default: .bool(false)).isTruthy
        try budget.chargeBytes(s.utf8.count, construct, at: location)
        guard let lines = TemplateFilters.splitLines(s + "\n", maxLines: budget.limits.maxCollectionCount) else {
            throw budget.failure(.collectionCount, construct, location)
        }
        // Bytes: the lines, a newline between each two, and the indentation of every indented line.
        let indented = blank ? lines.count - 1 : lines.dropFirst().filter { !$0.isEmpty }.count
        var size = lines.reduce(0) { $0 + $1.utf8.count } + max(0, lines.count - 1)
        let indentBytes = try budget.product(indentation.utf8.count, indented + (first ? 1 : 0), .stringBytes, construct, at: location)
        size = try budget.sum(size, indentBytes, .stringBytes, construct, at: location)
        try budget.reserveString(size, construct, at: location)
        var result: String
        if blank {
            result = lines.joined(separator: "\n" + indentation)
        } else {
            result = lines.first ?? ""
            let rest = lines.dropFirst()
            if !rest.isEmpty {
                result += "\n" + rest.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
            }
        }
        return .string(first ? indentation + result : result)
    }

    /// Hugging Face's `tojson(ensure_ascii, indent, separators, sort_keys)`.
    private func toJSON(_ value: TemplateValue, _ args: CallArguments, _ construct: String,
                        at location: SourceLocation) throws(TemplateError) -> String {
        let ensureASCII = args.value(0, "ensure_ascii", default: .bool(false)).isTruthy
        let indent = args.value(1, "indent", default: .none)
        let separators = args.value(2, "separators", default: .none)
        let sortKeys = args.value(3, "sort_keys", default: .bool(false)).isTruthy
        var options = TemplateJSON.Options(ensureASCII: ensureASCII, sortKeys: sortKeys)
        switch indent {
        case .none, .undefined: break
        case .string(let s): options.indent = s
        default:
            guard case .int(let n)? = indent.numericValue else {
                throw TemplateError.type(message: "indent must be an int or a string", at: location)
            }
            try budget.reserveString(max(0, n), construct, at: location)
            options.indent = String(repeating: " ", count: max(0, n))
        }
        if case .array(let pair) = separators, pair.count == 2, case .string(let item) = pair[0],
            case .string(let key) = pair[1]
        {
            options.itemSeparator = item
            options.keySeparator = key
        } else if options.indent != nil {
            options.itemSeparator = ","
        }
        var builder = TextBuilder(limit: budget.limits.maxStringBytes)
        try TemplateJSON.write(value, options, level: 0, into: &builder, at: location)
        if builder.exceeded { throw budget.failure(.stringBytes, construct, location) }
        try budget.chargeBytes(builder.text.utf8.count, construct, at: location)
        return builder.text
    }

    /// Python's `str.replace(old, new, count)`, sized before it is built: an empty `old` inserts
    /// `new` before every character and at the end.
    func replace(_ s: String, _ old: String, _ new: String, count: Int, _ construct: String,
                 at location: SourceLocation) throws(TemplateError) -> String {
        try budget.chargeBytes(s.utf8.count, construct, at: location)
        guard let search = TextSearch(old) else {
            let scalarCount = s.unicodeScalars.count
            let insertions = count < 0 ? scalarCount + 1 : min(count, scalarCount + 1)
            let added = try budget.product(new.utf8.count, insertions, .stringBytes, construct, at: location)
            try budget.reserveString(try budget.sum(s.utf8.count, added, .stringBytes, construct, at: location), construct, at: location)
            var out = String.UnicodeScalarView()
            var replaced = 0
            for scalar in s.unicodeScalars {
                if replaced < insertions {
                    out.append(contentsOf: new.unicodeScalars)
                    replaced += 1
                }
                out.append(scalar)
            }
            if replaced < insertions { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        return try TextBytes.with(s) { (hay) throws(TemplateError) -> String in
            let found = search.forEachOccurrence(in: hay, limit: count)
            if found == 0 { return s }
            let delta = new.utf8.count - old.utf8.count
            var size = hay.count
            if delta > 0 {
                size = try budget.sum(size, try budget.product(delta, found, .stringBytes, construct, at: location),
                                      .stringBytes, construct, at: location)
            } else {
                size -= (-delta) * found
            }
            try budget.reserveString(size, construct, at: location)
            let newBytes = Array(new.utf8)
            return TextBytes.build(count: size) { out in
                var written = 0
                var copied = 0
                search.forEachOccurrence(in: hay, limit: count) { start in
                    for i in copied..<start { out[written] = hay[i]; written += 1 }
                    for b in newBytes { out[written] = b; written += 1 }
                    copied = start + search.needle.count
                }
                for i in copied..<hay.count { out[written] = hay[i]; written += 1 }
                return written
            }
        }
    }

    /// jinja2's attribute getter for `map`, `sort`, `selectattr`...: each part of the path a
    /// key (or an index when it is a number), falling back to an attribute. One step per part.
    func itemAttribute(_ value: TemplateValue, _ path: AttributePath, at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        try budget.charge(path.parts.count, "attribute path", at: location)
        var current = value
        for part in path.parts {
            current = try item(of: current, part, at: location)
            if case .undefined = current { return .undefined }
        }
        return current
    }

    /// A stable sort of `items` by `keys` (same count), ascending or descending, with Python's
    /// ordering; one step per comparison.
    func sorted(_ items: [TemplateValue], keys: [TemplateValue], reverse: Bool,
                at location: SourceLocation) throws(TemplateError) -> [TemplateValue] {
        try budget.reserveElements(items.count, "sort", at: location)
        var failure: TemplateError? = nil
        let budget = self.budget
        let order = items.indices.sorted { a, b in
            if failure != nil { return a < b }
            do throws(TemplateError) {
                let order = try PythonOperators.ordering(keys[a], keys[b], budget, at: location)
                if order == 0 { return a < b }
                return reverse ? order > 0 : order < 0
            } catch {
                failure = error
                return a < b
            }
        }
        if let failure { throw failure }
        return order.map { items[$0] }
    }

    /// `select` / `reject` (no attribute) and `selectattr` / `rejectattr`: keep the items whose
    /// test (truthiness when no test is named) equals `keep`.
    private func selectItems(_ value: TemplateValue, _ args: CallArguments, attribute: AttributePath?, keep: Bool,
                             _ construct: String, at location: SourceLocation) throws(TemplateError) -> [TemplateValue] {
        var testName: String? = nil
        if case .string(let t)? = args.positional.first { testName = t }
        if let testName, !TemplatePredicates.names.contains(testName) {
            throw TemplateError.unsupported(kind: "test", name: testName, at: location)
        }
        let testArgs = args.droppingFirst
        let items = try iterate(value, construct, at: location)
        try budget.reserveElements(items.count, construct, at: location)
        var out: [TemplateValue] = []
        for item in items {
            let subject = try attribute.map { (a: AttributePath) throws(TemplateError) in try itemAttribute(item, a, at: location) } ?? item
            let passed = try testName.map { (t: String) throws(TemplateError) in try applyTest(t, to: subject, testArgs, at: location) }
                ?? subject.isTruthy
            if passed == keep { out.append(item) }
        }
        return out
    }
}

extension String {
    /// The text without `_` (Python's number parsing allows `1_000`).
    var removingUnderscores: String {
        guard utf8.contains(UInt8(ascii: "_")) else { return self }
        return String(String.UnicodeScalarView(unicodeScalars.filter { $0 != "_" }))
    }

    /// Python's `float(text)` for a stripped text: Swift's parser, less the hexadecimal floats
    /// (`0x1p3`) Python refuses.
    var pythonFloat: Double? {
        if utf8.contains(UInt8(ascii: "x")) || utf8.contains(UInt8(ascii: "X")) { return nil }
        return Double(self)
    }
}
