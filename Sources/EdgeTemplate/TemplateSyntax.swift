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

    /// The expression as a reader would name it in an error message (`message.role`).
    var displayName: String {
        switch kind {
        case .name(let n): return n
        case .attribute(let base, let attr): return base.displayName + "." + attr
        case .subscript(let base, let index):
            if case .literal(let v) = index.kind { return base.displayName + "[" + v.pythonRepr + "]" }
            return base.displayName + "[...]"
        case .call(let callee, _): return callee.displayName + "(...)"
        default: return "expression"
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

struct ForLoop: Sendable {
    var target: AssignTarget
    var iterable: Expr
    /// `for x in xs if cond`: items failing it are skipped before `loop` counts them.
    var condition: Expr?
    var body: [Node]
    /// Rendered when no item was iterated.
    var elseBody: [Node]
    var location: SourceLocation
}

struct MacroDefinition: Sendable {
    var name: String
    var parameters: [(name: String, defaultValue: Expr?)]
    var body: [Node]
    var location: SourceLocation
}

indirect enum Node: Sendable {
    case text(String)
    case output(Expr)
    /// `if` / `elif` branches in order, then the `else` body (empty when absent).
    case conditional([(test: Expr, body: [Node])], otherwise: [Node])
    case forLoop(ForLoop)
    case set(AssignTarget, Expr, SourceLocation)
    /// `{% set name | filters %}body{% endset %}`.
    case setBlock(String, [Node], [FilterCall])
    case macro(MacroDefinition)
    case filterBlock([FilterCall], [Node])
    case breakLoop(SourceLocation)
    case continueLoop(SourceLocation)
    /// Hugging Face's `{% generation %}` marker for assistant masks: renders its body unchanged.
    case generation([Node])
}
