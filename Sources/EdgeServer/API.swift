import EdgeRuntime
import EdgeTemplate
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The endpoints.
struct API: Sendable {
    let options: ServerOptions
    let state: ModelState
    let metrics: ServerMetrics
    let logger: Logger
    let started = Int(Date().timeIntervalSince1970)

    func register(on router: Router<ServerContext>) {
        router.get("/health") { _, _ -> Response in
            switch state.current {
            case .ready: return json(["status": "ok"])
            case .loading: return json(["status": "loading model"], status: .serviceUnavailable)
            case let .failed(m): return json(["status": "error", "error": m], status: .serviceUnavailable)
            }
        }
        router.get("/v1/models") { _, _ -> Response in
            json(["object": "list",
                  "data": [["id": options.modelID, "object": "model", "created": started, "owned_by": "edgert"]]])
        }
        router.get("/metrics") { _, _ -> Response in
            if case let .ready(s) = state.current {
                let load = s.load
                metrics.running.set(Double(load.running))
                metrics.queued.set(Double(load.queued))
            }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        router.post("/tokenize") { request, context -> Response in
            let scheduler = try state.scheduler()
            guard case let .object(o) = try JSONValue.parse(try await body(request)) else {
                throw APIError.badRequest("the body must be a JSON object", param: nil)
            }
            var fields = JSONFields(o)
            guard let content = try fields.string("content") else { throw APIError.badRequest("'content' is required", param: "content") }
            let addSpecial = try fields.bool("add_special") ?? false
            let parseSpecial = try fields.bool("parse_special") ?? true
            if let extra = fields.remaining.first { throw APIError.unsupported(extra, reason: "not a field of /tokenize") }
            let ids = scheduler.engine.tokenizer.encode(content, addSpecial: addSpecial, parseSpecial: parseSpecial)
            return json(["tokens": ids.map(Int.init)])
        }
        router.post("/detokenize") { request, context -> Response in
            let scheduler = try state.scheduler()
            guard case let .object(o) = try JSONValue.parse(try await body(request)) else {
                throw APIError.badRequest("the body must be a JSON object", param: nil)
            }
            var fields = JSONFields(o)
            guard let raw = fields.take("tokens"), case let .array(list) = raw else {
                throw APIError.badRequest("'tokens' (a list of token ids) is required", param: "tokens")
            }
            if let extra = fields.remaining.first { throw APIError.unsupported(extra, reason: "not a field of /detokenize") }
            let vocab = scheduler.engine.tokenizer.vocabularySize
            var ids: [Int32] = []
            for item in list {
                guard let v = item.intValue, v >= 0, v < vocab else {
                    throw APIError.badRequest("token \(item) is not an id in 0..<\(vocab)", param: "tokens")
                }
                ids.append(Int32(v))
            }
            let bytes = scheduler.engine.tokenizer.detokenize(ids, removeSpecial: false, unparseSpecial: true)
            return json(["content": String(decoding: bytes, as: UTF8.self)])
        }
        router.post("/v1/chat/completions") { request, context -> Response in
            try await complete(request, context: context, chat: true)
        }
        router.post("/v1/completions") { request, context -> Response in
            try await complete(request, context: context, chat: false)
        }
    }

    private func body(_ request: Request) async throws -> Data {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: options.maxBodyBytes)
            return Data(buffer: buffer)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(limit: options.maxBodyBytes)
        }
    }

    // MARK: Completions

    private func complete(_ request: Request, context: ServerContext, chat: Bool) async throws -> Response {
        let arrived = Date()
        let scheduler = try state.scheduler()
        let parsed = try CompletionBody.parse(try await body(request), chat: chat)
        let engine = scheduler.engine
        let text: String
        if let messages = parsed.messages {
            do {
                text = try engine.chatPrompt(messages: messages.map { ChatMessage(role: $0.role, content: $0.content) })
            } catch {
                throw APIError.badRequest("the chat template failed on these messages: \(error)", param: "messages")
            }
        } else {
            text = parsed.prompt ?? ""
        }
        let prompt = chat ? Engine.chatTokens(text, tokenizer: engine.tokenizer)
                          : engine.tokenizer.encode(text, addSpecial: true, parseSpecial: true)
        guard !prompt.isEmpty else { throw APIError.badRequest("the prompt is empty", param: chat ? "messages" : "prompt") }
        let contextLength = engine.contextLength
        let maxTokens = parsed.maxTokens ?? max(contextLength - prompt.count, 0)
        guard prompt.count < contextLength, maxTokens <= contextLength - prompt.count else {
            throw APIError.contextExceeded(promptTokens: prompt.count, maxTokens: maxTokens, contextLength: contextLength)
        }
        var sampling = SamplingParameters()
        if let t = parsed.temperature { sampling.temperature = Float(t) }
        if let p = parsed.topP { sampling.topP = Float(p) }
        if let k = parsed.topK { sampling.topK = k }
        if let m = parsed.minP { sampling.minP = Float(m) }
        if let r = parsed.repeatPenalty { sampling.repetitionPenalty = Float(r) }
        if let v = parsed.presencePenalty { sampling.presencePenalty = Float(v) }
        if let v = parsed.frequencyPenalty { sampling.frequencyPenalty = Float(v) }
        sampling.seed = parsed.seed ?? UInt64.random(in: 0...UInt64.max)
        let generation: ScheduledGeneration
        do {
            generation = try scheduler.schedule(GenerationRequest(prompt: prompt, maxTokens: maxTokens, sampling: sampling,
                                                                  stop: parsed.stop, timeLimit: options.requestTimeLimit))
        } catch let error as SchedulerError {
            metrics.rejected.increment()
            switch error {
            case .queueFull: throw APIError.unavailable("\(error)", retryAfter: 1)
            case .closed: throw APIError.unavailable("\(error)", retryAfter: nil)
            }
        } catch let RuntimeError.badParameter(name, reason) {
            let fields = ["top-k": "top_k", "top-p": "top_p", "min-p": "min_p", "repetition penalty": "repeat_penalty",
                          "presence penalty": "presence_penalty", "frequency penalty": "frequency_penalty"]
            throw APIError.badRequest("invalid \(name): \(reason)", param: fields[name] ?? name)
        } catch let RuntimeError.promptTooLong(p, m, c) {
            throw APIError.contextExceeded(promptTokens: p, maxTokens: m, contextLength: c)
        }
        let reply = Reply(chat: chat, id: (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.lowercased(),
                          created: Int(arrived.timeIntervalSince1970), model: options.modelID)
        let channel = context.channel
        if parsed.stream {
            let includeUsage = parsed.includeUsage
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody { writer in
                                try await stream(generation, reply: reply, includeUsage: includeUsage, channel: channel, writer: &writer)
                            })
        }
        return try await whole(generation, reply: reply, channel: channel)
    }

    /// Cancels `generation` when the client of `channel` goes away; stop it with the returned closure.
    private func watch(_ generation: ScheduledGeneration, channel: any Channel) async -> @Sendable () -> Void {
        guard let (watch, handler) = await DisconnectWatch.start(on: channel) else {
            generation.cancel()
            return {}
        }
        let task = Task {
            await watch.closed()
            generation.cancel()
        }
        return {
            task.cancel()
            DisconnectWatch.stop(handler, on: channel)
            // Ends the watching task (cancelling the finished generation changes nothing).
            watch.release()
        }
    }

    private func whole(_ generation: ScheduledGeneration, reply: Reply, channel: any Channel) async throws -> Response {
        let stopWatching = await watch(generation, channel: channel)
        defer { stopWatching() }
        var text = "", tokens = 0
        var stats: GenerationStats?
        do {
            for try await event in generation.events {
                switch event {
                case let .token(id, t):
                    text += t
                    if id >= 0 { tokens += 1 }
                case let .finished(s): stats = s
                }
            }
        } catch {
            throw APIError.internalError("generation failed: \(error)")
        }
        guard let stats, stats.stopReason != .cancelled else {
            metrics.cancelled.increment()
            throw APIError.unavailable("the request was cancelled", retryAfter: nil)
        }
        record(stats, completionTokens: tokens)
        let finish = Reply.finishReason(stats.stopReason)
        let choice: [String: Any] = reply.chat
            ? ["index": 0, "message": ["role": "assistant", "content": text], "finish_reason": finish, "logprobs": NSNull()]
            : ["index": 0, "text": text, "finish_reason": finish, "logprobs": NSNull()]
        var object = reply.envelope(chunk: false)
        object["choices"] = [choice]
        object["usage"] = reply.usage(stats, completionTokens: tokens)
        return json(object)
    }

    private func stream(_ generation: ScheduledGeneration, reply: Reply, includeUsage: Bool, channel: any Channel,
                        writer: inout any ResponseBodyWriter) async throws {
        let stopWatching = await watch(generation, channel: channel)
        defer { stopWatching() }
        var tokens = 0
        var finished = false
        do {
            // The role first, at once: the client sees the response start before the prompt is evaluated.
            if reply.chat { try await writer.write(reply.chunk(delta: ["role": "assistant", "content": ""], finish: nil)) }
            for try await event in generation.events {
                switch event {
                case let .token(id, text):
                    if id >= 0 { tokens += 1 }
                    guard !text.isEmpty else { continue }
                    try await writer.write(reply.chunk(delta: reply.chat ? ["content": text] : ["text": text], finish: nil))
                case let .finished(stats):
                    finished = true
                    if stats.stopReason == .cancelled {
                        metrics.cancelled.increment()
                        try await writer.finish(nil)
                        return
                    }
                    record(stats, completionTokens: tokens)
                    try await writer.write(reply.chunk(delta: reply.chat ? [:] : ["text": ""], finish: Reply.finishReason(stats.stopReason)))
                    if includeUsage {
                        var object = reply.envelope(chunk: true)
                        object["choices"] = [Any]()
                        object["usage"] = reply.usage(stats, completionTokens: tokens)
                        try await writer.write(Reply.event(object))
                    }
                }
            }
            guard finished else {
                // Cancelled while it waited for a slot: the client is gone.
                metrics.cancelled.increment()
                try await writer.finish(nil)
                return
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        } catch {
            // The client went away (a write failed) or generation failed: end the request.
            generation.cancel()
            if !(error is CancellationError) { logger.debug("stream ended: \(error)") }
            throw error
        }
    }

    private func record(_ stats: GenerationStats, completionTokens: Int) {
        metrics.requests.increment()
        metrics.promptTokens.increment(by: Int64(stats.promptTokens))
        metrics.cachedPromptTokens.increment(by: Int64(stats.cachedPromptTokens))
        metrics.generatedTokens.increment(by: Int64(completionTokens))
        if stats.generatedTokens > 0 { metrics.timeToFirstToken.record(stats.timeToFirstTokenSeconds) }
        if stats.evaluatedGenerationTokens > 0 {
            metrics.timePerToken.record(stats.generationSeconds / Double(stats.evaluatedGenerationTokens))
        }
    }
}

/// The parts every response and chunk of one request share.
struct Reply: Sendable {
    let chat: Bool
    let id: String
    let created: Int
    let model: String

    static func finishReason(_ reason: StopReason) -> String {
        switch reason {
        case .endOfGeneration, .stopString: "stop"
        case .maxTokens, .timeLimit, .cancelled, .shutdown: "length"
        }
    }

    func envelope(chunk: Bool) -> [String: Any] {
        ["id": id, "object": chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion",
         "created": created, "model": model, "system_fingerprint": "edgert"]
    }

    func usage(_ stats: GenerationStats, completionTokens: Int) -> [String: Any] {
        ["prompt_tokens": stats.promptTokens, "completion_tokens": completionTokens,
         "total_tokens": stats.promptTokens + completionTokens,
         "prompt_tokens_details": ["cached_tokens": stats.cachedPromptTokens]]
    }

    /// One server-sent event with a choice carrying `delta` (chat) or the text (completions).
    func chunk(delta: [String: Any], finish: String?) -> ByteBuffer {
        var object = envelope(chunk: true)
        var choice: [String: Any] = ["index": 0, "finish_reason": finish ?? NSNull(), "logprobs": NSNull()]
        if chat { choice["delta"] = delta } else { choice["text"] = delta["text"] ?? "" }
        object["choices"] = [choice]
        return Self.event(object)
    }

    static func event(_ object: [String: Any]) -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(serialize(object))
        buffer.writeString("\n\n")
        return buffer
    }
}

func serialize(_ object: Any) -> Data {
    (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
}

func json(_ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    var h = headers
    h[.contentType] = "application/json"
    return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(data: serialize(object))))
}
