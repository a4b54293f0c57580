/// The parsed form of a template: statements (`Node`) over expressions (`Expr`).

/// A positional (`name == nil`) or keyword argument of a call, filter or test.
struct Argument: Sendable {
    var name: String?
    var value: Expr
}

/// An expression with the place it starts in the source.
struct Expr: Sendable {
    indirect enum Kind: Sendable {
        case literal(TemplateValue)
        case name(String)
        case list([Expr])
        /// A tuple; renders like a list (see `TemplateValue.array`).
        case tuple([Expr])
        case dict([(key: Expr, value: Expr)])
        /// `base.name`: an attribute, falling back to a key (jinja2's `getattr`).
        case attribute(Expr, String)
        /// `base[index]`: a key or index, falling back to an attribute (jinja2's `getitem`).
        case `subscript`(Expr, Expr)
        case slice(Expr, start: Expr?, stop: Expr?, step: Expr?)
        case call(Expr, [Argument])
        case filter(Expr, name: String, [Argument])
        case test(Expr, name: String, [Argument], negated: Bool)
        /// `-`, `+` or `not`.
        case unary(String, Expr)
        /// Arithmetic `+ - * / // % **`, concatenation `~`, and the short-circuit `and` / `or`.
        case binary(String, Expr, Expr)
        /// A comparison chain; operators are `== != < <= > >= in notin`.
        case compare(Expr, [(op: String, rhs: Expr)])
        /// `then if test else otherwise`; without `else` the value is undefined when false.
        case conditional(test: Expr, then: Expr, otherwise: Expr?)
    }

    var kind: Kind
    var location: SourceLocation
    /// Levels of this tree: 1 for a leaf. Evaluating it recurses this deep, so the parser keeps
    /// it within `TemplateLimits.maxDepth`.
    let height: Int

    init(kind: Kind, location: SourceLocation) {
        self.kind = kind
        self.location = location
        self.height = 1 + kind.childHeight
    }

    /// How an error message names this expression's construct: `operator '~'`, `filter 'trim'`.
    var construct: String {
        switch kind {
        case .literal: return "literal"
        case .name(let n): return "variable '\(n)'"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .attribute(_, let n): return "attribute '\(n)'"
        case .subscript: return "subscript"
        case .slice: return "slice"
        case .call(let callee, _): return "call of '\(callee.displayName)'"
        case .filter(_, let name, _): return "filter '\(name)'"
        case .test(_, let name, _, _): return "test '\(name)'"
        case .unary(let op, _): return "operator '\(op)'"
        case .binary(let op, _, _): return "operator '\(op)'"
        case .compare(_, let chain): return "comparison '\(chain.first?.op ?? "")'"
        case .conditional: return "conditional expression"
        }
    }

    /// The expression as a reader would name it in an error message (`message.role`). Bounded:
    /// an attribute chain names its last levels only.
    var displayName: String { displayName(levels: 8) }

    private func displayName(levels: Int) -> String {
        if levels == 0 { return "..." }
        switch kind {
        case .name(let n): return n
        case .attribute(let base, let attr): return base.displayName(levels: levels - 1) + "." + attr
        case .subscript(let base, let index):
            if case .literal(let v) = index.kind, !v.isContainer {
                var builder = TextBuilder(limit: 40)
                PythonFormat.writeRepr(v, into: &builder)
                if !builder.exceeded { return base.displayName(levels: levels - 1) + "[" + builder.text + "]" }
            }
            return base.displayName(levels: levels - 1) + "[...]"
        case .call(let callee, _): return callee.displayName(levels: levels - 1) + "(...)"
        default: return "expression"
        }
    }
}

extension Expr.Kind {
    /// The height of the tallest child expression (0 for a leaf).
    fileprivate var childHeight: Int {
        func tallest(_ exprs: [Expr]) -> Int { exprs.reduce(0) { max($0, $1.height) } }
        func tallest(_ arguments: [Argument]) -> Int { arguments.reduce(0) { max($0, $1.value.height) } }
        switch self {
        case .literal, .name: return 0
        case .list(let items), .tuple(let items): return tallest(items)
        case .dict(let pairs): return pairs.reduce(0) { max($0, $1.key.height, $1.value.height) }
        case .attribute(let base, _): return base.height
        case .subscript(let base, let index): return max(base.height, index.height)
        case .slice(let base, let start, let stop, let step):
            return max(base.height, start?.height ?? 0, stop?.height ?? 0, step?.height ?? 0)
        case .call(let callee, let arguments): return max(callee.height, tallest(arguments))
        case .filter(let base, _, let arguments), .test(let base, _, let arguments, _):
            return max(base.height, tallest(arguments))
        case .unary(_, let operand): return operand.height
        case .binary(_, let lhs, let rhs): return max(lhs.height, rhs.height)
        case .compare(let first, let chain): return chain.reduce(first.height) { max($0, $1.rhs.height) }
        case .conditional(let test, let then, let otherwise):
            return max(test.height, then.height, otherwise?.height ?? 0)
        }
    }
}

/// What `set` and `for` assign to.
enum AssignTarget: Sendable {
    case name(String)
    /// `for key, value in ...` / `set a, b = ...`.
    case tuple([String])
    /// `set ns.attribute = ...`, only on a namespace.
    case attribute(String, String)
}

/// A filter application inside `{% filter %}` or `{% set x | filter %}`.
struct FilterCall: Sendable {
    var name: String
    var arguments: [Argument]
    var location: SourceLocation
}

/// A `{% for %}` statement. A class, so that a node holds one reference and the renderer's
/// frames, which nest once per level, do not each copy it.
final class ForLoop: Sendable {
    let target: AssignTarget
    let iterable: Expr
    /// `for x in xs if cond`: items failing it are skipped before `loop` counts them.
    let condition: Expr?
    let body: [Node]
    /// Rendered when no item was iterated.
    let elseBody: [Node]
    let location: SourceLocation

    init(target: AssignTarget, iterable: Expr, condition: Expr?, body: [Node], elseBody: [Node], location: SourceLocation) {
        self.target = target
        self.iterable = iterable
        self.condition = condition
        self.body = body
        self.elseBody = elseBody
        self.location = location
    }
}

/// A `{% macro %}` definition (a class for the same reason as `ForLoop`).
final class MacroDefinition: Sendable {
    let name: String
    let parameters: [(name: String, defaultValue: Expr?)]
    /// The parameters' names, to check a call's keywords in constant time each.
    let parameterNames: Set<String>
    let body: [Node]
    let location: SourceLocation

    init(name: String, parameters: [(name: String, defaultValue: Expr?)], body: [Node], location: SourceLocation) {
        self.name = name
        self.parameters = parameters
        self.parameterNames = Set(parameters.map(\.name))
        self.body = body
        self.location = location
    }
}

/// A statement. Locations are those of the tag (`{%`) or of the text.
indirect enum Node: Sendable {
    case text(String, SourceLocation)
    case output(Expr)
    /// `if` / `elif` branches in order, then the `else` body (empty when absent).
    case conditional([(test: Expr, body: [Node])], otherwise: [Node], SourceLocation)
    case forLoop(ForLoop)
    case set(AssignTarget, Expr, SourceLocation)
    /// `{% set name | filters %}body{% endset %}`.
    case setBlock(String, [Node], [FilterCall], SourceLocation)
    case macro(MacroDefinition)
    case filterBlock([FilterCall], [Node], SourceLocation)
    case breakLoop(SourceLocation)
    case continueLoop(SourceLocation)
    /// Hugging Face's `{% generation %}` marker for assistant masks: renders its body unchanged.
    case generation([Node], SourceLocation)
}
