// IntakeTestSupport: a blocking WebSocket client for tests, over TestSocket. It does the
// opening handshake, sends well-formed and deliberately broken frames, and decodes what the
// server sends (client role). It answers nothing on its own: tests see every ping and close.
// One instance per test; not shared between threads.
import IntakeWire

/// A blocking RFC 6455 client over a loopback `TestSocket`.
public final class WebSocketTestClient {
    /// The underlying connection, for raw reads and `waitForClose`.
    public let socket: TestSocket
    /// The server's 101 response head, including the blank line.
    public let responseHead: String
    private var decoder = WebSocketDecoder(role: .client, maxFrameBytes: 64 << 20, maxMessageBytes: 64 << 20)

    /// Connects to 127.0.0.1:`port` and performs the opening handshake for `path`; throws
    /// unless the server answers 101 with the right `Sec-WebSocket-Accept`.
    public init(port: Int, path: String = "/", extraHeaders: [(String, String)] = [], timeout: Double = 5,
                source: String? = nil) throws {
        socket = try TestSocket(port: port, source: source)
        let key = WebSocketHandshake.makeClientKey()
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in extraHeaders { request += "\(name): \(value)\r\n" }
        try socket.send(request + "\r\n")
        let head = String(decoding: try socket.receive(through: Array("\r\n\r\n".utf8), timeout: timeout), as: UTF8.self)
        responseHead = head
        guard head.hasPrefix("HTTP/1.1 101") else {
            throw TestSocketError("handshake refused: \(head.split(separator: "\r\n").first ?? "")")
        }
        let expected = WebSocketHandshake.acceptValue(forKey: key)
        let accept = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-accept:") }
            .map { $0.dropFirst("sec-websocket-accept:".count).trimmingSpaces() }
        guard accept == expected else {
            throw TestSocketError("Sec-WebSocket-Accept \(accept ?? "missing"), expected \(expected)")
        }
    }

    /// Sends a masked text message in one frame.
    public func sendText(_ text: String) throws {
        try sendFrame(opcode: .text, payload: Array(text.utf8))
    }

    /// Sends a masked binary message in one frame.
    public func sendBinary(_ bytes: [UInt8]) throws {
        try sendFrame(opcode: .binary, payload: bytes)
    }

    /// Sends one frame exactly as described, however wrong: any opcode (reserved ones
    /// included), any payload (invalid UTF-8, oversized control frames), FIN clear, unmasked
    /// (`mask: false`) or with reserved bits set.
    public func sendFrame(opcode: WebSocketOpcode, payload: [UInt8], fin: Bool = true, mask: Bool = true,
                          reservedBits: UInt8 = 0) throws {
        var out: [UInt8] = []
        WebSocketFrame.encode(opcode: opcode, payload: payload, fin: fin,
                              maskingKey: mask ? WebSocketMask.randomKey() : nil, reservedBits: reservedBits, into: &out)
        try socket.send(out)
    }

    /// Sends a masked ping.
    public func sendPing(_ payload: [UInt8] = []) throws {
        try sendFrame(opcode: .ping, payload: payload)
    }

    /// Sends a masked pong.
    public func sendPong(_ payload: [UInt8] = []) throws {
        try sendFrame(opcode: .pong, payload: payload)
    }

    /// Sends a masked close frame: with `code` and `reason`, or empty when `code` is nil.
    public func sendClose(code: UInt16?, reason: String = "") throws {
        var out: [UInt8] = []
        if let code {
            WebSocketFrame.encodeClose(code: code, reason: reason, maskingKey: WebSocketMask.randomKey(), into: &out)
        } else {
            WebSocketFrame.encodeEmptyClose(maskingKey: WebSocketMask.randomKey(), into: &out)
        }
        try socket.send(out)
    }

    /// Sends bytes as they are, with no framing.
    public func sendRaw(_ bytes: [UInt8]) throws {
        try socket.send(bytes)
    }

    /// The next event from the server. Throws on timeout, on EOF, and with a
    /// `WebSocketProtocolError` if the server breaks the protocol.
    public func receive(timeout: Double = 5) throws -> WebSocketEvent {
        let deadline = TestSocket.now() + timeout
        while true {
            if let event = try decoder.next() { return event }
            let remaining = deadline - TestSocket.now()
            guard remaining > 0 else { throw TestSocketError("timed out waiting for a WebSocket frame") }
            let bytes = try socket.receiveSome(timeout: remaining)
            guard !bytes.isEmpty else { throw TestSocketError("EOF before a complete WebSocket frame") }
            decoder.feed(bytes)
        }
    }

    /// Skips data and ping/pong events until a close frame arrives; returns its code (nil for
    /// an empty close payload). Throws on timeout or EOF first.
    public func receiveClose(timeout: Double = 5) throws -> UInt16? {
        let deadline = TestSocket.now() + timeout
        while true {
            if case .close(let code, _) = try receive(timeout: max(0.001, deadline - TestSocket.now())) { return code }
        }
    }

    /// Closes the TCP connection without a closing handshake.
    public func close() { socket.close() }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
