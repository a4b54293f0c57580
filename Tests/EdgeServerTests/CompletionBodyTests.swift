import EdgeServer
import Foundation
import XCTest

/// The request parser: every OpenAI field honoured or refused by name, strict JSON types, and the
/// chat content forms clients send. (The server itself is driven over loopback by the `openai`
/// client in Tests/server.)
final class CompletionBodyTests: XCTestCase {
    private func chat(_ json: String) throws(APIError) -> CompletionBody {
        try CompletionBody.parse(Data(json.utf8), chat: true)
    }

    private func assertRefused(_ json: String, param: String?, chat: Bool = true, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try CompletionBody.parse(Data(json.utf8), chat: chat)
            XCTFail("accepted: \(json)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.status, .badRequest, "\(error)", file: file, line: line)
            if case let .unsupported(name, _) = error {
                XCTAssertEqual(name, param, file: file, line: line)
            } else if case let .badRequest(_, p) = error {
                XCTAssertEqual(p, param, "\(error)", file: file, line: line)
            } else {
                XCTFail("\(error)", file: file, line: line)
            }
        }
    }

    func testAFullChatRequestIsRead() throws {
        let body = try chat("""
        {"model": "m", "messages": [{"role": "developer", "content": "Be brief."},
                                    {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
                                    {"role": "assistant", "content": null}],
         "max_completion_tokens": 7, "temperature": 0, "top_p": 0.9, "top_k": 20, "min_p": 0.1, "seed": 42,
         "stop": "END", "stream": true, "stream_options": {"include_usage": true}, "n": 1, "logprobs": false,
         "tools": [], "tool_choice": "none", "response_format": {"type": "text"}, "presence_penalty": 0, "user": "u1"}
        """)
        XCTAssertEqual(body.messages, [.init(role: "system", content: "Be brief."), .init(role: "user", content: "Hi there"),
                                       .init(role: "assistant", content: "")])
        XCTAssertEqual(body.maxTokens, 7)
        XCTAssertEqual(body.temperature, 0)
        XCTAssertEqual(body.topK, 20)
        XCTAssertEqual(body.seed, 42)
        XCTAssertEqual(body.stop, ["END"])
        XCTAssertTrue(body.stream)
        XCTAssertTrue(body.includeUsage)
    }

    func testFieldsThatCannotBeHonouredAreNamed() {
        let base = #""messages": [{"role": "user", "content": "x"}]"#
        assertRefused("{\(base), \"n\": 2}", param: "n")
        assertRefused("{\(base), \"tools\": [{\"type\": \"function\"}]}", param: "tools")
        assertRefused("{\(base), \"response_format\": {\"type\": \"json_object\"}}", param: "response_format")
        assertRefused("{\(base), \"logprobs\": true}", param: "logprobs")
        assertRefused("{\(base), \"top_logprobs\": 3}", param: "top_logprobs")
        assertRefused("{\(base), \"logit_bias\": {\"5\": 10}}", param: "logit_bias")
        assertRefused("{\(base), \"frequency_penalty\": \"high\"}", param: "frequency_penalty")
        assertRefused("{\(base), \"mirostat\": 2}", param: "mirostat")
        assertRefused("{\(base), \"stream_options\": {\"include_usage\": true, \"x\": 1}}", param: "stream_options.x")
        assertRefused(#"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}]}"#,
                      param: "messages[0].content[0].type")
        assertRefused(#"{"messages": [{"role": "tool", "content": "x"}]}"#, param: "messages[0].role")
        assertRefused(#"{"prompt": ["a", "b"]}"#, param: "prompt", chat: false)
        assertRefused(#"{"prompt": "a", "echo": true}"#, param: "echo", chat: false)
    }

    func testMalformedBodiesAre400s() {
        assertRefused("{not json", param: nil)
        assertRefused("[1, 2]", param: nil)
        assertRefused("", param: nil)
        assertRefused(#"{"messages": []}"#, param: "messages")
        assertRefused(#"{"model": "m"}"#, param: "messages")
        assertRefused(#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": "5"}"#, param: "max_tokens")
        assertRefused(#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}"#, param: "max_tokens")
        assertRefused(#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5}"#, param: "max_tokens")
        assertRefused(#"{"messages": [{"role": "user", "content": "x"}], "stream": 1}"#, param: "stream")
        assertRefused(#"{"messages": [{"role": "user", "content": "x"}], "temperature": true}"#, param: "temperature")
        assertRefused(#"{"messages": [{"role": "user", "content": "x"}], "stop": ["a", 3]}"#, param: "stop")
        assertRefused(#"{"messages": [{"role": "user", "content": "x"}], "stop": ""}"#, param: "stop")
        assertRefused(#"{"prompt": 5}"#, param: "prompt", chat: false)
    }

    func testErrorsHaveOpenAIsShape() throws {
        let error = APIError.contextExceeded(promptTokens: 3000, maxTokens: 10, contextLength: 2048)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: error.body) as? [String: Any])
        let inner = try XCTUnwrap(object["error"] as? [String: Any])
        XCTAssertEqual(inner["type"] as? String, "invalid_request_error")
        XCTAssertEqual(inner["code"] as? String, "context_length_exceeded")
        let message = try XCTUnwrap(inner["message"] as? String)
        XCTAssert(message.contains("3000") && message.contains("2048"), message)
        XCTAssertEqual(APIError.unavailable("busy", retryAfter: 1).status, .serviceUnavailable)
        XCTAssertEqual(APIError.unauthorized.status, .unauthorized)
    }
}
