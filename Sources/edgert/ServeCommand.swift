import ArgumentParser
import EdgeRuntime
import EdgeServer
import EdgeTokenizer
import Foundation
import Logging

/// `edgert serve`: the OpenAI-compatible server (EdgeServer) over one model with continuous batching.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over an OpenAI-compatible HTTP API with continuous batching.",
        discussion: """
        Endpoints: POST /v1/chat/completions, POST /v1/completions (both streamed as server-sent \
        events with "stream": true), GET /v1/models, GET /health (503 while loading), GET /metrics \
        (Prometheus), POST /tokenize, POST /detokenize. SIGTERM or SIGINT stops taking requests, \
        lets running ones finish (up to --drain-timeout) and exits 0.
        """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "Port to bind (0: any free port, printed when listening).")
    var port = 8080

    @Option(name: [.customLong("parallel"), .customShort("p")], help: "Sequence slots: requests generated at once, batched into one forward pass per step.")
    var parallel = 4

    @Option(name: .long, help: "Requests that may wait for a slot; beyond them the server answers 503 with Retry-After.")
    var maxQueue = 16

    @Option(name: .long, help: "Require 'Authorization: Bearer KEY' on every endpoint but /health.")
    var apiKey: String?

    @Option(name: .long, help: "Read the API key from this file (its first line).")
    var apiKeyFile: String?

    @Option(name: .long, help: "Allow browsers from this origin ('*' for any) to call the API (CORS is off by default).")
    var corsOrigin: String?

    @Option(name: .long, help: "Largest request body in bytes.")
    var maxBodyBytes = 4 << 20

    @Option(name: .long, help: "Seconds one request may generate for; past them it ends with finish_reason 'length'.")
    var timeout = 600.0

    @Option(name: .long, help: "Seconds SIGTERM waits for running requests before cutting them short.")
    var drainTimeout = 30.0

    @Option(name: .long, help: "Most prompt tokens evaluated in one step: a long prompt goes in chunks, so running streams keep flowing and a cancelled request leaves within one chunk.")
    var promptChunk = 128

    @Option(name: .long, help: "The model's name in /v1/models and responses (default: the file's name without .gguf).")
    var alias: String?

    func validate() throws {
        try checkBound(parallel, 1...256, "--parallel")
        try checkBound(maxQueue, 0...100_000, "--max-queue")
        try checkBound(port, 0...65535, "--port")
        try checkBound(maxBodyBytes, 1024...(1 << 30), "--max-body-bytes")
        try checkBound(promptChunk, 1...65536, "--prompt-chunk")
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
        guard drainTimeout >= 0, drainTimeout.isFinite else { throw ValidationError("--drain-timeout must be 0 or more seconds") }
        if apiKey != nil && apiKeyFile != nil { throw ValidationError("give --api-key or --api-key-file, not both") }
    }

    func run() async throws {
        try await reportingErrors {
            let path = try modelOptions.resolvedModelPath()
            guard FileManager.default.fileExists(atPath: path) else { throw ServeError.noModel(path) }
            var key = apiKey
            if let file = apiKeyFile {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                      let line = text.split(whereSeparator: \.isNewline).first.map(String.init), !line.isEmpty else {
                    throw ServeError.badKeyFile(file)
                }
                key = line
            }
            var options = ServerOptions(modelID: alias ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)
            options.host = host
            options.port = port
            options.apiKey = key
            options.corsOrigin = corsOrigin
            options.maxBodyBytes = maxBodyBytes
            options.requestTimeLimit = timeout
            options.drainSeconds = drainTimeout
            var logger = Logger(label: "edgert.serve")
            logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
            var engineOptions = modelOptions.engineOptions()
            engineOptions.loadProgress = loadProgressPrinter()
            var scheduling = SchedulerOptions(parallel: parallel, maxQueue: maxQueue)
            scheduling.promptChunk = promptChunk
            let host = host, modelID = options.modelID
            try await EdgeServer.run(options: options, logger: logger, listening: { port in
                printError("serve: listening on http://\(host):\(port) (model \(modelID); loading)")
            }, load: { [engineOptions, scheduling] in
                let engine = try Engine(modelPath: path, options: engineOptions)
                printError(String(format: "load: %.3f s — %@, context %d, %d threads, %d slots", engine.loadSeconds,
                                  URL(fileURLWithPath: path).lastPathComponent, engine.contextLength,
                                  engine.node.pool.threadCount + engine.peers.reduce(0) { $0 + $1.pool.threadCount }, scheduling.parallel))
                return try BatchScheduler(engine: engine, options: scheduling)
            })
            printError("serve: stopped")
        }
    }
}

enum ServeError: Error, CustomStringConvertible {
    case noModel(String)
    case badKeyFile(String)

    var description: String {
        switch self {
        case let .noModel(p): "model file \(p) does not exist"
        case let .badKeyFile(f): "--api-key-file \(f): cannot read a key from its first line"
        }
    }
}
