// IntakeServer: an HTTP/1.1 connection: parse, route, answer in order (keep-alive and
// pipelining), enforce the header and idle timeouts, and hand over to WebSocket on upgrade.
// Owned by the connection's loop thread. At most one request is in flight: while a handler
// answers asynchronously (e.g. after an fsync), further pipelined bytes wait in the parser and
// reading is paused, so responses always leave in request order. Each request takes a token of
// the connection's rate limit first; one over it is answered 429 without being routed.
import CIntakeLinux
import IntakeNet
import IntakeWire
import IntakeTelemetry

/// How a route answers.
public enum HTTPRoute: Sendable {
    /// Answers at once, on the loop thread.
    case sync(@Sendable (HTTPRequest) -> HTTPResponse)
    /// Answers later through the responder, which may be called from any thread, once.
    case async(@Sendable (HTTPRequest, HTTPResponder) -> Void)
    /// Upgrades to WebSocket; the factory makes the session on the loop thread.
    case websocket(ConnectionKind, @Sendable (HTTPRequest) -> WebSocketSession)
}

/// Delivers one asynchronous response back on the connection's loop.
public struct HTTPResponder: Sendable {
    let loop: EventLoop
    let handler: UnsafeSendableBox<HTTPConnectionHandler>
    let token: UInt64

    public func respond(_ response: HTTPResponse) {
        let h = handler, t = token
        if loop.inLoop { h.value.complete(token: t, response) } else { loop.execute { h.value.complete(token: t, response) } }
    }
}

/// A reference that crosses threads only to come back to the thread that owns it.
struct UnsafeSendableBox<T: AnyObject>: @unchecked Sendable { let value: T }

final class HTTPConnectionHandler: ConnectionHandler {
    let server: ServerContext
    private var parser: HTTPRequestParser
    private var inFlight: UInt64 = 0  // token of the request being answered, 0 when none
    private var nextToken: UInt64 = 1
    private var inFlightKeepAlive = true
    private var requestStartNanos: UInt64 = 0
    private var closing = false
    /// Requests per second on this connection (nil: no limit).
    private var rate: TokenBucket?

    init(server: ServerContext) {
        self.server = server
        parser = HTTPRequestParser(limits: server.httpLimits)
        rate = server.httpRate.bucket()
    }

    func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) {
        if !parser.hasPartialRequest && inFlight == 0 { requestStartNanos = c.lastReadNanos }
        parser.feed(bytes)
        processRequests(c)
    }

    private func processRequests(_ c: Connection) {
        while inFlight == 0 && !closing && c.isOpen {
            let request: HTTPRequest?
            do {
                request = try parser.next()
            } catch {
                httpErrors.increment()
                var out: [UInt8] = []
                HTTPResponse.error(error).encode(into: &out, keepAlive: false)
                c.write(out)
                closing = true
                c.closeAfterFlush()
                return
            }
            guard let request else {
                if parser.hasPartialRequest, requestStartNanos == 0 { requestStartNanos = c.lastReadNanos }
                return
            }
            requestStartNanos = parser.hasPartialRequest ? c.lastReadNanos : 0
            dispatch(request, c)
        }
    }

    private func dispatch(_ request: HTTPRequest, _ c: Connection) {
        httpRequests.increment()
        if rate != nil {
            let now = cil_monotonic_nanos()
            if !rate!.take(now: now) {
                // Answered, not routed; the connection stays open (the client may retry later).
                let wait = rate!.nanosUntilToken(now: now)
                RateKind.http.counter.increment()
                var r = ClientError.rateLimited(RateKind.http.message(server.httpRate, retryAfterNanos: wait)).response
                r.headers.add(name: "Retry-After", value: String(wait.retryAfterSeconds))
                send(r, keepAlive: request.head.keepAlive, c)
                return
            }
        }
        switch server.router.match(method: request.head.method, path: request.head.path) {
        case .notFound:
            send(.error(status: .notFound, code: "not_found", message: "no such endpoint: \(request.head.path)"), keepAlive: request.head.keepAlive, c)
        case .methodNotAllowed(let allowed):
            var r = HTTPResponse.error(status: .methodNotAllowed, code: "method_not_allowed",
                                       message: "\(request.head.method) is not allowed here; use \(allowed.joined(separator: ", "))")
            r.headers.add(name: "Allow", value: allowed.joined(separator: ", "))
            send(r, keepAlive: request.head.keepAlive, c)
        case .found(let route, let params):
            var request = request
            request.params = params
            switch route {
            case .sync(let f):
                send(f(request), keepAlive: request.head.keepAlive, c)
            case .async(let f):
                let token = nextToken
                nextToken &+= 1
                inFlight = token
                inFlightKeepAlive = request.head.keepAlive
                c.setReadingPaused(true)
                f(request, HTTPResponder(loop: c.loop, handler: UnsafeSendableBox(value: self), token: token))
            case .websocket(let kind, let makeSession):
                upgrade(request, kind: kind, makeSession: makeSession, c)
            }
        }
    }

    private func send(_ response: HTTPResponse, keepAlive: Bool, _ c: Connection) {
        let keep = keepAlive && !server.isShuttingDown
        c.writeWith { response.encode(into: &$0, keepAlive: keep) }
        if !keep {
            closing = true
            c.closeAfterFlush()
        }
    }

    /// An asynchronous route answered.
    func complete(token: UInt64, _ response: HTTPResponse) {
        guard let c = connection, token == inFlight else { return }  // closed meanwhile, or answered twice
        inFlight = 0
        send(response, keepAlive: inFlightKeepAlive, c)
        guard c.isOpen, !closing else { return }
        c.setReadingPaused(false)
        if parser.hasPartialRequest { requestStartNanos = c.lastReadNanos }
        processRequests(c)
    }

    private weak var connection: Connection?

    func connectionDidOpen(_ c: Connection) { connection = c }

    private func upgrade(_ request: HTTPRequest, kind: ConnectionKind, makeSession: (HTTPRequest) -> WebSocketSession, _ c: Connection) {
        let head = request.head
        switch WebSocketHandshake.validate(method: head.method, versionMinor: head.version.minor, header: { head.headers[$0] }) {
        case .failure(let e):
            var r = HTTPResponse.error(status: HTTPStatus(code: e.status), code: "bad_handshake", message: e.description)
            for (name, value) in e.responseHeaders { r.headers.add(name: name, value: value) }
            send(r, keepAlive: false, c)
        case .success(let accept):
            c.write(WebSocketHandshake.responseHead(accept: accept))
            let leftover = parser.takeRemainingBytes()
            let ws = WebSocketConnectionHandler(server: server, session: makeSession(request))
            c.kind = kind
            c.handler = ws
            ws.connectionDidOpen(c)
            if !leftover.isEmpty { leftover.withUnsafeBytes { ws.connection(c, didRead: $0) } }
        }
    }

    func connectionTick(_ c: Connection, now: UInt64) {
        if parser.hasPartialRequest && inFlight == 0 {
            if requestStartNanos != 0, now &- requestStartNanos > server.headerTimeoutNanos {
                httpErrors.increment()
                send(.error(status: .requestTimeout, code: "request_timeout", message: "the request was not received in time"), keepAlive: false, c)
            }
        } else if inFlight == 0, now &- c.lastReadNanos > server.idleTimeoutNanos {
            c.closeAfterFlush()
        }
    }

    func connectionShouldClose(_ c: Connection) {
        // Idle keep-alive connections close now; one with a request in flight closes after it.
        if inFlight == 0 && !parser.hasPartialRequest { closing = true; c.closeAfterFlush() }
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) { inFlight = 0 }
}

let httpRequests = MetricsRegistry.shared.counter("intake_http_requests_total", help: "HTTP requests received.")
let httpErrors = MetricsRegistry.shared.counter("intake_http_request_errors_total", help: "HTTP requests refused as malformed, oversized or too slow.")
