// The test client against a small loopback echo server built from the same pieces the broker
// will use (handshake validation, server-role decoder, encoder): handshake, echo, ping/pong,
// the closing handshake, and the close code for each kind of bad frame. The server runs on a
// Dispatch thread of its own and serves one connection.
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Testing
import IntakeTestSupport
@testable import IntakeWire

/// A one-connection WebSocket echo server on 127.0.0.1 with an ephemeral port.
final class LoopbackEchoServer: @unchecked Sendable {
    let listenFD: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSocketError("socket: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { close(fd); throw TestSocketError("bind/listen: errno \(errno)") }
        // On Linux SO_RCVTIMEO bounds accept() too: a test that never connects frees the thread.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        listenFD = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        DispatchQueue.global().async { self.serveOne() }
    }

    deinit { close(listenFD) }

    private func serveOne() {
        let fd = accept(listenFD, nil, nil)
        guard fd >= 0 else { return }
        defer { close(fd) }
        // Never let a broken test hang this thread: every read gives up after 5 seconds.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var input: [UInt8] = []
        var headEnd: Int?
        while headEnd == nil {
            guard let bytes = receive(fd) else { return }
            input += bytes
            headEnd = findHeadEnd(input)
        }
        guard let end = headEnd else { return }
        let lines = String(decoding: input[..<end], as: UTF8.self).split(separator: "\r\n")
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...])
        }
        let requestLine = lines.first?.split(separator: " ") ?? []
        let result = WebSocketHandshake.validate(method: requestLine.first.map(String.init) ?? "",
                                                 versionMinor: requestLine.last == "HTTP/1.1" ? 1 : 0) { headers[$0.lowercased()] }
        switch result {
        case .failure(let error):
            var head = "HTTP/1.1 \(error.status) Refused\r\n"
            for h in error.responseHeaders { head += "\(h.name): \(h.value)\r\n" }
            send(fd, Array((head + "Content-Length: 0\r\n\r\n").utf8))
            return
        case .success(let accept):
            send(fd, WebSocketHandshake.responseHead(accept: accept))
        }

        var decoder = WebSocketDecoder(role: .server)
        decoder.feed(Array(input[(end + 4)...]))
        while true {
            var out: [UInt8] = []
            do {
                while let event = try decoder.next() {
                    switch event {
                    case .text(let s): WebSocketFrame.encodeText(s, into: &out)
                    case .binary(let b): WebSocketFrame.encodeBinary(b, into: &out)
                    case .ping(let b): WebSocketFrame.encode(opcode: .pong, payload: b, into: &out)
                    case .pong: break
                    case .close(let code, _):
                        if let code { WebSocketFrame.encodeClose(code: code, into: &out) } else { WebSocketFrame.encodeEmptyClose(into: &out) }
                        send(fd, out)
                        return
                    }
                }
            } catch {
                WebSocketFrame.encodeClose(code: error.closeCode, reason: error.reason, into: &out)
                send(fd, out)
                return
            }
            send(fd, out)
            guard let bytes = receive(fd) else { return }
            decoder.feed(bytes)
        }
    }

    private func findHeadEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }

    private func receive(_ fd: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[0..<n]) : nil
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }
}

@Suite(.timeLimit(.minutes(5)))
struct WebSocketTestClientTests {
    @Test func handshakeEchoPingAndClose() throws {
        let server = try LoopbackEchoServer()
        let client = try WebSocketTestClient(port: server.port, path: "/ws/widget", extraHeaders: [("Origin", "http://127.0.0.1")])
        #expect(client.responseHead.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        try client.sendText("hello κόσμε")
        #expect(try client.receive() == .text("hello κόσμε"))
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 * 13) }
        try client.sendBinary(big)
        #expect(try client.receive() == .binary(big))
        try client.sendFrame(opcode: .text, payload: Array("frag".utf8), fin: false)
        try client.sendPing([1, 2, 3])
        #expect(try client.receive() == .pong([1, 2, 3]))
        try client.sendFrame(opcode: .continuation, payload: Array("ment".utf8))
        #expect(try client.receive() == .text("fragment"))
        try client.sendClose(code: WebSocketCloseCode.normal)
        #expect(try client.receiveClose() == 1000)
        #expect(client.socket.waitForClose())
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        let name: String
        let code: UInt16
        let send: @Sendable (WebSocketTestClient) throws -> Void
        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "unmasked", code: 1002) { try $0.sendFrame(opcode: .text, payload: [0x61], mask: false) },
        BadInput(name: "RSV1", code: 1002) { try $0.sendFrame(opcode: .text, payload: [0x61], reservedBits: 4) },
        BadInput(name: "opcode 3", code: 1002) { try $0.sendFrame(opcode: WebSocketOpcode(rawValue: 3) ?? .text, payload: []) },
        BadInput(name: "invalid UTF-8", code: 1007) { try $0.sendFrame(opcode: .text, payload: [0xED, 0xA0, 0x80]) },
        BadInput(name: "close code 1005", code: 1002) { try $0.sendClose(code: 1005) },
        BadInput(name: "ping of 126 bytes", code: 1002) { try $0.sendPing([UInt8](repeating: 0, count: 126)) },
        BadInput(name: "too big", code: 1009) { try $0.sendRaw(hex("82 FF 00 00 00 00 00 20 00 00 01 02 03 04")) },
    ]

    @Test(arguments: badInputs)
    func badInputClosesWithItsCode(_ input: BadInput) throws {
        let server = try LoopbackEchoServer()
        let client = try WebSocketTestClient(port: server.port)
        try input.send(client)
        #expect(try client.receiveClose() == input.code)
        #expect(client.socket.waitForClose())
    }

    @Test func unsupportedVersionIsRefusedWith426() throws {
        let server = try LoopbackEchoServer()
        let socket = try TestSocket(port: server.port)
        try socket.send("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
        let head = String(decoding: try socket.receive(through: Array("\r\n\r\n".utf8)), as: UTF8.self)
        #expect(head.hasPrefix("HTTP/1.1 426"))
        #expect(head.contains("Sec-WebSocket-Version: 13\r\n"))
    }
}
