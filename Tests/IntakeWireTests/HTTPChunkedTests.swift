// Chunked request bodies (RFC 9112 §7.1): sizes, extensions, trailers and malformed framing,
// fed in every cutting. Test-thread only.
import Testing
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct HTTPChunkedTests {
    static let prefix = "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

    /// The chunked example of RFC 9112 §7.1 / the classic "Wikipedia in chunks" one.
    @Test func rfcStyleExample() throws {
        let request = try #require(expectOne(Self.prefix + "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n"))
        #expect(request.body == utf8("Wikipedia in\r\n\r\nchunks."))
        #expect(request.trailers.isEmpty)
    }

    @Test func extensionsAreIgnored() throws {
        let body = "5;name=value\r\nhello\r\n6 ; a ; b=\"q s\"\r\n world\r\na;x\r\n0123456789\r\n0;last\r\n\r\n"
        let request = try #require(expectOne(Self.prefix + body))
        #expect(request.body == utf8("hello world0123456789"))
    }

    @Test func trailersAreParsedAndKeptApart() throws {
        let request = try #require(expectOne(Self.prefix + "3\r\nabc\r\n0\r\nExpires: never\r\nX-Checksum:  abc \r\n\r\n"))
        #expect(request.body == utf8("abc"))
        #expect(request.trailers.map(\.name) == ["Expires", "X-Checksum"])
        #expect(request.trailers["x-checksum"] == "abc")
        #expect(request.head.headers["Expires"] == nil)
    }

    @Test func upperAndLowerCaseHexAndLeadingZeros() throws {
        let data = String(repeating: "z", count: 0x1aF)
        let request = try #require(expectOne(Self.prefix + "001aF\r\n\(data)\r\n00\r\n\r\n"))
        #expect(request.body.count == 0x1AF)
    }

    @Test func emptyChunkedBody() throws {
        let request = try #require(expectOne(Self.prefix + "0\r\n\r\n"))
        #expect(request.body.isEmpty)
    }

    @Test(arguments: [
        "x\r\n", "\r\n", ";ext\r\n", "-1\r\n", "+1\r\n", "0x5\r\n", "5 x\r\nhello\r\n0\r\n\r\n",
        "5\nhello\r\n0\r\n\r\n", "5\r\nhello\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n", "5\r\nhello\r\r\n0\r\n\r\n",
        "5;a\u{0}b\r\nhello\r\n0\r\n\r\n", "5;a\rb\r\nhello\r\n0\r\n\r\n", "0\r\nT : v\r\n\r\n", "0\r\n T: v\r\n\r\n",
        "0\r\nT: v\n\r\n", "0\r\n\n",
    ])
    func malformedChunkingIs400(body: String) {
        expectRefused(Self.prefix + body, .badRequest)
    }

    @Test func partialChunkedBodyIsAPartialRequest() throws {
        var parser = HTTPRequestParser()
        parser.feed(utf8(Self.prefix + "3\r\nab"))
        #expect(parser.hasPartialRequest)
        #expect(try parser.next() == nil)
        parser.feed(utf8("c\r\n0\r\n"))
        #expect(parser.hasPartialRequest)
        parser.feed(utf8("\r\n"))
        #expect(!parser.hasPartialRequest)
        #expect(try parser.next()?.body == utf8("abc"))
    }
}
