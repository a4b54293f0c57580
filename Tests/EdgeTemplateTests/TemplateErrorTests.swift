import EdgeTemplate
import XCTest

/// Failures name the construct and where it is; the public value API behaves as documented.
final class TemplateErrorTests: XCTestCase {
    private func parseError(_ source: String) -> TemplateError? {
        do {
            _ = try ChatTemplate(source)
            return nil
        } catch {
            return error
        }
    }

    private func renderError(_ source: String, _ context: [String: TemplateValue] = [:]) -> TemplateError? {
        do {
            _ = try ChatTemplate(source).render(context)
            return nil
        } catch {
            return error
        }
    }

    func testUnsupportedFilterIsNamedWithLocation() {
        let error = parseError("line one\nline two\n{{ messages | xyz }}")
        XCTAssertEqual(error, .unsupported(kind: "filter", name: "xyz", at: SourceLocation(line: 3, column: 15)))
        XCTAssertEqual(error?.description, "unsupported filter 'xyz' at line 3, column 15")
    }

    func testUnsupportedTestTagAndMethod() {
        XCTAssertEqual(parseError("{% if x is prime %}{% endif %}"),
                       .unsupported(kind: "test", name: "prime", at: SourceLocation(line: 1, column: 12)))
        XCTAssertEqual(parseError("a\n  {% include 'x.jinja' %}"),
                       .unsupported(kind: "tag", name: "include", at: SourceLocation(line: 2, column: 6)))
        XCTAssertEqual(parseError("{{ x | map('nosuch') }}"), nil)
        guard case .unsupported(kind: "filter", name: "nosuch", _)? = renderError("{{ ['a'] | map('nosuch') | list }}") else {
            return XCTFail("map with an unknown filter should name it")
        }
        guard case .unsupported(kind: "method", name: "str.zfill", _)? = renderError("{{ '7'.zfill(3) }}") else {
            return XCTFail("a Python method this engine lacks should be named")
        }
        guard case .unsupported(kind: "function", name: "cycler", _)? = renderError("{{ cycler('a') }}") else {
            return XCTFail("a jinja global this engine lacks should be named")
        }
    }

    func testSyntaxErrors() {
        guard case .syntax(_, let at)? = parseError("{% for x in xs %}\n{{ x }}") else { return XCTFail("missing endfor") }
        XCTAssertEqual(at.line, 2)
        guard case .syntax(_, let at2)? = parseError("ok\n{{ 'unterminated }}") else { return XCTFail("unterminated string") }
        XCTAssertEqual(at2, SourceLocation(line: 2, column: 4))
        guard case .syntax? = parseError("{{ 1 + }}") else { return XCTFail("dangling operator") }
        guard case .syntax? = parseError("{% endif %}") else { return XCTFail("stray endif") }
        guard case .syntax? = parseError("{# never closed") else { return XCTFail("open comment") }
    }

    func testRuntimeErrors() {
        XCTAssertEqual(renderError("{{ raise_exception('nope: ' ~ n) }}", ["n": 3]),
                       .raised(message: "nope: 3", at: SourceLocation(line: 1, column: 4)))
        guard case .undefined(let name, _)? = renderError("{{ message.role.upper() }}") else { return XCTFail("undefined base") }
        XCTAssertEqual(name, "message")
        guard case .type(let message, _)? = renderError("{{ 'a' + 1 }}") else { return XCTFail("str + int") }
        XCTAssertEqual(message, "can only concatenate str (not \"int\") to str")
    }

    func testValueLiteralsAndPythonText() throws {
        let value: TemplateValue = ["a": [1, 2.5, "x", nil, true], "b": [:]]
        XCTAssertEqual(value.pythonString, "{'a': [1, 2.5, 'x', None, True], 'b': {}}")
        XCTAssertEqual(try TemplateJSON.encode(value), "{\"a\": [1, 2.5, \"x\", null, true], \"b\": {}}")
        XCTAssertEqual(TemplateValue.double(1e16).pythonString, "1e+16")
        XCTAssertEqual(TemplateValue.double(0.5).pythonString, "0.5")
        XCTAssertFalse(TemplateValue.undefined.isTruthy)
        var object: TemplateObject = ["z": 1, "a": 2]
        object["m"] = 3
        XCTAssertEqual(object.keys, ["z", "a", "m"])
        object["z"] = nil
        XCTAssertEqual(object.keys, ["a", "m"])
    }

    /// Hugging Face's `{% generation %}` (assistant-mask marker) renders its body unchanged; the
    /// oracle's plain jinja2 environment lacks that extension, so this is checked directly.
    func testGenerationBlockIsTransparent() throws {
        let template = try ChatTemplate("a{% generation %}{{ x }}{% endgeneration %}b")
        XCTAssertEqual(try template.render(["x": "X"]), "aXb")
    }

    func testTemplateIsReusableAndSendable() async throws {
        let template = try ChatTemplate("{{ x }}")
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<4 { group.addTask { try template.render(["x": .int(i)]) } }
            var all: [String] = []
            for try await r in group { all.append(r) }
            return all.sorted()
        }
        XCTAssertEqual(results, ["0", "1", "2", "3"])
    }
}
