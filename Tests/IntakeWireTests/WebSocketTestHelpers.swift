// Shared helpers for the WebSocket and UTF-8 tests: run a decoder over one way of cutting the
// input and collect what it said. Test-thread only.
import Testing
import IntakeTestSupport
@testable import IntakeWire

/// What a decoder produced for one input: its events, and the error that stopped it, if any.
struct Decoded: Equatable, CustomStringConvertible {
    var events: [WebSocketEvent] = []
    var error: WebSocketProtocolError?
    var description: String { "events \(events.map(Self.short)), error \(error.map(\.description) ?? "none")" }

    static func short(_ e: WebSocketEvent) -> String {
        switch e {
        case .text(let s): "text(\(s.utf8.count) bytes)"
        case .binary(let b): "binary(\(b.count) bytes)"
        case .ping(let b): "ping(\(b.count))"
        case .pong(let b): "pong(\(b.count))"
        case .close(let c, let r): "close(\(c.map(String.init) ?? "nil"), \(r))"
        }
    }
}

/// Feeds `pieces` one at a time, draining events after each, as a connection would.
func decode(_ pieces: [[UInt8]], role: WebSocketDecoder.Role,
            maxFrameBytes: Int = 1 << 20, maxMessageBytes: Int = 1 << 20) -> Decoded {
    var decoder = WebSocketDecoder(role: role, maxFrameBytes: maxFrameBytes, maxMessageBytes: maxMessageBytes)
    var out = Decoded()
    for piece in pieces {
        decoder.feed(piece)
        do {
            while let event = try decoder.next() { out.events.append(event) }
        } catch {
            out.error = error
            return out
        }
    }
    return out
}

/// Decodes `input` whole, byte by byte and split at random points, and checks that every
/// cutting gives the same result; returns it.
func decodeAllChunkings(_ input: [UInt8], role: WebSocketDecoder.Role,
                        maxFrameBytes: Int = 1 << 20, maxMessageBytes: Int = 1 << 20,
                        sourceLocation: SourceLocation = #_sourceLocation) -> Decoded {
    let cuts = chunkings(of: input)
    let reference = decode(cuts[0].pieces, role: role, maxFrameBytes: maxFrameBytes, maxMessageBytes: maxMessageBytes)
    for cut in cuts.dropFirst() {
        let result = decode(cut.pieces, role: role, maxFrameBytes: maxFrameBytes, maxMessageBytes: maxMessageBytes)
        #expect(result == reference, "cutting \(cut.name) differs", sourceLocation: sourceLocation)
    }
    return reference
}

/// One encoded frame (masked with `key` when given).
func frame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, key: UInt32? = nil,
           reservedBits: UInt8 = 0) -> [UInt8] {
    var out: [UInt8] = []
    WebSocketFrame.encode(opcode: opcode, payload: payload, fin: fin, maskingKey: key, reservedBits: reservedBits, into: &out)
    return out
}

/// A masked frame from a client, with a fixed key.
func clientFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
    frame(opcode, payload, fin: fin, key: 0x1234_5678)
}

/// Bytes written in hexadecimal, as in the RFC's examples: "81 05 48".
func hex(_ s: String) -> [UInt8] {
    s.split(separator: " ").compactMap { UInt8($0, radix: 16) }
}
