// Request parser: well-formed requests fed in every cutting, pipelining, keep-alive rules,
// upgrade hand-over, target forms and the memory an idle parser holds. Test-thread only.
import IntakeTestSupport
import Testing
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct HTTPRequestParserTests {
    static let typicalGET = """
        GET /api/v1/sessions/s-42?verbose=1&x=a+b%21 HTTP/1.1\r
        Host: intake.example:8080\r
        User-Agent: Mozilla/5.0 (X11; Linux x86_64) Intake-Test/1.0\r
        Accept: application/json, text/plain;q=0.9\r
        Accept-Encoding: gzip, deflate, br\r
        Accept-Language: zh-CN,zh;q=0.9,en;q=0.8\r
        Authorization: Bearer 0123456789abcdef0123456789abcdef\r
        X-Request-Id: 7f3c2a1b-0d4e-4f5a-9b8c-1e2d3c4b5a69\r
        Cookie: sid=abc123; theme=dark\r
        \r

        """

    @Test func typicalGetInEveryCutting() throws {
        let request = try #require(expectOne(Self.typicalGET))
        #expect(request.head.method == "GET")
        #expect(request.head.target == "/api/v1/sessions/s-42?verbose=1&x=a+b%21")
        #expect(request.head.path == "/api/v1/sessions/s-42")
        #expect(request.head.query == "verbose=1&x=a+b%21")
        #expect(request.head.version == .http1_1)
        #expect(request.head.headers.count == 8)
        #expect(request.head.headers["host"] == "intake.example:8080")
        #expect(request.head.headers["ACCEPT-ENCODING"] == "gzip, deflate, br")
        #expect(request.head.headers.contains("Accept-Encoding", token: "DEFLATE"))
        #expect(!request.head.headers.contains("Accept-Encoding", token: "zstd"))
        #expect(request.head.keepAlive)
        #expect(!request.head.isUpgrade)
        #expect(request.body.isEmpty)
        let items = request.head.queryItems()
        #expect(items.map(\.0) == ["verbose", "x"])
        #expect(items.map(\.1) == ["1", "a b!"])
    }

    @Test func postWithContentLengthBody() throws {
        let body = #"{"text":"你好","channel":"app"}"#
        let request = try #require(expectOne(
            "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"))
        #expect(request.head.method == "POST")
        #expect(request.body == utf8(body))
        #expect(request.head.headers["Content-Length"] == "\(body.utf8.count)")
    }

    @Test func headerValuesAreTrimmedAndOrderKept() throws {
        let request = try #require(expectOne("GET / HTTP/1.1\r\nA:  one \t\r\nb:two\r\nA:\t\r\nX-Obs: caf\u{e9}\r\n\r\n"))
        let headers = request.head.headers
        #expect(headers.map(\.name) == ["A", "b", "A", "X-Obs"])
        #expect(headers.map(\.value) == ["one", "two", "", "café"])
        #expect(headers.values(for: "a") == ["one", ""])
        #expect(headers["missing"] == nil)
    }

    @Test func pipelinedRequestsComeOutOneByOne() {
        let input = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n"
            + "\r\nDELETE /d HTTP/1.0\r\n\r\n"
        let outcome = parseEveryWay(input)
        #expect(outcome.error == nil)
        #expect(outcome.requests.map(\.head.path) == ["/a", "/b", "/c", "/d"])
        #expect(outcome.requests.map(\.body) == [[], utf8("hello"), utf8("abcde"), []])
        #expect(outcome.requests[2].trailers["t"] == "v")
        #expect(outcome.requests.map(\.head.keepAlive) == [true, true, true, false])
        #expect(!outcome.parser.hasPartialRequest)
    }

    @Test func requestsBeforeAnErrorComeOutFirst() throws {
        var parser = HTTPRequestParser()
        parser.feed(utf8("GET /ok HTTP/1.1\r\n\r\nGET /bad HTTP/1.1\r\nBad Name: x\r\n\r\nGET /never HTTP/1.1\r\n\r\n"))
        #expect(try parser.next()?.head.path == "/ok")
        #expect(throws: HTTPParseError.self) { try parser.next() }
        parser.feed(utf8("GET /after HTTP/1.1\r\n\r\n"))
        #expect(throws: HTTPParseError.self) { try parser.next() }
        #expect(parser.bufferedByteCount == 0)
    }

    @Test(arguments: [
        ("HTTP/1.1", "", true), ("HTTP/1.1", "Connection: close\r\n", false),
        ("HTTP/1.1", "Connection: keep-alive\r\n", true), ("HTTP/1.1", "Connection: Keep-Alive, CLOSE\r\n", false),
        ("HTTP/1.0", "", false), ("HTTP/1.0", "Connection: keep-alive\r\n", true),
        ("HTTP/1.0", "Connection: close\r\n", false), ("HTTP/1.0", "Connection: foo,  Keep-Alive \r\n", true),
    ])
    func keepAliveRules(version: String, header: String, expected: Bool) throws {
        let request = try #require(expectOne("GET / \(version)\r\n\(header)\r\n"))
        #expect(request.head.keepAlive == expected)
        #expect(request.head.version.minor == (version == "HTTP/1.0" ? 0 : 1))
    }

    @Test func upgradeStopsParsingAndHandsOverTheRest() throws {
        let head = "GET /ws/widget HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        let frames: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        let tail = frames + utf8("GET /not-http HTTP/1.1\r\n\r\n")
        for cut in chunkings(of: utf8(head) + tail, randomSplits: 4) {
            var outcome = parse(cut.pieces)
            #expect(outcome.error == nil, "\(cut)")
            #expect(outcome.requests.count == 1, "\(cut)")
            #expect(outcome.requests.first?.head.isUpgrade == true, "\(cut)")
            #expect(outcome.requests.first?.head.upgradeProtocol == "websocket", "\(cut)")
            #expect(outcome.parser.isUpgraded)
            #expect(outcome.parser.takeRemainingBytes() == tail, "\(cut)")
            #expect(outcome.parser.takeRemainingBytes().isEmpty)
            #expect(outcome.parser.bufferedByteCount == 0)
        }
    }

    @Test func upgradeNeedsConnectionUpgradeAndHTTP11() throws {
        let noToken = try #require(expectOne("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"))
        #expect(!noToken.head.isUpgrade)
        #expect(noToken.head.upgradeProtocol == nil)
        let http10 = try #require(expectOne("GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"))
        #expect(!http10.head.isUpgrade)
    }

    @Test func connectStopsParsing() throws {
        var parser = HTTPRequestParser()
        parser.feed(utf8("CONNECT intake.example:443 HTTP/1.1\r\nHost: intake.example:443\r\n\r\n\u{16}\u{3}\u{1}"))
        let request = try #require(try parser.next())
        #expect(request.head.method == "CONNECT")
        #expect(request.head.path == "intake.example:443")
        #expect(try parser.next() == nil)
        #expect(parser.takeRemainingBytes() == [0x16, 0x03, 0x01])
    }

    @Test(arguments: [
        ("/plain", "/plain", nil),
        ("/a%20b/%E4%BD%A0?q=%20", "/a b/你", "q=%20"),
        ("/p?", "/p", ""),
        ("http://intake.example:8080/x/y?z=1", "/x/y", "z=1"),
        ("http://intake.example", "/", nil),
        ("https://intake.example?k", "/", "k"),
    ] as [(String, String, String?)])
    func targetForms(target: String, path: String, query: String?) throws {
        let request = try #require(expectOne("GET \(target) HTTP/1.1\r\n\r\n"))
        #expect(request.head.target == target)
        #expect(request.head.path == path)
        #expect(request.head.query == query)
    }

    @Test func asteriskFormForOptions() throws {
        let request = try #require(expectOne("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(request.head.path == "*")
        #expect(request.head.method == "OPTIONS")
    }

    @Test func anyTokenIsAMethod() throws {
        let request = try #require(expectOne("M-SEARCH_x!~ /x HTTP/1.1\r\n\r\n"))
        #expect(request.head.method == "M-SEARCH_x!~")
    }

    @Test func idleParserHoldsNoHeapBuffer() throws {
        var parser = HTTPRequestParser()
        parser.feed(utf8("GET / HTTP/1.1\r\nHo"))
        #expect(parser.hasPartialRequest)
        #expect(parser.bufferedByteCount == 18)
        parser.feed(utf8("st: x\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab"))
        #expect(parser.hasPartialRequest)
        #expect(parser.bufferedByteCount == 2)
        parser.feed(utf8("c"))
        #expect(!parser.hasPartialRequest)
        #expect(parser.buffer.capacity == 0)
        #expect(parser.body.capacity == 0)
        #expect(try parser.next()?.head.headers["host"] == "x")
        #expect(try parser.next()?.body == utf8("abc"))
        #expect(try parser.next() == nil)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func leadingEmptyLinesAreIgnoredButNotBareLF() throws {
        #expect(expectOne("\r\n\r\nGET / HTTP/1.1\r\n\r\n")?.head.path == "/")
        expectRefused("\nGET / HTTP/1.1\r\n\r\n", .badRequest)
    }

    @Test func headersAPI() {
        var headers: HTTPHeaders = ["Connection": "keep-alive, Upgrade", "Set-Cookie": "a=1"]
        headers.add(name: "set-cookie", value: "b=2\r\nInjected: yes")
        #expect(headers.values(for: "SET-COOKIE") == ["a=1", "b=2  Injected: yes"])
        #expect(headers.contains("connection", token: "upgrade"))
        #expect(!headers.contains("connection", token: "close"))
        headers.replaceOrAdd(name: "Set-Cookie", value: "c=3")
        #expect(headers.values(for: "set-cookie") == ["c=3"])
        headers.remove(name: "connection")
        #expect(headers.count == 1)
        #expect(headers == ["SET-COOKIE": "c=3"])
        #expect(headers != ["Set-Cookie": "c=4"])
    }

    @Test func queryItemsDecodeLeniently() {
        let head = HTTPRequestHead(method: "GET", target: "/", path: "/", query: "a=1&&b&c=%zz&d=%E4%BD%A0+x&=e",
                                   version: .http1_1, headers: HTTPHeaders(), keepAlive: true)
        let items = head.queryItems()
        #expect(items.map(\.0) == ["a", "b", "c", "d", ""])
        #expect(items.map(\.1) == ["1", "", "%zz", "你 x", "e"])
    }
}
