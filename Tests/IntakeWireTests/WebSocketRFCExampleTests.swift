// RFC 6455 §5.7's example frames, byte for byte, decoded in the role that would receive them
// (unmasked frames come from a server, masked ones from a client) and fed whole, byte by byte
// and split at random points; plus the payload-length boundaries. Test-thread only.
import Testing
import IntakeTestSupport
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct WebSocketRFCExampleTests {
    @Test func singleFrameUnmaskedText() {
        let r = decodeAllChunkings(hex("81 05 48 65 6c 6c 6f"), role: .client)
        #expect(r == Decoded(events: [.text("Hello")]))
    }

    @Test func singleFrameMaskedText() {
        let r = decodeAllChunkings(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), role: .server)
        #expect(r == Decoded(events: [.text("Hello")]))
    }

    @Test func fragmentedUnmaskedText() {
        let r = decodeAllChunkings(hex("01 03 48 65 6c 80 02 6c 6f"), role: .client)
        #expect(r == Decoded(events: [.text("Hello")]))
    }

    @Test func unmaskedPing() {
        let r = decodeAllChunkings(hex("89 05 48 65 6c 6c 6f"), role: .client)
        #expect(r == Decoded(events: [.ping(Array("Hello".utf8))]))
    }

    @Test func maskedPong() {
        let r = decodeAllChunkings(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"), role: .server)
        #expect(r == Decoded(events: [.pong(Array("Hello".utf8))]))
    }

    @Test func binary256BytesWith16BitLength() {
        let payload = (0..<256).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let input = hex("82 7E 01 00") + payload
        #expect(frame(.binary, payload) == input)
        #expect(decodeAllChunkings(input, role: .client) == Decoded(events: [.binary(payload)]))
    }

    @Test func binary64KiBWith64BitLength() {
        let payload = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let input = hex("82 7F 00 00 00 00 00 01 00 00") + payload
        #expect(frame(.binary, payload) == input)
        #expect(decodeAllChunkings(input, role: .client) == Decoded(events: [.binary(payload)]))
    }

    @Test func allExamplesInOneStream() {
        let stream = hex("81 05 48 65 6c 6c 6f") + hex("01 03 48 65 6c") + hex("89 05 48 65 6c 6c 6f")
            + hex("80 02 6c 6f") + hex("82 00")
        let r = decodeAllChunkings(stream, role: .client)
        #expect(r == Decoded(events: [.text("Hello"), .ping(Array("Hello".utf8)), .text("Hello"), .binary([])]))
    }

    static let sizes = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]

    @Test(arguments: sizes, [false, true])
    func payloadSizes(size: Int, masked: Bool) {
        var rng = SeededRandom(seed: UInt64(size))
        let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let input = frame(.binary, payload, key: masked ? 0xA1B2_C3D4 : nil)
        let role: WebSocketDecoder.Role = masked ? .server : .client
        let expected = Decoded(events: [.binary(payload)])
        if size <= 65536 {
            #expect(decodeAllChunkings(input, role: role) == expected)
        } else {
            // Byte by byte over a mebibyte is too slow for a debug build; cut it at random.
            #expect(decode([input], role: role) == expected)
            #expect(decode(randomPieces(input, count: 40, seed: 7), role: role) == expected)
        }
    }

    @Test(arguments: sizes)
    func textSizes(size: Int) {
        // Mostly ASCII with a 3-byte character every 50 bytes, cut anywhere.
        var bytes: [UInt8] = []
        while bytes.count < size {
            if bytes.count % 50 == 49 && bytes.count + 3 <= size { bytes += [0xE2, 0x82, 0xAC] } else { bytes.append(0x61) }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let input = frame(.text, bytes, key: 0x0102_0304)
        #expect(decode(randomPieces(input, count: 25, seed: 3), role: .server) == Decoded(events: [.text(text)]))
        #expect(decode([input], role: .server) == Decoded(events: [.text(text)]))
    }

    @Test func oneByteOverTheLimitIsRefusedFromTheHeader() {
        let size = (1 << 20) + 1
        let input = frame(.binary, [UInt8](repeating: 0x55, count: size), key: 0x0BAD_F00D)
        let whole = decode([input], role: .server)
        #expect(whole.error?.closeCode == 1009)
        #expect(whole.events.isEmpty)
        // The 14-byte header alone is enough, and nothing is buffered.
        var decoder = WebSocketDecoder(role: .server)
        decoder.feed(Array(input[0..<14]))
        #expect(throws: WebSocketProtocolError.self) { try decoder.next() }
        #expect(decoder.bufferedByteCount == 0)
        // The 64-bit length is known after 10 bytes, before the masking key.
        var early = WebSocketDecoder(role: .server)
        early.feed(Array(input[0..<10]))
        #expect(throws: WebSocketProtocolError.self) { try early.next() }
    }
}

/// `input` cut into `count` pieces at seeded random points.
func randomPieces(_ input: [UInt8], count: Int, seed: UInt64) -> [[UInt8]] {
    guard input.count > 1 else { return [input] }
    var rng = SeededRandom(seed: seed)
    var cuts = Set<Int>()
    for _ in 0..<count { cuts.insert(Int.random(in: 1..<input.count, using: &rng)) }
    var pieces: [[UInt8]] = []
    var start = 0
    for cut in cuts.sorted() + [input.count] {
        pieces.append(Array(input[start..<cut]))
        start = cut
    }
    return pieces
}
