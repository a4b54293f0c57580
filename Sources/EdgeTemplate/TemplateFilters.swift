#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The jinja2 filters this engine implements, with jinja2's argument names and defaults
/// (`tojson` takes Hugging Face's override's arguments: ensure_ascii, indent, separators,
/// sort_keys).
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

    static func strip(_ s: String, chars: String?, leading: Bool, trailing: Bool) -> String {
        let scalars = Array(s.unicodeScalars)
        let set = chars.map { Set($0.unicodeScalars) }
        func strippable(_ c: Unicode.Scalar) -> Bool { set?.contains(c) ?? isPythonSpace(c) }
        var lo = 0
        var hi = scalars.count
        if leading { while lo < hi, strippable(scalars[lo]) { lo += 1 } }
        if trailing { while hi > lo, strippable(scalars[hi - 1]) { hi -= 1 } }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[lo..<hi])
        return String(out)
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

    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Python's `str.splitlines()` (without keepends).
    static func splitLines(_ s: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        let scalars = Array(s.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            let breaks: Set<UInt32> = [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029]
            if breaks.contains(c.value) {
                lines.append(String(current))
                current = String.UnicodeScalarView()
                if c == "\r", i + 1 < scalars.count, scalars[i + 1] == "\n" { i += 1 }
            } else {
                current.append(c)
            }
            i += 1
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }
}

extension TemplateRenderer {
    func applyFilter(_ name: String, to value: TemplateValue, _ args: CallArguments,
                     at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        func string() -> String { value.pythonString }
        func typeError(_ message: String) -> TemplateError { .type(message: message, at: location) }

        switch name {
        case "abs":
            switch value.numericValue {
            case .int(let i)?: return .int(abs(i))
            case .double(let d)?: return .double(abs(d))
            case nil: throw typeError("bad operand type for abs(): '\(value.typeName)'")
            }
        case "attr":
            guard case .string(let attributeName) = args.value(0, "name") else { throw typeError("attr name must be a string") }
            if case .object = value, !TemplateMethods.dictMethods.contains(attributeName) { return .undefined }
            return attribute(of: value, attributeName)
        case "capitalize":
            return .string(TemplateFilters.capitalize(string()))
        case "count", "length":
            switch value {
            case .undefined: return .int(0)
            case .string(let s): return .int(s.unicodeScalars.count)
            case .array(let items): return .int(items.count)
            case .object(let object): return .int(object.count)
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
            let pairs: [TemplateValue] = object.pairs.map { .array([.string($0.key), $0.value]) }
            return .array(try sorted(pairs, reverse: reverse, at: location) { pair in
                guard case .array(let kv) = pair else { return pair }
                let key = byValue ? kv[1] : kv[0]
                if !caseSensitive, case .string(let s) = key { return .string(s.lowercased()) }
                return key
            })
        case "e", "escape":
            return .string(TemplateFilters.htmlEscape(string()))
        case "first":
            return try iterate(value, at: location).first ?? .undefined
        case "last":
            return try iterate(value, at: location).last ?? .undefined
        case "float":
            let fallback = args.value(0, "default", default: .double(0))
            switch value {
            case .int, .bool, .double: return .double(value.numericValue!.asDouble)
            case .string(let s):
                let text = TemplateFilters.strip(s, chars: nil, leading: true, trailing: true).pythonReplacing("_", "")
                if let d = Double(text) { return .double(d) }
                return fallback
            default: return fallback
            }
        case "int":
            let fallback = args.value(0, "default", default: .int(0))
            guard case .int(let base)? = args.value(1, "base", default: .int(10)).numericValue else { return fallback }
            switch value {
            case .int, .bool: return .int(value.numericValue.map { if case .int(let i) = $0 { return i } else { return 0 } } ?? 0)
            case .double(let d):
                guard d.isFinite, abs(d) < 9.2e18 else { return fallback }
                return .int(Int(d))
            case .string(let s):
                let text = TemplateFilters.strip(s, chars: nil, leading: true, trailing: true).pythonReplacing("_", "")
                if let i = Int(text, radix: base) { return .int(i) }
                if base == 10, let d = Double(text), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "indent":
            let widthValue = args.value(0, "width", default: .int(4))
            let indentation: String
            switch widthValue {
            case .string(let s): indentation = s
            default:
                guard case .int(let w)? = widthValue.numericValue else { throw typeError("indent width must be an int or a string") }
                indentation = String(repeating: " ", count: max(0, w))
            }
            let first = args.value(1, "first", default: .bool(false)).isTruthy
            let blank = args.value(2, "blank", default: .bool(false)).isTruthy
            let lines = TemplateFilters.splitLines(string() + "\n")
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
        case "items":
            switch value {
            case .undefined: return .array([])
            case .object(let object): return .array(object.pairs.map { .array([.string($0.key), $0.value]) })
            default: throw typeError("Can only get item pairs from a mapping.")
            }
        case "join":
            let separator = args.value(0, "d", default: .string("")).pythonString
            var items = try iterate(value, at: location)
            if case .string(let attributeName) = args.value(1, "attribute", default: .none) {
                items = items.map { itemAttribute($0, attributeName) }
            }
            return .string(items.map(\.pythonString).joined(separator: separator))
        case "list":
            return .array(try iterate(value, at: location))
        case "lower":
            return .string(string().lowercased())
        case "upper":
            return .string(string().uppercased())
        case "map":
            let items = try iterate(value, at: location)
            if case .string(let attributeName) = args.value(-1, "attribute", default: .none) {
                let fallback = args.value(-1, "default", default: .undefined)
                return .array(items.map { item in
                    let found = itemAttribute(item, attributeName)
                    if case .undefined = found { return fallback }
                    return found
                })
            }
            guard case .string(let filterName)? = args.positional.first else {
                throw typeError("map requires a filter name or attribute=")
            }
            guard TemplateFilters.names.contains(filterName) else {
                throw TemplateError.unsupported(kind: "filter", name: filterName, at: location)
            }
            let rest = CallArguments(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
            var out: [TemplateValue] = []
            for item in items { out.append(try applyFilter(filterName, to: item, rest, at: location)) }
            return .array(out)
        case "max", "min":
            let items = try iterate(value, at: location)
            let caseSensitive = args.value(0, "case_sensitive", default: .bool(false)).isTruthy
            let attributeName = args.value(1, "attribute", default: .none)
            let ordered = try sorted(items, reverse: name == "max", at: location) { item in
                var key = item
                if case .string(let a) = attributeName { key = itemAttribute(item, a) }
                if !caseSensitive, case .string(let s) = key { return .string(s.lowercased()) }
                return key
            }
            return ordered.first ?? .undefined
        case "select", "reject":
            return .array(try selectItems(value, args, attribute: nil, keep: name == "select", at: location))
        case "selectattr", "rejectattr":
            guard case .string(let attributeName)? = args.positional.first else {
                throw typeError("\(name) requires an attribute name")
            }
            let rest = CallArguments(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
            return .array(try selectItems(value, rest, attribute: attributeName, keep: name == "selectattr", at: location))
        case "replace":
            let old = args.value(0, "old").pythonString
            let new = args.value(1, "new").pythonString
            var count = -1
            if case .int(let c)? = args.value(2, "count", default: .none).numericValue { count = c }
            return .string(TemplateMethods.replace(string(), old, new, count: count))
        case "reverse":
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .array(try iterate(value, at: location).reversed())
        case "round":
            guard case .int(let precision)? = args.value(0, "precision", default: .int(0)).numericValue else {
                throw typeError("round precision must be an int")
            }
            let method = args.value(1, "method", default: .string("common")).pythonString
            guard let number = value.numericValue else { throw typeError("round expects a number") }
            let scale = pow(10.0, Double(precision))
            switch method {
            case "common":
                if case .int = number { return .int(value.numericValue.map { if case .int(let i) = $0 { return i } else { return 0 } } ?? 0) }
                let x = number.asDouble
                if precision == 0 { return .double(x.rounded(.toNearestOrEven)) }
                return .double((x * scale).rounded(.toNearestOrEven) / scale)
            case "floor": return .double((number.asDouble * scale).rounded(.down) / scale)
            case "ceil": return .double((number.asDouble * scale).rounded(.up) / scale)
            default: throw typeError("method must be common, ceil or floor")
            }
        case "safe":
            return value
        case "sort":
            let reverse = args.value(0, "reverse", default: .bool(false)).isTruthy
            let caseSensitive = args.value(1, "case_sensitive", default: .bool(false)).isTruthy
            let attributeName = args.value(2, "attribute", default: .none)
            return .array(try sorted(try iterate(value, at: location), reverse: reverse, at: location) { item in
                var key = item
                if case .string(let a) = attributeName { key = itemAttribute(item, a) }
                if !caseSensitive, case .string(let s) = key { return .string(s.lowercased()) }
                return key
            })
        case "string":
            return .string(string())
        case "sum":
            let attributeName = args.value(0, "attribute", default: .none)
            var total = args.value(1, "start", default: .int(0))
            for item in try iterate(value, at: location) {
                var term = item
                if case .string(let a) = attributeName { term = itemAttribute(item, a) }
                total = try PythonOperators.arithmetic("+", total, term, at: location)
            }
            return total
        case "title":
            return .string(TemplateFilters.jinjaTitle(string()))
        case "tojson":
            let ensureASCII = args.value(0, "ensure_ascii", default: .bool(false)).isTruthy
            let indent = args.value(1, "indent", default: .none)
            let separators = args.value(2, "separators", default: .none)
            let sortKeys = args.value(3, "sort_keys", default: .bool(false)).isTruthy
            var options = TemplateJSON.Options(ensureASCII: ensureASCII, sortKeys: sortKeys)
            switch indent {
            case .none, .undefined: break
            case .string(let s): options.indent = s
            default:
                guard case .int(let n)? = indent.numericValue else { throw typeError("indent must be an int or a string") }
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
            return .string(try TemplateJSON.encode(value, options, at: location))
        case "trim":
            var chars: String? = nil
            if case .string(let c) = args.value(0, "chars", default: .none) { chars = c }
            return .string(TemplateFilters.strip(string(), chars: chars, leading: true, trailing: true))
        case "unique":
            let caseSensitive = args.value(0, "case_sensitive", default: .bool(false)).isTruthy
            let attributeName = args.value(1, "attribute", default: .none)
            var seen: [TemplateValue] = []
            var out: [TemplateValue] = []
            for item in try iterate(value, at: location) {
                var key = item
                if case .string(let a) = attributeName { key = itemAttribute(item, a) }
                if !caseSensitive, case .string(let s) = key { key = .string(s.lowercased()) }
                if !seen.contains(where: { $0.pythonEquals(key) }) {
                    seen.append(key)
                    out.append(item)
                }
            }
            return .array(out)
        case "wordcount":
            var count = 0
            var inWord = false
            for c in string().unicodeScalars {
                let wordChar = c.properties.isAlphabetic || c.properties.numericType != nil || c == "_"
                if wordChar && !inWord { count += 1 }
                inWord = wordChar
            }
            return .int(count)
        default:
            throw TemplateError.unsupported(kind: "filter", name: name, at: location)
        }
    }

    /// jinja2's attribute getter for `map`, `sort`, `selectattr`...: a dotted path where each
    /// part is a key (or an index when it is a number), falling back to an attribute.
    func itemAttribute(_ value: TemplateValue, _ path: String) -> TemplateValue {
        var current = value
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            if let i = Int(part) {
                current = item(of: current, .int(i))
            } else {
                current = item(of: current, .string(String(part)))
            }
            if case .undefined = current { return .undefined }
        }
        return current
    }

    /// A stable sort by `key`, ascending or descending, with Python's ordering.
    func sorted(_ items: [TemplateValue], reverse: Bool, at location: SourceLocation,
                key: (TemplateValue) -> TemplateValue) throws(TemplateError) -> [TemplateValue] {
        let keyed = items.enumerated().map { (offset: $0.offset, key: key($0.element), item: $0.element) }
        var failure: TemplateError? = nil
        let ordered = keyed.sorted { a, b in
            do throws(TemplateError) {
                let order = try PythonOperators.ordering(a.key, b.key, at: location)
                if order == 0 { return a.offset < b.offset }
                return reverse ? order > 0 : order < 0
            } catch {
                failure = error
                return a.offset < b.offset
            }
        }
        if let failure { throw failure }
        return ordered.map { $0.item }
    }

    /// `select` / `reject` (no attribute) and `selectattr` / `rejectattr`: keep the items whose
    /// test (truthiness when no test is named) equals `keep`.
    private func selectItems(_ value: TemplateValue, _ args: CallArguments, attribute: String?, keep: Bool,
                             at location: SourceLocation) throws(TemplateError) -> [TemplateValue] {
        var testName: String? = nil
        if case .string(let t)? = args.positional.first { testName = t }
        if let testName, !TemplatePredicates.names.contains(testName) {
            throw TemplateError.unsupported(kind: "test", name: testName, at: location)
        }
        let testArgs = CallArguments(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
        var out: [TemplateValue] = []
        for item in try iterate(value, at: location) {
            let subject = attribute.map { itemAttribute(item, $0) } ?? item
            let passed = try testName.map { (t: String) throws(TemplateError) in try applyTest(t, to: subject, testArgs, at: location) }
                ?? subject.isTruthy
            if passed == keep { out.append(item) }
        }
        return out
    }
}

extension String {
    func pythonReplacing(_ target: String, _ replacement: String) -> String {
        TemplateMethods.replace(self, target, replacement, count: -1)
    }
}
