import Foundation
import GANServe
import GANTensor
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes

/// The request context of `serve`: Hummingbird's core plus the client's address (access log).
struct ServeContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let client: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        client = source.channel.remoteAddress?.ipAddress ?? "-"
    }
}

extension HTTPField.Name {
    /// The binary tensor extension's header: the length of the JSON part of a body.
    static let inferenceHeaderContentLength = HTTPField.Name("Inference-Header-Content-Length")!
}

/// The routes of the Open Inference Protocol (REST), the convenience route and /metrics.
enum ServeRoutes {
    static func router(_ service: InferenceService, token: String?, logger: Logger) -> Router<ServeContext> {
        let router = Router(context: ServeContext.self)
        router.add(middleware: ServeMiddleware(metrics: service.metrics, token: token, logger: logger))
        router.get("/v2/health/live") { _, _ in Response(status: .ok) }
        router.get("/v2/health/ready") { _, _ in Response(status: .ok) }
        router.get("/v2") { _, _ in
            json("{\"name\":\"swiftgan\",\"version\":\"\(SwiftGANVersion.string)\",\"extensions\":[\"binary_tensor_data\"]}")
        }
        router.get("/v2/models/:model") { _, context in
            let name = context.parameters.get("model") ?? ""
            return json(try ModelMetadata.json(service, model: name))
        }
        router.get("/v2/models/:model/ready") { _, context in
            _ = try service.model(context.parameters.get("model") ?? "")
            return Response(status: .ok)
        }
        router.post("/v2/models/:model/infer") { request, context in
            try await infer(request, model: context.parameters.get("model") ?? "", service)
        }
        router.get("/v2/models/:model/generate") { request, context in
            var query: [String: String] = [:]
            for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
            let (bytes, type) = try await service.generateFile(model: context.parameters.get("model") ?? "", query: query)
            return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: service.metrics.text())))
        }
        return router
    }

    static func json(_ text: String) -> Response { json(Array(text.utf8)) }

    static func json(_ bytes: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Reads the body (413 beyond `--max-body-mb`, told by Content-Length before any byte is
    /// read), decodes it (JSON, or the binary extension), runs the model and encodes the answer
    /// as the request asked (raw bytes for outputs marked binary).
    static func infer(_ request: Request, model: String, _ service: InferenceService) async throws -> Response {
        _ = try service.model(model)  // 404 first, whatever the body
        let limit = service.limits.maxBodyBytes
        let announced = request.headers[.contentLength].flatMap { Int($0) }
        if let length = announced, length > limit { throw tooLarge(length, limit) }
        var headerLength: Int?
        if let text = request.headers[.inferenceHeaderContentLength] {
            guard let n = Int(text) else { throw InferenceError.badRequest("Inference-Header-Content-Length must be an integer, got \"\(text)\"") }
            headerLength = n
        }
        let decoded: InferRequest
        if let length = announced, length > 0 {
            // The body's bytes go into one block of the announced size, from the pool of earlier
            // bodies' blocks (`BodyPool`: already resident). A ByteBuffer would round its
            // capacity up to a power of two, 1 MB for a 527 KB score request; grown from the
            // first fragment, it was copied at each doubling.
            let block = service.bodies.take(length)
            defer { service.bodies.give(block) }
            let bytes = block.bytes
            var filled = 0
            for try await fragment in request.body {
                let n = fragment.readableBytes
                guard n <= length - filled else { throw InferenceError.badRequest("the body is longer than its Content-Length (\(length) bytes)") }
                fragment.withUnsafeReadableBytes { UnsafeMutableRawBufferPointer(rebasing: bytes[filled..<(filled + n)]).copyMemory(from: $0) }
                filled += n
            }
            guard filled == length else { throw InferenceError.badRequest("the body ended after \(filled) of its \(length) bytes (Content-Length)") }
            decoded = try InferRequest.decode(UnsafeRawBufferPointer(bytes), headerLength: headerLength)
        } else {
            var body = ByteBuffer()
            do {
                try await request.body.collect(upTo: limit, into: &body)
            } catch is NIOTooManyBytesError {
                throw tooLarge(nil, limit)
            }
            decoded = try body.withUnsafeReadableBytes { try InferRequest.decode($0, headerLength: headerLength) }
        }
        let answer = try await service.infer(model: model, decoded)
        let (bytes, jsonLength) = answer.encode(binary: decoded.wantsBinary)
        var headers: HTTPFields = [.contentType: jsonLength == nil ? "application/json" : "application/octet-stream"]
        if let jsonLength { headers[.inferenceHeaderContentLength] = String(jsonLength) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func tooLarge(_ length: Int?, _ limit: Int) -> InferenceError {
        InferenceError(413, "the body is \(length.map { "\($0) bytes, more than" } ?? "larger than") the limit of \(limit) bytes (--max-body-mb)")
    }
}

/// Around every route (and the not-found answer): the token check, errors as `{"error": ...}`
/// with their status, the request's metrics and one access-log line.
struct ServeMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    let metrics: ServeMetrics
    let token: String?
    let logger: Logger

    /// Liveness and readiness probes (Kubernetes' kind) carry no credentials.
    static let open: Set<String> = ["/v2/health/live", "/v2/health/ready"]

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let path = request.uri.path
        var response: Response
        if let token, !Self.open.contains(path), !Self.authorized(request, token: token) {
            let what = request.headers[.authorization] == nil ? "missing" : "wrong"
            response = Self.error(InferenceError(401, "a bearer token is required (Authorization: Bearer TOKEN); it is \(what)"))
        } else {
            do {
                response = try await next(request, context)
            } catch let e as InferenceError {
                response = Self.error(e)
            } catch let e as HTTPError {
                let message = e.status == .notFound ? "no such endpoint: \(request.method) \(path)" : e.body ?? e.status.reasonPhrase
                response = Self.error(InferenceError(e.status.code, message))
            } catch {
                response = Self.error(InferenceError(500, "internal error: \(error)"))
            }
        }
        let duration = ContinuousClock.now - start
        let (endpoint, model) = Self.classify(path)
        metrics.request(model: model, endpoint: endpoint, status: response.status.code, duration: duration)
        let ms = Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000
        logger.info("\(context.client) \"\(request.method) \(request.uri)\" \(response.status.code) \(String(format: "%.2f", ms)) ms")
        return response
    }

    static func error(_ e: InferenceError) -> Response {
        Response(status: HTTPResponse.Status(code: e.status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: e.body)))
    }

    /// `Authorization: Bearer TOKEN`, compared in time independent of where they differ.
    static func authorized(_ request: Request, token: String) -> Bool {
        guard let value = request.headers[.authorization], value.hasPrefix("Bearer ") else { return false }
        let given = Array(value.utf8.dropFirst(7)), expected = Array(token.utf8)
        guard given.count == expected.count else { return false }
        return zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// (endpoint, model) of a path, for the metrics' labels.
    static func classify(_ path: String) -> (String, String?) {
        let parts = path.split(separator: "/").map(String.init)
        switch parts.count {
        case 2 where parts[0] == "v2" && parts[1] != "models": return (parts[1] == "health" ? "health" : "other", nil)
        case 3 where parts[0] == "v2" && parts[1] == "health": return ("health", nil)
        case 3 where parts[0] == "v2" && parts[1] == "models": return ("metadata", parts[2])
        case 4 where parts[0] == "v2" && parts[1] == "models": return (["infer", "ready", "generate"].contains(parts[3]) ? parts[3] : "other", parts[2])
        case 1 where parts[0] == "metrics": return ("metrics", nil)
        case 1 where parts[0] == "v2": return ("server", nil)
        default: return ("other", nil)
        }
    }
}

/// The connection-level duties Hummingbird leaves to the application, so that a client always
/// gets its whole answer and is never reset:
/// - `Expect: 100-continue`: answered with `100 Continue` when the request may upload (its
///   Content-Length within the limit and, with a token, the right Authorization); otherwise not,
///   so a refused body is never sent: the route's 413 or 401 goes out with `Connection: close` and
///   the server half-closes after it.
/// - A request with `Connection: close` whose body is refused: Hummingbird would stop reading at
///   once (and the client, still uploading, would be stuck or reset), so the header is kept from
///   it; the body is read and dropped, and the connection closes once both the request and the
///   answer are complete. (Without the header, Hummingbird drains such bodies itself.)
/// - Closing (graceful shutdown, or the end of a connection) waits until the answer written so
///   far has reached the socket: NIO drops writes still pending when a channel closes, which cut
///   large answers in flight at SIGTERM short. A peer that stops reading is cut off after 30 s.
final class ServeChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let maxBodyBytes: Int
    let token: String?
    private var refusing = false
    private var closeRequested = false
    private var requestEnded = false
    private var responseEnded = false
    private var pendingWrites = 0
    private var deferredClose: (mode: CloseMode, promise: EventLoopPromise<Void>?)?

    init(maxBodyBytes: Int, token: String?) {
        self.maxBodyBytes = maxBodyBytes
        self.token = token
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var head):
            (refusing, requestEnded, responseEnded) = (false, false, false)
            closeRequested = head.headerFields[.connection]?.lowercased() == "close"
            if closeRequested { head.headerFields[.connection] = nil }
            if head.headerFields[.expect]?.lowercased() == "100-continue" {
                let length = head.headerFields[.contentLength].flatMap { Int($0) } ?? 0
                let authorized = token.map { "Bearer " + $0 == head.headerFields[.authorization] } ?? true
                refusing = length > maxBodyBytes || !authorized
                if !refusing { context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil) }
            }
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .end:
            requestEnded = true
            context.fireChannelRead(data)
            if responseEnded && closeRequested { close(context: context, mode: .all, promise: nil) }
        case .body:
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var part = unwrapOutboundIn(data)
        if case .head(var head) = part, head.status.code >= 200, refusing || closeRequested {
            head.headerFields[.connection] = "close"
            part = .head(head)
        }
        pendingWrites += 1
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { result in  // on the channel's event loop
            self.pendingWrites -= 1
            promise?.completeWith(result)
            if self.pendingWrites == 0, let close = self.deferredClose {
                self.deferredClose = nil
                context.close(mode: close.mode, promise: close.promise)
            }
        }
        context.write(wrapOutboundOut(part), promise: written)
        guard case .end = part else { return }
        responseEnded = true
        if refusing {
            close(context: context, mode: .output, promise: nil)  // (our own close: after the answer is out)
        } else if closeRequested && requestEnded {
            close(context: context, mode: .all, promise: nil)
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard pendingWrites > 0, mode != .input else { return context.close(mode: mode, promise: promise) }
        if let earlier = deferredClose {  // keep the widest close; complete both promises
            deferredClose = (mode == .all ? .all : earlier.mode, earlier.promise)
            if let promise { earlier.promise?.futureResult.cascade(to: promise) ?? promise.succeed() }
        } else {
            deferredClose = (mode, promise)
            context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(30)) {
                guard let close = self.deferredClose else { return }
                self.deferredClose = nil
                context.close(mode: close.mode, promise: close.promise)
            }
        }
        context.flush()
    }
}
