import EdgeTemplate
import Foundation
import XCTest

/// `TemplateLimits.maxDepth` keeps parsing and rendering inside a 512 KiB stack: every
/// recursive construct, nested as deep as the limit allows, parses and renders on a thread with
/// that stack, and one level more fails with a depth error.
final class TemplateDepthTests: XCTestCase {
    /// The smallest stack a template may be rendered on: a Swift concurrency or secondary
    /// thread's (512 KiB on Darwin; glibc's default is 8 MiB).
    static let smallStack = 512 << 10

    /// One recursive construct, `levels` deep.
    struct Construct: Sendable {
        var name: String
        var make: @Sendable (Int) -> (source: String, context: [String: TemplateValue])
    }

    static func nested(_ open: String, _ n: Int, _ middle: String, _ close: String) -> String {
        String(repeating: open, count: n) + middle + String(repeating: close, count: n)
    }

    /// A list nested `n` deep, built in the context (as a caller could pass it).
    static func deepList(_ n: Int) -> TemplateValue {
        var value: TemplateValue = "x"
        for _ in 0..<max(0, n - 1) { value = [value] }
        return n > 0 ? [value] : value
    }

    static let constructs: [Construct] = [
        Construct(name: "lists") { n in ("{{ " + nested("[", n, "1", "]") + " }}", [:]) },
        Construct(name: "dicts") { n in ("{{ " + nested("{'k': ", n, "1", "}") + " }}", [:]) },
        Construct(name: "parentheses") { n in ("{{ " + nested("(", n, "1", ")") + " }}", [:]) },
        Construct(name: "calls") { n in ("{% macro f(x) %}{{ x }}{% endmacro %}{{ " + nested("f(", n, "1", ")") + " }}", [:]) },
        Construct(name: "subscripts") { n in ("{{ x" + String(repeating: "[0]", count: n) + " }}", ["x": deepList(n)]) },
        Construct(name: "concatenation") { n in ("{{ 'a'" + String(repeating: " ~ 'a'", count: n) + " }}", [:]) },
        Construct(name: "not") { n in ("{{ " + String(repeating: "not ", count: n) + "1 }}", [:]) },
        Construct(name: "unary minus") { n in ("{{ " + String(repeating: "- ", count: n) + "1 }}", [:]) },
        Construct(name: "conditionals") { n in ("{{ " + String(repeating: "0 if x else ", count: n) + "1 }}", [:]) },
        Construct(name: "filters") { n in ("{{ 'a'" + String(repeating: "|trim", count: n) + " }}", [:]) },
        Construct(name: "ifs") { n in (nested("{% if true %}", n, "x", "{% endif %}"), [:]) },
        Construct(name: "fors") { n in (nested("{% for i in [1] %}", n, "{{ loop.index }}", "{% endfor %}"), [:]) },
        Construct(name: "set blocks") { n in (nested("{% set x %}", n, "x", "{% endset %}") + "{{ x }}", [:]) },
        Construct(name: "filter blocks") { n in (nested("{% filter trim %}", n, "x", "{% endfilter %}"), [:]) },
        Construct(name: "macro recursion") { n in
            ("{% macro m(k) %}{% if k > 0 %}{{ m(k - 1) }}{% else %}x{% endif %}{% endmacro %}{{ m(\(n)) }}", [:])
        },
        // The deepest value printed, serialized and compared at the deepest evaluation: both
        // recursions at once, each at its limit.
        Construct(name: "macro recursion over deep data") { n in
            ("{% macro m(k) %}{% if k > 0 %}{{ m(k - 1) }}{% else %}{{ v }}{{ v|tojson }}{{ v == w }}{{ v < w }}{% endif %}{% endmacro %}{{ m(\(n)) }}",
             ["v": deepList(TemplateLimits.default.maxDepth), "w": deepList(TemplateLimits.default.maxDepth)])
        },
        Construct(name: "deep data built by the template") { n in
            ("{% set ns = namespace(x=1) %}{% for i in range(\(n)) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}{{ ns.x|tojson }}{{ ns.x == ns.x }}",
             [:])
        },
    ]

    enum Outcome: Equatable {
        case rendered
        case depth
        case other(String)
    }

    static func outcome(_ construct: Construct, _ n: Int) -> Outcome {
        let (source, context) = construct.make(n)
        do {
            _ = try ChatTemplate(source).render(context, now: 0)
            return .rendered
        } catch {
            if case .limit(.depth, _, _, _) = error { return .depth }
            return .other("\(error)")
        }
    }

    /// The deepest nesting of `construct` that renders: binary search on `outcome`.
    static func deepestRendering(_ construct: Construct) -> Int {
        var lo = 0
        var hi = 4 * TemplateLimits.default.maxDepth
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if outcome(construct, mid) == .rendered { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    func testOneLevelPastTheDeepestRenderingIsADepthError() {
        for construct in Self.constructs {
            let deepest = Self.deepestRendering(construct)
            XCTAssertGreaterThan(deepest, 0, construct.name)
            XCTAssertEqual(Self.outcome(construct, deepest + 1), .depth, construct.name)
        }
    }

    /// Every construct at its deepest renders on a 512 KiB stack (a thread whose stack has a
    /// guard page: overflowing it would kill the test process).
    func testDepthLimitFitsHalfMiBStack() {
        let cases = Self.constructs.map { construct in (construct, Self.deepestRendering(construct)) }
        var outcomes: [String: Outcome] = [:]
        let lock = NSLock()
        StackThread.run(stackSize: Self.smallStack) {
            for (construct, deepest) in cases {
                let result = Self.outcome(construct, deepest)
                lock.lock()
                outcomes[construct.name] = result
                lock.unlock()
            }
        }
        for (construct, deepest) in cases {
            XCTAssertEqual(outcomes[construct.name], .rendered, "\(construct.name) at \(deepest) levels")
        }
    }

    /// The stack every construct uses at its deepest, measured by painting a larger stack, leaves
    /// at least a third of 512 KiB unused: a margin for the caller's own frames and for builds
    /// whose frames are a little larger.
    func testDepthLimitLeavesAMarginOnHalfMiBStack() {
        var report: [String] = []
        var worst = 0
        for construct in Self.constructs {
            let deepest = Self.deepestRendering(construct)
            let used = StackThread.measure(stackSize: 8 << 20) { _ = Self.outcome(construct, deepest) }
            report.append("\(construct.name): \(deepest) levels, \(used >> 10) KiB")
            worst = max(worst, used)
        }
        XCTAssertLessThan(worst, Self.smallStack * 2 / 3, report.joined(separator: "; "))
    }
}

/// Runs a closure on a thread of its own with a stack of a given size.
enum StackThread {
    private final class Work {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Runs `body` on a new thread whose stack is `stackSize` bytes, with a guard page below
    /// it, and waits for it.
    static func run(stackSize: Int, _ body: @escaping () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        start(&attributes, body)
    }

    /// Runs `body` on a new thread whose stack is `stackSize` bytes of memory painted with a
    /// pattern, and returns how many bytes of it the thread wrote: its stack's high-water mark.
    /// No guard page: `stackSize` must be far more than `body` needs.
    static func measure(stackSize: Int, _ body: @escaping () -> Void) -> Int {
        var memory: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&memory, 1 << 16, stackSize) == 0, let memory else { return -1 }
        defer { free(memory) }
        memset(memory, 0xA5, stackSize)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstack(&attributes, memory, stackSize)
        start(&attributes, body)
        let bytes = memory.assumingMemoryBound(to: UInt8.self)
        var untouched = 0
        while untouched < stackSize && bytes[untouched] == 0xA5 { untouched += 1 }
        return stackSize - untouched
    }

    private static func start(_ attributes: inout pthread_attr_t, _ body: @escaping () -> Void) {
        let work = Unmanaged.passRetained(Work(body)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t? = nil
        #endif
        let created = pthread_create(&thread, &attributes, { argument in
            let work = Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue()
            work.body()
            return nil
        }, work)
        guard created == 0 else {
            Unmanaged<Work>.fromOpaque(work).release()
            XCTFail("pthread_create failed: \(created)")
            return
        }
        #if canImport(Glibc)
        pthread_join(thread, nil)
        #else
        pthread_join(thread!, nil)
        #endif
    }
}
