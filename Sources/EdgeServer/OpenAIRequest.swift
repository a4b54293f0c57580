import Foundation

/// The body of `POST /v1/chat/completions` or `POST /v1/completions`, as OpenAI's API names its
/// fields. Every field of OpenAI's request is either honoured or refused by name
/// (``APIError/unsupported(_:reason:)``); a field OpenAI does not define is refused too, so that no
/// option is ever silently ignored.
public struct CompletionBody: Sendable {
    public var model: String?
    /// Chat: the conversation.
    public var messages: [Message]?
    /// Completions: the prompt text.
    public var prompt: String?
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var repeatPenalty: Double?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    public var seed: UInt64?
    public var stop: [String] = []
    public var stream = false
    public var includeUsage = false

    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String

        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// Fields OpenAI defines that change nothing here, or that are honoured at their one value.
    private static let harmless: Set<String> = ["user", "metadata", "store", "service_level", "service_tier", "parallel_tool_calls"]

    /// Parses `data` for the chat endpoint (`chat`) or the completions endpoint.
    public static func parse(_ data: Data, chat: Bool) throws(APIError) -> CompletionBody {
        guard case let .object(object) = try JSONValue.parse(data) else {
            throw .badRequest("the body must be a JSON object", param: nil)
        }
        var body = CompletionBody()
        var fields = JSONFields(object)
        body.model = try fields.string("model")
        if chat {
            guard let raw = fields.take("messages") else { throw .badRequest("'messages' is required", param: "messages") }
            body.messages = try Self.messages(raw)
            if let n = try fields.int("max_completion_tokens") { body.maxTokens = n }
        } else {
            guard let raw = fields.take("prompt") else { throw .badRequest("'prompt' is required", param: "prompt") }
            if let s = raw.string {
                body.prompt = s
            } else if case let .array(a) = raw, a.count == 1, let s = a[0].string {
                body.prompt = s
            } else if case .array = raw {
                throw .unsupported("prompt", reason: "a list of prompts or of token ids is not supported; send one string")
            } else {
                throw .badRequest("'prompt' must be a string", param: "prompt")
            }
            if let echo = try fields.bool("echo"), echo { throw .unsupported("echo", reason: "echoing the prompt is not supported") }
            if let s = try fields.string("suffix"), !s.isEmpty { throw .unsupported("suffix", reason: "insertion (suffix) is not supported") }
            if let b = try fields.int("best_of"), b != 1 { throw .unsupported("best_of", reason: "only best_of = 1 is supported") }
            if let lp = fields.take("logprobs"), lp.intValue != 0 {
                throw .unsupported("logprobs", reason: "log probabilities are not returned")
            }
        }
        if let n = try fields.int("max_tokens") { body.maxTokens = n }
        if let m = body.maxTokens, m < 1 { throw .badRequest("'max_tokens' must be at least 1 (got \(m))", param: "max_tokens") }
        body.temperature = try fields.double("temperature")
        body.topP = try fields.double("top_p")
        body.topK = try fields.int("top_k")
        body.minP = try fields.double("min_p")
        body.repeatPenalty = try fields.double("repeat_penalty")
        body.presencePenalty = try fields.double("presence_penalty")
        body.frequencyPenalty = try fields.double("frequency_penalty")
        if let seed = fields.take("seed") {
            guard let v = seed.intValue else { throw .badRequest("'seed' must be an integer", param: "seed") }
            body.seed = UInt64(bitPattern: v)
        }
        if let stop = fields.take("stop") {
            if let s = stop.string {
                body.stop = [s]
            } else if case let .array(list) = stop, list.allSatisfy({ $0.string != nil }) {
                body.stop = list.compactMap(\.string)
                if body.stop.count > 16 { throw .badRequest("at most 16 stop strings (got \(body.stop.count))", param: "stop") }
            } else {
                throw .badRequest("'stop' must be a string or a list of strings", param: "stop")
            }
            if body.stop.contains("") { throw .badRequest("a stop string is empty", param: "stop") }
        }
        body.stream = try fields.bool("stream") ?? false
        if let options = fields.take("stream_options") {
            guard case let .object(o) = options else { throw .badRequest("'stream_options' must be an object", param: "stream_options") }
            var inner = JSONFields(o)
            body.includeUsage = try inner.bool("include_usage") ?? false
            if let extra = inner.remaining.first { throw .unsupported("stream_options.\(extra)", reason: "not a field this server knows") }
        }
        // Refused unless at the value that asks for nothing.
        if let n = try fields.int("n"), n != 1 { throw .unsupported("n", reason: "only one choice per request (n = 1) is supported") }
        if chat {
            if let lp = try fields.bool("logprobs"), lp { throw .unsupported("logprobs", reason: "log probabilities are not returned") }
            if let tools = fields.take("tools"), tools != .array([]) {
                throw .unsupported("tools", reason: "tool calling is not supported")
            }
            if let choice = fields.take("tool_choice"), choice.string != "none" {
                throw .unsupported("tool_choice", reason: "tool calling is not supported")
            }
            for name in ["functions", "function_call", "audio", "modalities", "prediction", "web_search_options", "reasoning_effort"] {
                if fields.take(name) != nil { throw .unsupported(name, reason: "not supported by this server") }
            }
            if let format = fields.take("response_format") {
                guard case let .object(f) = format, f["type"]?.string == "text", f.count == 1 else {
                    throw .unsupported("response_format", reason: "only {\"type\": \"text\"} is supported (no JSON mode or schema)")
                }
            }
        }
        if let lp = try fields.int("top_logprobs"), lp != 0 { throw .unsupported("top_logprobs", reason: "log probabilities are not returned") }
        if let bias = fields.take("logit_bias"), bias != .object([:]) {
            throw .unsupported("logit_bias", reason: "logit biases are not supported")
        }
        for name in fields.remaining where !Self.harmless.contains(name) {
            throw .unsupported(name, reason: "not a field this server knows")
        }
        return body
    }

    private static func messages(_ raw: JSONValue) throws(APIError) -> [Message] {
        guard case let .array(list) = raw, !list.isEmpty else { throw .badRequest("'messages' must be a non-empty list", param: "messages") }
        var out: [Message] = []
        for (i, item) in list.enumerated() {
            guard case let .object(m) = item, let role = m["role"]?.string else {
                throw .badRequest("messages[\(i)] must be an object with a 'role'", param: "messages")
            }
            guard ["system", "developer", "user", "assistant"].contains(role) else {
                throw .unsupported("messages[\(i)].role", reason: "role '\(role)' is not supported (system, developer, user, assistant)")
            }
            var text = ""
            switch m["content"] ?? .null {
            case let .string(s): text = s
            case let .array(parts):
                for (j, part) in parts.enumerated() {
                    guard case let .object(p) = part, let type = p["type"]?.string else {
                        throw .badRequest("messages[\(i)].content[\(j)] must be an object with a 'type'", param: "messages")
                    }
                    guard type == "text", let t = p["text"]?.string else {
                        throw .unsupported("messages[\(i)].content[\(j)].type", reason: "content of type '\(type)' is not supported (text only)")
                    }
                    text += t
                }
            case .null:
                if let calls = m["tool_calls"], !calls.isNull { throw .unsupported("messages[\(i)].tool_calls", reason: "tool calling is not supported") }
            default:
                throw .badRequest("messages[\(i)].content must be a string or a list of parts", param: "messages")
            }
            out.append(Message(role: role == "developer" ? "system" : role, content: text))
        }
        return out
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }
}

/// A JSON value, decoded strictly: `true` is no number and `1` no boolean.
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var string: String? { if case let .string(s) = self { s } else { nil } }
    var isNull: Bool { self == .null }
    var intValue: Int64? {
        switch self {
        case let .int(i): i
        case let .number(d): d.rounded() == d && abs(d) < 9e18 ? Int64(d) : nil
        default: nil
        }
    }
    var doubleValue: Double? {
        switch self {
        case let .int(i): Double(i)
        case let .number(d): d
        default: nil
        }
    }

    /// Parses a whole body; a fault is a 400 that says where.
    static func parse(_ data: Data) throws(APIError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw .badRequest("the body is not valid JSON: \(context.underlyingError.map { CompletionBody.reason($0) } ?? context.debugDescription)", param: nil)
        } catch {
            throw .badRequest("the body is not valid JSON: \(CompletionBody.reason(error))", param: nil)
        }
    }
}

/// Takes typed fields out of a JSON object; what is left is ``remaining``.
struct JSONFields {
    private var object: [String: JSONValue]

    init(_ object: [String: JSONValue]) { self.object = object }

    var remaining: [String] { object.keys.sorted() }

    /// The field, unless absent or null.
    mutating func take(_ key: String) -> JSONValue? {
        guard let v = object.removeValue(forKey: key), !v.isNull else { return nil }
        return v
    }

    mutating func string(_ key: String) throws(APIError) -> String? {
        guard let v = take(key) else { return nil }
        guard let s = v.string else { throw .badRequest("'\(key)' must be a string", param: key) }
        return s
    }

    mutating func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = take(key) else { return nil }
        guard case let .bool(b) = v else { throw .badRequest("'\(key)' must be true or false", param: key) }
        return b
    }

    mutating func int(_ key: String) throws(APIError) -> Int? {
        guard let v = take(key) else { return nil }
        guard let i = v.intValue, let n = Int(exactly: i) else { throw .badRequest("'\(key)' must be an integer", param: key) }
        return n
    }

    mutating func double(_ key: String) throws(APIError) -> Double? {
        guard let v = take(key) else { return nil }
        guard let d = v.doubleValue, d.isFinite else { throw .badRequest("'\(key)' must be a number", param: key) }
        return d
    }
}
