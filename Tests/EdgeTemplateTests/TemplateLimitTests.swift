import EdgeTemplate
import Foundation
import XCTest

/// Hostile templates end in a typed error, quickly and in bounded memory: each case is a
/// template that used to kill or hang the process (a stack overflow, a failed allocation, an
/// arithmetic trap, a hang), or one found by thinking like an attacker or by the fuzz test.
final class TemplateLimitTests: XCTestCase {
    /// A few seconds: what every hostile case must finish in (release build, a shared core;
    /// unoptimized builds run the engine about ten times slower).
    #if DEBUG
    static let timeBudget = 60.0
    #else
    static let timeBudget = 5.0
    #endif
    /// Growth of the process's peak memory a hostile case may cause.
    static let memoryBudget = 512 << 20

    private static func seconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    private static func peakMemory() -> Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024  // kilobytes on Linux
        #else
        getrusage(RUSAGE_SELF, &usage)
        return usage.ru_maxrss  // bytes on Darwin
        #endif
    }

    /// Parses and renders `source`, returning the error, and checks time and memory.
    private func failure(_ source: String, _ context: [String: TemplateValue] = [:], limits: TemplateLimits = .default,
                         file: StaticString = #filePath, line: UInt = #line) -> TemplateError? {
        let start = Self.seconds()
        let memory = Self.peakMemory()
        defer {
            let elapsed = Self.seconds() - start
            XCTAssertLessThan(elapsed, Self.timeBudget, "took \(elapsed) s", file: file, line: line)
            let grown = Self.peakMemory() - memory
            XCTAssertLessThan(grown, Self.memoryBudget, "peak memory grew by \(grown >> 20) MiB", file: file, line: line)
        }
        do {
            let template = try ChatTemplate(source, limits: limits)
            let output = try template.render(context, now: 0)
            XCTFail("rendered \(output.utf8.count) bytes instead of failing", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    /// Asserts that `source` fails on `kind` of `limits`, with a construct containing `construct`.
    private func expectLimit(_ kind: TemplateLimitKind, _ source: String, _ context: [String: TemplateValue] = [:],
                             limits: TemplateLimits = .default, construct: String? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        let error = failure(source, context, limits: limits, file: file, line: line)
        guard case .limit(let got, let limit, let what, _)? = error else {
            return XCTFail("expected a \(kind) limit error, got \(String(describing: error))", file: file, line: line)
        }
        XCTAssertEqual(got, kind, "\(error!)", file: file, line: line)
        XCTAssertEqual(limit, Self.value(of: kind, limits), file: file, line: line)
        if let construct { XCTAssertTrue(what.contains(construct), "construct \(what)", file: file, line: line) }
    }

    private static func value(of kind: TemplateLimitKind, _ limits: TemplateLimits) -> Int {
        switch kind {
        case .steps: return limits.maxSteps
        case .outputBytes: return limits.maxOutputBytes
        case .depth: return limits.maxDepth
        case .stringBytes: return limits.maxStringBytes
        case .collectionCount: return limits.maxCollectionCount
        }
    }

    private func expectOverflow(_ source: String, file: StaticString = #filePath, line: UInt = #line) {
        let error = failure(source, file: file, line: line)
        guard case .integerOverflow? = error else {
            return XCTFail("expected an integer overflow, got \(String(describing: error))", file: file, line: line)
        }
    }

    private func expectType(_ source: String, containing text: String, file: StaticString = #filePath, line: UInt = #line) {
        let error = failure(source, file: file, line: line)
        guard case .type(let message, _)? = error else {
            return XCTFail("expected a type error, got \(String(describing: error))", file: file, line: line)
        }
        XCTAssertTrue(message.contains(text), message, file: file, line: line)
    }

    private func expectUnsupported(_ source: String, file: StaticString = #filePath, line: UInt = #line) {
        let error = failure(source, file: file, line: line)
        guard case .unsupported? = error else {
            return XCTFail("expected unsupported, got \(String(describing: error))", file: file, line: line)
        }
    }

    private func render(_ source: String, _ context: [String: TemplateValue] = [:]) throws -> String {
        try ChatTemplate(source).render(context, now: 0)
    }

    private static func repeated(_ open: String, _ n: Int, _ middle: String, _ close: String) -> String {
        String(repeating: open, count: n) + middle + String(repeating: close, count: n)
    }

    // MARK: - The reported cases

    func testMacroCallingItselfHitsDepth() {
        expectLimit(.depth, "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", construct: "m")
        expectLimit(.depth, "{% macro m(n) %}x{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", construct: "m")
    }

    func testHundredThousandNestedIfsHitDepthWhileParsing() {
        expectLimit(.depth, Self.repeated("{% if true %}", 100_000, "x", "{% endif %}"), construct: "{% if %} block")
    }

    func testDeeplyNestedListParenthesesAndConcatHitDepth() {
        expectLimit(.depth, "{{ " + Self.repeated("[", 5_000, "1", "]") + " }}", construct: "list")
        expectLimit(.depth, "{{ " + Self.repeated("(", 100_000, "1", ")") + " }}", construct: "'('")
        expectLimit(.depth, "{{ 'a'" + String(repeating: " ~ 'a'", count: 100_000) + " }}", construct: "operator '~'")
        expectLimit(.depth, "{{ 1" + String(repeating: " + 1", count: 100_000) + " }}", construct: "operator '+'")
    }

    func testHugeStringRepetitionIsRefusedBeforeAllocating() {
        expectLimit(.stringBytes, "{{ 'a' * 1000000000000000000 }}", construct: "operator '*'")
        expectLimit(.stringBytes, "{{ 'a' * 1000000000 }}", construct: "operator '*'")
        expectLimit(.stringBytes, "{{ 1000000000 * 'ab' }}", construct: "operator '*'")
        expectLimit(.stringBytes, "{{ 'abc' * 9223372036854775807 }}", construct: "operator '*'")  // size overflows
    }

    func testHugeIndentIsRefusedBeforeAllocating() {
        expectLimit(.stringBytes, "{{ 'x\\ny'|indent(1000000000) }}", construct: "filter 'indent'")
        // Many lines times a modest indent.
        expectLimit(.stringBytes, "{{ ('x\\n' * 1000000)|indent(100) }}", construct: "filter 'indent'")
    }

    func testIntMinFloorDivMinusOneIsAnOverflowNotATrap() {
        expectOverflow("{{ (-9223372036854775807 - 1) // -1 }}")
        XCTAssertEqual(try render("{{ (-9223372036854775807 - 1) % -1 }}"), "0")
    }

    func testHugeRangeIsRefusedBeforeMaterializing() {
        expectType("{% for i in range(1000000000000000000) %}{% endfor %}", containing: "range too big")
        expectType("{{ range(-9223372036854775807 - 1, 9223372036854775807) }}", containing: "range too big")
    }

    func testExtremeRangeStepsAreEmptyOrShort() throws {
        XCTAssertEqual(try render("{{ range(0, 10, -9223372036854775807 - 1)|length }} {{ range(9223372036854775807 - 2, 9223372036854775807)|list }}"),
                       "0 [9223372036854775805, 9223372036854775806]")
        XCTAssertEqual(try render("{{ range(-9223372036854775807 - 1, 9223372036854775807, 9223372036854775807)|list }}"),
                       "[-9223372036854775808, -1, 9223372036854775806]")
    }

    func testRangeInsideALoopIsRefusedWithoutMemory() {
        expectType("{% for j in range(1000) %}{% for i in range(100000000) %}{% endfor %}{% endfor %}",
                   containing: "range too big")
    }

    // MARK: - Sizes: strings, lists, output

    func testStringDoublingInALoopHitsStringLimit() {
        expectLimit(.stringBytes, "{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                    construct: "operator '~'")
        expectLimit(.stringBytes, "{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
                    construct: "operator '+'")
    }

    func testQuadraticStringGrowthHitsSteps() {
        // Each iteration copies the growing string: total work ~ n^2 / 2 bytes.
        expectLimit(.steps, "{% set ns = namespace(s='') %}{% for i in range(100000) %}{% set ns.s = ns.s ~ ('x' * 10000) %}{% endfor %}",
                    limits: TemplateLimits(maxStringBytes: 1 << 30))
    }

    func testListRepetitionAndDoublingHitCollectionLimit() {
        expectLimit(.collectionCount, "{{ [1] * 1000000000 }}", construct: "operator '*'")
        expectLimit(.collectionCount, "{{ ([1, 2] * 4611686018427387904)|length }}", construct: "operator '*'")
        expectLimit(.collectionCount, "{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
                    construct: "operator '+'")
    }

    func testNegativeRepetitionIsEmptyAsInPython() throws {
        XCTAssertEqual(try render("[{{ 'a' * -5 }}][{{ [1] * -3 }}][{{ -2 * 'ab' }}]"), "[][[]][]")
    }

    func testHugeOutputHitsOutputLimit() {
        expectLimit(.outputBytes, "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}")
        expectLimit(.outputBytes, "{% for i in range(100000) %}" + String(repeating: "y", count: 1000) + "{% endfor %}")
    }

    func testCapturesHitStringLimit() {
        expectLimit(.stringBytes, "{% set x %}{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}{% endset %}",
                    construct: "{% set x %} block")
        expectLimit(.stringBytes, "{% macro m() %}{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}{% endmacro %}{{ m() }}",
                    construct: "macro 'm'")
    }

    func testJoinReplaceAndFormatAreSizedFirst() {
        expectLimit(.stringBytes, "{{ (['x' * 1000000] * 1000)|join }}", construct: "filter 'join'")
        expectLimit(.stringBytes, "{{ (['x' * 1000000] * 1000)|join(', ') }}", construct: "filter 'join'")
        expectLimit(.stringBytes, "{{ ', '.join(['x' * 1000000] * 1000) }}", construct: "method 'join'")
        expectLimit(.stringBytes, "{{ ('a' * 10000000)|replace('a', 'aaaaaaaaaa') }}", construct: "filter 'replace'")
        expectLimit(.stringBytes, "{{ ('a' * 10000000)|replace('', 'bb') }}", construct: "filter 'replace'")
        expectLimit(.stringBytes, "{{ ('a' * 10000000).replace('a', 'bb') }}", construct: "method 'replace'")
        expectLimit(.stringBytes, "{{ ('{0}' * 100000).format('x' * 1000) }}", construct: "method 'format'")
    }

    func testReprAndJSONOfHugeValuesStopAtTheLimit() {
        expectLimit(.stringBytes, "{{ ['x' * 1000000] * 100 }}", construct: "operator '*'")
        expectLimit(.stringBytes, "{{ (['x' * 1000000] * 100)|tojson }}", construct: "filter 'tojson'")
        expectLimit(.stringBytes, "{{ {'k': 1}|tojson(indent=1000000000) }}", construct: "filter 'tojson'")
        expectLimit(.stringBytes, "{{ ([[[[1]]]] * 100000)|tojson(indent=100000) }}", construct: "filter 'tojson'")
        expectLimit(.stringBytes, "{{ ('\\x01' * 5000000)|tojson }}", construct: "filter 'tojson'")
        expectLimit(.stringBytes, "{{ [('\\x01' * 5000000)] }}", construct: "list")
    }

    func testSplittingAndIteratingStringsHitCollectionLimit() {
        expectLimit(.collectionCount, "{{ ('a,' * 5000000).split(',')|length }}", construct: "method 'split'")
        expectLimit(.collectionCount, "{{ ('a ' * 5000000).split()|length }}", construct: "method 'split'")
        expectLimit(.collectionCount, "{{ ('a\\n' * 5000000).splitlines()|length }}", construct: "method 'splitlines'")
        expectLimit(.collectionCount, "{{ ('a' * 5000000)|list|length }}", construct: "filter 'list'")
        expectLimit(.collectionCount, "{% for c in 'a' * 5000000 %}{% endfor %}", construct: "for loop")
    }

    func testLongLiteralListIsCounted() {
        let source = "{{ [" + String(repeating: "1,", count: 1_100_000) + "1]|length }}"
        expectLimit(.collectionCount, source, construct: "list")
    }

    // MARK: - Steps: loops, products, quadratic algorithms

    func testNestedLoopsWhoseProductIsHugeHitSteps() {
        expectLimit(.steps, "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
        expectLimit(.steps, "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}")
    }

    func testQuadraticFiltersHitSteps() {
        expectLimit(.steps, "{{ range(100000)|unique|length }}")
        expectLimit(.steps, "{% for i in range(100000) %}{% if i in range(100000) %}{% endif %}{% endfor %}")
    }

    func testRepeatedBigScansHitSteps() {
        // Each call scans 10 MB: cheap alone, not 100,000 times.
        expectLimit(.steps, "{% set s = 'a' * 10000000 %}{% for i in range(100000) %}{{ s|length }}{% endfor %}")
        expectLimit(.steps, "{% set s = 'a' * 10000000 %}{% for i in range(100000) %}{{ 'b' in s }}{% endfor %}")
    }

    func testLongNamesAndKeysLookedUpInLoopsHitSteps() {
        // Hashing a 1 MB name or key costs ~0.3 ms: charged, not repeated 100,000 times for free.
        let name = String(repeating: "n", count: 1_000_000)
        expectLimit(.steps, "{% for i in range(100000) %}{{ \(name) }}{% endfor %}", construct: "variable")
        expectLimit(.steps, "{% for i in range(100000) %}{{ x.\(name) }}{% endfor %}", ["x": [:]], construct: "attribute")
        expectLimit(.steps, "{% set k = 'k' * 1000000 %}{% for i in range(100000) %}{{ d[k] }}{% endfor %}", ["d": [:]],
                    construct: "subscript")
        expectLimit(.steps, "{% set k = 'k' * 1000000 %}{% for i in range(100000) %}{{ k in d }}{% endfor %}", ["d": [:]])
        expectLimit(.steps, "{% macro m(\(name)=1) %}{% endmacro %}{% for i in range(100000) %}{{ m() }}{% endfor %}")
        expectLimit(.steps, "{% for \(name) in range(100000) %}{% endfor %}")
    }

    func testLookupsThroughDeeplyNestedLoopsAreCharged() {
        // An undefined name is looked up in all 150 loop frames around it, a million times.
        let source = Self.repeated("{% for a in [1] %}", 150,
                                   "{% for j in range(100000) %}{% for k in range(10) %}{{ zz }}{% endfor %}{% endfor %}", "{% endfor %}")
        let tight = TemplateLimits(maxSteps: 2_000_000)  // the point is the charge, not the default's reach
        expectLimit(.steps, source, limits: tight)
        expectLimit(.steps, "{% for i in range(100000) %}{% set x = strftime_now('%c' * 1000) %}{% endfor %}", limits: tight,
                    construct: "strftime_now")
    }

    func testHugeCustomLimitsCannotOverflowTheAccounting() {
        // Sizes unbounded, steps bounded: what stops the template is the steps its list would cost.
        let huge = TemplateLimits(maxSteps: 1_000_000_000, maxOutputBytes: .max, maxDepth: 200, maxStringBytes: .max,
                                  maxCollectionCount: .max)
        expectLimit(.steps, "{{ [1] * 1000000000000000000 }}", limits: huge)
        expectLimit(.collectionCount, "{{ ([1, 2] * 4611686018427387904)|length }}", limits: huge)  // the size overflows
        expectLimit(.stringBytes, "{{ 'abc' * 9223372036854775807 }}", limits: huge)
    }

    func testMacrosUpdatingANamespaceDoNotCopyTheTopLevelVariables() throws {
        // Each call used to copy the 20,000-variable base frame: ~25 s for 100,000 calls.
        let variables = (0..<20000).map { "{% set v\($0) = \($0) %}" }.joined()
        let source = variables + "{% set ns = namespace(a=0) %}{% macro m() %}{% set ns.a = ns.a + 1 %}{% endmacro %}"
            + "{% for i in range(100000) %}{{ m() }}{% endfor %}{{ ns.a }} {{ v19999 }}"
        let start = Date()
        XCTAssertEqual(try render(source), "100000 19999")
        XCTAssertLessThan(Date().timeIntervalSince(start), Self.timeBudget)
    }

    func testManyKeywordArgumentsCostLinearTime() throws {
        // Looked up per item or per parameter, keywords were scanned: 10^10 comparisons here.
        let keywords = (0..<3000).map { "k\($0)=1" }.joined(separator: ", ")
        let start = Date()
        XCTAssertEqual(try render("{% for i in range(100) %}{{ range(3000)|select('eq', \(keywords))|list|length }}{% endfor %}"),
                       String(repeating: "0", count: 100))
        let parameters = (0..<3000).map { "k\($0)" }.joined(separator: ", ")
        XCTAssertEqual(try render("{% macro m(\(parameters)) %}{{ k2999 }}{% endmacro %}{% for i in range(100) %}{{ m(\(keywords)) }}{% endfor %}"),
                       String(repeating: "1", count: 100))
        XCTAssertEqual(try render("{% for i in range(100) %}{{ ('{k2999}' * 3000).format(\(keywords))|length }}{% endfor %}"),
                       String(repeating: "3000", count: 100))
        XCTAssertLessThan(Date().timeIntervalSince(start), Self.timeBudget)
    }

    func testSubstringSearchIsLinear() throws {
        // A naive search would take ~10^13 steps.
        XCTAssertEqual(try render("{{ ('ab' * 2000000).find('ab' * 1000000 + 'c') }}"), "-1")
        XCTAssertEqual(try render("{{ ('a' * 3000000 + 'b').find('a' * 1000000 + 'b') }}"), "2000000")
        XCTAssertEqual(try render("{{ ('a' * 2000000).count('a' * 1000000 + 'b') }}"), "0")
        XCTAssertEqual(try render("{{ 'a' * 1000000 + 'b' in 'a' * 3000000 }}"), "False")
    }

    // MARK: - Nesting of values and expressions

    func testDeepDataBuiltInALoopHitsDepth() {
        // The list or dict holds ns.x at the limit; putting it back in the namespace crosses it.
        expectLimit(.depth, "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}", construct: "{% set ns.x %}")
        expectLimit(.depth, "{% set ns = namespace(x={}) %}{% for i in range(100000) %}{% set ns.x = {'k': ns.x} %}{% endfor %}", construct: "{% set ns.x %}")
        expectLimit(.depth, "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set y = [[ns.x]] %}{% set ns.x = y[0] %}{% endfor %}", construct: "list")
        expectLimit(.depth, "{% set a = namespace() %}{% set b = namespace() %}{% for i in range(100000) %}{% set a.x = b %}{% set b.x = a %}{% endfor %}",
                    construct: "{% set")
        expectLimit(.depth, "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = namespace(y=ns.x) %}{% endfor %}",
                    construct: "{% set ns.x %}")
        expectLimit(.depth, "{% set ns = namespace(x={}) %}{% for i in range(100000) %}{% set y = dict(k=dict(k=ns.x)) %}{% set ns.x = y.k %}{% endfor %}",
                    construct: "dict()")
        expectLimit(.depth, "{% set ns = namespace(x={'a': 1}) %}{% for i in range(100000) %}{% set ns.x = {'k': ns.x.items()} %}{% endfor %}")
    }

    func testDeepContextValueIsRefused() {
        var value: TemplateValue = 1
        for _ in 0..<10_000 { value = [value] }
        expectLimit(.depth, "{{ v }}", ["v": value], construct: "context variable 'v'")
    }

    func testLongPrefixAndPostfixChainsHitDepthWhileParsing() {
        expectLimit(.depth, "{{ " + String(repeating: "not ", count: 100_000) + "1 }}", construct: "operator 'not'")
        expectLimit(.depth, "{{ " + String(repeating: "- ", count: 100_000) + "1 }}", construct: "operator '-'")
        expectLimit(.depth, "{{ x" + String(repeating: ".a", count: 100_000) + " }}", construct: "attribute")
        expectLimit(.depth, "{{ x" + String(repeating: "[0]", count: 100_000) + " }}", construct: "subscript")
        expectLimit(.depth, "{{ x" + String(repeating: "|trim", count: 100_000) + " }}", construct: "filter 'trim'")
        expectLimit(.depth, "{{ x" + String(repeating: "()", count: 100_000) + " }}", construct: "call")
        expectLimit(.depth, "{{ " + String(repeating: "1 if x else ", count: 100_000) + "2 }}", construct: "conditional")
        expectLimit(.depth, "{{ " + Self.repeated("f(", 100_000, "1", ")") + " }}", construct: "call")
        expectLimit(.depth, "{{ " + Self.repeated("{'a': ", 100_000, "1", "}") + " }}", construct: "dict")
        expectLimit(.depth, Self.repeated("{% for x in y %}", 100_000, "", "{% endfor %}"), construct: "{% for %} block")
        expectLimit(.depth, Self.repeated("{% set x %}", 100_000, "", "{% endset %}"), construct: "{% set %} block")
    }

    func testLongFlatConstructsAreFine() throws {
        // Width is not depth: a comparison chain is one node, a long list or text is flat.
        XCTAssertEqual(try render("{{ 1" + String(repeating: " < 2", count: 10_000) + " }}"), "False")
        XCTAssertEqual(try render("{{ [" + String(repeating: "1, ", count: 10_000) + "1]|length }}"), "10001")
        XCTAssertEqual(try render(String(repeating: "{{ 1 }}", count: 10_000)).utf8.count, 10_000)
    }

    // MARK: - Integer arithmetic

    func testIntegerOverflowsAreErrorsNotTraps() throws {
        expectOverflow("{{ 2 ** 100000 }}")
        expectOverflow("{{ 2 ** 64 }}")
        expectOverflow("{{ (-9223372036854775807 - 1)|abs }}")
        expectOverflow("{% set x = -9223372036854775807 - 1 %}{{ -x }}")
        expectOverflow("{{ 9223372036854775807 + 1 }}")
        expectOverflow("{{ -9223372036854775807 - 2 }}")
        expectOverflow("{{ 4611686018427387904 * 2 }}")
        expectOverflow("{{ ('9' * 100)|int }}")
        expectOverflow("{{ '-9223372036854775809'|int }}")
        expectOverflow("{{ 'inf'|float|int }}")
        expectOverflow("{{ 1e300|int }}")
        expectOverflow("{{ [1, 2]|sum(start=9223372036854775807) }}")
        XCTAssertEqual(try render("{{ (-2) ** 63 }} {{ '-9223372036854775808'|int }} {{ 'nan'|float|int }}"),
                       "-9223372036854775808 -9223372036854775808 0")
    }

    func testDivisionAndModuloByZeroAreTypeErrors() {
        expectType("{{ 1 // 0 }}", containing: "by zero")
        expectType("{{ 1 % 0 }}", containing: "by zero")
        expectType("{{ 1 / 0 }}", containing: "division by zero")
        expectType("{{ 1.5 // 0 }}", containing: "by zero")
        expectType("{{ 1.5 % 0.0 }}", containing: "modulo")
        expectType("{{ 0 ** -1 }}", containing: "negative power")
        expectType("{{ 10.0 ** 400 }}", containing: "out of range")
        expectType("{{ 3 is divisibleby 0 }}", containing: "by zero")
    }

    func testIntFilterBaseCannotTrap() throws {
        // Swift's Int(_:radix:) traps outside 2...36; Python's int() reads base 0 from a prefix.
        XCTAssertEqual(try render("{{ '0x1A'|int(base=0) }} {{ '12'|int(base=1) }} {{ '12'|int(base=99) }} {{ 'z'|int(base=36) }} {{ '0b101'|int(0, 2) }}"),
                       "26 12 12 35 5")
    }

    func testRoundWithExtremePrecisionDoesNotHang() throws {
        XCTAssertEqual(try render("{{ 1.5|round(1000000000) }} {{ 1234.5|round(-1000000000) }} {{ 2.5|round(2, 'floor') }}"),
                       "1.5 0.0 2.5")
    }

    func testExtremeSliceStepsCannotOverflow() throws {
        XCTAssertEqual(try render("{{ 'abcdef'[1::9223372036854775807] }} {{ [1, 2, 3][::-9223372036854775807 - 1] }} {{ 'abc'[-9223372036854775807 - 1:] }}"),
                       "b [3] abc")
    }

    func testFormatWithNegativeIndexIsAnErrorNotATrap() {
        let error = failure("{{ '{-1}'.format(1) }}")
        guard case .type? = error else { return XCTFail("expected a type error, got \(String(describing: error))") }
    }

    func testEmptyAffixesAreHandled() throws {
        XCTAssertEqual(try render("{{ ''.startswith('') }} {{ 'a'.endswith('') }} {{ ''.removeprefix('') }}|{{ ''.find('') }}"), "True True |0")
    }

    // MARK: - Unsupported size-taking constructs stay unsupported

    func testSizeTakingConstructsThisEngineLacksAreUnsupported() {
        expectUnsupported("{{ 'a'.center(1000000000) }}")
        expectUnsupported("{{ 'a'.ljust(1000000000) }}")
        expectUnsupported("{{ 'a'.rjust(1000000000) }}")
        expectUnsupported("{{ 'a'.zfill(1000000000) }}")
        expectUnsupported("{{ '%999999999d' % 1 }}")
        expectUnsupported("{{ '{:>999999999}'.format(1) }}")
        expectUnsupported("{{ 'a'|center(1000000000) }}")
        expectUnsupported("{{ [1]|batch(1000000000) }}")
        expectUnsupported("{{ [1]|slice(1000000000) }}")
        expectUnsupported("{{ 'a'|wordwrap(1000000000) }}")
        expectUnsupported("{{ 'a'|truncate(1000000000) }}")
        expectUnsupported("{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}{% call m() %}{% endcall %}{% endcall %}")
    }

    // MARK: - Errors name the limit, the construct and the place

    func testLimitErrorDescriptionNamesLimitConstructAndPlace() {
        let error = failure("line 1\n  {{ 'a' * 1000000000 }}")
        XCTAssertEqual(error, .limit(.stringBytes, limit: 16 << 20, construct: "operator '*'", at: SourceLocation(line: 2, column: 6)))
        XCTAssertEqual(error?.description,
                       "template limit maxStringBytes exceeded at line 2, column 6: operator '*' needs a string of more than 16777216 bytes")
        XCTAssertEqual(error?.location, SourceLocation(line: 2, column: 6))
        let overflow = failure("{{ 1 }}\n{{ (-9223372036854775807 - 1) // -1 }}")
        XCTAssertEqual(overflow?.description, "integer overflow in '//' at line 2, column 5: the result does not fit in 64 bits")
    }

    func testLimitsCanBeTightenedPerRender() throws {
        let template = try ChatTemplate("{% for i in range(10) %}{{ i }}{% endfor %}")
        XCTAssertEqual(try template.render([:]), "0123456789")
        XCTAssertThrowsError(try template.render([:], limits: TemplateLimits(maxOutputBytes: 5))) { error in
            XCTAssertEqual(error as? TemplateError,
                           .limit(.outputBytes, limit: 5, construct: "variable 'i'", at: SourceLocation(line: 1, column: 28)))
        }
        XCTAssertThrowsError(try template.render([:], limits: TemplateLimits(maxSteps: 20))) { error in
            guard case .limit(.steps, limit: 20, _, _)? = error as? TemplateError else { return XCTFail("\(error)") }
        }
        let chat = try ChatTemplate(try Oracle.fixture("qwen2.5-instruct.jinja"), limits: TemplateLimits(maxOutputBytes: 10))
        XCTAssertThrowsError(try chat.renderChat(messages: ChatTemplateTests.systemUser, addGenerationPrompt: true,
                                                 bosToken: "", eosToken: "<|im_end|>")) { error in
            guard case .limit(.outputBytes, limit: 10, _, _)? = error as? TemplateError else { return XCTFail("\(error)") }
        }
    }
}
