// The encoder and masking: exact bytes for RFC 6455's examples, the length boundaries,
// masking against a byte-at-a-time reference at every phase, and seeded random round trips
// through the decoder in both roles, fragmented and cut at random. Test-thread only.
import Testing
import IntakeTestSupport
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct WebSocketFrameTests {
    @Test func rfcExamplesEncodeExactly() {
        var out: [UInt8] = []
        WebSocketFrame.encodeText("Hello", into: &out)
        #expect(out == hex("81 05 48 65 6c 6c 6f"))
        out = []
        WebSocketFrame.encodeText("Hello", maskingKey: 0x37FA_213D, into: &out)
        #expect(out == hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
        out = []
        WebSocketFrame.encode(opcode: .text, payload: Array("Hel".utf8), fin: false, into: &out)
        WebSocketFrame.encode(opcode: .continuation, payload: Array("lo".utf8), into: &out)
        #expect(out == hex("01 03 48 65 6c 80 02 6c 6f"))
        out = []
        WebSocketFrame.encode(opcode: .ping, payload: Array("Hello".utf8), into: &out)
        WebSocketFrame.encode(opcode: .pong, payload: Array("Hello".utf8), maskingKey: 0x37FA_213D, into: &out)
        #expect(out == hex("89 05 48 65 6c 6c 6f 8a 85 37 fa 21 3d 7f 9f 4d 51 58"))
    }

    @Test(arguments: [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)])
    func headerLengths(size: Int, headerBytes: Int) {
        var out = [0xEE as UInt8]  // the encoder appends, never overwrites
        WebSocketFrame.encodeBinary([UInt8](repeating: 1, count: size), into: &out)
        #expect(out.count == 1 + headerBytes + size)
        #expect(out[0] == 0xEE && out[1] == 0x82)
        var masked: [UInt8] = []
        WebSocketFrame.encodeBinary([UInt8](repeating: 1, count: size), maskingKey: 5, into: &masked)
        #expect(masked.count == headerBytes + 4 + size)
        #expect(masked[1] & 0x80 == 0x80)
    }

    @Test func closeFrames() {
        var out: [UInt8] = []
        WebSocketFrame.encodeClose(code: WebSocketCloseCode.normal, reason: "bye", into: &out)
        #expect(out == hex("88 05 03 e8 62 79 65"))
        out = []
        WebSocketFrame.encodeEmptyClose(into: &out)
        #expect(out == hex("88 00"))
        // A long reason is cut to 123 bytes on a character boundary: 61 × "€" (3 bytes) = 183.
        out = []
        WebSocketFrame.encodeClose(code: 1001, reason: String(repeating: "€", count: 61), into: &out)
        #expect(out[1] == 2 + 123)
        #expect(decode([out], role: .client) == Decoded(events: [.close(code: 1001, reason: String(repeating: "€", count: 41))]))
        out = []
        WebSocketFrame.encodeClose(code: 1000, reason: "x" + String(repeating: "€", count: 61), into: &out)
        #expect(out[1] == 2 + 121)
    }

    @Test func closeCodeConstants() {
        #expect([WebSocketCloseCode.normal, WebSocketCloseCode.goingAway, WebSocketCloseCode.protocolError,
                 WebSocketCloseCode.unsupportedData, WebSocketCloseCode.invalidPayload, WebSocketCloseCode.policyViolation,
                 WebSocketCloseCode.messageTooBig, WebSocketCloseCode.internalError] == [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011])
    }

    /// XOR one byte at a time: the obvious reading of RFC 6455 §5.3.
    func referenceMask(_ bytes: [UInt8], key: UInt32, phase: Int) -> [UInt8] {
        let k = [UInt8(key >> 24), UInt8(key >> 16 & 0xFF), UInt8(key >> 8 & 0xFF), UInt8(key & 0xFF)]
        return bytes.enumerated().map { $0.element ^ k[($0.offset + phase) % 4] }
    }

    @Test func maskMatchesTheReferenceAtEveryPhaseAndLength() {
        var rng = SeededRandom(seed: 42)
        for length in 0...100 {
            for phase in 0..<4 {
                let key = UInt32(truncatingIfNeeded: rng.next())
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                var masked = bytes
                let next = masked.withUnsafeMutableBytes { WebSocketMask.apply(key: key, phase: phase, to: $0) }
                #expect(masked == referenceMask(bytes, key: key, phase: phase), "length \(length) phase \(phase)")
                #expect(next == (phase + length) % 4)
                // Masking twice restores the payload.
                masked.withUnsafeMutableBytes { _ = WebSocketMask.apply(key: key, phase: phase, to: $0) }
                #expect(masked == bytes)
            }
        }
    }

    @Test func maskInPiecesEqualsMaskInOne() {
        var rng = SeededRandom(seed: 7)
        let bytes = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let key: UInt32 = 0xDEAD_BEEF
        for pieces in [randomPieces(bytes, count: 30, seed: 1), bytes.map { [$0] }] {
            var phase = 0
            var out: [UInt8] = []
            for var piece in pieces {
                phase = piece.withUnsafeMutableBytes { WebSocketMask.apply(key: key, phase: phase, to: $0) }
                out += piece
            }
            #expect(out == referenceMask(bytes, key: key, phase: 0))
        }
    }

    @Test func unmaskedTransmissionIsNotMaskedWithZero() {
        // A zero key is legal and must still set the mask bit and send four key bytes.
        var out: [UInt8] = []
        WebSocketFrame.encodeText("a", maskingKey: 0, into: &out)
        #expect(out == hex("81 81 00 00 00 00 61"))
        #expect(decode([out], role: .server) == Decoded(events: [.text("a")]))
    }

    @Test(arguments: [WebSocketDecoder.Role.server, .client])
    func randomRoundTrips(role: WebSocketDecoder.Role) {
        let seed: UInt64 = role == .server ? 0x5EED_0001 : 0x5EED_0002
        var rng = SeededRandom(seed: seed)
        let scalars: [[UInt8]] = [[0x61], [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80]]
        var stream: [UInt8] = []
        var expected: [WebSocketEvent] = []
        for _ in 0..<120 {
            let size = [0, 1, 7, 8, 9, 125, 126, 127, 300, 65535, 65536, 70_000][Int(rng.next() % 12)]
            let isText = rng.next() % 2 == 0
            var payload: [UInt8] = []
            payload.reserveCapacity(size + 3)
            if isText {
                while payload.count < size { payload += scalars[Int(rng.next() % 4)] }
            } else {
                for _ in 0..<size { payload.append(UInt8(truncatingIfNeeded: rng.next())) }
            }
            // Fragments split the payload anywhere, including inside a code point.
            let fragments = rng.next() % 3 == 0 ? randomPieces(payload, count: 3, seed: rng.next()) : [payload]
            for (i, fragment) in fragments.enumerated() {
                let last = i == fragments.count - 1
                let opcode: WebSocketOpcode = i > 0 ? .continuation : (isText ? .text : .binary)
                let key: UInt32? = role == .server ? UInt32(truncatingIfNeeded: rng.next()) : nil
                WebSocketFrame.encode(opcode: opcode, payload: fragment, fin: last, maskingKey: key, into: &stream)
                if last {
                    expected.append(isText ? .text(String(decoding: payload, as: UTF8.self)) : .binary(payload))
                }
                if rng.next() % 4 == 0 {
                    let pingKey: UInt32? = role == .server ? UInt32(truncatingIfNeeded: rng.next()) : nil
                    WebSocketFrame.encode(opcode: .ping, payload: [UInt8(i)], maskingKey: pingKey, into: &stream)
                    expected.append(.ping([UInt8(i)]))
                }
            }
        }
        let whole = decode([stream], role: role)
        #expect(whole.error == nil, "seed \(seed)")
        #expect(whole.events == expected, "seed \(seed)")
        let cut = decode(randomPieces(stream, count: 2000, seed: seed), role: role)
        #expect(cut.error == nil, "seed \(seed)")
        #expect(cut.events == expected, "seed \(seed)")
    }
}
