// Every framing rule of the decoder with the close code it must produce, each input fed
// whole, byte by byte and split at random points; plus fragmentation, interleaved control
// frames, limits, fail-fast UTF-8 and the release of buffers when idle. Test-thread only.
import Testing
import IntakeTestSupport
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct WebSocketDecoderRuleTests {
    /// A named input that must fail with `code` after delivering `before` events.
    struct Violation: CustomTestStringConvertible, Sendable {
        let name: String
        let input: [UInt8]
        let code: UInt16
        var before: [WebSocketEvent] = []
        var role: WebSocketDecoder.Role = .server
        var testDescription: String { name }
    }

    static let hello = Array("Hello".utf8)
    var hello: [UInt8] { Self.hello }

    static let violations: [Violation] = [
        Violation(name: "unmasked frame to a server", input: frame(.text, hello), code: 1002),
        Violation(name: "masked frame to a client", input: frame(.text, hello, key: 1), code: 1002, role: .client),
        Violation(name: "RSV1", input: frame(.text, hello, key: 9, reservedBits: 4), code: 1002),
        Violation(name: "RSV2", input: frame(.text, hello, key: 9, reservedBits: 2), code: 1002),
        Violation(name: "RSV3", input: frame(.binary, hello, key: 9, reservedBits: 1), code: 1002),
        Violation(name: "RSV on a ping", input: frame(.ping, [], key: 9, reservedBits: 7), code: 1002),
        Violation(name: "fragmented ping", input: clientFrame(.ping, hello, fin: false), code: 1002),
        Violation(name: "fragmented close", input: clientFrame(.close, [3, 232], fin: false), code: 1002),
        Violation(name: "ping of 126 bytes", input: clientFrame(.ping, [UInt8](repeating: 1, count: 126)), code: 1002),
        Violation(name: "close of 126 bytes", input: clientFrame(.close, [3, 232] + [UInt8](repeating: 0x61, count: 124)), code: 1002),
        Violation(name: "pong with a 64-bit length", input: hex("8A FF 00 00 00 00 00 00 00 05 01 02 03 04") + hello, code: 1002),
        Violation(name: "64-bit length with the top bit set", input: hex("82 FF 80 00 00 00 00 00 00 05 01 02 03 04"), code: 1002),
        Violation(name: "continuation with no message", input: clientFrame(.continuation, hello), code: 1002),
        Violation(name: "text inside a fragmented text", input: clientFrame(.text, hello, fin: false) + clientFrame(.text, hello), code: 1002),
        Violation(name: "binary inside a fragmented text", input: clientFrame(.text, hello, fin: false) + clientFrame(.binary, hello), code: 1002),
        Violation(name: "text inside a fragmented binary", input: clientFrame(.binary, hello, fin: false) + clientFrame(.text, hello, fin: false), code: 1002),
        Violation(name: "continuation after a finished message", input: clientFrame(.text, hello) + clientFrame(.continuation, hello),
                  code: 1002, before: [.text("Hello")]),
        Violation(name: "close with a 1-byte payload", input: clientFrame(.close, [3]), code: 1002),
        Violation(name: "close reason not UTF-8", input: clientFrame(.close, [3, 232, 0xC0, 0xAF]), code: 1007),
        Violation(name: "invalid UTF-8 text", input: clientFrame(.text, [0x48, 0xFF, 0x6C]), code: 1007),
        Violation(name: "surrogate in text", input: clientFrame(.text, [0xED, 0xA0, 0x80]), code: 1007),
        Violation(name: "text ends inside a code point", input: clientFrame(.text, [0x61, 0xE2, 0x82]), code: 1007),
        Violation(name: "fragmented text ends inside a code point",
                  input: clientFrame(.text, [0xE2], fin: false) + clientFrame(.continuation, [0x82]), code: 1007),
        Violation(name: "events before the error are delivered",
                  input: clientFrame(.ping, [1]) + clientFrame(.text, hello) + clientFrame(.text, [0xC1, 0x81]),
                  code: 1007, before: [.ping([1]), .text("Hello")]),
    ] + (Array(3...7) + Array(0xB...0xF)).map { op in
        Violation(name: "reserved opcode \(op)", input: clientFrame(WebSocketOpcode(rawValue: UInt8(op)) ?? .text, hello), code: 1002)
    } + [999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535, 0].map { (code: UInt16) in
        Violation(name: "close code \(code)", input: clientFrame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)]), code: 1002)
    }

    @Test(arguments: violations)
    func violationFailsWithItsCode(_ v: Violation) {
        let r = decodeAllChunkings(v.input, role: v.role)
        #expect(r.error?.closeCode == v.code, "\(r)")
        #expect(r.events == v.before)
        #expect(r.error.map { $0.reason.utf8.count <= 123 } ?? true)
    }

    static let validCloseCodes: [UInt16] = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]

    @Test(arguments: validCloseCodes)
    func validCloseCode(_ code: UInt16) {
        let reason = "bye κόσμε"
        let r = decodeAllChunkings(clientFrame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)), role: .server)
        #expect(r == Decoded(events: [.close(code: code, reason: reason)]))
    }

    @Test func emptyCloseHasNoCode() {
        #expect(decodeAllChunkings(clientFrame(.close, []), role: .server) == Decoded(events: [.close(code: nil, reason: "")]))
    }

    @Test func bytesAfterCloseAreIgnored() {
        let input = clientFrame(.close, [3, 232]) + clientFrame(.text, hello) + [0xFF, 0xFF]
        let r = decodeAllChunkings(input, role: .server)
        #expect(r == Decoded(events: [.close(code: 1000, reason: "")]))
        var d = WebSocketDecoder(role: .server)
        d.feed(input)
        #expect(d.hasReceivedClose)
        #expect(d.bufferedByteCount == 0)
    }

    @Test func errorIsSticky() throws {
        var d = WebSocketDecoder(role: .server)
        d.feed(frame(.text, hello))
        #expect(throws: WebSocketProtocolError(closeCode: 1002, reason: "client frame not masked")) { try d.next() }
        d.feed(clientFrame(.text, hello))
        #expect(throws: WebSocketProtocolError.self) { try d.next() }
        #expect(d.bufferedByteCount == 0)
    }

    @Test func controlFramesInsideAFragmentedMessage() {
        let input = clientFrame(.text, Array("Hel".utf8), fin: false) + clientFrame(.ping, [1, 2])
            + clientFrame(.continuation, [], fin: false) + clientFrame(.pong, [])
            + clientFrame(.continuation, Array("lo".utf8))
        let r = decodeAllChunkings(input, role: .server)
        #expect(r == Decoded(events: [.ping([1, 2]), .pong([]), .text("Hello")]))
    }

    @Test func codePointSplitAcrossFragments() {
        // "€" is E2 82 AC; every split of it across two or three frames is fine.
        let euro: [UInt8] = [0x61, 0xE2, 0x82, 0xAC, 0x62]
        for i in 0...euro.count {
            for j in i...euro.count {
                let input = clientFrame(.text, Array(euro[0..<i]), fin: false)
                    + clientFrame(.continuation, Array(euro[i..<j]), fin: false)
                    + clientFrame(.continuation, Array(euro[j...]))
                #expect(decode([input], role: .server) == Decoded(events: [.text("a€b")]), "split at \(i), \(j)")
            }
        }
    }

    @Test func invalidTextFailsBeforeTheMessageEnds() {
        // The first fragment's payload is invalid from its second byte; neither the rest of the
        // frame nor the message is needed to know it.
        var d = WebSocketDecoder(role: .server)
        let first = clientFrame(.text, [0x61, 0xC0, 0x80, 0x61, 0x61, 0x61], fin: false)
        d.feed(Array(first[0..<8]))
        #expect(throws: WebSocketProtocolError(closeCode: 1007, reason: "text is not valid UTF-8")) { try d.next() }

        // Autobahn 6.4.1's shape: valid text, then F4 90 (above U+10FFFF) fails at once.
        var e = WebSocketDecoder(role: .client)
        e.feed(frame(.text, [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5], fin: false))
        e.feed(frame(.continuation, [0xF4, 0x90, 0x80, 0x80], fin: false))
        #expect(throws: WebSocketProtocolError.self) { try e.next() }
    }

    @Test func nonMinimalLengthsAreAccepted() {
        let sixteen = hex("81 FE 00 05 01 02 03 04")
        let sixtyFour = hex("81 FF 00 00 00 00 00 00 00 05 01 02 03 04")
        var masked = hello
        masked.withUnsafeMutableBytes { _ = WebSocketMask.apply(key: 0x0102_0304, to: $0) }
        #expect(decodeAllChunkings(sixteen + masked, role: .server) == Decoded(events: [.text("Hello")]))
        #expect(decodeAllChunkings(sixtyFour + masked, role: .server) == Decoded(events: [.text("Hello")]))
    }

    @Test func frameLimitComesFromTheHeader() {
        let input = clientFrame(.binary, [UInt8](repeating: 7, count: 300))
        #expect(decodeAllChunkings(input, role: .server, maxFrameBytes: 300) == Decoded(events: [.binary([UInt8](repeating: 7, count: 300))]))
        #expect(decodeAllChunkings(input, role: .server, maxFrameBytes: 299).error?.closeCode == 1009)
        var d = WebSocketDecoder(role: .server, maxFrameBytes: 299)
        d.feed(Array(input[0..<4]))
        #expect(throws: WebSocketProtocolError.self) { try d.next() }
    }

    @Test func messageLimitCountsAllFragments() {
        let part = [UInt8](repeating: 0x61, count: 200)
        let input = clientFrame(.text, part, fin: false) + clientFrame(.continuation, part, fin: false)
            + clientFrame(.continuation, part)
        let ok = decodeAllChunkings(input, role: .server, maxFrameBytes: 200, maxMessageBytes: 600)
        #expect(ok == Decoded(events: [.text(String(repeating: "a", count: 600))]))
        let tooBig = decodeAllChunkings(input, role: .server, maxFrameBytes: 200, maxMessageBytes: 599)
        #expect(tooBig.error == WebSocketProtocolError(closeCode: 1009, reason: "message over 599 bytes"))
        // Control frames do not count towards a message.
        let withPing = clientFrame(.text, part, fin: false) + clientFrame(.ping, [UInt8](repeating: 1, count: 125))
            + clientFrame(.continuation, part)
        #expect(decodeAllChunkings(withPing, role: .server, maxFrameBytes: 200, maxMessageBytes: 400).error == nil)
    }

    @Test func noBufferHeldWhenIdle() throws {
        var d = WebSocketDecoder(role: .server)
        let text = clientFrame(.text, [UInt8](repeating: 0x61, count: 1000))
        // A partial header, a partial payload, a partial fragmented message: each is counted.
        d.feed(Array(text[0..<3]))
        #expect(d.bufferedByteCount == 3)
        d.feed(Array(text[3..<500]))
        #expect(d.bufferedByteCount == 500 - 8)
        d.feed(Array(text[500...]))
        #expect(try d.next() == .text(String(repeating: "a", count: 1000)))
        #expect(d.bufferedByteCount == 0)
        d.feed(clientFrame(.binary, [1, 2, 3], fin: false))
        #expect(try d.next() == nil)
        #expect(d.bufferedByteCount == 3)
        d.feed(clientFrame(.continuation, [4]))
        #expect(try d.next() == .binary([1, 2, 3, 4]))
        #expect(try d.next() == nil)
        #expect(d.bufferedByteCount == 0)
    }

    @Test func manyFramesInOneRead() throws {
        var input: [UInt8] = []
        for i in 0..<500 { input += clientFrame(i % 2 == 0 ? .text : .ping, Array("m\(i)".utf8)) }
        let r = decodeAllChunkings(input, role: .server)
        #expect(r.error == nil)
        #expect(r.events.count == 500)
        #expect(r.events[498] == .text("m498"))
        #expect(r.events[499] == .ping(Array("m499".utf8)))
    }
}
