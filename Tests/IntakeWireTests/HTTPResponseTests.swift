// Response encoding, the CONTRACT error body and status constants. Test-thread only.
import Foundation
import Testing
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct HTTPResponseTests {
    /// The encoding with its `Date` line checked and removed, as a String.
    static func encode(_ response: HTTPResponse, keepAlive: Bool) -> String {
        var out: [UInt8] = utf8("previous|")
        response.encode(into: &out, keepAlive: keepAlive)
        var text = String(decoding: out, as: UTF8.self)
        #expect(text.hasPrefix("previous|"))
        text.removeFirst("previous|".count)
        var lines = text.components(separatedBy: "\r\n")
        let dateLines = lines.filter { $0.hasPrefix("Date: ") }
        #expect(dateLines.count == 1)
        if let date = dateLines.first {
            #expect(date.utf8.count == "Date: Sun, 06 Nov 1994 08:49:37 GMT".utf8.count)
            #expect(date.hasSuffix(" GMT"))
        }
        lines.removeAll { $0.hasPrefix("Date: ") }
        return lines.joined(separator: "\r\n")
    }

    @Test func textResponseKeepAlive() {
        let text = Self.encode(.text(.ok, "ok"), keepAlive: true)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\nok")
    }

    @Test func closingResponseSaysSoAndDropsCallerFraming() {
        let response = HTTPResponse(status: .accepted, headers: [
            "Content-Length": "999", "Transfer-Encoding": "chunked", "Connection": "keep-alive", "X-A": "1",
        ], body: utf8("héllo"))
        let text = Self.encode(response, keepAlive: false)
        #expect(text == "HTTP/1.1 202 Accepted\r\nX-A: 1\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhéllo")
    }

    @Test(arguments: [HTTPStatus.noContent, .notModified, .switchingProtocols])
    func statusesWithoutContentHaveNoLengthOrBody(status: HTTPStatus) {
        let text = Self.encode(HTTPResponse(status: status, headers: ["ETag": "\"1\""], body: utf8("ignored")), keepAlive: true)
        #expect(text == "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nETag: \"1\"\r\n\r\n")
    }

    @Test func switchingProtocolsKeepsConnectionUpgrade() {
        let response = HTTPResponse(status: .switchingProtocols, headers: [
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ])
        #expect(Self.encode(response, keepAlive: true)
            == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    }

    @Test func errorBodyEscapesJSON() {
        let response = HTTPResponse.error(status: .badRequest, code: "bad_request", message: "quote \" back \\ nl \n tab \t bell \u{7} 你好")
        #expect(response.headers["content-type"] == "application/json")
        #expect(String(decoding: response.body, as: UTF8.self)
            == #"{"error":"bad_request","message":"quote \" back \\ nl \n tab \t bell \u0007 你好"}"#)
    }

    @Test func parseErrorMapsToItsResponse() {
        let error = HTTPParseError(.headersTooLarge, "header section larger than 16384 bytes")
        let response = HTTPResponse.error(error)
        #expect(response.status == .requestHeaderFieldsTooLarge)
        #expect(String(decoding: response.body, as: UTF8.self)
            == #"{"error":"headers_too_large","message":"header section larger than 16384 bytes"}"#)
        #expect(Self.encode(response, keepAlive: false).hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
    }

    @Test func encodedResponseParsesBackAsMessage() {
        // A response is a valid HTTP/1.1 message: its head lines obey the request parser's rules.
        var out: [UInt8] = []
        HTTPResponse.json(.created, utf8("{}")).encode(into: &out, keepAlive: true)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasSuffix("Content-Length: 2\r\n\r\n{}"))
        #expect(!text.contains("\n\n"))
    }

    @Test func imfFixdate() {
        #expect(HTTPDate.imfFixdate(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.imfFixdate(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }

    @Test func statusTable() {
        #expect(HTTPStatus(code: 429) == .tooManyRequests)
        #expect(HTTPStatus(code: 599).reasonPhrase == "Unknown")
        #expect(HTTPStatus.contentTooLarge.code == 413)
    }
}
