// Regression tests for what the fuzz targets `http` and `ndjson` found in IntakeWire
// (Ops/scripts/fuzz, Fuzz/README.md): one named test per crash, with the fuzzer's input inline
// (the stream, without the harness's two option bytes, which are named instead), and the same
// case written plainly. Every input is fed whole, byte by byte and at random splits: the
// outcome must not depend on how the bytes were cut into reads. Test-thread only.
import IntakeTestSupport
import Testing
@testable import IntakeWire

@Suite(.timeLimit(.minutes(1)))
struct WireFuzzRegressionTests {
    /// The `http` harness's small limits (its option byte 0 odd).
    static let small = HTTPLimits(maxHeaderBytes: 256, maxBodyBytes: 300, maxHeaderCount: 6, maxURIBytes: 64,
                                  maxChunkLineBytes: 24)

    /// fuzz http, crash 1 (options 5d 0d): a request line with a bare CR after 57 bytes of
    /// target and a bare LF at its end was answered 400 (bare LF) when read whole, 414 when it
    /// came in pieces: a partial line's target was measured through the CR to the end of the
    /// read. Now the target ends at a space, CR or LF for the limit, and the limits are checked
    /// before the line-ending rule on a whole line too, exactly as on a partial one: 400 every
    /// way here, and 414 every way for a target really over the limit.
    @Test func httpLongTargetEndingInBareLF() {
        let input: [UInt8] = [0x6C, 0x21, 0x7F, 0x21, 0x01, 0x00, 0x20, 0x21] + [UInt8](repeating: 0x28, count: 28) + [0x29]
            + [UInt8](repeating: 0x28, count: 16) + [0x01, 0x00, 0x00, 0x00, 0x21, 0x21, 0x00, 0x00, 0x21, 0x21, 0x3F, 0x0D,
                                                     0x4E, 0x3E, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x0A, 0x0D, 0x0A]
        let outcome = parseEveryWay(input, limits: Self.small)
        #expect(outcome.requests.isEmpty)
        #expect(outcome.error?.status == .badRequest)
        expectRefused("GET /" + String(repeating: "a", count: 70) + "\n\r\n", .uriTooLong, limits: Self.small)
        // A target exactly at the limit ending in CRLF is fine; its CR never counts as target.
        #expect(expectOne("GET /" + String(repeating: "a", count: 63) + " HTTP/1.1\r\n\r\n", limits: Self.small) != nil)
        expectRefused("GET /" + String(repeating: "a", count: 63) + "\r\n\r\n", .badRequest, limits: Self.small)
    }

    /// fuzz http, crash 2 (options 0d 25): no LF at all and a 229-byte method, so the head
    /// passes 256 bytes before the target passes 64. Read whole it was 414 (the target was
    /// checked first), in pieces 431. Now the limit a reader fed byte by byte meets first
    /// wins: 431.
    @Test func httpSectionLimitCrossedBeforeTargetLimit() {
        let input: [UInt8] = [UInt8](repeating: 0x00, count: 90) + [0x5B, 0x00, 0x00, 0x00, 0x4D, 0xFC, 0xFF, 0xFF, 0xFF, 0x00]
            + [UInt8](repeating: 0x2A, count: 106) + [UInt8](repeating: 0x00, count: 21)
            + [0x20, 0x00, 0x00, 0xD7, 0xFF, 0x00, 0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0x00, count: 44)
            + [0xFF] + [UInt8](repeating: 0x00, count: 14)
            + [0x09, 0x0D, 0x01, 0x00, 0x0D, 0x00, 0x7A, 0xF4, 0x00, 0x00, 0x20, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x09]
        #expect(parseEveryWay(input, limits: Self.small).error?.status == .requestHeaderFieldsTooLarge)
        // Plainly: a 200-byte method puts the target's 65th byte past byte 256 of the head…
        let late = utf8(String(repeating: "M", count: 200) + " /" + String(repeating: "a", count: 100))
        #expect(parseEveryWay(late, limits: Self.small).error?.status == .requestHeaderFieldsTooLarge)
        // …a 100-byte method puts it before: 414, however the bytes come.
        let early = utf8(String(repeating: "M", count: 100) + " /" + String(repeating: "a", count: 200))
        #expect(parseEveryWay(early, limits: Self.small).error?.status == .uriTooLong)
    }

    /// Found next to crash 1 (the same rule, in the chunked body): a chunk-size line over the
    /// limit ending in a bare LF was "not terminated by CRLF" whole and "longer than" in pieces.
    @Test func httpLongChunkSizeLineEndingInBareLF() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        let outcome = parseEveryWay(utf8(head + "1;" + String(repeating: "x", count: 30) + "\n"), limits: Self.small)
        #expect(outcome.error?.status == .badRequest)
        #expect(outcome.error?.message.contains("longer than") == true)
        // At the limit with its CRLF it is accepted every way.
        let ok = head + "1;" + String(repeating: "x", count: 22) + "\r\nA\r\n0\r\n\r\n"
        #expect(expectOne(ok, limits: Self.small)?.body == [0x41])
    }

    /// fuzz ndjson, crash 1 (options 19 4e, so a 64-byte line limit): a line of 64 bytes
    /// ending in CRLF (here 65 CRs, then LF) was refused when a read ended between its CR and
    /// its LF: the pending CR was counted against the limit. Now every cutting gives the same
    /// lines.
    @Test func ndjsonLineAtTheLimitSplitBetweenCRAndLF() throws {
        let input: [UInt8] = [0x4C, 0x0A] + [UInt8](repeating: 0x0D, count: 65)
            + [0x0A, 0xF4, 0x0A, 0x19, 0x0A, 0xF4, 0x0A, 0x4C, 0x0A, 0xF4, 0x0A]
        let expected: [[UInt8]] = [[0x4C], [UInt8](repeating: 0x0D, count: 64), [0xF4], [0x19], [0xF4], [0x4C], [0xF4]]
        for cut in chunkings(of: input) {
            #expect(try lines(cut.pieces, limit: 64) == expected, "\(cut)")
        }
        let plain = Array(String(repeating: "x", count: 100).utf8) + [0x0D, 0x0A]
        for cut in chunkings(of: plain) {
            #expect(try lines(cut.pieces, limit: 100) == [Array(plain.prefix(100))], "\(cut)")
        }
        // One byte more is still refused, before its LF arrives.
        #expect(throws: LineFramer.LineTooLong(limit: 100)) {
            try lines([Array(String(repeating: "x", count: 101).utf8) + [0x0D]], limit: 100)
        }
    }

    private func lines(_ pieces: [[UInt8]], limit: Int) throws -> [[UInt8]] {
        var framer = LineFramer(maxLineBytes: limit)
        var out: [[UInt8]] = []
        for p in pieces {
            p.withUnsafeBytes { framer.feed($0) }
            while let line = try framer.next() { out.append(Array(line)) }
            framer.release()
        }
        return out
    }
}
