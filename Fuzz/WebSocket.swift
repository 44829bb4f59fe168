// Fuzz target `websocket`: IntakeWire's RFC 6455 frame decoder on an arbitrary byte stream.
//
// Input: byte 0 holds flags (bit 0: client role instead of server, bit 1: small limits, bit 2:
// structured mode), byte 1 seeds the chunking and the masking keys. In raw mode the rest is
// the stream itself. In structured mode the rest describes frames (two bytes of header choices,
// then the payload) that the harness encodes with `WebSocketFrame.encode`, masked as the role
// requires unless told otherwise, so the fuzzer spends its time on fragmentation, control
// frames between fragments, UTF-8 split across frames and the limits rather than on masks.
// Invariants beyond "never crashes or hangs":
// - resumability: whole, in random pieces and byte by byte, the same events and the same error;
// - a reference model: a plain, whole-buffer reading of RFC 6455 (written here, with the UTF-8
//   rules checked by the standard library, not by the decoder's own validator) gives the same
//   events and the same close code (1002, 1007, 1009) or none;
// - memory: what the decoder holds never exceeds a frame header plus the message limit.
import IntakeWire

private struct Outcome: Equatable {
    var events: [WebSocketEvent] = []
    var error: WebSocketProtocolError?
    var receivedClose = false
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(fuzzBytes(data, size))
    let flags = input.byte()
    let role: WebSocketDecoder.Role = flags & 1 == 0 ? .server : .client
    let (maxFrame, maxMessage) = flags & 2 == 0 ? (1 << 20, 1 << 20) : (130, 300)
    let seed = UInt64(input.byte())
    let stream = flags & 4 == 0 ? input.rest() : frames(from: &input, role: role, seed: seed)

    var reference: (String, Outcome)?
    for (name, pieces) in chunkings(of: stream, seed: seed) {
        var decoder = WebSocketDecoder(role: role, maxFrameBytes: maxFrame, maxMessageBytes: maxMessage)
        var out = Outcome()
        for piece in pieces {
            piece.withUnsafeBytes { decoder.feed($0) }
            check(decoder.bufferedByteCount <= 14 + maxMessage + 125,
                  "decoder holds \(decoder.bufferedByteCount) bytes with maxMessageBytes \(maxMessage)")
            do {
                while let e = try decoder.next() { out.events.append(e) }
            } catch {
                out.error = error
                break
            }
        }
        out.receivedClose = decoder.hasReceivedClose
        if let (firstName, expected) = reference {
            check(out == expected, "\(name): \(out.events.count) events, \(String(describing: out.error)); \(firstName): "
                  + "\(expected.events.count) events, \(String(describing: expected.error)): \(show(stream))")
        } else {
            reference = (name, out)
        }
    }
    guard let outcome = reference?.1 else { return 0 }
    let (events, code) = model(stream, role: role, maxFrame: maxFrame, maxMessage: maxMessage)
    check(outcome.events == events, "decoder gave \(outcome.events.count) events, the model \(events.count): \(show(stream))")
    check(outcome.error?.closeCode == code, "decoder error \(String(describing: outcome.error)), model close code "
          + "\(String(describing: code)): \(show(stream))")
    if let e = outcome.error {
        check(e.reason.utf8.count <= 123 && e.reason.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F },
              "close reason not short printable ASCII: \(e.reason)")
    }
    for case .text(let s) in outcome.events { check(s.utf8.count <= maxMessage, "text message over the limit") }
    for case .binary(let b) in outcome.events { check(b.count <= maxMessage, "binary message over the limit") }
    return 0
}

/// Frames described by the input, encoded. Per frame: byte a (bits 0-2: opcode choice, bit 3:
/// not final, bits 4-6 all set: RSV1, bit 7 with bit 7 of b: wrong masking), byte b (bits 0-5:
/// payload length, bit 6: take a 16-bit length up to 1023 instead), then the payload.
private func frames(from input: inout FuzzInput, role: WebSocketDecoder.Role, seed: UInt64) -> [UInt8] {
    let opcodes: [UInt8] = [0x0, 0x1, 0x2, 0x8, 0x9, 0xA, 0x3, 0xB]
    var rng = FuzzRandom(seed: seed ^ 0x5EED)
    var out: [UInt8] = []
    while !input.isAtEnd && out.count < 1 << 16 {
        let a = input.byte(), b = input.byte()
        let length = b & 0x40 == 0 ? Int(b & 0x3F) : Int(input.u16() & 0x3FF)
        let payload = input.take(length)
        let wrongMask = a & 0x80 != 0 && b & 0x80 != 0
        let shouldMask = (role == .server) != wrongMask
        let key: UInt32? = shouldMask ? UInt32(truncatingIfNeeded: rng.next()) : nil
        WebSocketFrame.encode(opcode: WebSocketOpcode(rawValue: opcodes[Int(a & 7)])!, payload: payload, fin: a & 8 == 0,
                              maskingKey: key, reservedBits: a & 0x70 == 0x70 ? 4 : 0, into: &out)
    }
    return out
}

/// RFC 6455 read plainly from a whole buffer: the events up to the first error, and that
/// error's close code. A frame cut off by the end of the buffer is checked as far as its bytes
/// go (the decoder promises to fail as early as the bytes allow), then waits.
private func model(_ b: [UInt8], role: WebSocketDecoder.Role, maxFrame: Int, maxMessage: Int) -> ([WebSocketEvent], UInt16?) {
    var events: [WebSocketEvent] = []
    var i = 0
    var messageOpcode: UInt8?
    var message: [UInt8] = []
    while i < b.count {
        let b0 = b[i]
        let op = b0 & 0x0F
        let fin = b0 & 0x80 != 0
        let control = op & 0x08 != 0
        guard b0 & 0x70 == 0 else { return (events, 1002) }
        guard op <= 2 || (8...10).contains(op) else { return (events, 1002) }
        if op == 0 && messageOpcode == nil { return (events, 1002) }
        if (op == 1 || op == 2) && messageOpcode != nil { return (events, 1002) }
        guard i + 1 < b.count else { return (events, nil) }
        let masked = b[i + 1] & 0x80 != 0
        guard masked == (role == .server) else { return (events, 1002) }
        let length7 = Int(b[i + 1] & 0x7F)
        if control && (!fin || length7 > 125) { return (events, 1002) }
        let lengthBytes = length7 == 126 ? 2 : length7 == 127 ? 8 : 0
        guard i + 2 + lengthBytes <= b.count else { return (events, nil) }
        var wide: UInt64 = UInt64(length7)
        if lengthBytes > 0 {
            wide = 0
            for k in 0..<lengthBytes { wide = wide << 8 | UInt64(b[i + 2 + k]) }
        }
        guard wide >> 63 == 0 else { return (events, 1002) }
        if !control && (wide > UInt64(maxFrame) || wide > UInt64(maxMessage - message.count)) { return (events, 1009) }
        let length = Int(wide)
        let headerSize = 2 + lengthBytes + (masked ? 4 : 0)
        guard i + headerSize <= b.count else { return (events, nil) }
        let key = masked ? Array(b[(i + headerSize - 4)..<(i + headerSize)]) : [0, 0, 0, 0]
        let available = min(length, b.count - i - headerSize)
        var payload = Array(b[(i + headerSize)..<(i + headerSize + available)])
        for k in payload.indices { payload[k] ^= key[k & 3] }
        let complete = available == length
        if control {
            guard complete else { return (events, nil) }
            switch op {
            case 0x9: events.append(.ping(payload))
            case 0xA: events.append(.pong(payload))
            default:
                if payload.isEmpty { events.append(.close(code: nil, reason: "")); return (events, nil) }
                guard payload.count >= 2 else { return (events, 1002) }
                let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
                guard (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code) else {
                    return (events, 1002)
                }
                guard let reason = String(validating: payload[2...], as: UTF8.self) else { return (events, 1007) }
                events.append(.close(code: code, reason: reason))
                return (events, nil)
            }
        } else {
            if op != 0 { messageOpcode = op }
            message += payload
            if messageOpcode == 1 {
                let ok = complete && fin ? String(validating: message, as: UTF8.self) != nil : isUTF8Prefix(message)
                guard ok else { return (events, 1007) }
            }
            guard complete else { return (events, nil) }
            if fin {
                events.append(messageOpcode == 1 ? .text(String(decoding: message, as: UTF8.self)) : .binary(message))
                messageOpcode = nil
                message = []
            }
        }
        i += headerSize + length
    }
    return (events, nil)
}

/// True when `bytes` can be extended to well-formed UTF-8: it is valid, or it becomes valid
/// with one of the continuations that can finish any valid lead (the first continuation byte
/// has a narrower range after E0, ED, F0 and F4; 80, 90 or A0 fits each of them).
private func isUTF8Prefix(_ bytes: [UInt8]) -> Bool {
    if String(validating: bytes, as: UTF8.self) != nil { return true }
    for first: UInt8 in [0x80, 0x90, 0xA0] {
        for more in 0...2 where String(validating: bytes + [first] + Array(repeating: 0x80, count: more), as: UTF8.self) != nil {
            return true
        }
    }
    return false
}
