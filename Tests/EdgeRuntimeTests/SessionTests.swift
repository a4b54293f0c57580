import XCTest
import EdgeRuntime
import EdgeFormats
import EdgeTemplate
import Foundation

/// The library surface: load, generate as a stream, cancel, typed errors.
final class SessionTests: XCTestCase {
    func testCancellingTheConsumerStopsGeneration() async throws {
        let engine = try Engine(modelPath: try Shared.model("SmolLM2-135M-Instruct.Q8_0.gguf"),
                                options: EngineOptions(threads: 2, contextLength: 512))
        let session = try engine.makeSession()
        let prompt = engine.tokenizer.encode("Once upon a time", addSpecial: true, parseSpecial: true)
        var sampling = SamplingParameters()
        sampling.temperature = 1.0
        sampling.minP = 0
        sampling.topK = 0
        sampling.topP = 1
        let consumer = Task {
            var received = 0
            for try await event in session.generate(prompt: prompt, maxTokens: 400, sampling: sampling) {
                if case .token = event { received += 1 }
                if received == 3 { break }
            }
            return received
        }
        let received = try await consumer.value
        XCTAssertEqual(received, 3)
        // The producer notices the cancellation before its next token; give it time to stop.
        try await Task.sleep(nanoseconds: 300_000_000)
        let after = await session.history.count
        try await Task.sleep(nanoseconds: 300_000_000)
        let later = await session.history.count
        XCTAssertEqual(after, later, "generation went on after the stream was dropped")
        XCTAssertLessThan(later, prompt.count + 20, "generation was not stopped early")
    }

    func testOverlongPromptFailsBeforeAnyWork() async throws {
        let engine = try Engine(modelPath: try Shared.model("aidreams260K.F32.gguf"),
                                options: EngineOptions(threads: 1, contextLength: 16))
        let session = try engine.makeSession()
        let prompt = engine.tokenizer.encode("Once upon a time there was a little girl", addSpecial: true, parseSpecial: false)
        do {
            for try await _ in session.generate(prompt: prompt, maxTokens: 32) {}
            XCTFail("expected promptTooLong")
        } catch let e as RuntimeError {
            XCTAssertEqual(e, .promptTooLong(promptTokens: prompt.count, requestedTokens: 32, contextLength: 16))
        }
        let evaluated = await session.history.count
        XCTAssertEqual(evaluated, 0, "nothing may be evaluated before the length check")
    }

    /// Greedy generation through the stream yields the reference's ids for the F32 model, and the
    /// streamed text is the concatenation of the pieces.
    func testGreedyStreamMatchesReference() async throws {
        let entry = try GreedyReferenceTests.entries("aidreams260K.F32")[0]
        let engine = try Engine(modelPath: try Shared.model("aidreams260K.F32.gguf"), options: EngineOptions(threads: 2))
        let session = try engine.makeSession()
        var ids: [Int32] = [], text = ""
        var stats: GenerationStats?
        for try await event in session.generate(prompt: entry.promptIDs, maxTokens: 24) {
            switch event {
            case let .token(id, piece):
                if id >= 0 { ids.append(id) }
                text += piece
            case let .finished(s): stats = s
            }
        }
        XCTAssertEqual(ids, Array(entry.mainIDs.prefix(ids.count)))
        XCTAssertEqual(ids.count, min(24, entry.mainIDs.count))
        let pieces = ids.flatMap { engine.tokenizer.piece($0, renderSpecial: false) }
        XCTAssertEqual(Array(text.utf8), Array(String(decoding: pieces, as: UTF8.self).utf8))
        XCTAssertEqual(stats?.promptTokens, entry.promptIDs.count)
        XCTAssertNotNil(stats?.peakResidentBytes)
    }
}

/// A chat template edgert cannot parse must not stop the model from running raw prompts.
final class ChatTemplateLoadingTests: XCTestCase {
    func testUnsupportedTemplateFailsOnlyWhenChatIsAsked() async throws {
        let source = try GGUFFile(path: try Shared.model("aidreams260K.F32.gguf"))
        var writer = try GGUFWriter()
        for key in source.metadataKeys where key != "general.alignment" && key != "tokenizer.chat_template" {
            try writer.addMetadata(key, source.metadata[key]!)
        }
        try writer.addMetadata("tokenizer.chat_template", .string("{% raw %}{{ messages }}{% endraw %}"))
        for t in source.tensors {
            try writer.addTensor(name: t.name, type: t.type, dims: t.dims, data: Array(source.data(of: t)))
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-template-\(getpid()).gguf").path
        try writer.write(toFile: path)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let engine = try Engine(modelPath: path, options: EngineOptions(threads: 1))
        XCTAssertNil(engine.chatTemplate)
        XCTAssertThrowsError(try engine.chatPrompt(user: "hi")) { error in
            XCTAssertTrue(error is TemplateError, "expected the template's own error, got \(error)")
        }
        let session = try engine.makeSession()
        let prompt = engine.tokenizer.encode("Once upon a time", addSpecial: true, parseSpecial: false)
        var tokens = 0
        for try await event in session.generate(prompt: prompt, maxTokens: 4) {
            if case .token = event { tokens += 1 }
        }
        XCTAssertGreaterThan(tokens, 0)
    }
}
