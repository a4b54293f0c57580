import Foundation
import Hummingbird

/// Before every route: the API key (all but `/health`), CORS when allowed; after: every error in
/// OpenAI's format with its status (a malformed request is a 400, never a crash or an HTML page).
struct APIMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let options: ServerOptions

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        if request.method == .options, options.corsOrigin != nil {
            // A CORS pre-flight: answered without the key (browsers send none).
            return cors(Response(status: .noContent, headers: [
                .accessControlAllowMethods: "GET, POST, OPTIONS",
                .accessControlAllowHeaders: "Authorization, Content-Type",
                .accessControlMaxAge: "600",
            ]), origin: origin)
        }
        do {
            if let key = options.apiKey, request.uri.path != "/health" {
                guard let given = request.headers[.authorization], Self.constantTimeEqual(given, "Bearer " + key) else {
                    throw APIError.unauthorized
                }
            }
            return cors(try await next(request, context), origin: origin)
        } catch let error as APIError {
            return cors(errorResponse(error), origin: origin)
        } catch let error as HTTPError {
            let api: APIError = switch error.status {
            case .notFound: .notFound(request.uri.path)
            case .methodNotAllowed: .methodNotAllowed(request.method.rawValue)
            case .contentTooLarge: .bodyTooLarge(limit: options.maxBodyBytes)
            case .badRequest: .badRequest(error.body ?? "bad request", param: nil)
            default: .internalError(error.body ?? "\(error.status)")
            }
            return cors(errorResponse(api), origin: origin)
        } catch {
            return cors(errorResponse(.internalError("\(error)")), origin: origin)
        }
    }

    private func errorResponse(_ error: APIError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if case let .unavailable(_, retry?) = error { headers[.retryAfter] = String(retry) }
        if case .unauthorized = error { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: error.body)))
    }

    private func cors(_ response: Response, origin: String?) -> Response {
        guard let allowed = options.corsOrigin else { return response }
        var response = response
        if allowed == "*" {
            response.headers[.accessControlAllowOrigin] = "*"
        } else if let origin, origin == allowed {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.vary] = "Origin"
        }
        return response
    }

    /// Compares without returning early at the first differing byte (the key is a secret).
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }
}
