/// Python methods templates call on strings, dicts and lists (`content.strip()`,
/// `message.items()`). Attribute lookup knows every Python method name, so that calling one this
/// engine lacks fails with "unsupported method" rather than as an undefined value.
enum TemplateMethods {
    static let stringMethods: Set<String> = [
        "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format",
        "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower",
        "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip",
        "maketrans", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
        "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
        "translate", "upper", "zfill",
    ]
    static let dictMethods: Set<String> = [
        "clear", "copy", "fromkeys", "get", "items", "keys", "pop", "popitem", "setdefault", "update", "values",
    ]
    static let listMethods: Set<String> = [
        "append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove", "reverse", "sort",
    ]

    static func call(_ name: String, on receiver: TemplateValue, _ args: CallArguments,
                     renderer: TemplateRenderer, at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        switch receiver {
        case .string(let s): return try stringMethod(name, s, args, at: location)
        case .object(let object):
            switch name {
            case "items": return .array(object.pairs.map { .array([.string($0.key), $0.value]) })
            case "keys": return .array(object.keys.map { .string($0) })
            case "values": return .array(object.pairs.map(\.value))
            case "get":
                guard case .string(let key) = args.value(0, "key") else { return args.value(1, "default", default: .none) }
                return object[key] ?? args.value(1, "default", default: .none)
            case "copy": return receiver
            default: break
            }
        case .array(let items):
            switch name {
            case "count": return .int(items.filter { $0.pythonEquals(args.value(0, "value")) }.count)
            case "index":
                if let i = items.firstIndex(where: { $0.pythonEquals(args.value(0, "value")) }) { return .int(i) }
                throw TemplateError.type(message: "\(args.value(0, "value").pythonRepr) is not in list", at: location)
            case "copy": return receiver
            default: break
            }
        default: break
        }
        throw TemplateError.unsupported(kind: "method", name: "\(receiver.typeName).\(name)", at: location)
    }

    private static func stringMethod(_ name: String, _ s: String, _ args: CallArguments,
                                     at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        func optionalString(_ position: Int, _ label: String) throws(TemplateError) -> String? {
            switch args.value(position, label, default: .none) {
            case .none, .undefined: return nil
            case .string(let v): return v
            case let other:
                throw TemplateError.type(message: "\(name) arg must be None or str, not \(other.typeName)", at: location)
            }
        }
        func requiredString(_ position: Int, _ label: String) throws(TemplateError) -> String {
            guard case .string(let v) = args.value(position, label) else {
                throw TemplateError.type(message: "\(name)() argument must be str", at: location)
            }
            return v
        }
        func intArgument(_ position: Int, _ label: String, _ defaultValue: Int) -> Int {
            if case .int(let i)? = args.value(position, label, default: .int(defaultValue)).numericValue { return i }
            return defaultValue
        }
        switch name {
        case "strip", "lstrip", "rstrip":
            let chars = try optionalString(0, "chars")
            return .string(TemplateFilters.strip(s, chars: chars, leading: name != "rstrip", trailing: name != "lstrip"))
        case "split", "rsplit":
            let separator = try optionalString(0, "sep")
            let maxSplit = intArgument(1, "maxsplit", -1)
            if separator == "" { throw TemplateError.type(message: "empty separator", at: location) }
            let parts = name == "split" ? split(s, separator, maxSplit) : rsplit(s, separator, maxSplit)
            return .array(parts.map { .string($0) })
        case "splitlines":
            return .array(TemplateFilters.splitLines(s).map { .string($0) })
        case "startswith", "endswith":
            var candidates: [String] = []
            switch args.value(0, "prefix") {
            case .string(let p): candidates = [p]
            case .array(let items):
                for item in items {
                    guard case .string(let p) = item else {
                        throw TemplateError.type(message: "tuple for \(name) must only contain str", at: location)
                    }
                    candidates.append(p)
                }
            default: throw TemplateError.type(message: "\(name) first arg must be str or a tuple of str", at: location)
            }
            let scalars = Array(s.unicodeScalars)
            let start = max(0, min(scalars.count, intArgument(1, "start", 0)))
            let end = max(start, min(scalars.count, intArgument(2, "end", scalars.count)))
            let window = scalars[start..<end]
            return .bool(candidates.contains { c in
                let p = Array(c.unicodeScalars)
                return name == "startswith" ? window.starts(with: p) : window.reversed().starts(with: p.reversed())
            })
        case "upper": return .string(s.uppercased())
        case "lower", "casefold": return .string(s.lowercased())
        case "title": return .string(pythonTitle(s))
        case "capitalize": return .string(TemplateFilters.capitalize(s))
        case "swapcase":
            return .string(s.map { c in c.isUppercase ? c.lowercased() : c.uppercased() }.joined())
        case "replace":
            return .string(replace(s, try requiredString(0, "old"), try requiredString(1, "new"),
                                   count: intArgument(2, "count", -1)))
        case "find", "rfind", "index", "rindex":
            let needle = Array(try requiredString(0, "sub").unicodeScalars)
            let hay = Array(s.unicodeScalars)
            var found = -1
            if needle.count <= hay.count {
                let positions = Array(0...(hay.count - needle.count))
                for i in (name.hasPrefix("r") ? positions.reversed() : positions) where Array(hay[i..<(i + needle.count)]) == needle {
                    found = i
                    break
                }
            }
            if found < 0 && name.hasSuffix("index") {
                throw TemplateError.type(message: "substring not found", at: location)
            }
            return .int(found)
        case "count":
            let needle = try requiredString(0, "sub")
            if needle.isEmpty { return .int(s.unicodeScalars.count + 1) }
            return .int(split(s, needle, -1).count - 1)
        case "join":
            guard case .array(let items) = args.value(0, "iterable") else {
                throw TemplateError.type(message: "can only join an iterable", at: location)
            }
            var parts: [String] = []
            for (i, item) in items.enumerated() {
                guard case .string(let part) = item else {
                    throw TemplateError.type(
                        message: "sequence item \(i): expected str instance, \(item.typeName) found", at: location)
                }
                parts.append(part)
            }
            return .string(parts.joined(separator: s))
        case "removeprefix":
            let prefix = try requiredString(0, "prefix")
            return .string(s.hasPrefix(prefix) ? String(s.dropFirst(prefix.count)) : s)
        case "removesuffix":
            let suffix = try requiredString(0, "suffix")
            return .string(s.hasSuffix(suffix) && !suffix.isEmpty ? String(s.dropLast(suffix.count)) : s)
        case "isdigit", "isdecimal", "isnumeric":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
        case "isalpha":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        case "isalnum":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        case "isspace":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(TemplateFilters.isPythonSpace))
        case "islower", "isupper":
            let cased = s.unicodeScalars.filter { $0.properties.isCased }
            guard !cased.isEmpty else { return .bool(false) }
            return .bool(name == "islower" ? cased.allSatisfy { $0.properties.isLowercase } : cased.allSatisfy { $0.properties.isUppercase })
        case "format":
            return .string(try format(s, args, at: location))
        default:
            throw TemplateError.unsupported(kind: "method", name: "str.\(name)", at: location)
        }
    }

    /// Python's `str.split(sep, maxsplit)`; `sep == nil` splits on runs of whitespace.
    static func split(_ s: String, _ separator: String?, _ maxSplit: Int) -> [String] {
        let scalars = Array(s.unicodeScalars)
        func text(_ range: Range<Int>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return String(view)
        }
        var parts: [String] = []
        guard let separator else {
            var i = 0
            while true {
                while i < scalars.count, TemplateFilters.isPythonSpace(scalars[i]) { i += 1 }
                if i >= scalars.count { break }
                if maxSplit >= 0 && parts.count == maxSplit {
                    parts.append(text(i..<scalars.count))
                    break
                }
                var j = i
                while j < scalars.count, !TemplateFilters.isPythonSpace(scalars[j]) { j += 1 }
                parts.append(text(i..<j))
                i = j
            }
            return parts
        }
        let sep = Array(separator.unicodeScalars)
        var start = 0
        var i = 0
        while i + sep.count <= scalars.count {
            if maxSplit >= 0 && parts.count == maxSplit { break }
            if Array(scalars[i..<(i + sep.count)]) == sep {
                parts.append(text(start..<i))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(text(start..<scalars.count))
        return parts
    }

    /// Python's `str.rsplit(sep, maxsplit)`.
    static func rsplit(_ s: String, _ separator: String?, _ maxSplit: Int) -> [String] {
        if maxSplit < 0 { return split(s, separator, maxSplit) }
        let reversedText = String(String.UnicodeScalarView(s.unicodeScalars.reversed()))
        let reversedSep = separator.map { String(String.UnicodeScalarView($0.unicodeScalars.reversed())) }
        return split(reversedText, reversedSep, maxSplit).reversed().map {
            String(String.UnicodeScalarView($0.unicodeScalars.reversed()))
        }
    }

    /// Python's `str.replace(old, new, count)`; an empty `old` inserts `new` between characters.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        let scalars = Array(s.unicodeScalars)
        let target = Array(old.unicodeScalars)
        var out = String.UnicodeScalarView()
        var replaced = 0
        if target.isEmpty {
            for scalar in scalars {
                if count < 0 || replaced < count {
                    out.append(contentsOf: new.unicodeScalars)
                    replaced += 1
                }
                out.append(scalar)
            }
            if count < 0 || replaced < count { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        var i = 0
        while i < scalars.count {
            if (count < 0 || replaced < count), i + target.count <= scalars.count,
                Array(scalars[i..<(i + target.count)]) == target
            {
                out.append(contentsOf: new.unicodeScalars)
                i += target.count
                replaced += 1
            } else {
                out.append(scalars[i])
                i += 1
            }
        }
        return String(out)
    }

    /// Python's `str.title()`: upper-case a cased character after an uncased one, lower-case
    /// the rest.
    static func pythonTitle(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s {
            let cased = c.unicodeScalars.contains { $0.properties.isCased }
            if cased {
                out += previousCased ? c.lowercased() : c.uppercased()
            } else {
                out.append(c)
            }
            previousCased = cased
        }
        return out
    }

    /// Python's `str.format` for `{}`, `{0}` and `{name}` fields without format specs.
    static func format(_ s: String, _ args: CallArguments, at location: SourceLocation) throws(TemplateError) -> String {
        var out = ""
        var autoIndex = 0
        var chars = s.makeIterator()
        while let c = chars.next() {
            if c == "}" {
                guard chars.next() == "}" else {
                    throw TemplateError.type(message: "Single '}' encountered in format string", at: location)
                }
                out.append("}")
                continue
            }
            guard c == "{" else {
                out.append(c)
                continue
            }
            var field = ""
            var closed = false
            while let d = chars.next() {
                if d == "{" && field.isEmpty {
                    out.append("{")
                    closed = true
                    field = "{"
                    break
                }
                if d == "}" {
                    closed = true
                    break
                }
                field.append(d)
            }
            if field == "{" { continue }
            guard closed else { throw TemplateError.type(message: "Single '{' encountered in format string", at: location) }
            if field.contains(":") || field.contains("!") || field.contains(".") || field.contains("[") {
                throw TemplateError.unsupported(kind: "method", name: "str.format with field '\(field)'", at: location)
            }
            let value: TemplateValue
            if field.isEmpty {
                value = autoIndex < args.positional.count ? args.positional[autoIndex] : .undefined
                autoIndex += 1
            } else if let i = Int(field) {
                value = i < args.positional.count ? args.positional[i] : .undefined
            } else {
                value = args.keyword.first { $0.name == field }?.value ?? .undefined
            }
            if case .undefined = value {
                throw TemplateError.type(message: "format field '\(field)' has no value", at: location)
            }
            out += value.pythonString
        }
        return out
    }
}
