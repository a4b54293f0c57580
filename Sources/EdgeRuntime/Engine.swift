import EdgeCore
import EdgeFormats
import EdgeTokenizer
import EdgeTemplate
import EdgeDevices
import COpenBLAS

/// How an ``Engine`` runs a model.
public struct EngineOptions: Sendable {
    /// Worker threads (counting the driver thread); nil: every CPU this process may use.
    public var threads: Int?
    /// Context length in tokens; nil: the model's trained context.
    public var contextLength: Int?
    /// Most tokens evaluated in one batch while processing a prompt.
    public var batchSize: Int = 512
    /// Multiply with F32 activations instead of 8-bit activation blocks (slower; the reference path).
    public var f32Activations = false

    public init(threads: Int? = nil, contextLength: Int? = nil) {
        self.threads = threads
        self.contextLength = contextLength
    }
}

/// A loaded model ready to run: weights, tokenizer, chat template and the CPU node that computes.
/// Create ``Session``s from it to generate.
public final class Engine: Sendable {
    public let model: Model
    public let tokenizer: Tokenizer
    /// The model's chat template, parsed; nil when the file has none. A template that fails to
    /// parse does not stop the model from loading: the error is raised by ``chatPrompt(user:system:addGenerationPrompt:)``.
    public var chatTemplate: ChatTemplate? { try? parsedTemplate?.get() }
    private let parsedTemplate: Result<ChatTemplate, TemplateError>?
    public let node: CPUNode
    public let options: EngineOptions
    public let contextLength: Int
    /// Seconds spent opening the file and building the engine.
    public let loadSeconds: Double

    public init(modelPath: String, options: EngineOptions = EngineOptions()) throws {
        let t0 = monotonicSeconds()
        let model = try Model(path: modelPath)
        self.model = model
        tokenizer = try Tokenizer(gguf: model.file)
        guard tokenizer.vocabularySize == model.config.vocabularySize else {
            throw RuntimeError.badHyperparameter(key: "tokenizer.ggml.tokens",
                                                 reason: "\(tokenizer.vocabularySize) tokens but the embedding has \(model.config.vocabularySize) rows")
        }
        parsedTemplate = tokenizer.chatTemplate.map { source in Result { () throws(TemplateError) in try ChatTemplate(source) } }
        let ctx = options.contextLength ?? model.config.contextLength
        guard ctx >= 1, ctx <= 1 << 22 else {
            throw RuntimeError.badParameter(name: "context length", reason: "\(ctx) is not in 1...\(1 << 22)")
        }
        contextLength = ctx
        guard options.batchSize >= 1 else { throw RuntimeError.badParameter(name: "batch size", reason: "\(options.batchSize)") }
        // One spinning pool only: OpenBLAS (linked for F32 BLAS work) must never start its own.
        openblas_set_num_threads(1)
        let available = WorkerPool.allowedCPUs().count
        let threads = options.threads ?? max(1, available)
        node = try CPUNode(threads: threads)
        self.options = options
        loadSeconds = monotonicSeconds() - t0
    }

    /// A new conversation state (its own KV cache).
    public func makeSession() throws -> Session {
        try Session(engine: self)
    }

    /// Renders a single-turn chat prompt with the model's own template.
    public func chatPrompt(user: String, system: String? = nil, addGenerationPrompt: Bool = true) throws -> String {
        guard let parsedTemplate else { throw EngineError.noChatTemplate }
        let chatTemplate = try parsedTemplate.get()
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: user))
        let bos = tokenizer.bos.flatMap { tokenizer.tokenText($0) } ?? ""
        let eos = tokenizer.eos.flatMap { tokenizer.tokenText($0) } ?? ""
        return try chatTemplate.renderChat(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                           bosToken: bos, eosToken: eos)
    }
}

/// Errors of the engine facade.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `--chat` on a model whose file holds no `tokenizer.chat_template`.
    case noChatTemplate

    public var description: String {
        switch self {
        case .noChatTemplate: "the model has no chat template (tokenizer.chat_template); run without --chat"
        }
    }
}
