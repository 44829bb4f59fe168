// The client side of RFC 6455 as far as a load generator needs it: the upgrade request and the
// check of the 101 response (status line and Sec-WebSocket-Accept), masked unfragmented text
// frames out, unmasked server frames in, pong for ping, close = fatal. Immutable; any thread.
import IntakeCrypto

/// WebSocket client framing for ClientLoop.
struct WebSocketClientProtocol: WireProtocol {
    static let headroom = 14  // 2 + 8 (64-bit length) + 4 (mask key)
    static let trailer = 0
    /// Largest server frame accepted; a reply in this benchmark is a few bytes.
    static let maxFrameBytes = 16 << 20
    static let maxHandshakeBytes = 64 << 10
    private static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    let endpoint: Endpoint
    var awaitsHandshakeResponse: Bool { true }

    func openingRequest() -> (request: [UInt8], expectation: String) {
        let key = Base64.encode(SecureRandom.bytes(16))
        let accept = Base64.encode(Digest.sha1(Array((key + Self.acceptGUID).utf8)))
        let request = "GET \(endpoint.path) HTTP/1.1\r\nHost: \(endpoint.hostHeader)\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        return (Array(request.utf8), accept)
    }

    func parseHandshake(_ input: UnsafeRawBufferPointer, expectation: String) -> HandshakeStatus {
        var end = -1
        if input.count >= 4 {
            for i in 0...(input.count - 4)
            where input[i] == 13 && input[i + 1] == 10 && input[i + 2] == 13 && input[i + 3] == 10 {
                end = i + 4
                break
            }
        }
        guard end > 0 else {
            return input.count > Self.maxHandshakeBytes ? .failed("handshake response head too large") : .needMore
        }
        let head = String(decoding: UnsafeRawBufferPointer(rebasing: input[0..<end]), as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let status = lines.first, status.hasPrefix("HTTP/1.1 101") else {
            return .failed("handshake refused: \(lines.first.map(String.init) ?? "empty response")")
        }
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == "sec-websocket-accept" {
                let value = line[line.index(after: colon)...].trimmingSpaces
                return value == expectation ? .done(consumed: end) : .failed("bad Sec-WebSocket-Accept \(value)")
            }
        }
        return .failed("handshake response without Sec-WebSocket-Accept")
    }

    @inline(__always)
    func frame(_ buffer: UnsafeMutableRawPointer, bodyStart: Int, bodyCount: Int, rng: inout FastRNG) -> (start: Int, count: Int) {
        let key = rng.next32()
        let header: Int
        if bodyCount < 126 {
            header = 6
            buffer.storeBytes(of: 0x80 | UInt8(bodyCount), toByteOffset: bodyStart - 5, as: UInt8.self)
        } else if bodyCount < 65536 {
            header = 8
            buffer.storeBytes(of: 0x80 | 126, toByteOffset: bodyStart - 7, as: UInt8.self)
            buffer.storeBytes(of: UInt16(bodyCount).bigEndian, toByteOffset: bodyStart - 6, as: UInt16.self)
        } else {
            header = 14
            buffer.storeBytes(of: 0x80 | 127, toByteOffset: bodyStart - 13, as: UInt8.self)
            buffer.storeBytes(of: UInt64(bodyCount).bigEndian, toByteOffset: bodyStart - 12, as: UInt64.self)
        }
        buffer.storeBytes(of: 0x81, toByteOffset: bodyStart - header, as: UInt8.self)  // FIN + text
        buffer.storeBytes(of: key, toByteOffset: bodyStart - 4, as: UInt32.self)
        Self.mask(buffer.advanced(by: bodyStart), count: bodyCount, key: key)
        return (bodyStart - header, header + bodyCount)
    }

    func pong(_ payload: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawPointer, rng: inout FastRNG) -> Int {
        let key = rng.next32()
        buffer.storeBytes(of: 0x8A, as: UInt8.self)  // FIN + pong
        buffer.storeBytes(of: 0x80 | UInt8(payload.count), toByteOffset: 1, as: UInt8.self)
        buffer.storeBytes(of: key, toByteOffset: 2, as: UInt32.self)
        if payload.count > 0 { buffer.advanced(by: 6).copyMemory(from: payload.baseAddress!, byteCount: payload.count) }
        Self.mask(buffer.advanced(by: 6), count: payload.count, key: key)
        return 6 + payload.count
    }

    @inline(__always)
    func next(_ input: UnsafeMutableRawBufferPointer) -> Incoming {
        let available = input.count
        guard available >= 2 else { return .needMore }
        let b0 = input[0]
        let b1 = input[1]
        guard b0 & 0x70 == 0 else { return .fatal("server frame with RSV bits set") }
        var header = 2
        var length = Int(b1 & 0x7F)
        if length == 126 {
            guard available >= 4 else { return .needMore }
            length = Int(input[2]) << 8 | Int(input[3])
            header = 4
        } else if length == 127 {
            guard available >= 10 else { return .needMore }
            var wide: UInt64 = 0
            for i in 2..<10 { wide = wide << 8 | UInt64(input[i]) }
            guard wide <= UInt64(Self.maxFrameBytes) else { return .fatal("server frame of \(wide) bytes") }
            length = Int(wide)
            header = 10
        }
        let masked = b1 & 0x80 != 0
        if masked { header += 4 }
        guard length <= Self.maxFrameBytes else { return .fatal("server frame of \(length) bytes") }
        guard available >= header + length else { return .needMore }
        if masked {  // RFC 6455 forbids it, but unmasking costs nothing and keeps the count honest
            let key = input.loadUnaligned(fromByteOffset: header - 4, as: UInt32.self)
            Self.mask(input.baseAddress!.advanced(by: header), count: length, key: key)
        }
        let consumed = header + length
        let opcode = b0 & 0x0F
        let fin = b0 & 0x80 != 0
        switch opcode {
        case 0x0, 0x1, 0x2:
            return fin ? .data(consumed: consumed, payloadStart: header, payloadCount: length) : .skip(consumed: consumed)
        case 0x8:
            return .fatal("server sent close")
        case 0x9:
            guard length <= 125 else { return .fatal("ping payload over 125 bytes") }
            return .ping(consumed: consumed, payloadStart: header, payloadCount: length)
        case 0xA:
            return .skip(consumed: consumed)
        default:
            return .fatal("server frame with opcode \(opcode)")
        }
    }

    /// XORs `count` bytes with the 4-byte mask `key` (stored little-endian on the wire, as written
    /// by `frame`), eight bytes at a time.
    @inline(__always)
    static func mask(_ bytes: UnsafeMutableRawPointer, count: Int, key: UInt32) {
        let key64 = UInt64(key) | UInt64(key) << 32
        var i = 0
        while i + 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            bytes.storeBytes(of: word ^ key64, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            let b = bytes.load(fromByteOffset: i, as: UInt8.self) ^ UInt8(truncatingIfNeeded: key >> UInt32((i & 3) * 8))
            bytes.storeBytes(of: b, toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
