/// Builds the statement tree from tokens, with jinja2's grammar and operator precedence
/// (lowest first): `x if c else y`, `or`, `and`, `not`, comparisons and `in`, `+ -`, `~`,
/// `* / // %`, `**`, unary `- +`, then postfix `.attr [index] (call)`, filters `|f` and tests
/// `is t`. A filter binds tighter than arithmetic: `'a' + x | trim` is `'a' + (x | trim)`.
struct TemplateParser {
    private let tokens: [Token]
    private var index = 0

    init(tokens: [Token]) { self.tokens = tokens }

    static func parse(_ source: String) throws(TemplateError) -> [Node] {
        var parser = TemplateParser(tokens: try TemplateLexer.tokenize(source))
        let (nodes, _) = try parser.parseBody(until: [])
        return nodes
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
                nodes.append(.text(t))
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
                nodes.append(try parseStatement())
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

    private mutating func parseStatement() throws(TemplateError) -> Node {
        let tagToken = current
        let tag = try expectName()
        switch tag {
        case "if": return try parseIf()
        case "for": return try parseFor(tagToken.location)
        case "set": return try parseSet(tagToken.location)
        case "macro": return try parseMacro(tagToken.location)
        case "filter":
            let filters = try parseFilterChain()
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endfilter"])
            try expectBlockEnd()
            return .filterBlock(filters, body)
        case "break":
            try expectBlockEnd()
            return .breakLoop(tagToken.location)
        case "continue":
            try expectBlockEnd()
            return .continueLoop(tagToken.location)
        case "generation":
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endgeneration"])
            try expectBlockEnd()
            return .generation(body)
        case "endif", "endfor", "endset", "endmacro", "endfilter", "else", "elif", "endgeneration":
            throw TemplateError.syntax(message: "unexpected '\(tag)'", at: tagToken.location)
        default:
            throw TemplateError.unsupported(kind: "tag", name: tag, at: tagToken.location)
        }
    }

    private mutating func parseIf() throws(TemplateError) -> Node {
        var branches: [(test: Expr, body: [Node])] = []
        var test = try parseTuple()
        while true {
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"])
            branches.append((test, body))
            switch end {
            case "elif":
                test = try parseTuple()
            case "else":
                try expectBlockEnd()
                let (otherwise, _) = try parseBody(until: ["endif"])
                try expectBlockEnd()
                return .conditional(branches, otherwise: otherwise)
            default:
                try expectBlockEnd()
                return .conditional(branches, otherwise: [])
            }
        }
    }

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
        let (body, end) = try parseBody(until: ["else", "endfor"])
        var elseBody: [Node] = []
        if end == "else" {
            try expectBlockEnd()
            (elseBody, _) = try parseBody(until: ["endfor"])
        }
        try expectBlockEnd()
        return .forLoop(ForLoop(target: target, iterable: iterable, condition: condition, body: body,
                                elseBody: elseBody, location: location))
    }

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
        return .setBlock(name, body, filters)
    }

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
        let (body, _) = try parseBody(until: ["endmacro"])
        if case .name = current.kind { _ = advance() }  // {% endmacro name %}
        try expectBlockEnd()
        return .macro(MacroDefinition(name: name, parameters: parameters, body: body, location: location))
    }

    /// `name`, `a, b`, `(a, b)` or (for `set`) `ns.attr`.
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

    /// `name(args) | name2 | ...` after `{% filter` or `{% set x |`.
    private mutating func parseFilterChain() throws(TemplateError) -> [FilterCall] {
        var filters: [FilterCall] = []
        repeat {
            if !filters.isEmpty { _ = advance() }  // the '|'
            let token = current
            let name = try expectName()
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
            items.append(withCondexpr ? try parseExpression() : try parseOr())
        }
        if !sawComma && items.count == 1 { return items[0] }
        if items.isEmpty && !explicitParens { throw fail("expected an expression, found \(describe(current))") }
        return Expr(kind: .tuple(items), location: start)
    }

    private func isTupleEnd() -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .end: return true
        case .op(let o): return o == ")" || o == "=" || o == "]" || o == "}"
        case .name(let n): return n == "in" || n == "if" || n == "recursive"
        default: return false
        }
    }

    private mutating func parseExpression() throws(TemplateError) -> Expr {
        var expr = try parseOr()
        while isName("if") {
            _ = advance()
            let test = try parseOr()
            var otherwise: Expr? = nil
            if isName("else") {
                _ = advance()
                otherwise = try parseExpression()
            }
            expr = Expr(kind: .conditional(test: test, then: expr, otherwise: otherwise), location: expr.location)
        }
        return expr
    }

    private mutating func parseOr() throws(TemplateError) -> Expr {
        var left = try parseAnd()
        while isName("or") {
            _ = advance()
            left = Expr(kind: .binary("or", left, try parseAnd()), location: left.location)
        }
        return left
    }

    private mutating func parseAnd() throws(TemplateError) -> Expr {
        var left = try parseNot()
        while isName("and") {
            _ = advance()
            left = Expr(kind: .binary("and", left, try parseNot()), location: left.location)
        }
        return left
    }

    private mutating func parseNot() throws(TemplateError) -> Expr {
        if isName("not") {
            let location = advance().location
            return Expr(kind: .unary("not", try parseNot()), location: location)
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws(TemplateError) -> Expr {
        let left = try parseMath1()
        var ops: [(op: String, rhs: Expr)] = []
        while true {
            if case .op(let o) = current.kind, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                _ = advance()
                ops.append((o, try parseMath1()))
            } else if isName("in") {
                _ = advance()
                ops.append(("in", try parseMath1()))
            } else if isName("not"), isName("in", next) {
                _ = advance()
                _ = advance()
                ops.append(("notin", try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? left : Expr(kind: .compare(left, ops), location: left.location)
    }

    private mutating func parseBinaryLevel(
        _ ops: Set<String>, _ operand: (inout TemplateParser) throws(TemplateError) -> Expr
    ) throws(TemplateError) -> Expr {
        var left = try operand(&self)
        while case .op(let o) = current.kind, ops.contains(o) {
            _ = advance()
            let right = try operand(&self)
            left = Expr(kind: .binary(o, left, right), location: left.location)
        }
        return left
    }

    private mutating func parseMath1() throws(TemplateError) -> Expr {
        try parseBinaryLevel(["+", "-"]) { (p: inout TemplateParser) throws(TemplateError) in try p.parseConcat() }
    }

    private mutating func parseConcat() throws(TemplateError) -> Expr {
        try parseBinaryLevel(["~"]) { (p: inout TemplateParser) throws(TemplateError) in try p.parseMath2() }
    }

    private mutating func parseMath2() throws(TemplateError) -> Expr {
        try parseBinaryLevel(["*", "/", "//", "%"]) { (p: inout TemplateParser) throws(TemplateError) in try p.parsePow() }
    }

    private mutating func parsePow() throws(TemplateError) -> Expr {
        try parseBinaryLevel(["**"]) { (p: inout TemplateParser) throws(TemplateError) in try p.parseUnary() }
    }

    private mutating func parseUnary(withFilter: Bool = true) throws(TemplateError) -> Expr {
        var expr: Expr
        if isOp("-") || isOp("+") {
            let token = advance()
            guard case .op(let o) = token.kind else { throw fail("unreachable") }
            expr = Expr(kind: .unary(o, try parseUnary(withFilter: false)), location: token.location)
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
            case "true", "True": return Expr(kind: .literal(.bool(true)), location: token.location)
            case "false", "False": return Expr(kind: .literal(.bool(false)), location: token.location)
            case "none", "None": return Expr(kind: .literal(.none), location: token.location)
            default: return Expr(kind: .name(n), location: token.location)
            }
        case .string(var s):
            _ = advance()
            while case .string(let more) = current.kind {  // adjacent literals concatenate
                s += more
                _ = advance()
            }
            return Expr(kind: .literal(.string(s)), location: token.location)
        case .integer(let i):
            _ = advance()
            return Expr(kind: .literal(.int(i)), location: token.location)
        case .float(let d):
            _ = advance()
            return Expr(kind: .literal(.double(d)), location: token.location)
        case .op("("):
            _ = advance()
            let expr = try parseTuple(explicitParens: true)
            try expectOp(")")
            return expr
        case .op("["):
            _ = advance()
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return Expr(kind: .list(items), location: token.location)
        case .op("{"):
            _ = advance()
            var pairs: [(key: Expr, value: Expr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            try expectOp("}")
            return Expr(kind: .dict(pairs), location: token.location)
        default:
            throw fail("unexpected \(describe(token))")
        }
    }

    private mutating func parsePostfix(_ base: Expr) throws(TemplateError) -> Expr {
        var expr = base
        while true {
            if isOp(".") {
                let dot = advance()
                switch current.kind {
                case .name(let n):
                    _ = advance()
                    expr = Expr(kind: .attribute(expr, n), location: dot.location)
                case .integer(let i):
                    _ = advance()
                    let index = Expr(kind: .literal(.int(i)), location: dot.location)
                    expr = Expr(kind: .subscript(expr, index), location: dot.location)
                default:
                    throw fail("expected an attribute name after '.', found \(describe(current))")
                }
            } else if isOp("[") {
                let bracket = advance()
                expr = try parseSubscript(expr, bracket.location)
            } else if isOp("(") {
                expr = Expr(kind: .call(expr, try parseCallArguments()), location: expr.location)
            } else {
                return expr
            }
        }
    }

    private mutating func parseSubscript(_ base: Expr, _ location: SourceLocation) throws(TemplateError) -> Expr {
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
        try expectOp("]")
        if !isSlice, let index = parts[0] { return Expr(kind: .subscript(base, index), location: location) }
        while parts.count < 3 { parts.append(nil) }
        return Expr(kind: .slice(base, start: parts[0], stop: parts[1], step: parts[2]), location: location)
    }

    private mutating func parseCallArguments() throws(TemplateError) -> [Argument] {
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

    private mutating func parseFilterExpr(_ base: Expr) throws(TemplateError) -> Expr {
        var expr = base
        while true {
            if isOp("|") {
                _ = advance()
                let token = current
                let name = try expectName()
                guard TemplateFilters.names.contains(name) else {
                    throw TemplateError.unsupported(kind: "filter", name: name, at: token.location)
                }
                let arguments = isOp("(") ? try parseCallArguments() : []
                expr = Expr(kind: .filter(expr, name: name, arguments), location: token.location)
            } else if isName("is") {
                _ = advance()
                var negated = false
                if isName("not") {
                    _ = advance()
                    negated = true
                }
                let token = current
                let name = try expectName()
                guard TemplatePredicates.names.contains(name) else {
                    throw TemplateError.unsupported(kind: "test", name: name, at: token.location)
                }
                var arguments: [Argument] = []
                if isOp("(") {
                    arguments = try parseCallArguments()
                } else if startsTestArgument() {
                    let argument = try parsePostfix(try parsePrimary())
                    arguments = [Argument(name: nil, value: argument)]
                }
                expr = Expr(kind: .test(expr, name: name, arguments, negated: negated), location: token.location)
            } else if isOp("(") {
                expr = Expr(kind: .call(expr, try parseCallArguments()), location: expr.location)
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
