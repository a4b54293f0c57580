/// Evaluated arguments of a call, filter or test.
struct CallArguments {
    var positional: [TemplateValue] = []
    var keyword: [(name: String, value: TemplateValue)] = []

    /// The argument at `position` or named `name`, else `defaultValue`.
    func value(_ position: Int, _ name: String, default defaultValue: TemplateValue = .undefined) -> TemplateValue {
        if position >= 0 && position < positional.count { return positional[position] }
        return keyword.first { $0.name == name }?.value ?? defaultValue
    }

    var count: Int { positional.count + keyword.count }
}

/// Renders a parsed template: a stack of variable frames (the base frame holds globals, the
/// caller's context and top-level `set`s; each `for` iteration and macro call pushes one),
/// Python semantics for values, and jinja2's scoping (an assignment inside a loop body lasts
/// for that iteration; `namespace` attributes are how a loop hands a value out).
struct TemplateRenderer {
    private var frames: [[String: TemplateValue]]
    private var macros: [MacroDefinition] = []
    /// Unix time `strftime_now` formats.
    let now: Double

    /// Functions every template can call, as Hugging Face's environment provides them.
    static let globalFunctions: Set<String> = ["raise_exception", "namespace", "range", "strftime_now", "dict"]
    /// Standard jinja2 globals this engine does not implement.
    static let unsupportedGlobals: Set<String> = ["cycler", "joiner", "lipsum"]
    /// The sandbox's limit on `range` (jinja2.sandbox.MAX_RANGE).
    static let maxRange = 100_000

    init(context: [String: TemplateValue], now: Double) {
        var base: [String: TemplateValue] = [:]
        for name in Self.globalFunctions { base[name] = .callable(TemplateCallable(kind: .global(name))) }
        for (key, value) in context { base[key] = value }
        frames = [base]
        self.now = now
    }

    enum Flow {
        case normal, breakLoop, continueLoop
    }

    // MARK: - Statements

    mutating func render(_ nodes: [Node]) throws(TemplateError) -> String {
        var out = ""
        _ = try execute(nodes, into: &out)
        return out
    }

    private mutating func execute(_ nodes: [Node], into out: inout String) throws(TemplateError) -> Flow {
        for node in nodes {
            switch node {
            case .text(let text):
                out += text
            case .output(let expr):
                out += try evaluate(expr).pythonString
            case .conditional(let branches, let otherwise):
                var taken = false
                for branch in branches where try evaluate(branch.test).isTruthy {
                    taken = true
                    let flow = try execute(branch.body, into: &out)
                    if flow != .normal { return flow }
                    break
                }
                if !taken {
                    let flow = try execute(otherwise, into: &out)
                    if flow != .normal { return flow }
                }
            case .forLoop(let loop):
                try executeFor(loop, into: &out)
            case .set(let target, let expr, let location):
                try assign(target, try evaluate(expr), location)
            case .setBlock(let name, let body, let filters):
                var captured = ""
                _ = try execute(body, into: &captured)
                var value = TemplateValue.string(captured)
                for filter in filters { value = try applyFilter(filter, to: value) }
                frames[frames.count - 1][name] = value
            case .macro(let definition):
                macros.append(definition)
                frames[frames.count - 1][definition.name] =
                    .callable(TemplateCallable(kind: .macro(macros.count - 1, definition.name)))
            case .filterBlock(let filters, let body):
                var captured = ""
                _ = try execute(body, into: &captured)
                var value = TemplateValue.string(captured)
                for filter in filters { value = try applyFilter(filter, to: value) }
                out += value.pythonString
            case .breakLoop:
                return .breakLoop
            case .continueLoop:
                return .continueLoop
            case .generation(let body):
                let flow = try execute(body, into: &out)
                if flow != .normal { return flow }
            }
        }
        return .normal
    }

    private mutating func applyFilter(_ filter: FilterCall, to value: TemplateValue) throws(TemplateError) -> TemplateValue {
        let arguments = try evaluateArguments(filter.arguments)
        return try applyFilter(filter.name, to: value, arguments, at: filter.location)
    }

    private mutating func executeFor(_ loop: ForLoop, into out: inout String) throws(TemplateError) {
        var items = try iterate(try evaluate(loop.iterable), at: loop.iterable.location)
        if let condition = loop.condition {
            var kept: [TemplateValue] = []
            for item in items {
                frames.append([:])
                defer { frames.removeLast() }
                try bind(loop.target, item, loop.location)
                if try evaluate(condition).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            _ = try execute(loop.elseBody, into: &out)
            return
        }
        let length = items.count
        for (i, item) in items.enumerated() {
            var info: TemplateObject = [
                "index": .int(i + 1), "index0": .int(i), "revindex": .int(length - i),
                "revindex0": .int(length - i - 1), "first": .bool(i == 0), "last": .bool(i == length - 1),
                "length": .int(length), "depth": 1, "depth0": 0,
                "cycle": .callable(TemplateCallable(kind: .loopCycle(i))),
            ]
            if i > 0 { info["previtem"] = items[i - 1] }
            if i + 1 < length { info["nextitem"] = items[i + 1] }
            frames.append(["loop": .object(info)])
            try bind(loop.target, item, loop.location)
            let flow: Flow
            do {
                flow = try execute(loop.body, into: &out)
            } catch {
                frames.removeLast()
                throw error
            }
            frames.removeLast()
            if flow == .breakLoop { break }
        }
    }

    /// Binds a loop target in the innermost frame, unpacking tuples.
    private mutating func bind(_ target: AssignTarget, _ value: TemplateValue, _ location: SourceLocation) throws(TemplateError) {
        switch target {
        case .name(let name):
            frames[frames.count - 1][name] = value
        case .tuple(let names):
            let parts = try iterate(value, at: location)
            guard parts.count == names.count else {
                let problem = parts.count < names.count ? "not enough" : "too many"
                throw TemplateError.type(
                    message: "\(problem) values to unpack (expected \(names.count), got \(parts.count))", at: location)
            }
            for (name, part) in zip(names, parts) { frames[frames.count - 1][name] = part }
        case .attribute:
            throw TemplateError.syntax(message: "cannot assign to an attribute here", at: location)
        }
    }

    private mutating func assign(_ target: AssignTarget, _ value: TemplateValue, _ location: SourceLocation) throws(TemplateError) {
        guard case .attribute(let name, let attribute) = target else {
            try bind(target, value, location)
            return
        }
        for i in stride(from: frames.count - 1, through: 0, by: -1) {
            guard let holder = frames[i][name] else { continue }
            guard case .namespace(var object) = holder else {
                throw TemplateError.type(message: "cannot assign attribute on non-namespace object", at: location)
            }
            object[attribute] = value
            frames[i][name] = .namespace(object)
            return
        }
        throw TemplateError.undefined(name: name, at: location)
    }

    // MARK: - Expressions

    func lookup(_ name: String) -> TemplateValue {
        for frame in frames.reversed() {
            if let value = frame[name] { return value }
        }
        return .undefined
    }

    mutating func evaluateArguments(_ arguments: [Argument]) throws(TemplateError) -> CallArguments {
        var result = CallArguments()
        for argument in arguments {
            let value = try evaluate(argument.value)
            if let name = argument.name {
                result.keyword.append((name, value))
            } else {
                result.positional.append(value)
            }
        }
        return result
    }

    mutating func evaluate(_ expr: Expr) throws(TemplateError) -> TemplateValue {
        switch expr.kind {
        case .literal(let value):
            return value
        case .name(let name):
            return lookup(name)
        case .list(let items), .tuple(let items):
            var values: [TemplateValue] = []
            for item in items { values.append(try evaluate(item)) }
            return .array(values)
        case .dict(let pairs):
            var object = TemplateObject()
            for pair in pairs {
                guard case .string(let key) = try evaluate(pair.key) else {
                    throw TemplateError.type(message: "dictionary keys must be strings", at: pair.key.location)
                }
                object[key] = try evaluate(pair.value)
            }
            return .object(object)
        case .attribute(let base, let name):
            let value = try evaluate(base)
            if case .undefined = value { throw TemplateError.undefined(name: base.displayName, at: base.location) }
            return attribute(of: value, name)
        case .subscript(let base, let indexExpr):
            let value = try evaluate(base)
            if case .undefined = value { throw TemplateError.undefined(name: base.displayName, at: base.location) }
            return item(of: value, try evaluate(indexExpr))
        case .slice(let base, let start, let stop, let step):
            let value = try evaluate(base)
            if case .undefined = value { throw TemplateError.undefined(name: base.displayName, at: base.location) }
            return try slice(value, start: try start.map { (e: Expr) throws(TemplateError) in try evaluate(e) },
                             stop: try stop.map { (e: Expr) throws(TemplateError) in try evaluate(e) },
                             step: try step.map { (e: Expr) throws(TemplateError) in try evaluate(e) },
                             at: expr.location)
        case .call(let callee, let arguments):
            let function = try evaluate(callee)
            let evaluated = try evaluateArguments(arguments)
            switch function {
            case .callable(let callable):
                return try call(callable, evaluated, at: expr.location)
            case .undefined:
                if case .name(let n) = callee.kind, Self.unsupportedGlobals.contains(n) {
                    throw TemplateError.unsupported(kind: "function", name: n, at: callee.location)
                }
                throw TemplateError.undefined(name: callee.displayName, at: callee.location)
            default:
                throw TemplateError.type(message: "'\(function.typeName)' object is not callable", at: expr.location)
            }
        case .filter(let base, let name, let arguments):
            let value = try evaluate(base)
            let evaluated = try evaluateArguments(arguments)
            return try applyFilter(name, to: value, evaluated, at: expr.location)
        case .test(let base, let name, let arguments, let negated):
            let value = try evaluate(base)
            let evaluated = try evaluateArguments(arguments)
            let result = try applyTest(name, to: value, evaluated, at: expr.location)
            return .bool(result != negated)
        case .unary(let op, let operand):
            let value = try evaluate(operand)
            if op == "not" { return .bool(!value.isTruthy) }
            if case .undefined = value { throw TemplateError.undefined(name: operand.displayName, at: operand.location) }
            switch value.numericValue {
            case .int(let i)?: return op == "-" ? .int(-i) : .int(i)
            case .double(let d)?: return op == "-" ? .double(-d) : .double(d)
            case nil:
                throw TemplateError.type(message: "bad operand type for unary \(op): '\(value.typeName)'", at: expr.location)
            }
        case .binary(let op, let lhs, let rhs):
            let left = try evaluate(lhs)
            switch op {
            case "and": return left.isTruthy ? try evaluate(rhs) : left
            case "or": return left.isTruthy ? left : try evaluate(rhs)
            case "~": return .string(left.pythonString + (try evaluate(rhs)).pythonString)
            default:
                let right = try evaluate(rhs)
                if case .undefined = left { throw TemplateError.undefined(name: lhs.displayName, at: lhs.location) }
                if case .undefined = right { throw TemplateError.undefined(name: rhs.displayName, at: rhs.location) }
                return try PythonOperators.arithmetic(op, left, right, at: expr.location)
            }
        case .compare(let first, let chain):
            var left = try evaluate(first)
            for (op, rhs) in chain {
                let right = try evaluate(rhs)
                let holds = try PythonOperators.compare(op, left, right, at: rhs.location)
                if !holds { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let test, let then, let otherwise):
            if try evaluate(test).isTruthy { return try evaluate(then) }
            if let otherwise { return try evaluate(otherwise) }
            return .undefined
        }
    }

    /// jinja2's `getattr`: a Python attribute (a method) first, then a key.
    func attribute(of value: TemplateValue, _ name: String) -> TemplateValue {
        switch value {
        case .object(let object):
            if TemplateMethods.dictMethods.contains(name) {
                return .callable(TemplateCallable(kind: .method(value, name)))
            }
            return object[name] ?? .undefined
        case .namespace(let object):
            return object[name] ?? .undefined
        case .string:
            if TemplateMethods.stringMethods.contains(name) {
                return .callable(TemplateCallable(kind: .method(value, name)))
            }
            return .undefined
        case .array:
            if TemplateMethods.listMethods.contains(name) {
                return .callable(TemplateCallable(kind: .method(value, name)))
            }
            return .undefined
        default:
            return .undefined
        }
    }

    /// jinja2's `getitem`: a key or index first, then an attribute. Out of range is undefined.
    func item(of value: TemplateValue, _ index: TemplateValue) -> TemplateValue {
        switch (value, index.numericValue) {
        case (.array(let items), .int(let i)?):
            let position = i < 0 ? items.count + i : i
            return items.indices.contains(position) ? items[position] : .undefined
        case (.string(let s), .int(let i)?):
            let scalars = Array(s.unicodeScalars)
            let position = i < 0 ? scalars.count + i : i
            return scalars.indices.contains(position) ? .string(String(scalars[position])) : .undefined
        default:
            break
        }
        if case .object(let object) = value, case .string(let key) = index, let found = object[key] {
            return found
        }
        if case .string(let name) = index { return attribute(of: value, name) }
        return .undefined
    }

    /// Python slicing of a list or string; `None` bounds are open.
    func slice(_ value: TemplateValue, start: TemplateValue?, stop: TemplateValue?, step: TemplateValue?,
               at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        func bound(_ v: TemplateValue?) throws(TemplateError) -> Int? {
            guard let v else { return nil }
            switch v {
            case .none, .undefined: return nil
            default:
                guard case .int(let i)? = v.numericValue else {
                    throw TemplateError.type(message: "slice indices must be integers or None", at: location)
                }
                return i
            }
        }
        let stepValue = try bound(step) ?? 1
        if stepValue == 0 { throw TemplateError.type(message: "slice step cannot be zero", at: location) }
        func indices(count: Int) throws(TemplateError) -> [Int] {
            func clamp(_ raw: Int?, _ defaultValue: Int) -> Int {
                guard var i = raw else { return defaultValue }
                if i < 0 { i += count }
                if stepValue > 0 { return min(max(i, 0), count) }
                return min(max(i, -1), count - 1)
            }
            let lo = clamp(try bound(start), stepValue > 0 ? 0 : count - 1)
            let hi = clamp(try bound(stop), stepValue > 0 ? count : -1)
            var result: [Int] = []
            var i = lo
            while stepValue > 0 ? i < hi : i > hi {
                result.append(i)
                i += stepValue
            }
            return result
        }
        switch value {
        case .array(let items):
            return .array(try indices(count: items.count).map { items[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try indices(count: scalars.count) { out.append(scalars[i]) }
            return .string(String(out))
        case .none:
            return .undefined
        default:
            throw TemplateError.type(message: "'\(value.typeName)' object is not subscriptable", at: location)
        }
    }

    /// The items a `for` loop or filter walks: a list's items, a dict's keys, a string's
    /// characters; undefined iterates as empty.
    func iterate(_ value: TemplateValue, at location: SourceLocation) throws(TemplateError) -> [TemplateValue] {
        switch value {
        case .undefined: return []
        case .array(let items): return items
        case .object(let object): return object.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        default:
            throw TemplateError.type(message: "'\(value.typeName)' object is not iterable", at: location)
        }
    }

    // MARK: - Calls

    private mutating func call(_ callable: TemplateCallable, _ arguments: CallArguments,
                               at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        switch callable.kind {
        case .global(let name):
            return try callGlobal(name, arguments, at: location)
        case .method(let receiver, let name):
            return try TemplateMethods.call(name, on: receiver, arguments, renderer: self, at: location)
        case .loopCycle(let index0):
            guard !arguments.positional.isEmpty else {
                throw TemplateError.type(message: "no items for cycling given", at: location)
            }
            return arguments.positional[index0 % arguments.positional.count]
        case .macro(let index, _):
            return try callMacro(macros[index], arguments, at: location)
        }
    }

    private mutating func callGlobal(_ name: String, _ arguments: CallArguments,
                                     at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        switch name {
        case "raise_exception":
            throw TemplateError.raised(message: arguments.value(0, "message").pythonString, at: location)
        case "namespace", "dict":
            var object = TemplateObject()
            if case .object(let initial)? = arguments.positional.first {
                object = initial
            }
            for (key, value) in arguments.keyword { object[key] = value }
            return name == "namespace" ? .namespace(object) : .object(object)
        case "range":
            var bounds: [Int] = []
            for value in arguments.positional {
                guard case .int(let i)? = value.numericValue else {
                    throw TemplateError.type(message: "range() arguments must be integers", at: location)
                }
                bounds.append(i)
            }
            let (start, stop, step): (Int, Int, Int)
            switch bounds.count {
            case 1: (start, stop, step) = (0, bounds[0], 1)
            case 2: (start, stop, step) = (bounds[0], bounds[1], 1)
            case 3: (start, stop, step) = (bounds[0], bounds[1], bounds[2])
            default: throw TemplateError.type(message: "range expected 1 to 3 arguments", at: location)
            }
            if step == 0 { throw TemplateError.type(message: "range() arg 3 must not be zero", at: location) }
            let values = Array(stride(from: start, to: stop, by: step))
            if values.count > Self.maxRange {
                throw TemplateError.type(message: "range too big, maximum size for range is \(Self.maxRange)", at: location)
            }
            return .array(values.map { .int($0) })
        case "strftime_now":
            guard case .string(let format) = arguments.value(0, "format") else {
                throw TemplateError.type(message: "strftime_now() argument must be a string", at: location)
            }
            return .string(PythonFormat.strftime(format, seconds: now))
        default:
            throw TemplateError.unsupported(kind: "function", name: name, at: location)
        }
    }

    private mutating func callMacro(_ macro: MacroDefinition, _ arguments: CallArguments,
                                    at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        if arguments.positional.count > macro.parameters.count {
            throw TemplateError.type(message: "macro '\(macro.name)' takes not more than \(macro.parameters.count) argument(s)", at: location)
        }
        var frame: [String: TemplateValue] = [:]
        for (i, parameter) in macro.parameters.enumerated() {
            if i < arguments.positional.count {
                frame[parameter.name] = arguments.positional[i]
            } else if let value = arguments.keyword.first(where: { $0.name == parameter.name })?.value {
                frame[parameter.name] = value
            } else if let defaultValue = parameter.defaultValue {
                frame[parameter.name] = try evaluate(defaultValue)
            } else {
                frame[parameter.name] = .undefined
            }
        }
        for (name, _) in arguments.keyword where !macro.parameters.contains(where: { $0.name == name }) {
            throw TemplateError.type(message: "macro '\(macro.name)' takes no keyword argument '\(name)'", at: location)
        }
        let saved = frames
        frames = [frames[0], frame]
        var out = ""
        do {
            _ = try execute(macro.body, into: &out)
        } catch {
            frames = saved
            throw error
        }
        // Keep what the macro did to the base frame (a namespace's attributes), drop its locals.
        let base = frames[0]
        frames = saved
        frames[0] = base
        return .string(out)
    }
}
