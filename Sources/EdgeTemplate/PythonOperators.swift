#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Python's binary operators and comparisons on template values, with Python's results and
/// Python's TypeError wording where a template gets them wrong.
///
/// Python's ints have no bound; ours are 64-bit, and a result that does not fit throws
/// `TemplateError.integerOverflow` (never a trap). Results that build strings or lists are sized
/// and checked against the render's limits before they are built; comparisons of nested values
/// charge a step per element compared.
enum PythonOperators {
    static func arithmetic(_ op: String, _ a: TemplateValue, _ b: TemplateValue, _ budget: RenderBudget,
                           at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        if let x = a.numericValue, let y = b.numericValue {
            return try numeric(op, x, y, at: location)
        }
        let construct = "operator '\(op)'"
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)):
            let size = try budget.sum(x.utf8.count, y.utf8.count, .stringBytes, construct, at: location)
            try budget.reserveString(size, construct, at: location)
            return .string(x + y)
        case ("+", .array(let x), .array(let y)):
            let count = try budget.sum(x.count, y.count, .collectionCount, construct, at: location)
            try budget.reserveElements(count, construct, at: location)
            return .array(x + y)
        case ("*", .string(let s), _), ("*", _, .string(let s)):
            guard case .int(let n)? = (a.numericValue != nil ? a : b).numericValue else { break }
            guard n > 0 else { return .string("") }
            let size = try budget.product(s.utf8.count, n, .stringBytes, construct, at: location)
            try budget.reserveString(size, construct, at: location)
            return .string(String(repeating: s, count: n))
        case ("*", .array(let items), _), ("*", _, .array(let items)):
            guard case .int(let n)? = (a.numericValue != nil ? a : b).numericValue else { break }
            guard n > 0 else { return .array([]) }
            let count = try budget.product(items.count, n, .collectionCount, construct, at: location)
            try budget.reserveElements(count, construct, at: location)
            var result: [TemplateValue] = []
            result.reserveCapacity(count)
            for _ in 0..<n { result.append(contentsOf: items) }
            return .array(result)
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
            func checked(_ r: (partialValue: Int, overflow: Bool)) throws(TemplateError) -> Int {
                if r.overflow { throw TemplateError.integerOverflow(operation: "'\(op)'", at: location) }
                return r.partialValue
            }
            switch op {
            case "+": return .int(try checked(i.addingReportingOverflow(j)))
            case "-": return .int(try checked(i.subtractingReportingOverflow(j)))
            case "*": return .int(try checked(i.multipliedReportingOverflow(by: j)))
            case "/":
                if j == 0 { throw TemplateError.type(message: "division by zero", at: location) }
                return .double(Double(i) / Double(j))
            case "//":
                if j == 0 { throw TemplateError.type(message: "integer division or modulo by zero", at: location) }
                // Int.min // -1 is the one quotient that does not fit.
                let q = try checked(i.dividedReportingOverflow(by: j))
                return .int((i % j != 0 && (i < 0) != (j < 0)) ? q - 1 : q)
            case "%":
                if j == 0 { throw TemplateError.type(message: "integer division or modulo by zero", at: location) }
                if j == -1 { return .int(0) }  // Int.min % -1 would trap; every x % -1 is 0
                let r = i % j
                return .int(r != 0 && (r < 0) != (j < 0) ? r + j : r)
            case "**":
                if j < 0 {
                    if i == 0 { throw TemplateError.type(message: "0.0 cannot be raised to a negative power", at: location) }
                    return .double(pow(Double(i), Double(j)))
                }
                // Square-and-multiply: at most 64 squarings, each checked.
                var result = 1
                var base = i
                var exponent = j
                while exponent > 0 {
                    if exponent & 1 == 1 { result = try checked(result.multipliedReportingOverflow(by: base)) }
                    exponent >>= 1
                    if exponent > 0 { base = try checked(base.multipliedReportingOverflow(by: base)) }
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
            if a == 0 && b < 0 {
                throw TemplateError.type(message: "0.0 cannot be raised to a negative power", at: location)
            }
            let r = pow(a, b)
            if r.isInfinite && a.isFinite && b.isFinite {
                throw TemplateError.type(message: "(34, 'Numerical result out of range')", at: location)
            }
            return .double(r)
        default:
            throw TemplateError.type(message: "unknown operator \(op)", at: location)
        }
    }

    /// `== != < <= > >= in notin` with Python semantics.
    static func compare(_ op: String, _ a: TemplateValue, _ b: TemplateValue, _ budget: RenderBudget,
                        at location: SourceLocation) throws(TemplateError) -> Bool {
        switch op {
        case "==": return try equals(a, b, budget, at: location)
        case "!=": return try !equals(a, b, budget, at: location)
        case "in": return try contains(b, a, budget, at: location)
        case "notin": return try !contains(b, a, budget, at: location)
        default: break
        }
        if case .undefined = a { throw TemplateError.undefined(name: "value", at: location) }
        if case .undefined = b { throw TemplateError.undefined(name: "value", at: location) }
        let order = try ordering(a, b, budget, op: op, at: location)
        switch op {
        case "<": return order < 0
        case "<=": return order <= 0
        case ">": return order > 0
        case ">=": return order >= 0
        default: throw TemplateError.type(message: "unknown comparison \(op)", at: location)
        }
    }

    /// Python `==` (see `TemplateValue.pythonEquals`), one step per element compared and per
    /// 16 bytes of string.
    static func equals(_ a: TemplateValue, _ b: TemplateValue, _ budget: RenderBudget,
                       at location: SourceLocation) throws(TemplateError) -> Bool {
        try budget.charge(1, "comparison", at: location)
        if let x = a.numericValue, let y = b.numericValue { return x == y }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            guard x.utf8.count == y.utf8.count else { return false }
            try budget.chargeBytes(x.utf8.count, "comparison", at: location)
            return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            for (p, q) in zip(x, y) where try !equals(p, q, budget, at: location) { return false }
            return true
        case (.object(let x), .object(let y)), (.namespace(let x), .namespace(let y)):
            guard x.count == y.count else { return false }
            for key in x.keys {
                guard let p = x[key], let q = y[key], try equals(p, q, budget, at: location) else { return false }
            }
            return true
        case (.callable(let x), .callable(let y)):
            // Bound methods compare their receivers, which may be big: charged like any value.
            if case .method(let p, let m) = x.kind, case .method(let q, let n) = y.kind {
                guard m == n else { return false }
                return try equals(p, q, budget, at: location)
            }
            return x == y
        default:
            return a.pythonEquals(b)
        }
    }

    /// -1, 0 or 1 as Python orders numbers, strings (by code point: UTF-8 byte order is code
    /// point order) and lists.
    static func ordering(_ a: TemplateValue, _ b: TemplateValue, _ budget: RenderBudget, op: String = "<",
                         at location: SourceLocation) throws(TemplateError) -> Int {
        try budget.charge(1, "comparison", at: location)
        if let x = a.numericValue, let y = b.numericValue {
            return x < y ? -1 : (x == y ? 0 : 1)
        }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            try budget.chargeBytes(min(x.utf8.count, y.utf8.count), "comparison", at: location)
            var i = x.utf8.makeIterator()
            var j = y.utf8.makeIterator()
            while true {
                switch (i.next(), j.next()) {
                case (nil, nil): return 0
                case (nil, _): return -1
                case (_, nil): return 1
                case (let p?, let q?): if p != q { return p < q ? -1 : 1 }
                }
            }
        case (.array(let x), .array(let y)):
            for (p, q) in zip(x, y) where try !equals(p, q, budget, at: location) {
                return try ordering(p, q, budget, op: op, at: location)
            }
            return x.count < y.count ? -1 : (x.count == y.count ? 0 : 1)
        default:
            throw TemplateError.type(
                message: "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'", at: location)
        }
    }

    /// Python's `needle in haystack`; substring search in linear time.
    static func contains(_ haystack: TemplateValue, _ needle: TemplateValue, _ budget: RenderBudget,
                         at location: SourceLocation) throws(TemplateError) -> Bool {
        switch haystack {
        case .undefined: return false
        case .string(let s):
            guard case .string(let n) = needle else {
                throw TemplateError.type(
                    message: "'in <string>' requires string as left operand, not \(needle.typeName)", at: location)
            }
            guard let search = TextSearch(n) else { return true }
            try budget.chargeBytes(s.utf8.count + n.utf8.count, "operator 'in'", at: location)
            return TextBytes.read(s) { hay in search.first(in: hay) != nil }
        case .array(let items):
            for item in items where try equals(item, needle, budget, at: location) { return true }
            return false
        case .object(let object), .namespace(let object):
            guard case .string(let key) = needle else { return false }
            try budget.chargeKey(key, "operator 'in'", at: location)
            return object[key] != nil
        default:
            throw TemplateError.type(message: "argument of type '\(haystack.typeName)' is not iterable", at: location)
        }
    }
}
