/// A value a chat template computes with: the Python objects jinja2 sees, cut down to what
/// chat templates use.
///
/// Python semantics show through wherever they reach the output: `{{ true }}` renders `True`,
/// `{{ 1.0 }}` renders `1.0`, a list renders as Python's `repr` (`['a', 1, None]`).
public enum TemplateValue: Sendable, Hashable {
    /// A name the context does not define, a missing key or an index out of range. Renders empty,
    /// is falsy, iterates as empty; using it in arithmetic or taking an attribute of it fails.
    case undefined
    /// Python's `None` (`none`/`None` in a template, `null` in JSON).
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// A Python list (tuples are lists here too: they render with brackets, not parentheses).
    case array([TemplateValue])
    /// A Python dict with string keys, in insertion order.
    case object(TemplateObject)
    /// What `namespace(...)` returns: an object whose attributes `{% set ns.x = ... %}` may change.
    case namespace(TemplateObject)
    /// A global function, macro or bound method (`raise_exception`, `'s'.strip`, `loop.cycle`).
    case callable(TemplateCallable)
}

/// An ordered dictionary with string keys: a JSON object, a Python dict, a namespace.
public struct TemplateObject: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    /// Keys in insertion order.
    public private(set) var keys: [String] = []
    private var storage: [String: TemplateValue] = [:]

    public init() {}

    public init(dictionaryLiteral elements: (String, TemplateValue)...) {
        for (key, value) in elements { self[key] = value }
    }

    public init(_ pairs: [(String, TemplateValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// The value for `key`; setting a new key appends it, setting `nil` removes it.
    public subscript(key: String) -> TemplateValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Calls `body` on each value, in no particular order.
    func forEachValue(_ body: (TemplateValue) -> Void) {
        for value in storage.values { body(value) }
    }

    /// Key-value pairs in insertion order.
    public var pairs: [(key: String, value: TemplateValue)] {
        keys.map { ($0, storage[$0]!) }
    }

    // Python dicts compare equal regardless of insertion order.
    public static func == (lhs: TemplateObject, rhs: TemplateObject) -> Bool {
        lhs.storage == rhs.storage
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage)
    }
}

/// Something a template can call. Opaque: templates create these, callers never need to.
public struct TemplateCallable: Sendable, Hashable {
    indirect enum Kind: Sendable, Hashable {
        /// A global function: `raise_exception`, `namespace`, `range`, `strftime_now`, `dict`.
        case global(String)
        /// A method bound to its receiver: `'abc'.upper`, `d.items`.
        case method(TemplateValue, String)
        /// A macro defined by the template, by its index in the renderer's table.
        case macro(Int, String)
        /// `loop.cycle` of the iteration with this index0.
        case loopCycle(Int)
        /// `loop` inside a `for` body.
        case loop(LoopContext)
    }

    let kind: Kind

    /// The `loop` object this is, if it is one.
    var loopContext: LoopContext? {
        if case .loop(let context) = kind { return context }
        return nil
    }
}

/// jinja2's `loop` object for one iteration of a `for` body. Its attributes are computed when
/// read, so an iteration costs one small object whether or not the body reads `loop`; it
/// compares by identity, as jinja2's LoopContext does.
final class LoopContext: Sendable, Hashable {
    let index0: Int
    /// The items the loop iterates (shared with the loop, not copied).
    let items: [TemplateValue]

    init(index0: Int, items: [TemplateValue]) {
        self.index0 = index0
        self.items = items
    }

    /// `loop.<name>`, or nil for a name LoopContext does not have.
    func attribute(_ name: String) -> TemplateValue? {
        let length = items.count
        switch name {
        case "index": return .int(index0 + 1)
        case "index0": return .int(index0)
        case "revindex": return .int(length - index0)
        case "revindex0": return .int(length - index0 - 1)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(index0 == length - 1)
        case "length": return .int(length)
        case "depth": return .int(1)
        case "depth0": return .int(0)
        case "previtem": return index0 > 0 ? items[index0 - 1] : .undefined
        case "nextitem": return index0 + 1 < length ? items[index0 + 1] : .undefined
        case "cycle": return .callable(TemplateCallable(kind: .loopCycle(index0)))
        default: return nil
        }
    }

    static func == (lhs: LoopContext, rhs: LoopContext) -> Bool { lhs === rhs }

    func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(self))
    }
}

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .none }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) {
        var object = TemplateObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}

extension TemplateValue {
    /// Python truthiness; undefined is falsy.
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        case .namespace, .callable: return true
        }
    }

    /// Python's `str(value)`: what `{{ value }}` writes. Undefined writes nothing.
    public var pythonString: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return pythonRepr
        }
    }

    /// Python's `repr(value)`, used for the elements of a rendered list or dict.
    public var pythonRepr: String {
        var builder = TextBuilder()
        PythonFormat.writeRepr(self, into: &builder)
        return builder.text
    }

    /// The Python type name, for error messages ("can only concatenate str (not "int") to str").
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .object: return "dict"
        case .namespace: return "Namespace"
        case .callable(let c):
            if case .loop = c.kind { return "LoopContext" }
            return "function"
        }
    }

    /// Python `==`: numbers compare by value across int, float and bool; dicts ignore order.
    func pythonEquals(_ other: TemplateValue) -> Bool {
        if let a = numericValue, let b = other.numericValue { return a == b }
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        // Equal code points are equal UTF-8 bytes (Swift's `==` would compare canonical
        // equivalence: "é" precomposed equals "e" + U+0301 in Swift, not in Python).
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pythonEquals($1) }
        case (.object(let a), .object(let b)), (.namespace(let a), .namespace(let b)):
            guard a.count == b.count else { return false }
            for (key, value) in a.pairs {
                guard let bv = b[key], value.pythonEquals(bv) else { return false }
            }
            return true
        case (.callable(let a), .callable(let b)): return a == b
        default: return false
        }
    }

    /// Exact numeric value of a bool, int or float (bools are ints in Python).
    var numericValue: PythonNumber? {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        default: return nil
        }
    }
}

/// An int or a float, compared as Python compares them.
enum PythonNumber: Equatable, Comparable {
    case int(Int)
    case double(Double)

    var asDouble: Double {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        }
    }

    static func == (lhs: PythonNumber, rhs: PythonNumber) -> Bool {
        if case .int(let a) = lhs, case .int(let b) = rhs { return a == b }
        return lhs.asDouble == rhs.asDouble
    }

    static func < (lhs: PythonNumber, rhs: PythonNumber) -> Bool {
        if case .int(let a) = lhs, case .int(let b) = rhs { return a < b }
        return lhs.asDouble < rhs.asDouble
    }
}
