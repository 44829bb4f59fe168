// IntakeServer: a WebSocket connection after the upgrade: decodes frames, answers pings and
// the close handshake, maps protocol errors to close codes, pings quiet peers, and hands
// whole messages to a session. Owned by the connection's loop thread. Data messages take a token
// of the connection's rate limit: the first one over it is dropped with an error frame, a second
// one before the peer slowed down closes the connection with 1008 (docs/PROTOCOL.md, "Limits").
import IntakeJSON
import IntakeNet
import IntakeWire
import IntakeTelemetry

/// The application side of one WebSocket connection (echo, widget, agent, ops). Loop thread only.
public protocol WebSocketSession: AnyObject {
    func webSocketDidOpen(_ ws: WebSocketConnection)
    func webSocket(_ ws: WebSocketConnection, didReceiveText text: String)
    func webSocket(_ ws: WebSocketConnection, didReceiveBinary bytes: [UInt8])
    func webSocketDidClose(_ ws: WebSocketConnection)
}

extension WebSocketSession {
    public func webSocketDidOpen(_ ws: WebSocketConnection) {}
    public func webSocket(_ ws: WebSocketConnection, didReceiveBinary bytes: [UInt8]) {
        ws.close(code: WebSocketCloseCode.unsupportedData, reason: "binary messages are not accepted here")
    }
    public func webSocketDidClose(_ ws: WebSocketConnection) {}
}

/// What a session may do with its connection. Loop thread only; `loop` hops back onto it.
public final class WebSocketConnection {
    unowned let connection: Connection
    weak var handler: WebSocketConnectionHandler?
    init(connection: Connection, handler: WebSocketConnectionHandler) {
        self.connection = connection
        self.handler = handler
    }

    public var loop: EventLoop { connection.loop }
    public var isOpen: Bool { connection.isOpen && handler?.closeSent == false }
    public var id: UInt64 { connection.id }

    public func sendText(_ text: String) {
        guard isOpen else { return }
        connection.writeWith { WebSocketFrame.encodeText(text, into: &$0) }
    }

    public func sendBinary(_ bytes: [UInt8]) {
        guard isOpen else { return }
        connection.writeWith { out in bytes.withUnsafeBytes { WebSocketFrame.encode(opcode: .binary, payload: $0, into: &out) } }
    }

    /// Starts the close handshake.
    public func close(code: UInt16 = WebSocketCloseCode.normal, reason: String = "") {
        handler?.sendClose(code: code, reason: reason, connection)
    }
}

final class WebSocketConnectionHandler: ConnectionHandler {
    let server: ServerContext
    let session: WebSocketSession
    private var decoder: WebSocketDecoder
    private var ws: WebSocketConnection?
    fileprivate(set) var closeSent = false
    private var pingSentNanos: UInt64 = 0
    /// Data messages per second on this connection (nil: no limit).
    private var rate: TokenBucket?
    /// The peer was told it is over its rate and has not sent a message within it since.
    private var rateWarned = false

    init(server: ServerContext, session: WebSocketSession) {
        self.server = server
        self.session = session
        decoder = WebSocketDecoder(role: .server, maxFrameBytes: server.maxMessageBytes, maxMessageBytes: server.maxMessageBytes)
        rate = server.wsRate.bucket()
    }

    /// True when the message may go to the session. Over the rate: the first time an error
    /// frame (`{"type":"error","code":"rate_limited",…}`, the widget's and agents' error frame),
    /// again before a message within the rate: close 1008. Either way the message is dropped.
    private func withinRate(_ c: Connection) -> Bool {
        guard rate != nil else { return true }
        let now = c.lastReadNanos  // the messages of one read arrived together
        if rate!.take(now: now) {
            rateWarned = false
            return true
        }
        RateKind.ws.counter.increment()
        if rateWarned {
            sendClose(code: WebSocketCloseCode.policyViolation, reason: "rate limit exceeded", c)
            return false
        }
        rateWarned = true
        let wait = rate!.nanosUntilToken(now: now)
        let frame = JSON.object([("type", "error"), ("code", "rate_limited"),
                                 ("message", .string(RateKind.ws.message(server.wsRate, retryAfterNanos: wait) + "; the message was dropped")),
                                 ("retryAfterMs", .int(Int64(wait.retryAfterMillis)))]).serializedString
        c.writeWith { WebSocketFrame.encodeText(frame, into: &$0) }
        return false
    }

    func connectionDidOpen(_ c: Connection) {
        let ws = WebSocketConnection(connection: c, handler: self)
        self.ws = ws
        session.webSocketDidOpen(ws)
    }

    func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) {
        pingSentNanos = 0
        decoder.feed(bytes)
        guard let ws else { return }
        while c.isOpen {
            let event: WebSocketEvent?
            do {
                event = try decoder.next()
            } catch {
                wsProtocolErrors.increment()
                sendClose(code: error.closeCode, reason: error.reason, c)
                return
            }
            guard let event else { return }
            switch event {
            case .text(let s): if !closeSent && withinRate(c) { session.webSocket(ws, didReceiveText: s) }
            case .binary(let b): if !closeSent && withinRate(c) { session.webSocket(ws, didReceiveBinary: b) }
            case .ping(let p):
                if !closeSent { c.writeWith { out in p.withUnsafeBytes { WebSocketFrame.encode(opcode: .pong, payload: $0, into: &out) } } }
            case .pong: break
            case .close(let code, _):
                // Echo the peer's code (RFC 6455 §5.5.1), then close our side.
                if !closeSent {
                    closeSent = true
                    c.writeWith { WebSocketFrame.encodeClose(code: code ?? WebSocketCloseCode.normal, reason: "", into: &$0) }
                }
                c.closeAfterFlush()
                return
            }
        }
    }

    func sendClose(code: UInt16, reason: String, _ c: Connection) {
        guard !closeSent, c.isOpen else { return }
        closeSent = true
        c.writeWith { WebSocketFrame.encodeClose(code: code, reason: reason, into: &$0) }
        // Wait briefly for the peer's close frame; the linger handles a peer that never sends one.
        c.closeAfterFlush()
    }

    func connectionTick(_ c: Connection, now: UInt64) {
        let quiet = now &- c.lastReadNanos
        if pingSentNanos != 0 {
            if now &- pingSentNanos > server.wsIdleTimeoutNanos / 2 {
                sendClose(code: WebSocketCloseCode.goingAway, reason: "idle", c)
            }
        } else if quiet > server.wsIdleTimeoutNanos / 2 {
            pingSentNanos = now
            c.writeWith { WebSocketFrame.encode(opcode: .ping, payload: [UInt8](), into: &$0) }
        }
    }

    func connectionShouldClose(_ c: Connection) {
        sendClose(code: WebSocketCloseCode.goingAway, reason: "server shutting down", c)
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        if let ws { session.webSocketDidClose(ws) }
        ws = nil
    }
}

let wsProtocolErrors = MetricsRegistry.shared.counter(
    "intake_websocket_protocol_errors_total", help: "WebSocket connections closed for a protocol violation (1002, 1007, 1009).")

/// The echo session of the foundation: every text message comes back as it was sent.
final class EchoSession: WebSocketSession {
    func webSocket(_ ws: WebSocketConnection, didReceiveText text: String) { ws.sendText(text) }
    func webSocket(_ ws: WebSocketConnection, didReceiveBinary bytes: [UInt8]) { ws.sendBinary(bytes) }
}
