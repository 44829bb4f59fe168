// Request parser: every malformed input with its status, request-smuggling defences and the
// RFC 9110 token byte class. Test-thread only.
import Testing
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct HTTPParserErrorTests {
    @Test(arguments: [
        // request line
        "get\u{7F} / HTTP/1.1\r\n\r\n", " GET / HTTP/1.1\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 \r\n\r\n",
        "GET /\u{1}x HTTP/1.1\r\n\r\n", "GET / http/1.1\r\n\r\n", "GET / HTTP/1.10\r\n\r\n", "GET / HTTP/1\r\n\r\n",
        "GET /\r\n\r\n", "GET / HTTP/1.1\rX\r\n\r\n", "GET /a#frag HTTP/1.1\r\n\r\n", "GET * HTTP/1.1\r\n\r\n",
        "GET relative HTTP/1.1\r\n\r\n", "GET http:/x HTTP/1.1\r\n\r\n", "CONNECT /x HTTP/1.1\r\n\r\n",
        "GET /caf\u{e9} HTTP/1.1\r\n\r\n",
        // line endings: strict CRLF
        "GET / HTTP/1.1\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\n",
        "GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\r\n\r\n",
        // header names and values
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", "GET / HTTP/1.1\r\n: x\r\n\r\n",
        "GET / HTTP/1.1\r\nNo-Colon\r\n\r\n", "GET / HTTP/1.1\r\nBad(Name): x\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\u{0}b\r\n\r\n", "GET / HTTP/1.1\r\nX: a\u{1B}b\r\n\r\n", "GET / HTTP/1.1\r\nX: a\u{7F}\r\n\r\n",
        // obs-fold and whitespace before the first field
        "GET / HTTP/1.1\r\nX: a\r\n  b\r\n\r\n", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
        // path decoding
        "GET /a%2 HTTP/1.1\r\n\r\n", "GET /a%zz HTTP/1.1\r\n\r\n", "GET /a%00b HTTP/1.1\r\n\r\n", "GET /%C3%28 HTTP/1.1\r\n\r\n",
        "GET /%ED%A0%80 HTTP/1.1\r\n\r\n",
        // Host
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    ])
    func malformedIs400(input: String) {
        expectRefused(input, .badRequest)
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.1"])
    func otherVersionsAre505(version: String) {
        expectRefused("GET / \(version)\r\n\r\n", .httpVersionNotSupported)
    }

    // MARK: smuggling (RFC 9112 §6.3, §11.2)

    @Test(arguments: [
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: 5, 5\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: +5\r\n",
        "Content-Length: 0x5\r\n",
        "Content-Length: 5 5\r\n",
        "Content-Length:\r\n",
        "Transfer-Encoding: chunked, chunked\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked,\r\n",
        "Transfer-Encoding:\r\n",
        "Content-Length: 5\r\n Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding : chunked\r\n",
        "Transfer-Encoding:\u{B}chunked\r\n",
    ])
    func smugglingAttemptsAre400(fields: String) {
        expectRefused("POST / HTTP/1.1\r\nHost: x\r\n\(fields)\r\nhello", .badRequest)
    }

    @Test func transferEncodingInHTTP10Is400() {
        expectRefused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .badRequest)
    }

    /// Codings other than chunked are not implemented: 501, wherever they appear
    /// (`chunked, identity` included; identity is no longer a transfer coding).
    @Test(arguments: ["gzip", "identity", "chunked, identity", "gzip, chunked", "chunked, gzip", "chunked;q=1", "x-custom"])
    func otherTransferCodingsAre501(te: String) {
        expectRefused("POST / HTTP/1.1\r\nTransfer-Encoding: \(te)\r\n\r\n0\r\n\r\n", .notImplemented)
    }

    @Test func identicalDuplicateContentLengthsAreAccepted() throws {
        let request = try #require(expectOne("POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 003\r\n\r\nabc"))
        #expect(request.body == utf8("abc"))
    }

    @Test func transferEncodingIsCaseInsensitive() throws {
        let request = try #require(expectOne("POST / HTTP/1.1\r\nTRANSFER-ENCODING: ChUnKeD\r\n\r\n1\r\nz\r\n0\r\n\r\n"))
        #expect(request.body == utf8("z"))
    }

    @Test func errorCodesAndMessagesAreStable() {
        let outcome = parse([utf8("GET / HTTP/1.1\r\nX : y\r\n\r\n")])
        #expect(outcome.error == HTTPParseError(.badRequest, "whitespace before colon in header field"))
        #expect(outcome.error?.code == "bad_request")
        let kinds: [(HTTPParseError.Kind, Int, String)] = [
            (.badRequest, 400, "bad_request"), (.bodyTooLarge, 413, "body_too_large"), (.uriTooLong, 414, "uri_too_long"),
            (.headersTooLarge, 431, "headers_too_large"), (.notImplemented, 501, "not_implemented"),
            (.versionNotSupported, 505, "version_not_supported"),
        ]
        for (kind, status, code) in kinds {
            let error = HTTPParseError(kind, "m")
            #expect(error.status.code == status)
            #expect(error.code == code)
        }
    }

    @Test func tokenMasksMatchRFC9110() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for c in 0...255 {
            #expect(isTokenByte(UInt8(c)) == tchar.contains(UInt8(c)), "byte \(c)")
        }
    }
}
