import EdgeTemplate
import Foundation
import XCTest

/// One template rendering the tests compare against Python's jinja2.
struct OracleCase {
    var name: String
    var template: String
    var context: [String: TemplateValue] = [:]
    /// The Unix time `strftime_now` formats, the same on both sides.
    var now: Double = 1_700_000_000
}

/// What jinja2 did with a case: the rendered text, or the exception it raised.
enum OracleResult: Equatable {
    case output(String)
    case error(type: String, message: String)
}

/// Renders cases with Python's jinja2 through `oracle/render.py` (Hugging Face's environment:
/// ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, raise_exception,
/// strftime_now, tojson). Every run also compares with, or (with EDGE_TEMPLATE_WRITE_GOLDEN=1)
/// rewrites, `golden/<group>.json`; where python3 or jinja2 is missing the golden file is the
/// oracle. The golden files were made by running
/// `EDGE_TEMPLATE_WRITE_GOLDEN=1 swift test --filter EdgeTemplateTests` with jinja2 3.1.6.
enum Oracle {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// EDGE_TEMPLATE_NO_PYTHON=1 forces the golden files, to check that path.
    static let pythonAvailable: Bool = {
        if ProcessInfo.processInfo.environment["EDGE_TEMPLATE_NO_PYTHON"] == "1" { return false }
        guard let process = try? launch(["-c", "import jinja2"]) else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    private static func launch(_ arguments: [String], stdout: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.standardOutput = stdout ?? FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func fixture(_ name: String) throws -> String {
        try String(contentsOf: testsDirectory.appendingPathComponent("templates/\(name)"), encoding: .utf8)
    }

    /// jinja2's results for `cases`, keyed by case name.
    static func results(group: String, _ cases: [OracleCase]) throws -> [String: OracleResult] {
        let goldenURL = testsDirectory.appendingPathComponent("golden/\(group).json")
        let data: Data
        if pythonAvailable {
            data = try runPython(cases)
            if ProcessInfo.processInfo.environment["EDGE_TEMPLATE_WRITE_GOLDEN"] == "1" {
                try data.write(to: goldenURL)
            }
        } else {
            data = try Data(contentsOf: goldenURL)
        }
        guard let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw NSError(domain: "Oracle", code: 1, userInfo: [NSLocalizedDescriptionKey: "bad oracle output"])
        }
        var results: [String: OracleResult] = [:]
        for entry in list {
            guard let name = entry["name"] as? String else { continue }
            if let output = entry["output"] as? String {
                results[name] = .output(output)
            } else {
                results[name] = .error(type: entry["error_type"] as? String ?? "?", message: entry["error"] as? String ?? "")
            }
        }
        return results
    }

    private static func runPython(_ cases: [OracleCase]) throws -> Data {
        var list: [TemplateValue] = []
        for c in cases {
            var context = TemplateObject()
            for key in c.context.keys.sorted() { context[key] = c.context[key] }
            list.append(["name": .string(c.name), "template": .string(c.template), "context": .object(context),
                         "now": .double(c.now)])
        }
        let input = FileManager.default.temporaryDirectory
            .appendingPathComponent("edge-template-oracle-\(UUID().uuidString).json")
        try TemplateJSON.encode(.array(list)).write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let pipe = Pipe()
        let script = testsDirectory.appendingPathComponent("oracle/render.py").path
        let process = try launch([script, input.path], stdout: pipe)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "Oracle", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "oracle/render.py failed"])
        }
        return data
    }

    /// Renders every case with EdgeTemplate and asserts the same bytes (or the same kind of
    /// failure, and for raise_exception the same message) as jinja2. Returns how many matched.
    @discardableResult
    static func check(group: String, _ cases: [OracleCase], file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let expected = try results(group: group, cases)
        var matched = 0
        for c in cases {
            guard let want = expected[c.name] else {
                XCTFail("no oracle result for \(c.name)", file: file, line: line)
                continue
            }
            let got: Result<String, TemplateError>
            do {
                got = .success(try ChatTemplate(c.template).render(c.context, now: c.now))
            } catch {
                got = .failure(error)
            }
            switch (want, got) {
            case (.output(let text), .success(let rendered)):
                if text == rendered {
                    matched += 1
                } else {
                    XCTFail("\(c.name): jinja2 rendered \(text.debugDescription), EdgeTemplate \(rendered.debugDescription)",
                            file: file, line: line)
                }
            case (.output(let text), .failure(let error)):
                XCTFail("\(c.name): jinja2 rendered \(text.debugDescription), EdgeTemplate failed: \(error)", file: file, line: line)
            case (.error(let type, let message), .success(let rendered)):
                XCTFail("\(c.name): jinja2 raised \(type): \(message), EdgeTemplate rendered \(rendered.debugDescription)",
                        file: file, line: line)
            case (.error(let type, let message), .failure(let error)):
                if sameKind(type: type, message: message, error) {
                    matched += 1
                } else {
                    XCTFail("\(c.name): jinja2 raised \(type): \(message), EdgeTemplate: \(error)", file: file, line: line)
                }
            }
        }
        return matched
    }

    /// Whether EdgeTemplate failed the way jinja2 did.
    static func sameKind(type: String, message: String, _ error: TemplateError) -> Bool {
        switch (type, error) {
        case ("TemplateError", .raised(let m, _)): return m == message
        case ("UndefinedError", .undefined): return true
        case ("TypeError", .type), ("ValueError", .type), ("TemplateRuntimeError", .type),
            ("ZeroDivisionError", .type), ("OverflowError", .type):
            return true
        case ("TemplateSyntaxError", .syntax), ("TemplateSyntaxError", .unsupported),
            ("TemplateAssertionError", .unsupported):
            return true
        // jinja2 compiles templates to Python: a `break` outside a loop is Python's SyntaxError.
        case ("SyntaxError", .syntax): return true
        case ("OverflowError", .integerOverflow): return true
        case ("SecurityError", .unsupported): return true
        default: return false
        }
    }
}
