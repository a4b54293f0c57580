/// Builds the statement tree from tokens, with jinja2's grammar and operator precedence
/// (lowest first): `x if c else y`, `or`, `and`, `not`, comparisons and `in`, `+ -`, `~`,
/// `* / // %`, `**`, unary `- +`, then postfix `.attr [index] (call)`, filters `|f` and tests
/// `is t`. A filter binds tighter than arithmetic: `'a' + x | trim` is `'a' + (x | trim)`.
///
/// The binary operators are parsed by precedence climbing (one loop for all levels, not one
/// function per level), so that a bracket costs few stack frames. Every path by which the
/// parser recurses passes `descend`, which counts the nesting of blocks, brackets, calls and
/// prefix operators against `TemplateLimits.maxDepth`; and every expression node it builds is
/// checked to be at most `maxDepth` levels tall (an operator chain `a ~ b ~ ...` is parsed by a
/// loop but evaluated by recursion).
struct TemplateParser {
    private let tokens: [Token]
    private var index = 0
    private let maxDepth: Int
    private var depth = 0
    /// `for` bodies open around the current token (a macro body starts afresh): `break` and
    /// `continue` need one, as in jinja2, whose compiled Python would reject them.
    private var openLoops = 0

    init(tokens: [Token], maxDepth: Int) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    static func parse(_ source: String, limits: TemplateLimits = .default) throws(TemplateError) -> [Node] {
        var parser = TemplateParser(tokens: try TemplateLexer.tokenize(source), maxDepth: limits.maxDepth)
        let (nodes, _) = try parser.parseBody(until: [])
        return nodes
    }

    /// One level deeper, into `construct` at `location`; the caller steps back out with
    /// `depth -= 1` (a `defer`). Written out rather than as a closure-taking helper, which
    /// would cost two more stack frames per level.
    private mutating func descend(_ construct: @autoclosure () -> String, at location: SourceLocation) throws(TemplateError) {
        if depth >= maxDepth {
            throw TemplateError.limit(.depth, limit: maxDepth, construct: construct(), at: location)
        }
        depth += 1
    }

    /// An expression node, refused when it would be more than `maxDepth` levels tall.
    private func make(_ kind: Expr.Kind, _ location: SourceLocation) throws(TemplateError) -> Expr {
        let expr = Expr(kind: kind, location: location)
        if expr.height > maxDepth {
            throw TemplateError.limit(.depth, limit: maxDepth, construct: expr.construct, at: location)
        }
        return expr
    }

    // MARK: - Token helpers

    private var current: Token { tokens[index] }
    private var next: Token { tokens[min(index + 1, tokens.count - 1)] }

    private mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func isOp(_ op: String, _ token: Token? = nil) -> Bool {
        if case .op(let o) = (token ?? current).kind { return o == op }
        return false
    }

    private func isName(_ name: String, _ token: Token? = nil) -> Bool {
        if case .name(let n) = (token ?? current).kind { return n == name }
        return false
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .text: return "text"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .name(let n): return "'\(n)'"
        case .string: return "string"
        case .integer(let i): return "'\(i)'"
        case .float(let d): return "'\(d)'"
        case .op(let o): return "'\(o)'"
        case .end: return "end of template"
        }
    }

    private func fail(_ message: String, _ token: Token? = nil) -> TemplateError {
        .syntax(message: message, at: (token ?? current).location)
    }

    private mutating func expectOp(_ op: String) throws(TemplateError) {
        guard isOp(op) else { throw fail("expected '\(op)', found \(describe(current))") }
        _ = advance()
    }

    private mutating func expectName() throws(TemplateError) -> String {
        guard case .name(let n) = current.kind else { throw fail("expected a name, found \(describe(current))") }
        _ = advance()
        return n
    }

    private mutating func expectBlockEnd() throws(TemplateError) {
        guard case .blockEnd = current.kind else { throw fail("expected '%}', found \(describe(current))") }
        _ = advance()
    }

    // MARK: - Statements

    /// Parses nodes until a block tag whose name is in `until`; consumes `{%` and that name and
    /// returns it (the caller parses the rest of the tag). `until` empty: parse to the end.
    private mutating func parseBody(until: Set<String>) throws(TemplateError) -> ([Node], String?) {
        var nodes: [Node] = []
        while true {
            let token = current
            switch token.kind {
            case .text(let t):
                _ = advance()
                nodes.append(.text(t, token.location))
            case .variableBegin:
                _ = advance()
                let expr = try parseTuple()
                guard case .variableEnd = current.kind else { throw fail("expected '}}', found \(describe(current))") }
                _ = advance()
                nodes.append(.output(expr))
            case .blockBegin:
                _ = advance()
                guard case .name(let tag) = current.kind else { throw fail("expected a tag name, found \(describe(current))") }
                if until.contains(tag) {
                    _ = advance()
                    return (nodes, tag)
                }
                try descend("{% \(tag) %} block", at: token.location)
                let node = try parseStatement(token.location)
                depth -= 1
                nodes.append(node)
            case .end:
                if !until.isEmpty {
                    let names = until.sorted().map { "'\($0)'" }.joined(separator: " or ")
                    throw fail("unexpected end of template, expected \(names)")
                }
                return (nodes, nil)
            default:
                throw fail("unexpected \(describe(token))")
            }
        }
    }

    /// A block tag after its `{%`, at `location`.
    @inline(never)
    private mutating func parseStatement(_ location: SourceLocation) throws(TemplateError) -> Node {
        let tagToken = current
        let tag = try expectName()
        switch tag {
        case "if": return try parseIf(location)
        case "for": return try parseFor(location)
        case "set": return try parseSet(location)
        case "macro": return try parseMacro(location)
        case "filter":
            let filters = try parseFilterChain()
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endfilter"])
            try expectBlockEnd()
            return .filterBlock(filters, body, location)
        case "break", "continue":
            if openLoops == 0 { throw TemplateError.syntax(message: "'\(tag)' outside loop", at: tagToken.location) }
            try expectBlockEnd()
            return tag == "break" ? .breakLoop(tagToken.location) : .continueLoop(tagToken.location)
        case "generation":
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endgeneration"])
            try expectBlockEnd()
            return .generation(body, location)
        case "endif", "endfor", "endset", "endmacro", "endfilter", "else", "elif", "endgeneration":
            throw TemplateError.syntax(message: "unexpected '\(tag)'", at: tagToken.location)
        default:
            throw TemplateError.unsupported(kind: "tag", name: tag, at: tagToken.location)
        }
    }

    @inline(never)
    private mutating func parseIf(_ location: SourceLocation) throws(TemplateError) -> Node {
        var branches: [(test: Expr, body: [Node])] = []
        // jinja2 parses an if's test without a conditional expression: `{% if a if b %}` is an error.
        var test = try parseTuple(withCondexpr: false)
        while true {
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"])
            branches.append((test, body))
            switch end {
            case "elif":
                test = try parseTuple(withCondexpr: false)
            case "else":
                try expectBlockEnd()
                let (otherwise, _) = try parseBody(until: ["endif"])
                try expectBlockEnd()
                return .conditional(branches, otherwise: otherwise, location)
            default:
                try expectBlockEnd()
                return .conditional(branches, otherwise: [], location)
            }
        }
    }

    @inline(never)
    private mutating func parseFor(_ location: SourceLocation) throws(TemplateError) -> Node {
        let target = try parseAssignTarget(allowAttribute: false)
        guard isName("in") else { throw fail("expected 'in', found \(describe(current))") }
        _ = advance()
        let iterable = try parseTuple(withCondexpr: false)
        var condition: Expr? = nil
        if isName("if") {
            _ = advance()
            condition = try parseTuple()
        }
        if isName("recursive") { throw TemplateError.unsupported(kind: "tag", name: "for ... recursive", at: current.location) }
        try expectBlockEnd()
        openLoops += 1
        let (body, end) = try parseBody(until: ["else", "endfor"])
        openLoops -= 1
        var elseBody: [Node] = []
        if end == "else" {
            try expectBlockEnd()
            (elseBody, _) = try parseBody(until: ["endfor"])
        }
        try expectBlockEnd()
        return .forLoop(ForLoop(target: target, iterable: iterable, condition: condition, body: body,
                                elseBody: elseBody, location: location))
    }

    @inline(never)
    private mutating func parseSet(_ location: SourceLocation) throws(TemplateError) -> Node {
        let target = try parseAssignTarget(allowAttribute: true)
        if isOp("=") {
            _ = advance()
            let value = try parseTuple()
            try expectBlockEnd()
            return .set(target, value, location)
        }
        guard case .name(let name) = target else { throw fail("expected '=' after the set target") }
        var filters: [FilterCall] = []
        if isOp("|") {
            _ = advance()
            filters = try parseFilterChain()
        }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endset"])
        try expectBlockEnd()
        return .setBlock(name, body, filters, location)
    }

    @inline(never)
    private mutating func parseMacro(_ location: SourceLocation) throws(TemplateError) -> Node {
        let name = try expectName()
        try expectOp("(")
        var parameters: [(name: String, defaultValue: Expr?)] = []
        while !isOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let param = try expectName()
            var defaultValue: Expr? = nil
            if isOp("=") {
                _ = advance()
                defaultValue = try parseExpression()
            }
            parameters.append((param, defaultValue))
        }
        try expectOp(")")
        try expectBlockEnd()
        let enclosingLoops = openLoops
        openLoops = 0
        let (body, _) = try parseBody(until: ["endmacro"])
        openLoops = enclosingLoops
        if case .name = current.kind { _ = advance() }  // {% endmacro name %}
        try expectBlockEnd()
        return .macro(MacroDefinition(name: name, parameters: parameters, body: body, location: location))
    }

    /// `name`, `a, b`, `(a, b)` or (for `set`) `ns.attr`.
    @inline(never)
    private mutating func parseAssignTarget(allowAttribute: Bool) throws(TemplateError) -> AssignTarget {
        var names: [String] = []
        var parenthesized = false
        if isOp("(") {
            parenthesized = true
            _ = advance()
        }
        let first = try expectName()
        if allowAttribute && !parenthesized && isOp(".") {
            _ = advance()
            return .attribute(first, try expectName())
        }
        names.append(first)
        var sawComma = false
        while isOp(",") {
            sawComma = true
            _ = advance()
            guard case .name = current.kind else { break }
            names.append(try expectName())
        }
        if parenthesized { try expectOp(")") }
        return names.count == 1 && !sawComma && !parenthesized ? .name(first) : .tuple(names)
    }

    /// A filter's name; jinja2 reads dotted names (`|a.b`), then finds no such filter.
    private mutating func parseFilterName() throws(TemplateError) -> String {
        var name = try expectName()
        while isOp(".") {
            _ = advance()
            name += "." + (try expectName())
        }
        return name
    }

    /// `name(args) | name2 | ...` after `{% filter` or `{% set x |`.
    @inline(never)
    private mutating func parseFilterChain() throws(TemplateError) -> [FilterCall] {
        var filters: [FilterCall] = []
        repeat {
            if !filters.isEmpty { _ = advance() }  // the '|'
            let token = current
            let name = try parseFilterName()
            guard TemplateFilters.names.contains(name) else {
                throw TemplateError.unsupported(kind: "filter", name: name, at: token.location)
            }
            let arguments = isOp("(") ? try parseCallArguments() : []
            filters.append(FilterCall(name: name, arguments: arguments, location: token.location))
        } while isOp("|")
        return filters
    }

    // MARK: - Expressions

    /// A comma-separated list becomes a tuple; one item without a comma is itself.
    private mutating func parseTuple(withCondexpr: Bool = true, explicitParens: Bool = false) throws(TemplateError) -> Expr {
        let start = current.location
        var items: [Expr] = []
        var sawComma = false
        while true {
            if !items.isEmpty {
                guard isOp(",") else { break }
                _ = advance()
                sawComma = true
            }
            if isTupleEnd() { break }
            items.append(withCondexpr ? try parseExpression() : try parseBinary(Precedence.or))
        }
        if !sawComma && items.count == 1 { return items[0] }
        if items.isEmpty && !explicitParens { throw fail("expected an expression, found \(describe(current))") }
        return try make(.tuple(items), start)
    }

    private func isTupleEnd() -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .end: return true
        case .op(let o): return o == ")" || o == "=" || o == "]" || o == "}"
        case .name(let n): return n == "in" || n == "if" || n == "recursive"
        default: return false
        }
    }

    /// `then if test else otherwise`; the `else` part is itself a conditional expression.
    private mutating func parseExpression() throws(TemplateError) -> Expr {
        var expr = try parseBinary(Precedence.or)
        while isName("if") {
            let ifToken = advance()
            let test = try parseBinary(Precedence.or)
            var otherwise: Expr? = nil
            if isName("else") {
                _ = advance()
                try descend("conditional expression", at: ifToken.location)
                otherwise = try parseExpression()
                depth -= 1
            }
            expr = try make(.conditional(test: test, then: expr, otherwise: otherwise), expr.location)
        }
        return expr
    }

    /// jinja2's binding strengths of the binary operators, loosest first; `not` sits between
    /// `and` and the comparisons.
    private enum Precedence {
        static let or = 1, and = 2, not = 3, compare = 4, additive = 5, concat = 6, multiplicative = 7, power = 8
    }

    /// The binary operator at the current token and its precedence, if any. `not in` is a
    /// comparison; a lone `not` is not a binary operator.
    private func binaryOperator() -> (op: String, precedence: Int)? {
        switch current.kind {
        case .op(let o):
            switch o {
            case "==", "!=", "<", "<=", ">", ">=": return (o, Precedence.compare)
            case "+", "-": return (o, Precedence.additive)
            case "~": return (o, Precedence.concat)
            case "*", "/", "//", "%": return (o, Precedence.multiplicative)
            case "**": return (o, Precedence.power)
            default: return nil
            }
        case .name(let n):
            switch n {
            case "or": return (n, Precedence.or)
            case "and": return (n, Precedence.and)
            case "in": return (n, Precedence.compare)
            case "not": return isName("in", next) ? ("notin", Precedence.compare) : nil
            default: return nil
            }
        default:
            return nil
        }
    }

    /// Operators binding at least as tightly as `minimum`, all left-associative, by precedence
    /// climbing: the same trees as jinja2's one-function-per-level parser.
    private mutating func parseBinary(_ minimum: Int) throws(TemplateError) -> Expr {
        var left: Expr
        if minimum <= Precedence.not && isName("not") {
            let location = advance().location
            try descend("operator 'not'", at: location)
            let operand = try parseBinary(Precedence.not)
            depth -= 1
            left = try make(.unary("not", operand), location)
        } else {
            left = try parseUnary()
        }
        while let (op, precedence) = binaryOperator(), precedence >= minimum {
            if precedence == Precedence.compare {
                // A comparison chain `a < b <= c` is one node.
                var chain: [(op: String, rhs: Expr)] = []
                while let (next, p) = binaryOperator(), p == Precedence.compare {
                    _ = advance()
                    if next == "notin" { _ = advance() }
                    chain.append((next, try parseBinary(Precedence.compare + 1)))
                }
                left = try make(.compare(left, chain), left.location)
                continue
            }
            _ = advance()
            let right = try parseBinary(precedence + 1)
            left = try make(.binary(op, left, right), left.location)
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool = true) throws(TemplateError) -> Expr {
        var expr: Expr
        if isOp("-") || isOp("+") {
            let token = advance()
            guard case .op(let o) = token.kind else { throw fail("unreachable") }
            try descend("operator '\(o)'", at: token.location)
            let operand = try parseUnary(withFilter: false)
            depth -= 1
            expr = try make(.unary(o, operand), token.location)
        } else {
            expr = try parsePrimary()
        }
        expr = try parsePostfix(expr)
        if withFilter { expr = try parseFilterExpr(expr) }
        return expr
    }

    private mutating func parsePrimary() throws(TemplateError) -> Expr {
        let token = current
        switch token.kind {
        case .name(let n):
            _ = advance()
            switch n {
            case "true", "True": return try make(.literal(.bool(true)), token.location)
            case "false", "False": return try make(.literal(.bool(false)), token.location)
            case "none", "None": return try make(.literal(.none), token.location)
            default: return try make(.name(n), token.location)
            }
        case .string(var s):
            _ = advance()
            while case .string(let more) = current.kind {  // adjacent literals concatenate
                s += more
                _ = advance()
            }
            return try make(.literal(.string(s)), token.location)
        case .integer(let i):
            _ = advance()
            return try make(.literal(.int(i)), token.location)
        case .float(let d):
            _ = advance()
            return try make(.literal(.double(d)), token.location)
        case .op("("):
            _ = advance()
            try descend("'('", at: token.location)
            defer { depth -= 1 }
            let expr = try parseTuple(explicitParens: true)
            try expectOp(")")
            return expr
        case .op("["):
            _ = advance()
            try descend("list", at: token.location)
            defer { depth -= 1 }
            return try parseList(token.location)
        case .op("{"):
            _ = advance()
            try descend("dict", at: token.location)
            defer { depth -= 1 }
            return try parseDict(token.location)
        default:
            throw fail("unexpected \(describe(token))")
        }
    }

    /// `[a, b, ...]` after its `[`.
    @inline(never)
    private mutating func parseList(_ location: SourceLocation) throws(TemplateError) -> Expr {
        var items: [Expr] = []
        while !isOp("]") {
            if !items.isEmpty { try expectOp(",") }
            if isOp("]") { break }
            items.append(try parseExpression())
        }
        try expectOp("]")
        return try make(.list(items), location)
    }

    /// `{k: v, ...}` after its `{`.
    @inline(never)
    private mutating func parseDict(_ location: SourceLocation) throws(TemplateError) -> Expr {
        var pairs: [(key: Expr, value: Expr)] = []
        while !isOp("}") {
            if !pairs.isEmpty { try expectOp(",") }
            if isOp("}") { break }
            let key = try parseExpression()
            try expectOp(":")
            pairs.append((key, try parseExpression()))
        }
        try expectOp("}")
        return try make(.dict(pairs), location)
    }

    @inline(never)
    private mutating func parsePostfix(_ base: Expr) throws(TemplateError) -> Expr {
        var expr = base
        while true {
            if isOp(".") {
                let dot = advance()
                switch current.kind {
                case .name(let n):
                    _ = advance()
                    expr = try make(.attribute(expr, n), dot.location)
                case .integer(let i):
                    _ = advance()
                    let index = try make(.literal(.int(i)), dot.location)
                    expr = try make(.subscript(expr, index), dot.location)
                default:
                    throw fail("expected an attribute name after '.', found \(describe(current))")
                }
            } else if isOp("[") {
                let bracket = advance()
                try descend("subscript", at: bracket.location)
                expr = try parseSubscript(expr, bracket.location)
                depth -= 1
            } else if isOp("(") {
                let arguments = try parseCallArguments()
                expr = try make(.call(expr, arguments), expr.location)
            } else {
                return expr
            }
        }
    }

    @inline(never)
    private mutating func parseSubscript(_ base: Expr, _ location: SourceLocation) throws(TemplateError) -> Expr {
        // jinja2 reads `x[]` and `x[a, b]` as a tuple index.
        if isOp("]") {
            _ = advance()
            return try make(.subscript(base, try make(.tuple([]), location)), location)
        }
        var parts: [Expr?] = [nil]
        var isSlice = false
        if !isOp(":") { parts[0] = try parseExpression() }
        while isOp(":") && parts.count < 3 {
            isSlice = true
            _ = advance()
            if isOp(":") || isOp("]") {
                parts.append(nil)
            } else {
                parts.append(try parseExpression())
            }
        }
        if !isSlice, let first = parts[0], isOp(",") {
            var items = [first]
            while isOp(",") {
                _ = advance()
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return try make(.subscript(base, try make(.tuple(items), first.location)), location)
        }
        try expectOp("]")
        if !isSlice, let index = parts[0] { return try make(.subscript(base, index), location) }
        while parts.count < 3 { parts.append(nil) }
        return try make(.slice(base, start: parts[0], stop: parts[1], step: parts[2]), location)
    }

    @inline(never)
    private mutating func parseCallArguments() throws(TemplateError) -> [Argument] {
        try descend("call arguments", at: current.location)
        defer { depth -= 1 }
        try expectOp("(")
        var arguments: [Argument] = []
        while !isOp(")") {
            if !arguments.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            if isOp("*") || isOp("**") {
                throw TemplateError.unsupported(kind: "syntax", name: "*args/**kwargs", at: current.location)
            }
            if case .name(let n) = current.kind, isOp("=", next) {
                _ = advance()
                _ = advance()
                arguments.append(Argument(name: n, value: try parseExpression()))
            } else {
                if arguments.contains(where: { $0.name != nil }) {
                    throw fail("positional argument after keyword argument")
                }
                arguments.append(Argument(name: nil, value: try parseExpression()))
            }
        }
        try expectOp(")")
        return arguments
    }

    @inline(never)
    private mutating func parseFilterExpr(_ base: Expr) throws(TemplateError) -> Expr {
        var expr = base
        while true {
            if isOp("|") {
                _ = advance()
                let token = current
                let name = try parseFilterName()
                guard TemplateFilters.names.contains(name) else {
                    throw TemplateError.unsupported(kind: "filter", name: name, at: token.location)
                }
                let arguments = isOp("(") ? try parseCallArguments() : []
                expr = try make(.filter(expr, name: name, arguments), token.location)
            } else if isName("is") {
                _ = advance()
                var negated = false
                if isName("not") {
                    _ = advance()
                    negated = true
                }
                let token = current
                var name = try expectName()
                while isOp(".") {  // jinja2 reads dotted test names (`is a.b`), then finds none such
                    _ = advance()
                    name += "." + (try expectName())
                }
                guard TemplatePredicates.names.contains(name) else {
                    throw TemplateError.unsupported(kind: "test", name: name, at: token.location)
                }
                var arguments: [Argument] = []
                if isOp("(") {
                    arguments = try parseCallArguments()
                } else if startsTestArgument() {
                    try descend("test '\(name)'", at: token.location)
                    let argument = try parsePostfix(try parsePrimary())
                    depth -= 1
                    arguments = [Argument(name: nil, value: argument)]
                }
                expr = try make(.test(expr, name: name, arguments, negated: negated), token.location)
            } else if isOp("(") {
                let arguments = try parseCallArguments()
                expr = try make(.call(expr, arguments), expr.location)
            } else {
                return expr
            }
        }
    }

    /// jinja2 takes one bare argument after a test name (`is divisibleby 3`) when the next token
    /// could start one and is not `else`, `or` or `and`.
    private func startsTestArgument() -> Bool {
        switch current.kind {
        case .name(let n): return n != "else" && n != "or" && n != "and"
        case .string, .integer, .float: return true
        case .op(let o): return o == "[" || o == "{"
        default: return false
        }
    }
}
