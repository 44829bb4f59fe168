// Request parser: each limit exactly at the bound (accepted) and one byte or field past it
// (refused with its status), in every cutting. Test-thread only.
import Testing
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct HTTPParserLimitTests {
    /// A GET whose request line plus header lines (CRLFs included) are exactly `bytes` long.
    static func head(totalHeaderBytes bytes: Int) -> String {
        let fixedBytes = "GET / HTTP/1.1\r\nX-Pad: \r\n".utf8.count
        return "GET / HTTP/1.1\r\nX-Pad: " + String(repeating: "p", count: bytes - fixedBytes) + "\r\n\r\n"
    }

    @Test func headerBytesAtTheDefaultLimit() throws {
        let ok = Self.head(totalHeaderBytes: 16384)
        #expect(ok.utf8.count == 16384 + 2)
        #expect(expectOne(ok)?.head.headers["x-pad"]?.utf8.count == 16384 - 16 - 9)
        expectRefused(Self.head(totalHeaderBytes: 16385), .requestHeaderFieldsTooLarge)
    }

    @Test func headerBytesWithSmallLimitFedEveryWay() {
        let limits = HTTPLimits(maxHeaderBytes: 64)
        #expect(expectOne(Self.head(totalHeaderBytes: 64), limits: limits) != nil)
        expectRefused(Self.head(totalHeaderBytes: 65), .requestHeaderFieldsTooLarge, limits: limits)
        // An endless header line is refused once past the limit, without waiting for its end.
        let outcome = parse([utf8("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 60))], limits: limits)
        #expect(outcome.error?.status == .requestHeaderFieldsTooLarge)
    }

    @Test func headerCountAtTheLimit() {
        func request(_ n: Int) -> String {
            "GET / HTTP/1.1\r\n" + (0..<n).map { "H\($0): v\r\n" }.joined() + "\r\n"
        }
        #expect(expectOne(request(100))?.head.headers.count == 100)
        expectRefused(request(101), .requestHeaderFieldsTooLarge)
        let limits = HTTPLimits(maxHeaderCount: 0)
        #expect(expectOne(request(0), limits: limits) != nil)
        expectRefused(request(1), .requestHeaderFieldsTooLarge, limits: limits)
    }

    @Test func uriAtTheLimit() {
        let atLimit = "/" + String(repeating: "u", count: 8191)
        #expect(expectOne("GET \(atLimit) HTTP/1.1\r\n\r\n")?.head.target.utf8.count == 8192)
        expectRefused("GET \(atLimit)u HTTP/1.1\r\n\r\n", .uriTooLong)
        // Refused before the request line ends.
        let partial = parse([utf8("GET \(atLimit)uu")])
        #expect(partial.error?.status == .uriTooLong)
        let limits = HTTPLimits(maxURIBytes: 4)
        #expect(expectOne("GET /abc HTTP/1.1\r\n\r\n", limits: limits) != nil)
        expectRefused("GET /abcd HTTP/1.1\r\n\r\n", .uriTooLong, limits: limits)
    }

    @Test func contentLengthAtTheDefaultLimit() throws {
        let max = 1024 * 1024
        let atLimit = utf8("POST / HTTP/1.1\r\nContent-Length: \(max)\r\n\r\n") + [UInt8](repeating: 0x61, count: max)
        let outcome = parse([atLimit])
        #expect(outcome.error == nil)
        #expect(outcome.requests.first?.body.count == max)
        // 413 from the head alone, before any body byte arrives.
        let over = parse([utf8("POST / HTTP/1.1\r\nContent-Length: \(max + 1)\r\n\r\n")])
        #expect(over.error?.status == .contentTooLarge)
        let huge = parse([utf8("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n")])
        #expect(huge.error?.status == .contentTooLarge)
    }

    @Test func bodyLimitsWithSmallLimitFedEveryWay() {
        let limits = HTTPLimits(maxBodyBytes: 10)
        #expect(expectOne("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits)?.body.count == 10)
        expectRefused("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", .contentTooLarge, limits: limits)
        let chunkedAt = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n"
        #expect(expectOne(chunkedAt, limits: limits)?.body == utf8("0123456789"))
        // The second chunk's size line already says the total is 11: refused before its data.
        expectRefused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n7\r\n", .contentTooLarge, limits: limits)
        expectRefused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\n", .contentTooLarge,
                      limits: limits)
    }

    @Test func chunkLineAtTheLimit() {
        let limits = HTTPLimits(maxChunkLineBytes: 8)
        #expect(expectOne("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;abcdef\r\nx\r\n0\r\n\r\n", limits: limits) != nil)
        expectRefused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;abcdefg\r\nx\r\n0\r\n\r\n", .badRequest, limits: limits)
        expectRefused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;abcdefgh", .badRequest, limits: limits)
    }

    @Test func trailerSectionIsBoundedLikeTheHead() {
        let limits = HTTPLimits(maxHeaderBytes: 64, maxHeaderCount: 2)
        let start = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        let trailer30 = "T: " + String(repeating: "t", count: 25) + "\r\n"
        #expect(trailer30.utf8.count == 30)
        #expect(expectOne(start + trailer30 + "U: " + String(repeating: "u", count: 29) + "\r\n\r\n", limits: limits) != nil)
        expectRefused(start + trailer30 + "U: " + String(repeating: "u", count: 30) + "\r\n\r\n", .requestHeaderFieldsTooLarge,
                      limits: limits)
        expectRefused(start + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", .requestHeaderFieldsTooLarge, limits: limits)
    }
}
