import EdgeTemplate
import Foundation
import XCTest

/// Published model chat templates (fixtures under `templates/`, sources in
/// `templates/SOURCES.md`) rendered over typical conversations and compared byte for byte with
/// Python's jinja2 under Hugging Face's settings.
final class ChatTemplateTests: XCTestCase {
    // MARK: Conversations

    static let systemUser: [ChatMessage] = [
        ChatMessage(role: "system", content: "You are a helpful assistant."),
        ChatMessage(role: "user", content: "What is the capital of France?"),
    ]
    static let userOnly: [ChatMessage] = [ChatMessage(role: "user", content: "Hello!")]
    static let multiTurn: [ChatMessage] = [
        ChatMessage(role: "system", content: "  Be brief.  "),
        ChatMessage(role: "user", content: "Hi there"),
        ChatMessage(role: "assistant", content: "  Hello! How can I help?  "),
        ChatMessage(role: "user", content: "What is 2+2?\n"),
    ]
    static let assistantLast: [ChatMessage] = [
        ChatMessage(role: "user", content: "Name a colour."),
        ChatMessage(role: "assistant", content: "Blue, héllo ✓."),
    ]
    static let badAlternation: [ChatMessage] = [
        ChatMessage(role: "user", content: "a"), ChatMessage(role: "user", content: "b"),
    ]

    static let weatherTool: TemplateValue = [
        "type": "function",
        "function": [
            "name": "get_weather",
            "description": "Get the current weather in a city",
            "parameters": [
                "type": "object",
                "properties": ["city": ["type": "string", "description": "City name"],
                               "unit": ["type": "string", "enum": ["celsius", "fahrenheit"]]],
                "required": ["city"],
            ],
        ],
    ]

    /// A user question, the assistant's tool call (arguments as an object), the tool's result.
    static func toolConversation(callID: String = "call00001", toolRole: String = "tool") -> [ChatMessage] {
        [
            ChatMessage(role: "system", content: "You can call tools."),
            ChatMessage(role: "user", content: "What's the weather in Paris?"),
            ChatMessage(role: "assistant", content: .none, fields: [
                "tool_calls": [["id": .string(callID), "type": "function",
                                "function": ["name": "get_weather", "arguments": ["city": "Paris", "unit": "celsius"]]]],
            ]),
            ChatMessage(role: toolRole, content: "{\"temperature\": 21.5, \"sky\": \"clear\"}",
                        fields: ["tool_call_id": .string(callID), "name": "get_weather"]),
        ]
    }

    /// The context `ChatTemplate.renderChat` builds, for the oracle.
    static func chatContext(_ messages: [ChatMessage], generation: Bool, bos: String, eos: String,
                            tools: [TemplateValue]? = nil, extra: [String: TemplateValue] = [:]) -> [String: TemplateValue] {
        var context: [String: TemplateValue] = [
            "messages": .array(messages.map(\.value)), "tools": tools.map { .array($0) } ?? .none, "documents": .none,
            "add_generation_prompt": .bool(generation), "bos_token": .string(bos), "eos_token": .string(eos),
        ]
        for (key, value) in extra { context[key] = value }
        return context
    }

    /// The standard conversations (with and without a generation prompt) for one template.
    private func standardCases(_ prefix: String, _ template: String, bos: String, eos: String) -> [OracleCase] {
        let conversations: [(String, [ChatMessage])] = [
            ("system+user", Self.systemUser), ("user only", Self.userOnly), ("multi-turn", Self.multiTurn),
            ("assistant last", Self.assistantLast),
        ]
        var cases: [OracleCase] = []
        for (name, messages) in conversations {
            for generation in [true, false] {
                cases.append(OracleCase(name: "\(prefix) \(name) gen=\(generation)", template: template,
                                        context: Self.chatContext(messages, generation: generation, bos: bos, eos: eos)))
            }
        }
        return cases
    }

    // MARK: Templates

    func testSmolLM2MatchesReferencePrompt() throws {
        let template = try ChatTemplate(try Oracle.fixture("smollm2-instruct.jinja"))
        let rendered = try template.renderChat(
            messages: [ChatMessage(role: "user", content: "What is the tallest mountain in the world?")],
            addGenerationPrompt: true, bosToken: "<|im_start|>", eosToken: "<|im_end|>")
        // /work/shared/reference/README.md, "The chat prompt".
        XCTAssertEqual(rendered, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the tallest mountain in the world?<|im_end|>\n<|im_start|>assistant\n")
    }

    func testSmolLM2FixtureMatchesGGUF() throws {
        let path = "/work/shared/models/SmolLM2-135M-Instruct.Q8_0.gguf"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) not present") }
        let fromGGUF = try XCTUnwrap(try GGUFStringScanner.string(forKey: "tokenizer.chat_template", inFileAt: path))
        XCTAssertEqual(fromGGUF, try Oracle.fixture("smollm2-instruct.jinja"))
    }

    func testSmolLM2() throws {
        let template = try Oracle.fixture("smollm2-instruct.jinja")
        try Oracle.check(group: "smollm2", standardCases("smollm2", template, bos: "<|im_start|>", eos: "<|im_end|>"))
    }

    func testLlama2Chat() throws {
        let template = try Oracle.fixture("llama2-chat.jinja")
        var cases = standardCases("llama2", template, bos: "<s>", eos: "</s>")
        cases.append(OracleCase(name: "llama2 bad alternation", template: template,
                                context: Self.chatContext(Self.badAlternation, generation: true, bos: "<s>", eos: "</s>")))
        try Oracle.check(group: "llama2", cases)
    }

    func testLlama3Instruct() throws {
        let template = try Oracle.fixture("llama3-instruct.jinja")
        try Oracle.check(group: "llama3", standardCases("llama3", template, bos: "<|begin_of_text|>", eos: "<|eot_id|>"))
    }

    func testLlama31Instruct() throws {
        let template = try Oracle.fixture("llama3.1-instruct.jinja")
        let bos = "<|begin_of_text|>"
        let eos = "<|eot_id|>"
        var cases = standardCases("llama3.1", template, bos: bos, eos: eos)
        let tools = [Self.weatherTool]
        cases += [
            OracleCase(name: "llama3.1 tools in user message", template: template,
                       context: Self.chatContext(Self.systemUser, generation: true, bos: bos, eos: eos, tools: tools)),
            OracleCase(name: "llama3.1 tools in system message", template: template,
                       context: Self.chatContext(Self.systemUser, generation: true, bos: bos, eos: eos, tools: tools,
                                                 extra: ["tools_in_user_message": false, "date_string": "01 Jan 2025"])),
            OracleCase(name: "llama3.1 tool call and result", template: template,
                       context: Self.chatContext(Self.toolConversation(toolRole: "ipython"), generation: true, bos: bos,
                                                 eos: eos, tools: tools)),
            OracleCase(name: "llama3.1 tool role result", template: template,
                       context: Self.chatContext(Self.toolConversation(), generation: true, bos: bos, eos: eos,
                                                 tools: tools, extra: ["tools_in_user_message": false])),
            OracleCase(name: "llama3.1 builtin tools", template: template,
                       context: Self.chatContext(Self.systemUser, generation: true, bos: bos, eos: eos,
                                                 extra: ["builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"]])),
            OracleCase(name: "llama3.1 tools without user message", template: template,
                       context: Self.chatContext([ChatMessage(role: "system", content: "s")], generation: true, bos: bos,
                                                 eos: eos, tools: tools)),
        ]
        try Oracle.check(group: "llama3.1", cases)
    }

    func testQwen25Instruct() throws {
        let template = try Oracle.fixture("qwen2.5-instruct.jinja")
        let bos = ""
        let eos = "<|im_end|>"
        var cases = standardCases("qwen2.5", template, bos: bos, eos: eos)
        let tools = [Self.weatherTool, ["type": "function", "function": ["name": "now", "parameters": [:]]]]
        var twoResults = Self.toolConversation()
        twoResults.append(ChatMessage(role: "tool", content: "second result"))
        twoResults.append(ChatMessage(role: "assistant", content: "It is 21.5 °C and clear in Paris."))
        let callWithContent = [
            ChatMessage(role: "user", content: "Weather?"),
            ChatMessage(role: "assistant", content: "Let me check.", fields: [
                "tool_calls": [["type": "function", "function": ["name": "get_weather", "arguments": ["city": "Oslo"]]],
                               ["name": "now", "arguments": [:]]],
            ]),
        ]
        cases += [
            OracleCase(name: "qwen2.5 tools system+user", template: template,
                       context: Self.chatContext(Self.systemUser, generation: true, bos: bos, eos: eos, tools: tools)),
            OracleCase(name: "qwen2.5 tools user only", template: template,
                       context: Self.chatContext(Self.userOnly, generation: true, bos: bos, eos: eos, tools: tools)),
            OracleCase(name: "qwen2.5 tool call and result", template: template,
                       context: Self.chatContext(Self.toolConversation(), generation: true, bos: bos, eos: eos, tools: tools)),
            OracleCase(name: "qwen2.5 two tool results then answer", template: template,
                       context: Self.chatContext(twoResults, generation: false, bos: bos, eos: eos, tools: tools)),
            OracleCase(name: "qwen2.5 call with content, no tools", template: template,
                       context: Self.chatContext(callWithContent, generation: true, bos: bos, eos: eos)),
            OracleCase(name: "qwen2.5 empty tools list", template: template,
                       context: Self.chatContext(Self.userOnly, generation: true, bos: bos, eos: eos, tools: [])),
        ]
        try Oracle.check(group: "qwen2.5", cases)
    }

    func testMistralV01() throws {
        let template = try Oracle.fixture("mistral-instruct-v0.1.jinja")
        let conversations: [(String, [ChatMessage])] = [
            ("user only", Self.userOnly), ("assistant last", Self.assistantLast),
            ("multi-turn no system", Array(Self.multiTurn.dropFirst())),
            ("system rejected", Self.systemUser), ("bad alternation", Self.badAlternation),
        ]
        let cases = conversations.map { name, messages in
            OracleCase(name: "mistral0.1 \(name)", template: template,
                       context: Self.chatContext(messages, generation: true, bos: "<s>", eos: "</s>"))
        }
        try Oracle.check(group: "mistral0.1", cases)
    }

    func testMistralV03() throws {
        let template = try Oracle.fixture("mistral-instruct-v0.3.jinja")
        let bos = "<s>"
        let eos = "</s>"
        var cases = standardCases("mistral0.3", template, bos: bos, eos: eos)
        cases += [
            OracleCase(name: "mistral0.3 bad alternation", template: template,
                       context: Self.chatContext(Self.badAlternation, generation: true, bos: bos, eos: eos)),
            OracleCase(name: "mistral0.3 tools", template: template,
                       context: Self.chatContext(Self.multiTurn, generation: true, bos: bos, eos: eos, tools: [Self.weatherTool])),
            OracleCase(name: "mistral0.3 tool call and result", template: template,
                       context: Self.chatContext(Self.toolConversation(callID: "abc123XYZ"), generation: true, bos: bos,
                                                 eos: eos, tools: [Self.weatherTool])),
            OracleCase(name: "mistral0.3 bad tool call id", template: template,
                       context: Self.chatContext(Self.toolConversation(callID: "short"), generation: true, bos: bos, eos: eos)),
            OracleCase(name: "mistral0.3 unknown role", template: template,
                       context: Self.chatContext([ChatMessage(role: "user", content: "x"), ChatMessage(role: "critic", content: "y")],
                                                 generation: true, bos: bos, eos: eos)),
        ]
        try Oracle.check(group: "mistral0.3", cases)
    }

    func testQwen3() throws {
        let template = try Oracle.fixture("qwen3.jinja")
        let bos = ""
        let eos = "<|im_end|>"
        var cases = standardCases("qwen3", template, bos: bos, eos: eos)
        let tools = [Self.weatherTool]
        let thinking = Self.userOnly + [
            ChatMessage(role: "assistant", content: "<think>\nThe user greets.\n</think>\n\nHello! How can I help?"),
        ]
        let reasoningField = [
            ChatMessage(role: "user", content: "2+2?"),
            ChatMessage(role: "assistant", content: "4", fields: ["reasoning_content": "\nSimple sum.\n"]),
        ]
        let earlierThinking = [
            ChatMessage(role: "user", content: "First?"),
            ChatMessage(role: "assistant", content: "<think>old</think>One."),
            ChatMessage(role: "user", content: "Second?"),
        ]
        // Qwen3's template needs a string content on tool-calling turns ('</think>' in None fails).
        var multiStep = Self.toolConversation().map { message in
            message.content == .none ? ChatMessage(role: message.role, content: "", fields: message.fields) : message
        }
        multiStep.append(ChatMessage(role: "assistant", content: "<think>It is warm.</think>It is 21.5 °C in Paris."))
        let toolResponseAsUser = [
            ChatMessage(role: "user", content: "Check the weather."),
            ChatMessage(role: "assistant", content: "", fields: [
                "tool_calls": [["type": "function", "function": ["name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"]]],
            ]),
            ChatMessage(role: "user", content: "<tool_response>\ncold\n</tool_response>"),
        ]
        cases += [
            OracleCase(name: "qwen3 thinking in content", template: template,
                       context: Self.chatContext(thinking, generation: false, bos: bos, eos: eos)),
            OracleCase(name: "qwen3 reasoning_content field", template: template,
                       context: Self.chatContext(reasoningField, generation: false, bos: bos, eos: eos)),
            OracleCase(name: "qwen3 thinking before the last query dropped", template: template,
                       context: Self.chatContext(earlierThinking, generation: true, bos: bos, eos: eos)),
            OracleCase(name: "qwen3 enable_thinking false", template: template,
                       context: Self.chatContext(Self.systemUser, generation: true, bos: bos, eos: eos,
                                                 extra: ["enable_thinking": false])),
            OracleCase(name: "qwen3 enable_thinking true", template: template,
                       context: Self.chatContext(Self.systemUser, generation: true, bos: bos, eos: eos,
                                                 extra: ["enable_thinking": true])),
            OracleCase(name: "qwen3 tools system+user", template: template,
                       context: Self.chatContext(Self.systemUser, generation: true, bos: bos, eos: eos, tools: tools)),
            OracleCase(name: "qwen3 tool call, result, answer", template: template,
                       context: Self.chatContext(multiStep, generation: false, bos: bos, eos: eos, tools: tools)),
            OracleCase(name: "qwen3 tool response as user message", template: template,
                       context: Self.chatContext(toolResponseAsUser, generation: true, bos: bos, eos: eos, tools: tools)),
            OracleCase(name: "qwen3 tool call without content fails", template: template,
                       context: Self.chatContext(Self.toolConversation(), generation: true, bos: bos, eos: eos, tools: tools)),
        ]
        try Oracle.check(group: "qwen3", cases)
    }

    func testGemma3() throws {
        let template = try Oracle.fixture("gemma3-it.jinja")
        let bos = "<bos>"
        let eos = "<eos>"
        var cases = standardCases("gemma3", template, bos: bos, eos: eos)
        let multimodal = [
            ChatMessage(role: "system", content: [["type": "text", "text": "Describe images."]]),
            ChatMessage(role: "user", content: [["type": "text", "text": "look "], ["type": "image"], ["type": "text", "text": " here "]]),
        ]
        cases += [
            OracleCase(name: "gemma3 bad alternation", template: template,
                       context: Self.chatContext(Self.badAlternation, generation: true, bos: bos, eos: eos)),
            OracleCase(name: "gemma3 system only", template: template,
                       context: Self.chatContext([ChatMessage(role: "system", content: "s")], generation: true, bos: bos, eos: eos)),
            OracleCase(name: "gemma3 multimodal content", template: template,
                       context: Self.chatContext(multimodal, generation: true, bos: bos, eos: eos)),
            OracleCase(name: "gemma3 invalid content type", template: template,
                       context: Self.chatContext([ChatMessage(role: "user", content: 5)], generation: true, bos: bos, eos: eos)),
        ]
        try Oracle.check(group: "gemma3", cases)
    }

    func testPhi3Mini() throws {
        let template = try Oracle.fixture("phi3-mini-4k-instruct.jinja")
        var cases = standardCases("phi3", template, bos: "<s>", eos: "<|endoftext|>")
        cases.append(OracleCase(name: "phi3 tool call without content fails", template: template,
                                context: Self.chatContext(Self.toolConversation(), generation: true, bos: "<s>", eos: "<|endoftext|>")))
        try Oracle.check(group: "phi3", cases)
    }

    func testDeepSeekR1() throws {
        let template = try Oracle.fixture("deepseek-r1.jinja")
        let bos = "<｜begin▁of▁sentence｜>"
        let eos = "<｜end▁of▁sentence｜>"
        var cases = standardCases("deepseek-r1", template, bos: bos, eos: eos)
        let thinking = Self.userOnly + [ChatMessage(role: "assistant", content: "<think>\nhmm\n</think>\n\nHi!"),
                                        ChatMessage(role: "user", content: "Bye")]
        let call: (String, String) -> TemplateValue = { name, arguments in
            ["type": "function", "function": ["name": .string(name), "arguments": .string(arguments)]]
        }
        let tools = [
            ChatMessage(role: "system", content: "Use tools."),
            ChatMessage(role: "user", content: "Weather in Paris and Oslo?"),
            ChatMessage(role: "assistant", content: .none, fields: [
                "tool_calls": [call("get_weather", "{\"city\": \"Paris\"}"), call("get_weather", "{\"city\": \"Oslo\"}")],
            ]),
            ChatMessage(role: "tool", content: "21 C"),
            ChatMessage(role: "tool", content: "3 C"),
            ChatMessage(role: "assistant", content: "Paris is warmer."),
        ]
        cases += [
            OracleCase(name: "deepseek-r1 thinking stripped", template: template,
                       context: Self.chatContext(thinking, generation: true, bos: bos, eos: eos)),
            OracleCase(name: "deepseek-r1 tool calls and outputs", template: template,
                       context: Self.chatContext(tools, generation: true, bos: bos, eos: eos)),
            OracleCase(name: "deepseek-r1 tool output last", template: template,
                       context: Self.chatContext(Array(tools.prefix(5)), generation: true, bos: bos, eos: eos)),
            OracleCase(name: "deepseek-r1 object arguments rejected", template: template,
                       context: Self.chatContext(Self.toolConversation(), generation: true, bos: bos, eos: eos)),
        ]
        try Oracle.check(group: "deepseek-r1", cases)
    }

    /// `renderChat` passes exactly the variables the oracle cases above were given.
    func testRenderChatBuildsHuggingFaceContext() throws {
        let source = try Oracle.fixture("llama3.1-instruct.jinja")
        let template = try ChatTemplate(source)
        let direct = try template.render(
            Self.chatContext(Self.toolConversation(), generation: true, bos: "<|begin_of_text|>", eos: "<|eot_id|>",
                             tools: [Self.weatherTool], extra: ["date_string": "02 Feb 2025"]))
        let convenience = try template.renderChat(
            messages: Self.toolConversation(), addGenerationPrompt: true, bosToken: "<|begin_of_text|>",
            eosToken: "<|eot_id|>", tools: [Self.weatherTool], extra: ["date_string": "02 Feb 2025"])
        XCTAssertEqual(direct, convenience)
        XCTAssertTrue(convenience.contains("Today Date: 02 Feb 2025"))
    }

    func testRaiseExceptionMessageSurfaces() throws {
        let template = try ChatTemplate(try Oracle.fixture("mistral-instruct-v0.1.jinja"))
        XCTAssertThrowsError(try template.renderChat(messages: Self.badAlternation, addGenerationPrompt: true,
                                                     bosToken: "<s>", eosToken: "</s>")) { error in
            guard case TemplateError.raised(let message, let at) = error else {
                return XCTFail("expected .raised, got \(error)")
            }
            XCTAssertEqual(message, "Conversation roles must alternate user/assistant/user/assistant/...")
            XCTAssertEqual(at.line, 1)
        }
    }
}

/// Reads one string value from a GGUF file's metadata (GGUF v2/v3 little-endian layout), just
/// enough to compare the SmolLM2 fixture with the model file without depending on EdgeFormats.
enum GGUFStringScanner {
    static func string(forKey wanted: String, inFileAt path: String) throws -> String? {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        var offset = 0
        func read<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard offset + MemoryLayout<T>.size <= data.count else { return nil }
            var value: T = 0
            _ = withUnsafeMutableBytes(of: &value) { data.copyBytes(to: $0, from: offset..<(offset + MemoryLayout<T>.size)) }
            offset += MemoryLayout<T>.size
            return T(littleEndian: value)
        }
        func readString() -> String? {
            guard let n = read(UInt64.self), offset + Int(n) <= data.count else { return nil }
            defer { offset += Int(n) }
            return String(decoding: data[offset..<(offset + Int(n))], as: UTF8.self)
        }
        // Byte widths of the fixed-size GGUF value types (gguf.md: uint8 ... float64).
        let widths: [UInt32: Int] = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8]
        func skip(_ type: UInt32) -> Bool {
            if let w = widths[type] {
                offset += w
                return true
            }
            if type == 8 { return readString() != nil }
            if type == 9, let element = read(UInt32.self), let count = read(UInt64.self) {
                for _ in 0..<count where !skip(element) { return false }
                return true
            }
            return false
        }
        guard read(UInt32.self) == 0x4655_4747, read(UInt32.self) != nil, read(UInt64.self) != nil,
            let kvCount = read(UInt64.self)
        else { return nil }
        for _ in 0..<kvCount {
            guard let key = readString(), let type = read(UInt32.self) else { return nil }
            if key == wanted, type == 8 { return readString() }
            guard skip(type) else { return nil }
        }
        return nil
    }
}
