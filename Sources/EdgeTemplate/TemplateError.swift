/// Where in the template source something is: 1-based line and column (column counts Unicode
/// scalars from the start of the line).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column)" }
}

/// Why a template failed to parse or render. Every case names the construct and where it is.
public indirect enum TemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The source is not valid Jinja: an unclosed tag, an unexpected token, a missing `endfor`.
    case syntax(message: String, at: SourceLocation)
    /// Valid Jinja that this engine does not implement. `kind` is "tag", "filter", "test",
    /// "method" or "function"; `name` is the construct's name as written.
    case unsupported(kind: String, name: String, at: SourceLocation)
    /// The template called `raise_exception(message)`: the template's own message, verbatim.
    case raised(message: String, at: SourceLocation)
    /// An operation on values of the wrong type, as Python would raise a TypeError or ValueError
    /// (`'a' + 1`, `1 / 0`, `tojson` of an undefined value).
    case type(message: String, at: SourceLocation)
    /// An undefined value used where Jinja fails on it: an attribute of it, arithmetic with it,
    /// calling it. `name` is the expression as written (`foo`, `message.bar`).
    case undefined(name: String, at: SourceLocation)
    /// The template crossed one of `TemplateLimits`' bounds: `kind` names the bound, `limit` its
    /// value, `construct` what crossed it (`macro 'm'`, `filter 'indent'`, `operator '*'`,
    /// `for loop`, `{% if %} block`).
    case limit(TemplateLimitKind, limit: Int, construct: String, at: SourceLocation)
    /// Integer arithmetic whose result does not fit in 64 bits, where Python would compute a
    /// bigger integer (`(-9223372036854775807 - 1) // -1`, `2 ** 100`, `abs` of the smallest
    /// int, `int('9' * 30)`). `operation` is the operator, filter or function (`'//'`).
    case integerOverflow(operation: String, at: SourceLocation)

    public var description: String {
        switch self {
        case .syntax(let message, let at): return "syntax error at \(at): \(message)"
        case .unsupported(let kind, let name, let at): return "unsupported \(kind) '\(name)' at \(at)"
        case .raised(let message, let at): return "template raised at \(at): \(message)"
        case .type(let message, let at): return "type error at \(at): \(message)"
        case .undefined(let name, let at): return "'\(name)' is undefined at \(at)"
        case .limit(let kind, let limit, let construct, let at):
            return "template limit \(kind) exceeded at \(at): \(construct) needs \(kind.needs(limit))"
        case .integerOverflow(let operation, let at):
            return "integer overflow in \(operation) at \(at): the result does not fit in 64 bits"
        }
    }

    /// Where the error is in the template source.
    public var location: SourceLocation {
        switch self {
        case .syntax(_, let at), .unsupported(_, _, let at), .raised(_, let at), .type(_, let at),
            .undefined(_, let at), .limit(_, _, _, let at), .integerOverflow(_, let at):
            return at
        }
    }
}
