import EdgeRuntime
import EdgeTemplate
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOConcurrencyHelpers
import ServiceLifecycle

/// How `edgert serve` listens and what it allows.
public struct ServerOptions: Sendable {
    /// Address to bind (loopback by default: nothing outside this host reaches it).
    public var host = "127.0.0.1"
    /// Port to bind; 0 picks a free one (printed when listening).
    public var port = 8080
    /// When set, every endpoint but `/health` needs `Authorization: Bearer KEY`.
    public var apiKey: String?
    /// When set, browsers from this origin (or `*`) may call the API (CORS); off by default.
    public var corsOrigin: String?
    /// Largest request body accepted (413 beyond).
    public var maxBodyBytes = 4 << 20
    /// Seconds one generation may take; past them it ends with `finish_reason` "length".
    public var requestTimeLimit: Double = 600
    /// Seconds SIGTERM waits for running requests to finish before cutting them short.
    public var drainSeconds: Double = 30
    /// The model's name in `/v1/models` and in responses.
    public var modelID: String

    public init(modelID: String) { self.modelID = modelID }
}

/// The OpenAI-compatible HTTP server over a ``BatchScheduler``: `/v1/chat/completions`,
/// `/v1/completions`, `/v1/models`, `/health`, `/metrics`, `/tokenize`, `/detokenize`.
public enum EdgeServer {
    /// Binds, then loads the model with `load` (while `/health` answers 503), serves, and returns
    /// after SIGTERM or SIGINT once running requests have drained (or `drainSeconds` passed).
    /// `listening` gets the bound address's port.
    public static func run(options: ServerOptions, logger: Logger,
                           listening: @escaping @Sendable (Int) -> Void = { _ in },
                           load: @escaping @Sendable () async throws -> BatchScheduler) async throws {
        let state = ModelState()
        let metrics = ServerMetrics()
        let api = API(options: options, state: state, metrics: metrics, logger: logger)
        let router = Router(context: ServerContext.self)
        router.add(middleware: APIMiddleware(options: options))
        api.register(on: router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "edgert"),
            onServerRunning: { channel in listening(channel.localAddress?.port ?? options.port) },
            logger: logger)
        let model = ModelService(state: state, options: options, logger: logger, load: load)
        // Shut down in reverse order: the model service first (no new request, running ones
        // drained), then the HTTP server.
        let group = ServiceGroup(configuration: .init(services: [app, model], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        do {
            try await group.run()
        } catch let error as IOError {
            // The one I/O the group does before serving is binding the address.
            throw ServerError.cannotListen(host: options.host, port: options.port, reason: String(cString: strerror(error.errnoCode)))
        }
    }
}

/// Why the server could not run.
public enum ServerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The address could not be bound (in use, not this host's, no permission).
    case cannotListen(host: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case let .cannotListen(host, port, reason): "cannot listen on \(host):\(port): \(reason) (choose another --port or --host)"
        }
    }
}

/// The request context: the connection's channel, to watch for its client going away.
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The model behind the server: loading, ready, or failed to load.
final class ModelState: Sendable {
    enum Phase: Sendable {
        case loading
        case ready(BatchScheduler)
        case failed(String)
    }

    private let phase = NIOLockedValueBox(Phase.loading)

    func set(_ p: Phase) { phase.withLockedValue { $0 = p } }
    var current: Phase { phase.withLockedValue { $0 } }

    /// The scheduler, or the 503 to answer.
    func scheduler() throws(APIError) -> BatchScheduler {
        switch current {
        case .loading: throw .unavailable("the model is loading", retryAfter: 5)
        case let .failed(m): throw .unavailable("the model failed to load: \(m)", retryAfter: nil)
        case let .ready(s): return s
        }
    }
}

/// Loads the model when the service group starts, and on graceful shutdown closes the scheduler
/// to new requests and waits for the running ones.
struct ModelService: Service {
    let state: ModelState
    let options: ServerOptions
    let logger: Logger
    let load: @Sendable () async throws -> BatchScheduler

    func run() async throws {
        do {
            let scheduler = try await load()
            state.set(.ready(scheduler))
            logger.info("model ready: \(options.modelID), \(scheduler.options.parallel) slot(s)")
        } catch {
            state.set(.failed("\(error)"))
            logger.error("model failed to load: \(error)")
            throw error
        }
        // Wait for SIGTERM (or the group ending otherwise).
        try? await gracefulShutdown()
        guard case let .ready(scheduler) = state.current else { return }
        scheduler.close()
        let load = scheduler.load
        logger.info("shutting down: \(load.running) running, \(load.queued) queued; waiting up to \(options.drainSeconds) s")
        let drained = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await scheduler.drained(); return true }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(options.drainSeconds * 1e9))
                return false
            }
            let first = await group.next() ?? true
            group.cancelAll()
            return first
        }
        if !drained {
            scheduler.cancelAll(reason: .shutdown)
            await scheduler.drained()
        }
        logger.info("drained; stopping the HTTP server")
    }
}
