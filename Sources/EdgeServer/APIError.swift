import Foundation
import Hummingbird

/// An error answered in OpenAI's format: `{"error": {"message", "type", "param", "code"}}` with
/// the HTTP status its kind implies.
public enum APIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A malformed request: bad JSON, a missing or mistyped field (400).
    case badRequest(String, param: String?)
    /// A field this server cannot honour, named (400): never silently ignored.
    case unsupported(String, reason: String)
    /// The prompt and the tokens asked for do not fit the context (400), with both numbers.
    case contextExceeded(promptTokens: Int, maxTokens: Int, contextLength: Int)
    /// No or a wrong API key (401).
    case unauthorized
    /// No such route (404) or method (405).
    case notFound(String)
    case methodNotAllowed(String)
    /// The body is larger than the limit (413).
    case bodyTooLarge(limit: Int)
    /// Every slot busy and the queue full, or the model still loading, or shutting down (503);
    /// `retryAfter` seconds go in the `Retry-After` header.
    case unavailable(String, retryAfter: Int?)
    /// The engine failed (500).
    case internalError(String)

    public var status: HTTPResponse.Status {
        switch self {
        case .badRequest, .unsupported, .contextExceeded: .badRequest
        case .unauthorized: .unauthorized
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .bodyTooLarge: .contentTooLarge
        case .unavailable: .serviceUnavailable
        case .internalError: .internalServerError
        }
    }

    var type: String {
        switch self {
        case .badRequest, .unsupported, .contextExceeded, .notFound, .methodNotAllowed, .bodyTooLarge: "invalid_request_error"
        case .unauthorized: "authentication_error"
        case .unavailable: "unavailable_error"
        case .internalError: "server_error"
        }
    }

    var param: String? {
        switch self {
        case let .badRequest(_, p): p
        case let .unsupported(name, _): name
        case .contextExceeded: "messages"
        default: nil
        }
    }

    var code: String? {
        switch self {
        case .unsupported: "unsupported_parameter"
        case .contextExceeded: "context_length_exceeded"
        case .unauthorized: "invalid_api_key"
        case .unavailable: "unavailable"
        default: nil
        }
    }

    public var description: String {
        switch self {
        case let .badRequest(m, _): m
        case let .unsupported(name, reason): "unsupported parameter '\(name)': \(reason)"
        case let .contextExceeded(p, m, c):
            "the prompt has \(p) tokens and \(m) more are asked for (\(p + m) in all), but the context holds \(c) tokens"
        case .unauthorized: "missing or invalid API key (send it as 'Authorization: Bearer KEY')"
        case let .notFound(path): "no route \(path)"
        case let .methodNotAllowed(m): "method \(m) is not allowed here"
        case let .bodyTooLarge(limit): "the request body is larger than \(limit) bytes"
        case let .unavailable(m, _): m
        case let .internalError(m): m
        }
    }

    /// The JSON body: `{"error": {"message", "type", "param", "code"}}`.
    public var body: Data {
        var error: [String: Any] = ["message": description, "type": type]
        error["param"] = param ?? NSNull()
        error["code"] = code ?? NSNull()
        return (try? JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys])) ?? Data()
    }
}
