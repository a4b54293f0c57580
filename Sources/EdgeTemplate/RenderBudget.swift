/// What one parse or render has spent of its `TemplateLimits`: steps taken, the current nesting
/// depth. Every check happens before the work or allocation it guards.
///
/// A class so that the renderer's non-mutating helpers (filters, methods, operators) can charge
/// it. One render owns one budget on one thread; it never escapes the render.
final class RenderBudget {
    let limits: TemplateLimits
    private(set) var steps = 0
    private(set) var depth = 0

    init(_ limits: TemplateLimits) {
        self.limits = limits
    }

    func failure(_ kind: TemplateLimitKind, _ construct: String, _ location: SourceLocation) -> TemplateError {
        .limit(kind, limit: limits.value(of: kind), construct: construct, at: location)
    }

    // MARK: Steps and depth

    /// One step and one level deeper: a statement body, an expression node, a filter call.
    /// Pair with `leave()`.
    @inline(__always)
    func enter(_ construct: @autoclosure () -> String, at location: SourceLocation) throws(TemplateError) {
        steps += 1
        depth += 1
        if depth > limits.maxDepth || steps > limits.maxSteps {
            let kind: TemplateLimitKind = depth > limits.maxDepth ? .depth : .steps
            depth -= 1
            throw failure(kind, construct(), location)
        }
    }

    @inline(__always)
    func leave() {
        depth -= 1
    }

    /// `count` steps (count >= 0) of work about to be done.
    @inline(__always)
    func charge(_ count: Int, _ construct: @autoclosure () -> String, at location: SourceLocation) throws(TemplateError) {
        let (total, overflow) = steps.addingReportingOverflow(count)
        if overflow || total > limits.maxSteps { throw failure(.steps, construct(), location) }
        steps = total
    }

    /// The steps for creating or scanning `bytes` bytes of text.
    @inline(__always)
    func chargeBytes(_ bytes: Int, _ construct: @autoclosure () -> String, at location: SourceLocation) throws(TemplateError) {
        try charge(bytes / TemplateLimits.bytesPerStep, construct(), at: location)
    }

    /// The steps for hashing or comparing a name or key of `text`'s length: a dictionary
    /// lookup costs its key's length, and a name written in the source can be long and looked
    /// up in every iteration of a loop.
    @inline(__always)
    func chargeKey(_ text: String, _ construct: @autoclosure () -> String, at location: SourceLocation) throws(TemplateError) {
        let bytes = text.utf8.count
        if bytes >= TemplateLimits.bytesPerStep { try chargeBytes(bytes, construct(), at: location) }
    }

    // MARK: Sizes

    /// Before creating a string of `bytes` bytes: within `maxStringBytes`, and charged.
    @inline(__always)
    func reserveString(_ bytes: Int, _ construct: @autoclosure () -> String, at location: SourceLocation) throws(TemplateError) {
        if bytes > limits.maxStringBytes { throw failure(.stringBytes, construct(), location) }
        try chargeBytes(bytes, construct(), at: location)
    }

    /// Before creating a list or dict of `count` elements: within `maxCollectionCount`, and
    /// charged for the elements' bytes (`TemplateLimits.stepsPerElement` each).
    @inline(__always)
    func reserveElements(_ count: Int, _ construct: @autoclosure () -> String, at location: SourceLocation) throws(TemplateError) {
        if count > limits.maxCollectionCount { throw failure(.collectionCount, construct(), location) }
        try charge(try product(count, TemplateLimits.stepsPerElement, .steps, construct(), at: location), construct(), at: location)
    }

    /// Before creating a list of `count` two-element lists (a dict's items): three elements each.
    func reservePairs(_ count: Int, _ construct: @autoclosure () -> String, at location: SourceLocation) throws(TemplateError) {
        try reserveElements(count, construct(), at: location)
        try reserveElements(count, construct(), at: location)
        try reserveElements(count, construct(), at: location)
    }

    /// `a + b` for sizes, failing as `kind` when it overflows (the size is then over any limit).
    func sum(_ a: Int, _ b: Int, _ kind: TemplateLimitKind, _ construct: @autoclosure () -> String,
             at location: SourceLocation) throws(TemplateError) -> Int {
        let (total, overflow) = a.addingReportingOverflow(b)
        if overflow { throw failure(kind, construct(), location) }
        return total
    }

    /// `a * b` for sizes (a, b >= 0), failing as `kind` when it overflows.
    func product(_ a: Int, _ b: Int, _ kind: TemplateLimitKind, _ construct: @autoclosure () -> String,
                 at location: SourceLocation) throws(TemplateError) -> Int {
        let (total, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { throw failure(kind, construct(), location) }
        return total
    }

    // MARK: Nesting of values

    /// Before wrapping `children` in `levels` new levels of lists, dicts or namespaces (2 for
    /// `items()`' pairs): the new value's nesting (`levels` + the deepest child) stays within
    /// `maxDepth`. Walks the children's containers, charging one step per element walked;
    /// strings and numbers cost nothing.
    func checkNesting<C: Sequence>(wrapping children: C, levels: Int = 1, _ construct: @autoclosure () -> String,
                                   at location: SourceLocation) throws(TemplateError) where C.Element == TemplateValue {
        if levels > limits.maxDepth { throw failure(.depth, construct(), location) }
        for child in children where child.isContainer {
            let (deepest, walked) = ValueNesting.depth(of: child, limit: limits.maxDepth - levels)
            try charge(walked, construct(), at: location)
            if deepest + levels > limits.maxDepth { throw failure(.depth, construct(), location) }
        }
    }
}

/// Depth of nested values, walked without recursion so that any value, however deep (a
/// caller's context included), can be measured on any stack.
enum ValueNesting {
    /// The nesting depth of `value` (0 for a string or number, 1 for a flat list) and the number
    /// of elements walked; stops early, returning a depth over `limit`, once it passes `limit`.
    static func depth(of value: TemplateValue, limit: Int) -> (depth: Int, walked: Int) {
        guard value.isContainer else { return (0, 0) }
        var stack: [(TemplateValue, Int)] = [(value, 1)]
        var deepest = 0
        var walked = 0
        while let (current, level) = stack.popLast() {
            deepest = max(deepest, level)
            if deepest > limit { return (deepest, walked) }
            current.forEachChild { child in
                walked += 1
                if child.isContainer { stack.append((child, level + 1)) }
            }
        }
        return (deepest, walked)
    }
}

extension TemplateValue {
    /// Whether the value holds other values (a list, dict, namespace, or a method bound to one).
    var isContainer: Bool {
        switch self {
        case .array, .object, .namespace: return true
        case .callable(let c):
            switch c.kind {
            case .method(let receiver, _): return receiver.isContainer
            case .loop: return true
            default: return false
            }
        default: return false
        }
    }

    /// Calls `body` on each value this one holds directly.
    func forEachChild(_ body: (TemplateValue) -> Void) {
        switch self {
        case .array(let items): for item in items { body(item) }
        case .object(let object), .namespace(let object): object.forEachValue(body)
        case .callable(let c):
            switch c.kind {
            case .method(let receiver, _): body(receiver)
            case .loop(let context):  // the items its attributes reach
                if let previous = context.attribute("previtem") { body(previous) }
                if let next = context.attribute("nextitem") { body(next) }
            default: break
            }
        default: break
        }
    }
}
