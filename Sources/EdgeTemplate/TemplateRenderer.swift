/// Evaluated arguments of a call, filter or test.
struct CallArguments {
    private(set) var positional: [TemplateValue] = []
    private(set) var keyword: [(name: String, value: TemplateValue)] = []
    /// Each keyword's first position in `keyword`, so that a lookup costs the same however many
    /// keywords a call passes (a filter applied to every item of a list looks its arguments up
    /// once per item).
    private var keywordIndex: [String: Int] = [:]

    init() {}

    init(positional: [TemplateValue], keyword: [(name: String, value: TemplateValue)]) {
        self.positional = positional
        for (name, value) in keyword { appendKeyword(name, value) }
    }

    mutating func appendPositional(_ value: TemplateValue) {
        positional.append(value)
    }

    mutating func appendKeyword(_ name: String, _ value: TemplateValue) {
        if keywordIndex[name] == nil { keywordIndex[name] = keyword.count }
        keyword.append((name, value))
    }

    /// The keyword argument `name`, if passed.
    func keyword(_ name: String) -> TemplateValue? {
        keywordIndex[name].map { keyword[$0].value }
    }

    /// The argument at `position` or named `name`, else `defaultValue`.
    func value(_ position: Int, _ name: String, default defaultValue: TemplateValue = .undefined) -> TemplateValue {
        if position >= 0 && position < positional.count { return positional[position] }
        return keyword(name) ?? defaultValue
    }

    /// These arguments less the first positional one (`map('f', ...)` passes the rest to `f`).
    var droppingFirst: CallArguments {
        var rest = self
        if !rest.positional.isEmpty { rest.positional.removeFirst() }
        return rest
    }

    var count: Int { positional.count + keyword.count }
}

/// Text a render writes: its output, or a capture (a `{% set %}` or `{% filter %}` block's
/// body, a macro's output), within `limit` bytes.
struct OutputBuffer {
    private(set) var text = ""
    let limit: Int
    /// The limit that `limit` is: `.outputBytes` for the output, `.stringBytes` for a capture.
    let kind: TemplateLimitKind
    /// What a capture is, to name it when it grows too long; nil for the output (then the
    /// statement whose text crossed the limit is named).
    let owner: String?

    init(limit: Int, kind: TemplateLimitKind, owner: String? = nil) {
        self.limit = limit
        self.kind = kind
        self.owner = owner
    }

    mutating func append(_ piece: String, _ budget: RenderBudget, _ construct: @autoclosure () -> String,
                         at location: SourceLocation) throws(TemplateError) {
        let count = piece.utf8.count
        guard count > 0 else { return }
        if count > limit - text.utf8.count { throw budget.failure(kind, owner ?? construct(), location) }
        try budget.chargeBytes(count, construct(), at: location)
        text += piece
    }
}

/// Renders a parsed template: a stack of variable frames (the base frame holds globals, the
/// caller's context and top-level `set`s; each `for` iteration and macro call pushes one),
/// Python semantics for values, and jinja2's scoping (an assignment inside a loop body lasts
/// for that iteration; `namespace` attributes are how a loop hands a value out).
///
/// Every statement, expression node, loop iteration and call is a step of `budget`, and a level
/// of its depth while it runs; every string, list and dict the render creates is checked against
/// the limits before it is built.
///
/// Never write `nonMutatingMethod(try evaluate(...))`: Swift then copies `self` (and so shares
/// `frames`) across the evaluation, and any assignment the evaluation makes (a macro setting a
/// namespace attribute) copies a whole frame. Evaluate into a local first.
struct TemplateRenderer {
    private var frames: [[String: TemplateValue]]
    private var macros: [MacroDefinition] = []
    /// Unix time `strftime_now` formats.
    let now: Double
    let budget: RenderBudget

    /// Functions every template can call, as Hugging Face's environment provides them.
    static let globalFunctions: Set<String> = ["raise_exception", "namespace", "range", "strftime_now", "dict"]
    /// Standard jinja2 globals this engine does not implement.
    static let unsupportedGlobals: Set<String> = ["cycler", "joiner", "lipsum"]
    /// The sandbox's limit on `range` (jinja2.sandbox.MAX_RANGE).
    static let maxRange = 100_000

    /// Fails when a context value is nested deeper than `limits.maxDepth` (it could not be
    /// printed or compared within the stack the depth limit is sized for).
    init(context: [String: TemplateValue], now: Double, limits: TemplateLimits) throws(TemplateError) {
        budget = RenderBudget(limits)
        var base: [String: TemplateValue] = [:]
        for name in Self.globalFunctions { base[name] = .callable(TemplateCallable(kind: .global(name))) }
        for (key, value) in context {
            if value.isContainer, ValueNesting.depth(of: value, limit: limits.maxDepth).depth > limits.maxDepth {
                throw budget.failure(.depth, "context variable '\(key)'", SourceLocation(line: 1, column: 1))
            }
            base[key] = value
        }
        frames = [base]
        self.now = now
    }

    enum Flow {
        case normal, breakLoop, continueLoop
    }

    // MARK: - Statements

    mutating func render(_ nodes: [Node]) throws(TemplateError) -> String {
        var out = OutputBuffer(limit: budget.limits.maxOutputBytes, kind: .outputBytes)
        _ = try execute(nodes, into: &out, .template, at: SourceLocation(line: 1, column: 1))
        return out.text
    }

    /// The block a body of statements belongs to, for error messages.
    enum Block {
        case template, ifBlock, elseBlock, forLoop, setBlock(String), filterBlock, generation, macro(String)

        var construct: String {
            switch self {
            case .template: return "template"
            case .ifBlock: return "{% if %} block"
            case .elseBlock: return "{% else %} block"
            case .forLoop: return "for loop"
            case .setBlock(let name): return "{% set \(name) %} block"
            case .filterBlock: return "{% filter %} block"
            case .generation: return "{% generation %} block"
            case .macro(let name): return "macro '\(name)'"
            }
        }
    }

    /// A body of statements, one level deeper, as part of `block` at `location`.
    ///
    /// Every level of nested blocks, loops and macro calls runs this function, so its stack
    /// frame is kept small: each statement that needs locals of its own runs in a function of
    /// its own (never inlined), which only the statements on the current path pay for.
    private mutating func execute(_ nodes: [Node], into out: inout OutputBuffer, _ block: Block,
                                  at location: SourceLocation) throws(TemplateError) -> Flow {
        try budget.enter(block.construct, at: location)
        defer { budget.leave() }
        for node in nodes {
            switch node {
            case .text(let text, let location):
                try emit(text, into: &out, at: location)
            case .output(let expr):
                try output(expr, into: &out)
            case .conditional(let branches, let otherwise, let location):
                let flow = try executeIf(branches, otherwise, into: &out, at: location)
                if flow != .normal { return flow }
            case .forLoop(let loop):
                try executeFor(loop, into: &out)
            case .set(let target, let expr, let location):
                try assign(target, expr, location)
            case .setBlock(let name, let body, let filters, let location):
                let flow = try setBlock(name, body, filters, at: location)
                if flow != .normal { return flow }
            case .macro(let definition):
                try define(definition)
            case .filterBlock(let filters, let body, let location):
                let flow = try filterBlock(body, filters, into: &out, at: location)
                if flow != .normal { return flow }
            case .breakLoop:
                return .breakLoop
            case .continueLoop:
                return .continueLoop
            case .generation(let body, let location):
                let flow = try execute(body, into: &out, .generation, at: location)
                if flow != .normal { return flow }
            }
        }
        return .normal
    }

    @inline(never)
    private func emit(_ text: String, into out: inout OutputBuffer, at location: SourceLocation) throws(TemplateError) {
        try budget.charge(1, "text", at: location)
        try out.append(text, budget, "text", at: location)
    }

    @inline(never)
    private mutating func output(_ expr: Expr, into out: inout OutputBuffer) throws(TemplateError) {
        let value = try evaluate(expr)
        let text = try string(value, expr.construct, at: expr.location)
        try out.append(text, budget, expr.construct, at: expr.location)
    }

    @inline(never)
    private mutating func executeIf(_ branches: [(test: Expr, body: [Node])], _ otherwise: [Node],
                                    into out: inout OutputBuffer, at location: SourceLocation) throws(TemplateError) -> Flow {
        for branch in branches where try evaluate(branch.test).isTruthy {
            return try execute(branch.body, into: &out, .ifBlock, at: location)
        }
        if otherwise.isEmpty { return .normal }
        return try execute(otherwise, into: &out, .elseBlock, at: location)
    }

    /// A `{% set %}` or `{% filter %}` block's body rendered into a string, then filtered; nil
    /// with the flow when a `break` or `continue` left the body (jinja2 then drops the capture).
    @inline(never)
    private mutating func capture(_ body: [Node], _ filters: [FilterCall], _ block: Block,
                                  at location: SourceLocation) throws(TemplateError) -> (TemplateValue?, Flow) {
        var captured = OutputBuffer(limit: budget.limits.maxStringBytes, kind: .stringBytes, owner: block.construct)
        let flow = try execute(body, into: &captured, block, at: location)
        if flow != .normal { return (nil, flow) }
        var value = TemplateValue.string(captured.text)
        for filter in filters { value = try applyFilter(filter, to: value) }
        return (value, .normal)
    }

    @inline(never)
    private mutating func setBlock(_ name: String, _ body: [Node], _ filters: [FilterCall],
                                   at location: SourceLocation) throws(TemplateError) -> Flow {
        let (value, flow) = try capture(body, filters, .setBlock(name), at: location)
        if let value { frames[frames.count - 1][name] = value }
        return flow
    }

    @inline(never)
    private mutating func filterBlock(_ body: [Node], _ filters: [FilterCall], into out: inout OutputBuffer,
                                      at location: SourceLocation) throws(TemplateError) -> Flow {
        let (value, flow) = try capture(body, filters, .filterBlock, at: location)
        if let value {
            try out.append(try string(value, "{% filter %} block", at: location), budget, "{% filter %} block", at: location)
        }
        return flow
    }

    @inline(never)
    private mutating func define(_ definition: MacroDefinition) throws(TemplateError) {
        try budget.charge(1, "macro '\(definition.name)'", at: definition.location)
        macros.append(definition)
        frames[frames.count - 1][definition.name] = .callable(TemplateCallable(kind: .macro(macros.count - 1, definition.name)))
    }

    private mutating func applyFilter(_ filter: FilterCall, to value: TemplateValue) throws(TemplateError) -> TemplateValue {
        let arguments = try evaluateArguments(filter.arguments)
        return try applyFilter(filter.name, to: value, arguments, at: filter.location)
    }

    /// A `for` loop. Its `else` body runs, as jinja2 compiles it, unless some iteration's body
    /// ran to its end: with no items, and also when every iteration ended in `continue` or the
    /// loop broke before any iteration ended normally.
    @inline(never)
    private mutating func executeFor(_ loop: ForLoop, into out: inout OutputBuffer) throws(TemplateError) {
        let items = try loopItems(loop)
        var completedAnIteration = false
        for i in items.indices {
            try budget.charge(1, "for loop", at: loop.location)
            try enterIteration(loop, items, i)
            defer { frames.removeLast() }
            let flow = try execute(loop.body, into: &out, .forLoop, at: loop.location)
            if flow == .breakLoop { break }
            if flow == .normal { completedAnIteration = true }
        }
        if !completedAnIteration && !loop.elseBody.isEmpty {
            _ = try execute(loop.elseBody, into: &out, .forLoop, at: loop.location)
        }
    }

    /// The items a loop iterates: its iterable's, less those failing its `if` condition.
    @inline(never)
    private mutating func loopItems(_ loop: ForLoop) throws(TemplateError) -> [TemplateValue] {
        let iterable = try evaluate(loop.iterable)
        let items = try iterate(iterable, "for loop", at: loop.iterable.location)
        guard let condition = loop.condition else { return items }
        var kept: [TemplateValue] = []
        for item in items {
            try budget.charge(1, "for loop", at: loop.location)
            frames.append([:])
            defer { frames.removeLast() }
            try bind(loop.target, item, loop.location)
            if try evaluate(condition).isTruthy { kept.append(item) }
        }
        return kept
    }

    /// Pushes iteration `i`'s frame: the `loop` object and the loop target.
    @inline(never)
    private mutating func enterIteration(_ loop: ForLoop, _ items: [TemplateValue], _ i: Int) throws(TemplateError) {
        frames.append(["loop": .callable(TemplateCallable(kind: .loop(LoopContext(index0: i, items: items))))])
        try bind(loop.target, items[i], loop.location)
    }

    /// Binds a loop target in the innermost frame, unpacking tuples.
    @inline(never)
    private mutating func bind(_ target: AssignTarget, _ value: TemplateValue, _ location: SourceLocation) throws(TemplateError) {
        switch target {
        case .name(let name):
            try budget.chargeKey(name, "assignment", at: location)
            frames[frames.count - 1][name] = value
        case .tuple(let names):
            for name in names { try budget.chargeKey(name, "assignment", at: location) }
            let parts = try iterate(value, "unpacking", at: location)
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

    /// `{% set target = expr %}`. For `ns.attr`, jinja2 checks that `ns` is a namespace before
    /// it evaluates `expr`; so does this.
    @inline(never)
    private mutating func assign(_ target: AssignTarget, _ expr: Expr, _ location: SourceLocation) throws(TemplateError) {
        guard case .attribute(let name, let attribute) = target else {
            try bind(target, try evaluate(expr), location)
            return
        }
        try budget.chargeKey(name + attribute, "{% set \(name).\(attribute) %}", at: location)
        try chargeFrameScan("{% set \(name).\(attribute) %}", at: location)
        guard let i = frames.indices.last(where: { frames[$0][name] != nil }), case .namespace = frames[i][name] else {
            // jinja2 says so of an undefined name too.
            throw TemplateError.type(message: "cannot assign attribute on non-namespace object", at: location)
        }
        let value = try evaluate(expr)
        try budget.checkNesting(wrapping: CollectionOfOne(value), "{% set \(name).\(attribute) %}", at: location)
        // Evaluating `expr` cannot rebind `name` (only statements assign), so frame i still holds it.
        guard case .namespace(var object) = frames[i][name] else { return }
        frames[i][name] = .undefined  // drop the frame's reference so that the object is not copied
        object[attribute] = value
        frames[i][name] = .namespace(object)
    }

    // MARK: - Expressions

    /// A name is looked up in every frame, innermost first: with loops nested 200 deep that is
    /// 200 hash lookups (~40 ns each), charged one step per 2 frames (nothing for the usual 1
    /// to 3 frames).
    @inline(__always)
    private func chargeFrameScan(_ construct: @autoclosure () -> String, at location: SourceLocation) throws(TemplateError) {
        if frames.count >= 4 { try budget.charge(frames.count / 2, construct(), at: location) }
    }

    func lookup(_ name: String) -> TemplateValue {
        for frame in frames.reversed() {
            if let value = frame[name] { return value }
        }
        return .undefined
    }

    @inline(never)
    mutating func evaluateArguments(_ arguments: [Argument]) throws(TemplateError) -> CallArguments {
        var result = CallArguments()
        for argument in arguments {
            let value = try evaluate(argument.value)
            if let name = argument.name {
                result.appendKeyword(name, value)
            } else {
                result.appendPositional(value)
            }
        }
        return result
    }

    /// Python's `str(value)` for output and concatenation, within `maxStringBytes`.
    @inline(never)
    func string(_ value: TemplateValue, _ construct: @autoclosure () -> String,
                at location: SourceLocation) throws(TemplateError) -> String {
        switch value {
        case .string(let s): return s
        case .undefined: return ""
        case .none, .bool, .int, .double: return value.pythonRepr
        default:
            var builder = TextBuilder(limit: budget.limits.maxStringBytes)
            PythonFormat.writeRepr(value, into: &builder)
            if builder.exceeded { throw budget.failure(.stringBytes, construct(), location) }
            try budget.chargeBytes(builder.text.utf8.count, construct(), at: location)
            return builder.text
        }
    }

    /// An expression's value. Every level of a nested expression runs this function, so it
    /// only dispatches: each kind of node that needs locals of its own is evaluated in a
    /// function of its own (never inlined), and the stack per level is this small frame plus
    /// that node's.
    mutating func evaluate(_ expr: Expr) throws(TemplateError) -> TemplateValue {
        try budget.enter(expr.construct, at: expr.location)
        defer { budget.leave() }
        switch expr.kind {
        case .literal(let value):
            return value
        case .name(let name):
            try budget.chargeKey(name, expr.construct, at: expr.location)
            try chargeFrameScan(expr.construct, at: expr.location)
            return lookup(name)
        case .list(let items), .tuple(let items):
            return try evaluateList(items, expr)
        case .dict(let pairs):
            return try evaluateDict(pairs, expr)
        case .attribute(let base, let name):
            try budget.chargeKey(name, expr.construct, at: expr.location)
            let value = try evaluate(base)
            if case .undefined = value { throw TemplateError.undefined(name: base.displayName, at: base.location) }
            return attribute(of: value, name)
        case .subscript(let base, let indexExpr):
            return try evaluateSubscript(base, indexExpr, expr)
        case .slice(let base, let start, let stop, let step):
            return try evaluateSlice(base, start, stop, step, expr)
        case .call(let callee, let arguments):
            return try evaluateCall(callee, arguments, expr)
        case .filter(let base, let name, let arguments):
            return try evaluateFilter(base, name, arguments, expr)
        case .test(let base, let name, let arguments, let negated):
            return try evaluateTest(base, name, arguments, negated, expr)
        case .unary(let op, let operand):
            return try evaluateUnary(op, operand, expr)
        case .binary(let op, let lhs, let rhs):
            return try evaluateBinary(op, lhs, rhs, expr)
        case .compare(let first, let chain):
            return try evaluateCompare(first, chain)
        case .conditional(let test, let then, let otherwise):
            if try evaluate(test).isTruthy { return try evaluate(then) }
            if let otherwise { return try evaluate(otherwise) }
            return .undefined
        }
    }

    @inline(never)
    private mutating func evaluateList(_ items: [Expr], _ expr: Expr) throws(TemplateError) -> TemplateValue {
        try budget.reserveElements(items.count, expr.construct, at: expr.location)
        var values: [TemplateValue] = []
        values.reserveCapacity(items.count)
        for item in items { values.append(try evaluate(item)) }
        try budget.checkNesting(wrapping: values, expr.construct, at: expr.location)
        return .array(values)
    }

    @inline(never)
    private mutating func evaluateDict(_ pairs: [(key: Expr, value: Expr)], _ expr: Expr) throws(TemplateError) -> TemplateValue {
        try budget.reserveElements(pairs.count, expr.construct, at: expr.location)
        var object = TemplateObject()
        for pair in pairs {
            guard case .string(let key) = try evaluate(pair.key) else {
                throw TemplateError.type(message: "dictionary keys must be strings", at: pair.key.location)
            }
            try budget.chargeKey(key, expr.construct, at: expr.location)
            object[key] = try evaluate(pair.value)
        }
        try budget.checkNesting(wrapping: object.pairs.lazy.map(\.value), expr.construct, at: expr.location)
        return .object(object)
    }

    @inline(never)
    private mutating func evaluateSubscript(_ base: Expr, _ indexExpr: Expr, _ expr: Expr) throws(TemplateError) -> TemplateValue {
        let value = try evaluate(base)
        if case .undefined = value { throw TemplateError.undefined(name: base.displayName, at: base.location) }
        let index = try evaluate(indexExpr)
        return try item(of: value, index, at: expr.location)
    }

    @inline(never)
    private mutating func evaluateSlice(_ base: Expr, _ start: Expr?, _ stop: Expr?, _ step: Expr?,
                                        _ expr: Expr) throws(TemplateError) -> TemplateValue {
        let value = try evaluate(base)
        if case .undefined = value { throw TemplateError.undefined(name: base.displayName, at: base.location) }
        let startValue = try start.map { (e: Expr) throws(TemplateError) in try evaluate(e) }
        let stopValue = try stop.map { (e: Expr) throws(TemplateError) in try evaluate(e) }
        let stepValue = try step.map { (e: Expr) throws(TemplateError) in try evaluate(e) }
        return try slice(value, start: startValue, stop: stopValue, step: stepValue, at: expr.location)
    }

    @inline(never)
    private mutating func evaluateCall(_ callee: Expr, _ arguments: [Argument], _ expr: Expr) throws(TemplateError) -> TemplateValue {
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
    }

    @inline(never)
    private mutating func evaluateFilter(_ base: Expr, _ name: String, _ arguments: [Argument],
                                         _ expr: Expr) throws(TemplateError) -> TemplateValue {
        let value = try evaluate(base)
        let evaluated = try evaluateArguments(arguments)
        return try applyFilter(name, to: value, evaluated, at: expr.location)
    }

    @inline(never)
    private mutating func evaluateTest(_ base: Expr, _ name: String, _ arguments: [Argument], _ negated: Bool,
                                       _ expr: Expr) throws(TemplateError) -> TemplateValue {
        let value = try evaluate(base)
        let evaluated = try evaluateArguments(arguments)
        let result = try applyTest(name, to: value, evaluated, at: expr.location)
        return .bool(result != negated)
    }

    @inline(never)
    private mutating func evaluateUnary(_ op: String, _ operand: Expr, _ expr: Expr) throws(TemplateError) -> TemplateValue {
        let value = try evaluate(operand)
        if op == "not" { return .bool(!value.isTruthy) }
        if case .undefined = value { throw TemplateError.undefined(name: operand.displayName, at: operand.location) }
        switch value.numericValue {
        case .int(let i)?:
            if op == "+" { return .int(i) }
            let (negated, overflow) = Int(0).subtractingReportingOverflow(i)
            if overflow { throw TemplateError.integerOverflow(operation: "unary '-'", at: expr.location) }
            return .int(negated)
        case .double(let d)?: return op == "-" ? .double(-d) : .double(d)
        case nil:
            throw TemplateError.type(message: "bad operand type for unary \(op): '\(value.typeName)'", at: expr.location)
        }
    }

    @inline(never)
    private mutating func evaluateBinary(_ op: String, _ lhs: Expr, _ rhs: Expr, _ expr: Expr) throws(TemplateError) -> TemplateValue {
        let left = try evaluate(lhs)
        switch op {
        case "and": return left.isTruthy ? try evaluate(rhs) : left
        case "or": return left.isTruthy ? left : try evaluate(rhs)
        case "~":
            let a = try string(left, expr.construct, at: expr.location)
            let right = try evaluate(rhs)
            let b = try string(right, expr.construct, at: expr.location)
            let size = try budget.sum(a.utf8.count, b.utf8.count, .stringBytes, expr.construct, at: expr.location)
            try budget.reserveString(size, expr.construct, at: expr.location)
            return .string(a + b)
        default:
            let right = try evaluate(rhs)
            if case .undefined = left { throw TemplateError.undefined(name: lhs.displayName, at: lhs.location) }
            if case .undefined = right { throw TemplateError.undefined(name: rhs.displayName, at: rhs.location) }
            return try PythonOperators.arithmetic(op, left, right, budget, at: expr.location)
        }
    }

    @inline(never)
    private mutating func evaluateCompare(_ first: Expr, _ chain: [(op: String, rhs: Expr)]) throws(TemplateError) -> TemplateValue {
        var left = try evaluate(first)
        for (op, rhs) in chain {
            let right = try evaluate(rhs)
            let holds = try PythonOperators.compare(op, left, right, budget, at: rhs.location)
            if !holds { return .bool(false) }
            left = right
        }
        return .bool(true)
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
        case .callable(let c):
            if case .loop(let context) = c.kind { return context.attribute(name) ?? .undefined }
            return .undefined
        default:
            return .undefined
        }
    }

    /// jinja2's `getitem`: a key or index first, then an attribute. Out of range is undefined.
    @inline(never)
    func item(of value: TemplateValue, _ index: TemplateValue, at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        switch (value, index.numericValue) {
        case (.array(let items), .int(let i)?):
            let position = i < 0 ? items.count + i : i
            return items.indices.contains(position) ? items[position] : .undefined
        case (.string(let s), .int(let i)?):
            // Code point `i` (from the end when negative): a walk over the text, charged.
            try budget.chargeBytes(s.utf8.count, "subscript", at: location)
            let scalars = s.unicodeScalars
            var position = i
            if i < 0 {
                position = scalars.count + i
                if position < 0 { return .undefined }
            }
            guard let found = scalars.index(scalars.startIndex, offsetBy: position, limitedBy: scalars.endIndex),
                found != scalars.endIndex
            else { return .undefined }
            return .string(String(scalars[found]))
        default:
            break
        }
        if case .string(let key) = index { try budget.chargeKey(key, "subscript", at: location) }
        if case .object(let object) = value, case .string(let key) = index, let found = object[key] {
            return found
        }
        if case .string(let name) = index { return attribute(of: value, name) }
        return .undefined
    }

    /// Python slicing of a list or string; `None` bounds are open.
    @inline(never)
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
        let startValue = try bound(start)
        let stopValue = try bound(stop)
        /// Python's `slice.indices(count)`, walked: every index is in 0..<count and the walk stops
        /// before stepping past the end, so no index arithmetic can overflow.
        func indices(count: Int) -> [Int] {
            func clamp(_ raw: Int?, _ defaultValue: Int) -> Int {
                guard var i = raw else { return defaultValue }
                if i < 0 { i += count }
                if stepValue > 0 { return min(max(i, 0), count) }
                return min(max(i, -1), count - 1)
            }
            let lo = clamp(startValue, stepValue > 0 ? 0 : count - 1)
            let hi = clamp(stopValue, stepValue > 0 ? count : -1)
            var result: [Int] = []
            var i = lo
            while stepValue > 0 ? i < hi : i > hi {
                result.append(i)
                let (next, overflow) = i.addingReportingOverflow(stepValue)
                if overflow { break }
                i = next
            }
            return result
        }
        switch value {
        case .array(let items):
            try budget.reserveElements(items.count, "slice", at: location)
            return .array(indices(count: items.count).map { items[$0] })
        case .string(let s):
            try budget.chargeBytes(s.utf8.count, "slice", at: location)
            let scalars = Array(s.unicodeScalars)
            try budget.charge(scalars.count, "slice", at: location)
            var out = String.UnicodeScalarView()
            for i in indices(count: scalars.count) { out.append(scalars[i]) }
            return .string(String(out))
        case .none:
            return .undefined
        default:
            throw TemplateError.type(message: "'\(value.typeName)' object is not subscriptable", at: location)
        }
    }

    /// The items a `for` loop or filter walks: a list's items, a dict's keys, a string's
    /// characters; undefined iterates as empty. A list is shared, not copied; keys and characters
    /// are new lists, checked against `maxCollectionCount`.
    @inline(never)
    func iterate(_ value: TemplateValue, _ construct: @autoclosure () -> String,
                 at location: SourceLocation) throws(TemplateError) -> [TemplateValue] {
        switch value {
        case .undefined: return []
        case .array(let items): return items
        case .object(let object):
            try budget.reserveElements(object.count, construct(), at: location)
            return object.keys.map { .string($0) }
        case .string(let s):
            try budget.chargeBytes(s.utf8.count, construct(), at: location)
            try budget.reserveElements(s.unicodeScalars.count, construct(), at: location)
            return s.unicodeScalars.map { .string(String($0)) }
        default:
            throw TemplateError.type(message: "'\(value.typeName)' object is not iterable", at: location)
        }
    }

    // MARK: - Calls

    @inline(never)
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
        case .loop:
            throw TemplateError.unsupported(kind: "tag", name: "for ... recursive", at: location)
        }
    }

    @inline(never)
    private mutating func callGlobal(_ name: String, _ arguments: CallArguments,
                                     at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        switch name {
        case "raise_exception":
            let message = try string(arguments.value(0, "message"), "raise_exception", at: location)
            throw TemplateError.raised(message: message, at: location)
        case "namespace", "dict":
            var object = TemplateObject()
            if case .object(let initial)? = arguments.positional.first {
                object = initial
            }
            try budget.checkNesting(wrapping: arguments.keyword.lazy.map(\.value), "\(name)()", at: location)
            for argument in arguments.keyword { try budget.chargeKey(argument.name, "\(name)()", at: location) }
            try budget.reserveElements(object.count + arguments.keyword.count, "\(name)()", at: location)
            for (key, value) in arguments.keyword { object[key] = value }
            return name == "namespace" ? .namespace(object) : .object(object)
        case "range":
            return try range(arguments, at: location)
        case "strftime_now":
            guard case .string(let format) = arguments.value(0, "format") else {
                throw TemplateError.type(message: "strftime_now() argument must be a string", at: location)
            }
            try budget.chargeBytes(format.utf8.count, "strftime_now", at: location)
            let text = PythonFormat.strftime(format, seconds: now)  // at most 64 KiB
            try budget.reserveString(text.utf8.count, "strftime_now", at: location)
            return .string(text)
        default:
            throw TemplateError.unsupported(kind: "function", name: name, at: location)
        }
    }

    /// `range(stop)`, `range(start, stop[, step])`: the length is computed first, and checked
    /// against jinja2's sandbox bound and `maxCollectionCount`, before any element is made.
    @inline(never)
    private func range(_ arguments: CallArguments, at location: SourceLocation) throws(TemplateError) -> TemplateValue {
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
        // The distance fits in UInt64 whatever the bounds; so does the count.
        var count: UInt = 0
        if step > 0 && start < stop {
            count = (UInt(bitPattern: stop &- start) - 1) / step.magnitude + 1
        } else if step < 0 && start > stop {
            count = (UInt(bitPattern: start &- stop) - 1) / step.magnitude + 1
        }
        if count > UInt(Self.maxRange) {
            throw TemplateError.type(message: "range too big, maximum size for range is \(Self.maxRange)", at: location)
        }
        try budget.reserveElements(Int(count), "range()", at: location)
        // start + i * step lies in [start, stop) for every i < count, so the wrapping arithmetic
        // gives the true value (Swift's stride would trap computing the value after the last).
        return .array((0..<Int(count)).map { .int(start &+ $0 &* step) })
    }

    @inline(never)
    private mutating func callMacro(_ macro: MacroDefinition, _ arguments: CallArguments,
                                    at location: SourceLocation) throws(TemplateError) -> TemplateValue {
        let frame = try macroFrame(macro, arguments, at: location)
        // The macro sees the base frame and its own. The base frame is moved, not shared, into
        // the macro's frames and back: were `outer` to share it, the macro's first assignment
        // to a namespace there would copy the whole base frame (every top-level variable), on
        // every call.
        var outer = frames
        frames = []
        var base: [String: TemplateValue] = [:]
        swap(&base, &outer[0])
        frames = [base, frame]
        base = [:]
        var out = OutputBuffer(limit: budget.limits.maxStringBytes, kind: .stringBytes, owner: "macro '\(macro.name)'")
        let result: Result<Flow, TemplateError>
        do {
            result = .success(try execute(macro.body, into: &out, .macro(macro.name), at: location))
        } catch {
            result = .failure(error)
        }
        // Keep what the macro did to the base frame (a namespace's attributes), drop its locals.
        swap(&base, &frames[0])
        frames = outer
        outer = []
        swap(&frames[0], &base)
        if case .failure(let error) = result { throw error }
        return .string(out.text)
    }

    /// A macro call's variables: its parameters bound to the arguments or their defaults.
    @inline(never)
    private mutating func macroFrame(_ macro: MacroDefinition, _ arguments: CallArguments,
                                     at location: SourceLocation) throws(TemplateError) -> [String: TemplateValue] {
        if arguments.positional.count > macro.parameters.count {
            throw TemplateError.type(message: "macro '\(macro.name)' takes not more than \(macro.parameters.count) argument(s)", at: location)
        }
        var frame: [String: TemplateValue] = [:]
        for parameter in macro.parameters { try budget.chargeKey(parameter.name, "macro '\(macro.name)'", at: location) }
        for argument in arguments.keyword { try budget.chargeKey(argument.name, "macro '\(macro.name)'", at: location) }
        for (i, parameter) in macro.parameters.enumerated() {
            if i < arguments.positional.count {
                frame[parameter.name] = arguments.positional[i]
            } else if let value = arguments.keyword(parameter.name) {
                frame[parameter.name] = value
            } else if let defaultValue = parameter.defaultValue {
                frame[parameter.name] = try evaluate(defaultValue)
            } else {
                frame[parameter.name] = .undefined
            }
        }
        for (name, _) in arguments.keyword where !macro.parameterNames.contains(name) {
            throw TemplateError.type(message: "macro '\(macro.name)' takes no keyword argument '\(name)'", at: location)
        }
        return frame
    }
}
