// The WebSocket side of the real server over loopback with our own client: echo at every
// length boundary, fragmentation, ping/pong, close handshake, each protocol error's close code,
// and 1,000 concurrent connections.
import Testing
import Dispatch
import Synchronization
import IntakeServer
import IntakeWire
import IntakeTestSupport

@Suite(.timeLimit(.minutes(5)))
struct WebSocketServerTests {
    @Test(arguments: [0, 125, 126, 65535, 65536, 1 << 20])
    func echoAtLengthBoundaries(size: Int) throws {
        let server = try startServer()
        defer { server.shutdown() }
        let ws = try WebSocketTestClient(port: server.httpEndpoint.port, path: "/ws/echo")
        let text = String(repeating: "z", count: size)
        try ws.sendText(text)
        #expect(try ws.receive(timeout: 10) == .text(text))
        let bin = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try ws.sendBinary(bin)
        #expect(try ws.receive(timeout: 10) == .binary(bin))
    }

    @Test func fragmentsPingsAndClose() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let ws = try WebSocketTestClient(port: server.httpEndpoint.port, path: "/ws/agent")
        try ws.sendFrame(opcode: .text, payload: Array("你好".utf8), fin: false)
        try ws.sendPing(Array("mid".utf8))  // a control frame between fragments is answered at once
        #expect(try ws.receive() == .pong(Array("mid".utf8)))
        try ws.sendFrame(opcode: .continuation, payload: Array("，世界".utf8), fin: true)
        #expect(try ws.receive() == .text("你好，世界"))
        try ws.sendClose(code: 1000, reason: "bye")
        #expect(try ws.receiveClose() == 1000)
    }

    struct BadFrame: Sendable, CustomStringConvertible {
        let name: String
        let code: UInt16
        let send: @Sendable (WebSocketTestClient) throws -> Void
        var description: String { name }
    }

    static let badFrames: [BadFrame] = [
        BadFrame(name: "unmasked", code: 1002) { try $0.sendFrame(opcode: .text, payload: Array("x".utf8), mask: false) },
        BadFrame(name: "reserved bit", code: 1002) { try $0.sendFrame(opcode: .text, payload: Array("x".utf8), reservedBits: 0x4) },
        BadFrame(name: "unknown opcode", code: 1002) { try $0.sendFrame(opcode: WebSocketOpcode(rawValue: 0x3)!, payload: []) },
        BadFrame(name: "fragmented ping", code: 1002) { try $0.sendFrame(opcode: .ping, payload: [], fin: false) },
        BadFrame(name: "oversized ping", code: 1002) { try $0.sendFrame(opcode: .ping, payload: [UInt8](repeating: 0, count: 126)) },
        BadFrame(name: "continuation without start", code: 1002) { try $0.sendFrame(opcode: .continuation, payload: [1]) },
        BadFrame(name: "invalid UTF-8", code: 1007) { try $0.sendFrame(opcode: .text, payload: [0xC3, 0x28]) },
        BadFrame(name: "message over the limit", code: 1009) { try $0.sendBinary([UInt8](repeating: 7, count: (1 << 20) + 1)) },
    ]

    @Test(arguments: badFrames)
    func badFramesGetTheirCloseCode(_ bad: BadFrame) throws {
        let server = try startServer()
        defer { server.shutdown() }
        let ws = try WebSocketTestClient(port: server.httpEndpoint.port, path: "/ws/echo")
        try bad.send(ws)
        #expect(try ws.receiveClose(timeout: 5) == bad.code)
    }

    @Test func badHandshakeIsRefused() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let s = try TestSocket(port: server.httpEndpoint.port)
        let r = try httpExchange(s, "GET /ws/widget HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
        #expect(r.status == 426)
        #expect(r.head.contains("Sec-WebSocket-Version: 13"))
    }

    @Test func thousandConcurrentConnections() throws {
        let server = try startServer {
            $0.maxConnections = 5000
            $0.maxConnectionsPerIP = 5000  // all from 127.0.0.1
        }
        defer { server.shutdown() }
        let port = server.httpEndpoint.port
        let failures = Mutex<[String]>([])
        // 1,000 connections open at once, then exchanging messages from 10 slices in parallel.
        let clients = try (0..<1000).map { _ in try WebSocketTestClient(port: port, path: "/ws/echo") }
        #expect(waitFor { server.openConnections == 1000 })
        let box = UncheckedBox(clients)
        DispatchQueue.concurrentPerform(iterations: 10) { t in
            do {
                let mine = box.value[(t * 100)..<(t * 100 + 100)]
                for round in 0..<5 {
                    for (i, c) in mine.enumerated() { try c.sendText("t\(t) c\(i) r\(round)") }
                    for (i, c) in mine.enumerated() {
                        let e = try c.receive(timeout: 10)
                        if e != .text("t\(t) c\(i) r\(round)") { failures.withLock { $0.append("t\(t) c\(i): \(e)") } }
                    }
                }
            } catch {
                failures.withLock { $0.append("slice \(t): \(error)") }
            }
        }
        for c in clients { c.close() }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(5) })")
    }
}

/// Lets test threads share clients they use on disjoint slices.
struct UncheckedBox<T>: @unchecked Sendable { let value: T; init(_ v: T) { value = v } }
