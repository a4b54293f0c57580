#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Python methods templates call on strings, dicts and lists (`content.strip()`,
/// `message.items()`). Attribute lookup knows every Python method name, so that calling one this
/// engine lacks fails with "unsupported method" rather than as an undefined value.
///
/// Each method sizes its result and checks it against the render's limits before building it,
/// and charges the render's budget for the elements and bytes it walks; substring searches are
/// linear (`TextSearch`).
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
        let budget = renderer.budget
        let construct = "method '\(name)'"
        try budget.enter(construct, at: location)
        defer { budget.leave() }
        switch receiver {
        case .string(let s): return try stringMethod(name, s, args, renderer, construct, at: location)
        case .object(let object):
            switch name {
            case "items":
                try budget.reservePairs(object.count, construct, at: location)
                try budget.checkNesting(wrapping: object.pairs.lazy.map(\.value), levels: 2, construct, at: location)
                return .array(object.pairs.map { .array([.string($0.key), $0.value]) })
            case "keys":
                try budget.reserveElements(object.count, construct, at: location)
                return .array(object.keys.map { .string($0) })
            case "values":
                try budget.reserveElements(object.count, construct, at: location)
                return .array(object.pairs.map(\.value))
            case "get":
                guard case .string(let key) = args.value(0, "key") else { return args.value(1, "default", default: .none) }
                try budget.chargeKey(key, construct, at: location)
                return object[key] ?? args.value(1, "default", default: .none)
            case "copy": return receiver
            default: break
            }
        case .array(let items):
            let needle = args.value(0, "value")
            switch name {
            case "count":
                var count = 0
                for item in items where try PythonOperators.equals(item, needle, budget, at: location) { count += 1 }
                return .int(count)
            case "index":
                for (i, item) in items.enumerated() where try PythonOperators.equals(item, needle, budget, at: location) {
                    return .int(i)
                }
                var builder = TextBuilder(limit: 200)
                PythonFormat.writeRepr(needle, into: &builder)
                throw TemplateError.type(message: "\(builder.exceeded ? "value" : builder.text) is not in list", at: location)
            case "copy": return receiver
            default: break
            }
        default: break
        }
        throw TemplateError.unsupported(kind: "method", name: "\(receiver.typeName).\(name)", at: location)
    }

    private static func stringMethod(_ name: String, _ s: String, _ args: CallArguments, _ renderer: TemplateRenderer,
                                     _ construct: String, at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        let budget = renderer.budget
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
        /// Charges a scan of the receiver (and `more` bytes of arguments).
        func scan(_ more: Int = 0) throws(TemplateError) {
            try budget.chargeBytes(s.utf8.count + more, construct, at: location)
        }
        switch name {
        case "strip", "lstrip", "rstrip":
            let chars = try optionalString(0, "chars")
            try scan(chars?.utf8.count ?? 0)
            return .string(TemplateFilters.strip(s, chars: chars, leading: name != "rstrip", trailing: name != "lstrip"))
        case "split", "rsplit":
            let separator = try optionalString(0, "sep")
            let maxSplit = intArgument(1, "maxsplit", -1)
            if separator == "" { throw TemplateError.type(message: "empty separator", at: location) }
            try scan(separator?.utf8.count ?? 0)
            let parts = name == "split"
                ? try split(s, separator, maxSplit, budget, construct, at: location)
                : try rsplit(s, separator, maxSplit, budget, construct, at: location)
            return .array(parts.map { .string($0) })
        case "splitlines":
            try scan()
            guard let lines = TemplateFilters.splitLines(s, maxLines: budget.limits.maxCollectionCount) else {
                throw budget.failure(.collectionCount, construct, location)
            }
            try budget.reserveElements(lines.count, construct, at: location)
            return .array(lines.map { .string($0) })
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
            try budget.charge(candidates.count, construct, at: location)
            if args.count == 1 {
                // The common case, on bytes: a code point prefix is a byte prefix.
                for c in candidates {
                    try budget.chargeBytes(c.utf8.count, construct, at: location)
                    let n = c.utf8.count
                    if n == 0 { return .bool(true) }
                    if n > s.utf8.count { continue }
                    let matches = try TextBytes.with(s) { (hay) throws(TemplateError) -> Bool in
                        try TextBytes.with(c) { (needle) throws(TemplateError) -> Bool in
                            let start = name == "startswith" ? 0 : hay.count - n
                            return memcmp(hay.baseAddress! + start, needle.baseAddress!, n) == 0
                        }
                    }
                    if matches { return .bool(true) }
                }
                return .bool(false)
            }
            try scan()
            let scalars = Array(s.unicodeScalars)
            func clamp(_ i: Int) -> Int { i < 0 ? max(0, scalars.count + i) : min(scalars.count, i) }
            let start = clamp(intArgument(1, "start", 0))
            let end = max(start, clamp(intArgument(2, "end", scalars.count)))
            let window = scalars[start..<end]
            for c in candidates {
                try budget.chargeBytes(c.utf8.count, construct, at: location)
                let p = Array(c.unicodeScalars)
                if name == "startswith" ? window.starts(with: p) : window.reversed().starts(with: p.reversed()) {
                    return .bool(true)
                }
            }
            return .bool(false)
        case "upper": return .string(try renderer.caseMapped(s, construct, at: location) { $0.uppercased() })
        case "lower", "casefold": return .string(try renderer.caseMapped(s, construct, at: location) { $0.lowercased() })
        case "title": return .string(try renderer.caseMapped(s, construct, at: location, pythonTitle))
        case "capitalize": return .string(try renderer.caseMapped(s, construct, at: location, TemplateFilters.capitalize))
        case "swapcase": return .string(try renderer.caseMapped(s, construct, at: location, swapcase))
        case "replace":
            return .string(try renderer.replace(s, try requiredString(0, "old"), try requiredString(1, "new"),
                                                count: intArgument(2, "count", -1), construct, at: location))
        case "find", "rfind", "index", "rindex":
            let needle = try requiredString(0, "sub")
            try scan(needle.utf8.count)
            var found = -1
            if let search = TextSearch(needle) {
                found = TextBytes.read(s) { hay in
                    let offset = name.hasPrefix("r") ? search.last(in: hay) : search.first(in: hay)
                    return offset.map { TextBytes.scalarIndex(ofByte: $0, in: hay) } ?? -1
                }
            } else {
                found = name.hasPrefix("r") ? s.unicodeScalars.count : 0
            }
            if found < 0 && name.hasSuffix("index") {
                throw TemplateError.type(message: "substring not found", at: location)
            }
            return .int(found)
        case "count":
            let needle = try requiredString(0, "sub")
            try scan(needle.utf8.count)
            guard let search = TextSearch(needle) else { return .int(s.unicodeScalars.count + 1) }
            return .int(TextBytes.read(s) { hay in search.forEachOccurrence(in: hay) })
        case "join":
            guard case .array(let items) = args.value(0, "iterable") else {
                throw TemplateError.type(message: "can only join an iterable", at: location)
            }
            var size = 0
            for (i, item) in items.enumerated() {
                guard case .string(let part) = item else {
                    throw TemplateError.type(
                        message: "sequence item \(i): expected str instance, \(item.typeName) found", at: location)
                }
                size = try budget.sum(size, part.utf8.count, .stringBytes, construct, at: location)
            }
            let separators = try budget.product(s.utf8.count, max(0, items.count - 1), .stringBytes, construct, at: location)
            try budget.reserveString(try budget.sum(size, separators, .stringBytes, construct, at: location), construct, at: location)
            return .string(items.map(\.pythonString).joined(separator: s))
        case "removeprefix", "removesuffix":
            let affix = try requiredString(0, name == "removeprefix" ? "prefix" : "suffix")
            try scan()
            let n = affix.utf8.count
            guard n > 0, n <= s.utf8.count else { return .string(s) }
            return try TextBytes.with(s) { (hay) throws(TemplateError) -> TemplateValue in
                try TextBytes.with(affix) { (needle) throws(TemplateError) -> TemplateValue in
                    if name == "removeprefix" {
                        guard memcmp(hay.baseAddress!, needle.baseAddress!, n) == 0 else { return .string(s) }
                        return .string(TextBytes.text(hay, n..<hay.count))
                    }
                    guard memcmp(hay.baseAddress! + hay.count - n, needle.baseAddress!, n) == 0 else { return .string(s) }
                    return .string(TextBytes.text(hay, 0..<(hay.count - n)))
                }
            }
        case "isdigit", "isdecimal", "isnumeric":
            try scan()
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
        case "isalpha":
            try scan()
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        case "isalnum":
            try scan()
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        case "isspace":
            try scan()
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(TemplateFilters.isPythonSpace))
        case "islower", "isupper":
            try scan()
            var sawCased = false
            for scalar in s.unicodeScalars where scalar.properties.isCased {
                sawCased = true
                if name == "islower" ? !scalar.properties.isLowercase : !scalar.properties.isUppercase { return .bool(false) }
            }
            return .bool(sawCased)
        case "format":
            return .string(try format(s, args, renderer, construct, at: location))
        default:
            throw TemplateError.unsupported(kind: "method", name: "str.\(name)", at: location)
        }
    }

    /// Python's `str.split(sep, maxsplit)`; `sep == nil` splits on runs of whitespace. At most
    /// `maxCollectionCount` parts.
    static func split(_ s: String, _ separator: String?, _ maxSplit: Int, _ budget: RenderBudget, _ construct: String,
                      at location: SourceLocation) throws(TemplateError) -> [String] {
        let maxParts = budget.limits.maxCollectionCount
        var parts: [String] = []
        guard let separator, let search = TextSearch(separator) else {
            let scalars = s.unicodeScalars
            var i = scalars.startIndex
            while true {
                while i < scalars.endIndex, TemplateFilters.isPythonSpace(scalars[i]) { i = scalars.index(after: i) }
                if i >= scalars.endIndex { break }
                if parts.count == maxParts { throw budget.failure(.collectionCount, construct, location) }
                if maxSplit >= 0 && parts.count == maxSplit {
                    parts.append(String(scalars[i...]))
                    break
                }
                var j = i
                while j < scalars.endIndex, !TemplateFilters.isPythonSpace(scalars[j]) { j = scalars.index(after: j) }
                parts.append(String(scalars[i..<j]))
                i = j
            }
            try budget.reserveElements(parts.count, construct, at: location)
            return parts
        }
        return try TextBytes.with(s) { (hay) throws(TemplateError) -> [String] in
            // Occurrences are capped one below the part limit: more would be refused anyway.
            let cap = maxSplit >= 0 ? min(maxSplit, maxParts) : maxParts
            let found = search.occurrences(in: hay, limit: cap)
            if found.count + 1 > maxParts { throw budget.failure(.collectionCount, construct, location) }
            try budget.reserveElements(found.count + 1, construct, at: location)
            var start = 0
            parts.reserveCapacity(found.count + 1)
            for position in found {
                parts.append(TextBytes.text(hay, start..<position))
                start = position + search.needle.count
            }
            parts.append(TextBytes.text(hay, start..<hay.count))
            return parts
        }
    }

    /// Python's `str.rsplit(sep, maxsplit)`: occurrences taken from the right.
    static func rsplit(_ s: String, _ separator: String?, _ maxSplit: Int, _ budget: RenderBudget, _ construct: String,
                       at location: SourceLocation) throws(TemplateError) -> [String] {
        if maxSplit < 0 { return try split(s, separator, maxSplit, budget, construct, at: location) }
        func reversed(_ t: String) -> String { String(String.UnicodeScalarView(t.unicodeScalars.reversed())) }
        return try split(reversed(s), separator.map(reversed), maxSplit, budget, construct, at: location).reversed().map(reversed)
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

    /// Python's `str.swapcase()`.
    static func swapcase(_ s: String) -> String {
        var out = ""
        for c in s { out += c.isUppercase ? c.lowercased() : c.uppercased() }
        return out
    }

    /// Python's `str.format` for `{}`, `{0}` and `{name}` fields without format specs, within
    /// `maxStringBytes`.
    static func format(_ s: String, _ args: CallArguments, _ renderer: TemplateRenderer, _ construct: String,
                       at location: SourceLocation) throws(TemplateError) -> String {
        let budget = renderer.budget
        try budget.chargeBytes(s.utf8.count, construct, at: location)
        var out = TextBuilder(limit: budget.limits.maxStringBytes)
        var autoIndex = 0
        var chars = s.makeIterator()
        while let c = chars.next() {
            if out.exceeded { throw budget.failure(.stringBytes, construct, location) }
            if c == "}" {
                guard chars.next() == "}" else {
                    throw TemplateError.type(message: "Single '}' encountered in format string", at: location)
                }
                out.append("}")
                continue
            }
            guard c == "{" else {
                out.append(String(c))
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
                let shown = field.utf8.count <= 40 ? field : String(field.prefix(40)) + "..."
                throw TemplateError.unsupported(kind: "method", name: "str.format with field '\(shown)'", at: location)
            }
            let value: TemplateValue
            if field.isEmpty {
                value = autoIndex < args.positional.count ? args.positional[autoIndex] : .undefined
                autoIndex += 1
            } else if let i = Int(field) {
                value = i >= 0 && i < args.positional.count ? args.positional[i] : .undefined
            } else {
                value = args.keyword(field) ?? .undefined
            }
            if case .undefined = value {
                let shown = field.utf8.count <= 40 ? field : String(field.prefix(40)) + "..."
                throw TemplateError.type(message: "format field '\(shown)' has no value", at: location)
            }
            let text = try renderer.string(value, construct, at: location)
            try budget.chargeBytes(text.utf8.count, construct, at: location)
            out.append(text)
        }
        if out.exceeded { throw budget.failure(.stringBytes, construct, location) }
        return out.text
    }
}
