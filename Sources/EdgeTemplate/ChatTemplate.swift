#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A model's chat template (`tokenizer.chat_template`), parsed once and rendered as Python's
/// jinja2 renders it with Hugging Face's settings: `trim_blocks`, `lstrip_blocks`, loop
/// controls, the `raise_exception` and `strftime_now` globals and the `tojson` filter.
///
/// A template comes from a model file, so from strangers, and is treated as data: parsing and
/// rendering keep to `TemplateLimits` (work, output and intermediate sizes, nesting), so that
/// any template ends, on any thread with at least 512 KiB of stack, in its output or a
/// `TemplateError`, within seconds and about a hundred MB.
public struct ChatTemplate: Sendable {
    /// The template text as given.
    public let source: String
    /// The bounds parsing kept to, and rendering keeps to unless a render names others.
    public let limits: TemplateLimits
    private let nodes: [Node]

    /// Parses `source`. Fails on invalid Jinja and on tags, filters and tests this engine does
    /// not implement, naming the construct and its line and column; and on blocks or
    /// expressions nested deeper than `limits.maxDepth`.
    public init(_ source: String, limits: TemplateLimits = .default) throws(TemplateError) {
        self.source = source
        self.limits = limits
        self.nodes = try TemplateParser.parse(source, limits: limits)
    }

    /// Renders with `context` as the template's variables.
    /// - Parameters:
    ///   - now: Unix time `strftime_now` formats (local time zone); the current time if nil.
    ///   - limits: bounds on this render; the template's `limits` if nil. Crossing one throws
    ///     `TemplateError.limit`.
    public func render(_ context: [String: TemplateValue], now: Double? = nil,
                       limits: TemplateLimits? = nil) throws(TemplateError) -> String {
        var renderer = try TemplateRenderer(context: context, now: now ?? Self.currentTime(), limits: limits ?? self.limits)
        return try renderer.render(nodes)
    }

    /// Renders a conversation with the variables Hugging Face's `apply_chat_template` passes:
    /// `messages`, `tools` (None when there are none), `documents` (None),
    /// `add_generation_prompt`, `bos_token`, `eos_token`, then `extra` (e.g. `date_string`,
    /// `enable_thinking`), which may override any of them. `limits` as for `render`.
    public func renderChat(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String,
                           tools: [TemplateValue]? = nil, extra: [String: TemplateValue] = [:],
                           now: Double? = nil, limits: TemplateLimits? = nil) throws(TemplateError) -> String {
        var context: [String: TemplateValue] = [
            "messages": .array(messages.map(\.value)),
            "tools": tools.map { .array($0) } ?? .none,
            "documents": .none,
            "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": .string(bosToken),
            "eos_token": .string(eosToken),
        ]
        for (key, value) in extra { context[key] = value }
        return try render(context, now: now, limits: limits)
    }

    private static func currentTime() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// One message of a conversation, as a template sees it: a dict with `role`, `content` and
/// any further fields (`tool_calls`, `tool_call_id`, `name`, `reasoning_content`) in order.
public struct ChatMessage: Sendable, Hashable {
    public var role: String
    /// Usually a string; `.none` for an assistant message that only calls tools.
    public var content: TemplateValue
    /// Further fields, after `role` and `content`.
    public var fields: TemplateObject

    public init(role: String, content: String) {
        self.role = role
        self.content = .string(content)
        self.fields = TemplateObject()
    }

    public init(role: String, content: TemplateValue, fields: TemplateObject = TemplateObject()) {
        self.role = role
        self.content = content
        self.fields = fields
    }

    /// The message as the template's dict.
    public var value: TemplateValue {
        var object: TemplateObject = ["role": .string(role), "content": content]
        for (key, value) in fields.pairs { object[key] = value }
        return .object(object)
    }
}
