// Encodes RFC 6455 frames into an output buffer: header (with the shortest length encoding),
// optional mask key, payload masked on the way in. Stateless; the caller owns the buffer
// (the connection's write buffer, on its loop thread).

/// Frame encoding. Servers send unmasked frames (`maskingKey: nil`); clients must mask every
/// frame with a fresh random key.
public enum WebSocketFrame {
    /// The largest header: 2 bytes, a 64-bit length and a masking key.
    public static let maxHeaderBytes = 14

    /// Appends one frame to `buffer`.
    /// - Parameters:
    ///   - opcode: any 4-bit opcode, reserved ones included (tests send those on purpose).
    ///   - payload: the payload, unmasked; control frames must keep it within 125 bytes.
    ///   - fin: false for every frame of a fragmented message but the last.
    ///   - maskingKey: the four key bytes in wire order, most significant first; nil to send
    ///     the payload unmasked.
    ///   - reservedBits: RSV1-RSV3 as a 3-bit value (RSV1 = 4); zero unless an extension was
    ///     negotiated, which Intake never does, so only tests set them.
    public static func encode(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, fin: Bool = true,
                              maskingKey: UInt32? = nil, reservedBits: UInt8 = 0, into buffer: inout [UInt8]) {
        precondition(reservedBits <= 7, "BUG: reserved bits are a 3-bit value")
        let count = payload.count
        let lengthBytes = count <= 125 ? 0 : (count <= 0xFFFF ? 2 : 8)
        let headerBytes = 2 + lengthBytes + (maskingKey == nil ? 0 : 4)
        let start = buffer.count
        buffer.reserveCapacity(start + headerBytes + count)

        buffer.append((fin ? 0x80 : 0) | reservedBits << 4 | opcode.rawValue)
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        switch lengthBytes {
        case 0:
            buffer.append(maskBit | UInt8(count))
        case 2:
            buffer.append(maskBit | 126)
            buffer.append(UInt8(truncatingIfNeeded: count >> 8))
            buffer.append(UInt8(truncatingIfNeeded: count))
        default:
            buffer.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) {
                buffer.append(UInt8(truncatingIfNeeded: UInt64(count) >> UInt64(shift)))
            }
        }
        if let key = maskingKey {
            buffer.append(UInt8(truncatingIfNeeded: key >> 24))
            buffer.append(UInt8(truncatingIfNeeded: key >> 16))
            buffer.append(UInt8(truncatingIfNeeded: key >> 8))
            buffer.append(UInt8(truncatingIfNeeded: key))
        }
        guard count > 0 else { return }
        buffer.append(contentsOf: payload)
        if let key = maskingKey {
            let payloadStart = start + headerBytes
            buffer.withUnsafeMutableBytes { all in
                guard let base = all.baseAddress else { return }
                WebSocketMask.apply(key: key, phase: 0, count: count, from: base + payloadStart, to: base + payloadStart)
            }
        }
    }

    /// Appends one frame carrying `payload` to `buffer`; see the pointer overload.
    public static func encode(opcode: WebSocketOpcode, payload: [UInt8], fin: Bool = true,
                              maskingKey: UInt32? = nil, reservedBits: UInt8 = 0, into buffer: inout [UInt8]) {
        payload.withUnsafeBytes {
            encode(opcode: opcode, payload: $0, fin: fin, maskingKey: maskingKey, reservedBits: reservedBits, into: &buffer)
        }
    }

    /// Appends a single-frame text message to `buffer`.
    public static func encodeText(_ text: String, maskingKey: UInt32? = nil, into buffer: inout [UInt8]) {
        var text = text
        text.withUTF8 { utf8 in
            encode(opcode: .text, payload: UnsafeRawBufferPointer(utf8), maskingKey: maskingKey, into: &buffer)
        }
    }

    /// Appends a single-frame binary message to `buffer`.
    public static func encodeBinary(_ bytes: [UInt8], maskingKey: UInt32? = nil, into buffer: inout [UInt8]) {
        encode(opcode: .binary, payload: bytes, maskingKey: maskingKey, into: &buffer)
    }

    /// Appends a close frame with `code` and `reason` to `buffer`. The reason is cut, on a
    /// character boundary, to the 123 bytes a control frame leaves for it.
    public static func encodeClose(code: UInt16, reason: String = "", maskingKey: UInt32? = nil, into buffer: inout [UInt8]) {
        var payload: [UInt8] = [UInt8(truncatingIfNeeded: code >> 8), UInt8(truncatingIfNeeded: code)]
        var room = 123
        for scalar in reason.unicodeScalars {
            let utf8 = Array(String(scalar).utf8)
            guard utf8.count <= room else { break }
            payload.append(contentsOf: utf8)
            room -= utf8.count
        }
        encode(opcode: .close, payload: payload, maskingKey: maskingKey, into: &buffer)
    }

    /// Appends a close frame with no payload (no code, no reason) to `buffer`.
    public static func encodeEmptyClose(maskingKey: UInt32? = nil, into buffer: inout [UInt8]) {
        encode(opcode: .close, payload: [], maskingKey: maskingKey, into: &buffer)
    }
}
