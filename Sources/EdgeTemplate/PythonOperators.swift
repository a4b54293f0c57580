#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Python's binary operators and comparisons on template values, with Python's results and
/// Python's TypeError wording where a template gets them wrong.
enum PythonOperators {
    static func arithmetic(_ op: String, _ a: TemplateValue, _ b: TemplateValue,
                           at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        if let x = a.numericValue, let y = b.numericValue {
            return try numeric(op, x, y, at: location)
        }
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)): return .string(x + y)
        case ("+", .array(let x), .array(let y)): return .array(x + y)
        case ("*", .string(let s), _), ("*", _, .string(let s)):
            guard case .int(let n)? = (a.numericValue != nil ? a : b).numericValue else { break }
            return .string(n > 0 ? String(repeating: s, count: n) : "")
        case ("*", .array(let items), _), ("*", _, .array(let items)):
            guard case .int(let n)? = (a.numericValue != nil ? a : b).numericValue else { break }
            return .array(n > 0 ? Array([[TemplateValue]](repeating: items, count: n).joined()) : [])
        case ("%", .string, _):
            throw TemplateError.unsupported(kind: "operator", name: "%-formatting of strings", at: location)
        default:
            break
        }
        if op == "+", case .string = a {
            throw TemplateError.type(message: "can only concatenate str (not \"\(b.typeName)\") to str", at: location)
        }
        if op == "+", case .array = a {
            throw TemplateError.type(message: "can only concatenate list (not \"\(b.typeName)\") to list", at: location)
        }
        throw TemplateError.type(
            message: "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'", at: location)
    }

    private static func numeric(_ op: String, _ x: PythonNumber, _ y: PythonNumber,
                                at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        if case .int(let i) = x, case .int(let j) = y {
            func checked(_ r: (partialValue: Int, overflow: Bool)) throws(TemplateError) -> TemplateValue {
                if r.overflow { throw TemplateError.type(message: "integer overflow in \(op)", at: location) }
                return .int(r.partialValue)
            }
            switch op {
            case "+": return try checked(i.addingReportingOverflow(j))
            case "-": return try checked(i.subtractingReportingOverflow(j))
            case "*": return try checked(i.multipliedReportingOverflow(by: j))
            case "/":
                if j == 0 { throw TemplateError.type(message: "division by zero", at: location) }
                return .double(Double(i) / Double(j))
            case "//":
                if j == 0 { throw TemplateError.type(message: "integer division or modulo by zero", at: location) }
                let q = i / j
                return .int((i % j != 0 && (i < 0) != (j < 0)) ? q - 1 : q)
            case "%":
                if j == 0 { throw TemplateError.type(message: "integer division or modulo by zero", at: location) }
                let r = i % j
                return .int(r != 0 && (r < 0) != (j < 0) ? r + j : r)
            case "**":
                if j < 0 { return .double(pow(Double(i), Double(j))) }
                var result = 1
                var base = i
                var exponent = j
                while exponent > 0 {
                    if exponent & 1 == 1 { result = try checked(result.multipliedReportingOverflow(by: base)).intValue }
                    exponent >>= 1
                    if exponent > 0 { base = try checked(base.multipliedReportingOverflow(by: base)).intValue }
                }
                return .int(result)
            default: break
            }
        }
        let a = x.asDouble
        let b = y.asDouble
        switch op {
        case "+": return .double(a + b)
        case "-": return .double(a - b)
        case "*": return .double(a * b)
        case "/":
            if b == 0 { throw TemplateError.type(message: "float division by zero", at: location) }
            return .double(a / b)
        case "//":
            if b == 0 { throw TemplateError.type(message: "float floor division by zero", at: location) }
            return .double((a / b).rounded(.down))
        case "%":
            if b == 0 { throw TemplateError.type(message: "float modulo", at: location) }
            let r = fmod(a, b)
            return .double(r != 0 && (r < 0) != (b < 0) ? r + b : r)
        case "**":
            return .double(pow(a, b))
        default:
            throw TemplateError.type(message: "unknown operator \(op)", at: location)
        }
    }

    /// `== != < <= > >= in notin` with Python semantics.
    static func compare(_ op: String, _ a: TemplateValue, _ b: TemplateValue,
                        at location: SourceLocation) throws(TemplateError) -> Bool {
        switch op {
        case "==": return a.pythonEquals(b)
        case "!=": return !a.pythonEquals(b)
        case "in": return try contains(b, a, at: location)
        case "notin": return try !contains(b, a, at: location)
        default: break
        }
        if case .undefined = a { throw TemplateError.undefined(name: "value", at: location) }
        if case .undefined = b { throw TemplateError.undefined(name: "value", at: location) }
        let order = try ordering(a, b, op: op, at: location)
        switch op {
        case "<": return order < 0
        case "<=": return order <= 0
        case ">": return order > 0
        case ">=": return order >= 0
        default: throw TemplateError.type(message: "unknown comparison \(op)", at: location)
        }
    }

    /// -1, 0 or 1 as Python orders numbers, strings (by code point) and lists.
    static func ordering(_ a: TemplateValue, _ b: TemplateValue, op: String = "<",
                         at location: SourceLocation) throws(TemplateError) -> Int {
        if let x = a.numericValue, let y = b.numericValue {
            return x < y ? -1 : (x == y ? 0 : 1)
        }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            var i = x.unicodeScalars.makeIterator()
            var j = y.unicodeScalars.makeIterator()
            while true {
                switch (i.next(), j.next()) {
                case (nil, nil): return 0
                case (nil, _): return -1
                case (_, nil): return 1
                case (let p?, let q?): if p != q { return p.value < q.value ? -1 : 1 }
                }
            }
        case (.array(let x), .array(let y)):
            for (p, q) in zip(x, y) where !p.pythonEquals(q) {
                return try ordering(p, q, op: op, at: location)
            }
            return x.count < y.count ? -1 : (x.count == y.count ? 0 : 1)
        default:
            throw TemplateError.type(
                message: "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'", at: location)
        }
    }

    /// Python's `needle in haystack`.
    static func contains(_ haystack: TemplateValue, _ needle: TemplateValue,
                         at location: SourceLocation) throws(TemplateError) -> Bool {
        switch haystack {
        case .undefined: return false
        case .string(let s):
            guard case .string(let n) = needle else {
                throw TemplateError.type(
                    message: "'in <string>' requires string as left operand, not \(needle.typeName)", at: location)
            }
            return n.isEmpty || s.unicodeScalars.firstRange(of: n.unicodeScalars) != nil
        case .array(let items): return items.contains { $0.pythonEquals(needle) }
        case .object(let object), .namespace(let object):
            if case .string(let key) = needle { return object[key] != nil }
            return false
        default:
            throw TemplateError.type(message: "argument of type '\(haystack.typeName)' is not iterable", at: location)
        }
    }
}

private extension TemplateValue {
    var intValue: Int {
        if case .int(let i) = self { return i }
        return 0
    }
}
