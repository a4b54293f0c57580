import EdgeCore
import EdgeFormats
import EdgeTokenizer
import EdgeTemplate
import EdgeDevices
import EdgePlanner

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
    /// Memory the weights, KV cache and activations may use, in bytes; nil: map the whole file and
    /// let the page cache hold it. With a budget, weights that do not fit stream from disk through
    /// a sliding window (see ``WeightPlacement``); the budget covers one session.
    public var memoryBudget: Int?
    /// Read bandwidth of the model's disk in bytes/s for planning; nil: measured when the engine loads.
    public var diskBytesPerSecond: Double?
    /// Rate one compute thread consumes weight bytes at during generation, for planning: 12 GB/s,
    /// measured for Q4_1 generation on one core of the development machine (issue 2's figures).
    public var computeBytesPerSecondPerThread: Double = 12e9
    /// How each parallel op is split between the threads: ``WorkerPool/Balance/dynamic`` (shares
    /// follow each thread's measured speed, a finished thread takes unstarted chunks from the
    /// others) or ``WorkerPool/Balance/static`` (equal shares, for comparison).
    public var balance: WorkerPool.Balance = .dynamic
    /// Starting relative speed of each thread (one positive number per thread, e.g. from a host
    /// profile); the dynamic balancer then follows measured speeds. nil: from the CPUs' core types
    /// on a hybrid CPU, else equal.
    public var threadSpeeds: [Double]?
    /// Called with (bytes loaded, bytes to load) while resident weights are read from disk.
    public var loadProgress: (@Sendable (Int, Int) -> Void)?

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

    /// How the weights are placed: mapped in place, or resident copies plus a streaming window.
    public let placement: WeightPlacement
    /// Most tokens one batch evaluates (lowered under a tight memory budget).
    public let batchSize: Int
    /// Resident memory of the process before any weight, cache or activation buffer existed: the
    /// runtime's fixed overhead (code, libraries, tokenizer, file metadata).
    public let overheadBytes: Int?
    /// Memory the budget must hold besides weights: KV cache, activations, sampling buffers, norms.
    public let fixedBytes: Int

    public convenience init(modelPath: String, options: EngineOptions = EngineOptions()) throws {
        let t0 = monotonicSeconds()
        let model = try Model(path: modelPath)
        try self.init(model: model, tokenizer: try Tokenizer(gguf: model.file), options: options, startedAt: t0)
    }

    /// An engine over an opened model and its tokenizer (e.g. to count a prompt's tokens first).
    public init(model: Model, tokenizer: Tokenizer, options: EngineOptions = EngineOptions(), startedAt: Double? = nil) throws {
        let t0 = startedAt ?? monotonicSeconds()
        // Under a budget no weight is read through the mapping: give back the pages that loading
        // the metadata and norm vectors touched.
        if options.memoryBudget != nil { model.file.dropResidentPages() }
        overheadBytes = ProcessMemory.residentBytes()
        self.model = model
        self.tokenizer = tokenizer
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
        let c = model.config
        var batch = min(options.batchSize, ctx)
        if let budget = options.memoryBudget {
            // Activations for a batch may take at most an eighth of the budget: a smaller batch
            // reads the streamed weights more often during a prompt, but leaves room for residents.
            while batch > 1 && ForwardPass.scratchBytes(config: c, maxBatch: batch) > budget / 8 { batch /= 2 }
        }
        batchSize = batch
        let kvBytes = 2 * c.blockCount * ctx * c.kvDim * 2
        let vectorBytes = 4 * (c.blockCount * (2 * c.embeddingLength + c.qDim + 2 * c.kvDim) + c.embeddingLength + c.ropeDimensions)
        let samplingBytes = 4 * 4 * c.vocabularySize      // logits copies: session, sampler, candidates
        let threadsWanted = options.threads ?? max(1, WorkerPool.allowedCPUs().count)
        // Thread stacks (compute, I/O, loader, driver) and allocator slack: 1 MiB + 256 KiB a thread.
        // Measured: a budgeted SmolLM2 run's peak exceeded the buffers above by 0.3 MiB on one thread.
        let workingBytes = (1 << 20) + (256 << 10) * (threadsWanted + 6)
        fixedBytes = kvBytes + ForwardPass.scratchBytes(config: c, maxBatch: batch) + vectorBytes + samplingBytes + workingBytes
        if let budget = options.memoryBudget {
            placement = try WeightPlacement(
                budgeted: model.weights, path: model.path, budget: budget, fixedBytes: fixedBytes,
                computeBytesPerSecond: options.computeBytesPerSecondPerThread * Double(threadsWanted),
                diskBytesPerSecond: options.diskBytesPerSecond, progress: options.loadProgress)
        } else {
            placement = WeightPlacement(mapped: model.weights)
        }
        if let speeds = options.threadSpeeds, speeds.count != threadsWanted {
            throw RuntimeError.badParameter(name: "thread speeds",
                                            reason: "\(speeds.count) given for \(threadsWanted) thread\(threadsWanted == 1 ? "" : "s")")
        }
        node = try CPUNode(threads: threadsWanted, balance: options.balance, speeds: options.threadSpeeds)
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
        return try Engine.renderChat(try parsedTemplate.get(), tokenizer: tokenizer, user: user, system: system,
                                     addGenerationPrompt: addGenerationPrompt)
    }

    /// Renders a single-turn chat prompt with the template of `tokenizer`'s file, without an engine
    /// (e.g. to count a prompt's tokens before choosing the context length).
    public static func chatPrompt(tokenizer: Tokenizer, user: String, system: String? = nil,
                                  addGenerationPrompt: Bool = true) throws -> String {
        guard let source = tokenizer.chatTemplate else { throw EngineError.noChatTemplate }
        return try renderChat(try ChatTemplate(source), tokenizer: tokenizer, user: user, system: system,
                              addGenerationPrompt: addGenerationPrompt)
    }

    private static func renderChat(_ chatTemplate: ChatTemplate, tokenizer: Tokenizer, user: String, system: String?,
                                   addGenerationPrompt: Bool) throws -> String {
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
