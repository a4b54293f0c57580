import EdgeTemplate
import Foundation
import XCTest

/// A deterministic, seeded fuzz test: random templates from a small grammar of every construct
/// the engine supports, and random byte and token mutations of the published templates under
/// `templates/`, each parsed and rendered with tight limits. Each must end in output or a
/// `TemplateError` that keeps to the limits; the main check is that the process survives. A
/// failure names the case's seed: `EDGE_TEMPLATE_FUZZ_SEED=<seed> EDGE_TEMPLATE_FUZZ_CASES=1`
/// replays it (and a larger `EDGE_TEMPLATE_FUZZ_CASES` fuzzes longer).
final class TemplateFuzzTests: XCTestCase {
    /// Tight limits: a case stops within milliseconds.
    static let limits = TemplateLimits(maxSteps: 200_000, maxOutputBytes: 1 << 16, maxDepth: 40,
                                       maxStringBytes: 1 << 16, maxCollectionCount: 4096)
    static let defaultSeed: UInt64 = 0x5EED_7E3A_1A7E_0001

    static var baseSeed: UInt64 {
        ProcessInfo.processInfo.environment["EDGE_TEMPLATE_FUZZ_SEED"].flatMap { UInt64($0) } ?? defaultSeed
    }

    static func caseCount(_ standard: Int) -> Int {
        ProcessInfo.processInfo.environment["EDGE_TEMPLATE_FUZZ_CASES"].flatMap { Int($0) } ?? standard
    }

    /// The seed of case `i`: replaying it alone reproduces the case.
    static func seed(_ i: Int) -> UInt64 {
        i == 0 ? baseSeed : baseSeed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15
    }

    static let context: [String: TemplateValue] = [
        "messages": .array(ChatTemplateTests.toolConversation().map(\.value) + ChatTemplateTests.multiTurn.map(\.value)),
        "tools": [ChatTemplateTests.weatherTool], "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>",
        "x": 3, "y": "héllo ✓ world", "z": [1, "a", nil, 2.5, ["k": [true]]], "d": ["a": 1, "b": ["c": "d"]],
        "big": .int(Int.max), "small": .int(Int.min), "f": 1e308, "n": nil, "item": ["role": "user", "content": "hi"],
        "i": 2, "k": "key", "v": ["a", "b"],
    ]

    /// Renders `source`; fails the test (naming `seed`) on anything but output or a
    /// `TemplateError` consistent with the limits.
    private func check(_ source: String, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        let start = Date()
        do {
            let output = try ChatTemplate(source, limits: Self.limits).render(Self.context, now: 0)
            XCTAssertLessThanOrEqual(output.utf8.count, Self.limits.maxOutputBytes, "seed \(seed): output over the limit",
                                     file: file, line: line)
        } catch {
            if case .limit(let kind, let limit, _, _) = error {
                let expected: Int
                switch kind {
                case .steps: expected = Self.limits.maxSteps
                case .outputBytes: expected = Self.limits.maxOutputBytes
                case .depth: expected = Self.limits.maxDepth
                case .stringBytes: expected = Self.limits.maxStringBytes
                case .collectionCount: expected = Self.limits.maxCollectionCount
                }
                XCTAssertEqual(limit, expected, "seed \(seed): \(error)", file: file, line: line)
            }
            XCTAssertFalse(error.description.isEmpty, "seed \(seed)", file: file, line: line)
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, TemplateLimitTests.timeBudget / 2, "seed \(seed) took \(elapsed) s: \(source.debugDescription)",
                          file: file, line: line)
    }

    func testRandomTemplatesFromTheGrammar() {
        for i in 0..<Self.caseCount(2500) {
            let seed = Self.seed(i)
            var generator = TemplateGenerator(seed: seed)
            check(generator.template(), seed: seed)
        }
    }

    func testMutatedPublishedTemplates() throws {
        let directory = Oracle.testsDirectory.appendingPathComponent("templates")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".jinja") }.sorted()
        let sources = try names.map { try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8) }
        XCTAssertFalse(sources.isEmpty)
        for i in 0..<Self.caseCount(1500) {
            let seed = Self.seed(i)
            var random = SplitMix64(seed: seed)
            var source = sources[random.below(sources.count)]
            for _ in 0...random.below(4) { source = TemplateGenerator.mutate(source, &random) }
            check(source, seed: seed)
        }
    }
}

/// SplitMix64: a small, fast, seedable generator (Steele, Lea, Flood 2014), so that a seed
/// names a case on every platform.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<n.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }

    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// Random templates from a grammar of the statements, expressions, filters, tests and methods
/// the engine knows, biased towards the values and sizes that stress limits.
struct TemplateGenerator {
    var random: SplitMix64
    private var budget = 60  // nodes left for this template

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    static let names = ["x", "y", "z", "d", "n", "f", "big", "small", "messages", "tools", "ns", "loop", "m", "item",
                        "i", "k", "v", "undefined_name", "bos_token", "range", "namespace", "dict", "raise_exception"]
    static let filters = ["abs", "attr('a')", "capitalize", "count", "default('q')", "default(x, true)", "dictsort",
                          "dictsort(false, 'value', true)", "e", "first", "float", "indent", "indent(2, true, true)",
                          "indent(x)", "int", "int(7, 16)", "int(0, 0)", "items", "join", "join(', ')", "join(', ', 'role')",
                          "last", "length", "list", "lower", "map('upper')", "map(attribute='role')", "max", "min", "reject",
                          "rejectattr('role', 'equalto', 'user')", "replace('a', 'bb')", "replace('', '-')",
                          "replace('l', 'L', 1)", "reverse", "round", "round(2, 'floor')", "safe", "select('odd')",
                          "selectattr('role')", "sort", "sort(true, false, 'role')", "string", "sum", "sum(start=[])",
                          "title", "tojson", "tojson(indent=2)", "tojson(indent=x)", "trim", "trim('x')", "unique", "upper",
                          "wordcount"]
    static let tests = ["defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable",
                        "sequence", "callable", "boolean", "true", "false", "odd", "even", "divisibleby 3", "divisibleby(0)",
                        "eq 1", "ne x", "lt 2", "gt 'a'", "in [1, 2]", "lower", "upper", "sameas none", "escaped"]
    static let methods = ["strip()", "lstrip('h')", "rstrip()", "split()", "split(',')", "split('l', 1)", "rsplit('l', 1)",
                          "splitlines()", "startswith('h')", "endswith(('d', 'x'))", "startswith('e', 1, 3)", "upper()",
                          "lower()", "title()", "capitalize()", "swapcase()", "replace('l', 'LL')", "find('l')", "rfind('l')",
                          "index('z')", "count('l')", "join(['a', 'b'])", "removeprefix('h')", "removesuffix('d')",
                          "isdigit()", "isalpha()", "isspace()", "islower()", "format(1, 2)", "format(a=1)", "items()",
                          "keys()", "values()", "get('role')", "get('zz', 3)", "copy()", "append(1)", "center(9)",
                          "zfill(3)", "index(1)"]
    static let binaryOperators = ["+", "-", "*", "/", "//", "%", "**", "~", "and", "or", "==", "!=", "<", "<=", ">", ">=",
                                  "in", "not in"]

    mutating func template() -> String {
        budget = 20 + random.below(60)
        var out = ""
        while budget > 0 { out += statement(depth: 0) }
        return out
    }

    private mutating func statement(depth: Int) -> String {
        budget -= 1
        let open = random.chance(30) ? "{%-" : "{%"
        let close = random.chance(30) ? "-%}" : "%}"
        func body(_ d: Int) -> String {
            var text = ""
            for _ in 0..<(1 + random.below(3)) where budget > 0 { text += statement(depth: d + 1) }
            return text
        }
        switch depth > 6 ? random.below(3) : random.below(16) {
        case 0: return random.pick(["text ", "\n", "  ", "ü", "\t\n  ", "a}b", "<|im_start|>"])
        case 1, 2: return (random.chance(20) ? "{{- " : "{{ ") + expression(depth: 0) + (random.chance(20) ? " -}}" : " }}")
        case 3:
            var s = "\(open) if \(expression(depth: 0)) \(close)\(body(depth))"
            if random.chance(30) { s += "\(open) elif \(expression(depth: 0)) \(close)\(body(depth))" }
            if random.chance(30) { s += "\(open) else \(close)\(body(depth))" }
            return s + "\(open) endif \(close)"
        case 4:
            let target = random.pick(["item", "k, v", "(k, v)", "i"])
            let condition = random.chance(20) ? " if \(expression(depth: 1))" : ""
            let elseBody = random.chance(20) ? "\(open) else \(close)\(body(depth))" : ""
            let controls = random.chance(20) ? random.pick(["{% break %}", "{% continue %}"]) : ""
            return "\(open) for \(target) in \(iterable())\(condition) \(close)\(controls)\(body(depth))\(elseBody)\(open) endfor \(close)"
        case 5: return "\(open) set \(random.pick(["v", "k", "x", "y"])) = \(expression(depth: 0)) \(close)"
        case 6: return "{% set ns = namespace(a=\(expression(depth: 1)), s='') %}"
        case 7: return "\(open) set ns.\(random.pick(["a", "s", "b"])) = \(expression(depth: 0)) \(close)"
        case 8: return "\(open) set v \(random.chance(50) ? "| upper " : "")\(close)\(body(depth))\(open) endset \(close)"
        case 9:
            let parameters = random.pick(["", "a", "a, b=2", "a=[], b='x'"])
            return "\(open) macro m(\(parameters)) \(close)\(body(depth))\(open) endmacro \(close)"
        case 10: return "{{ m(\(random.chance(50) ? expression(depth: 1) : "")) }}"
        case 11: return "\(open) filter \(random.pick(["upper", "trim", "indent(2)", "replace('a', 'b')"])) \(close)\(body(depth))\(open) endfilter \(close)"
        case 12: return "{# \(expression(depth: 1)) #}"
        case 13: return "\(open) generation \(close)\(body(depth))\(open) endgeneration \(close)"
        case 14: return random.chance(70) ? "{% break %}" : random.pick(["{% continue %}", "{% endif %}", "{{ ", " }}", "{% raw %}"])
        default: return "{{ raise_exception('boom ' ~ \(expression(depth: 1))) if \(expression(depth: 1)) }}"
        }
    }

    private mutating func iterable() -> String {
        random.pick(["messages", "range(\(random.pick(["3", "0", "-2", "x", "100001", "1, 10, 3", "10, 0, -4"])))",
                     "z", "d", "d.items()", "y", "tools", "messages|selectattr('role', 'equalto', 'user')",
                     "[1, 2, 3] * x", "n", "big", "'abc'", "messages[::-1]", "messages|map(attribute='role')",
                     "d|dictsort", expression(depth: 2)])
    }

    private mutating func literal() -> String {
        random.pick(["0", "1", "-1", "3", "9223372036854775807", "-9223372036854775807", "2.5", "-0.0", "1e308", "1e-320",
                     "0.1", "'a'", "''", "\"q'uote\"", "'\\n\\t\\x00\\u00e9'", "'héllo ✓'", "'{}'", "'{0}{x}'", "'%s'",
                     "none", "true", "false", "None", "'<think>x</think>y'", "'a,b,,c'", "'  pad  '", "[]", "{}",
                     "'9' * 30", "(1, 2)", "('x',)"])
    }

    private mutating func expression(depth: Int) -> String {
        budget -= 1
        if depth > 4 || budget <= 0 { return random.chance(50) ? literal() : random.pick(Self.names) }
        let d = depth + 1
        switch random.below(20) {
        case 0, 1: return literal()
        case 2, 3: return random.pick(Self.names)
        case 4: return "[" + (0..<random.below(4)).map { _ in expression(depth: d) }.joined(separator: ", ") + "]"
        case 5:
            let keys = ["'a'", "'role'", "'content'", "\"k\"", "y", literal()]
            return "{" + (0..<random.below(3)).map { _ in "\(random.pick(keys)): \(expression(depth: d))" }.joined(separator: ", ") + "}"
        case 6: return expression(depth: d) + "." + random.pick(["role", "content", "a", "s", "index", "first", "last", "length",
                                                                  "previtem", "cycle('a', 'b')", "upper", "items", "0"])
        case 7: return expression(depth: d) + "[" + random.pick(["0", "-1", "'role'", "x", "big", "small", "1:", "::-1",
                                                                  ":2", "::0", "::big", "small:", "'zz'"]) + "]"
        case 8: return expression(depth: d) + "|" + random.pick(Self.filters)
        case 9: return expression(depth: d) + " is " + (random.chance(30) ? "not " : "") + random.pick(Self.tests)
        case 10: return "(" + expression(depth: d) + ")." + random.pick(Self.methods)
        case 11, 12, 13:
            return expression(depth: d) + " " + random.pick(Self.binaryOperators) + " " + expression(depth: d)
        case 14: return random.pick(["-", "+", "not "]) + expression(depth: d)
        case 15: return "\(expression(depth: d)) if \(expression(depth: d)) else \(expression(depth: d))"
        case 16: return "range(" + random.pick(["3", "x", "big", "small, 0", "0, 100001", "2, 9, 2"]) + ")"
        case 17: return "namespace(" + random.pick(["", "a=1", "d", "a=\(expression(depth: d))"]) + ")"
        case 18: return "m(" + (random.chance(50) ? expression(depth: d) : "") + ")"
        default: return random.pick(["loop.cycle(1, 2)", "strftime_now('%Y')", "dict(a=1, b=z)", "raise_exception(y)",
                                     "x()", "'{}'.format(z)", "'a' * big", "[0] * x * x * x",
                                     "'%d' % 3", "y[big:small:-1]", "(small) // -1", "small % -1", "-small", "2 ** 64"])
        }
    }

    /// One random edit of `source`: a deleted, duplicated or swapped range, an inserted token,
    /// a replaced byte.
    static func mutate(_ source: String, _ random: inout SplitMix64) -> String {
        var scalars = Array(source.unicodeScalars)
        guard !scalars.isEmpty else { return source }
        let a = random.below(scalars.count)
        let b = min(scalars.count, a + 1 + random.below(40))
        let tokens = ["{%", "%}", "{{", "}}", "{#", "#}", "-", "(", ")", "[", "]", "'", "\"", "|", ".", ",", "endif", "endfor",
                      "{% for x in messages %}", "{% if true %}", "loop", "ns", "~", "*", "**", " not ", " in ", "\\",
                      "'a' * 1000000", "range(100000)", "messages[0]", "|tojson(indent=1000)", "|indent(100)"]
        switch random.below(6) {
        case 0: scalars.removeSubrange(a..<b)
        case 1: scalars.insert(contentsOf: scalars[a..<b], at: b)
        case 2: scalars.insert(contentsOf: random.pick(tokens).unicodeScalars, at: a)
        case 3: scalars[a] = random.pick(Array("{}%#-+()[]'\"|.,~*/ \n x0".unicodeScalars))
        case 4:
            let c = random.below(scalars.count)
            scalars.swapAt(a, c)
        default:
            let chunk = Array(scalars[a..<b])
            for _ in 0..<random.below(4) { scalars.insert(contentsOf: chunk, at: a) }
        }
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars)
        return String(text)
    }
}
