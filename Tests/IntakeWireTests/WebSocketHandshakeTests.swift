// The opening handshake: RFC 6455's accept example, the exact 101 response, and each way an
// upgrade request can be refused, with its status. Test-thread only.
import Testing
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct WebSocketHandshakeTests {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let good: [String: String] = [
        "upgrade": "websocket", "connection": "Upgrade", "sec-websocket-key": key, "sec-websocket-version": "13",
        "host": "server.example.com",
    ]

    func validate(_ headers: [String: String], method: String = "GET", minor: Int = 1) -> Result<String, WebSocketHandshakeError> {
        WebSocketHandshake.validate(method: method, versionMinor: minor) { headers[$0.lowercased()] }
    }

    func with(_ name: String, _ value: String?) -> [String: String] {
        var h = Self.good
        h[name] = value
        return h
    }

    // RFC 6455 §1.3 (checked with `openssl sha1 -binary | base64`).
    @Test func rfcAcceptExample() {
        #expect(WebSocketHandshake.acceptValue(forKey: Self.key) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func goodRequestIsAccepted() {
        #expect(validate(Self.good) == .success("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    }

    @Test(arguments: [
        ("upgrade", "WebSocket"), ("upgrade", "WEBSOCKET"), ("upgrade", " websocket "), ("upgrade", "foo, websocket"),
        ("connection", "keep-alive, Upgrade"), ("connection", "upgrade"), ("connection", "UPGRADE,keep-alive"),
        ("sec-websocket-version", " 13 "), ("sec-websocket-key", " dGhlIHNhbXBsZSBub25jZQ== "),
    ])
    func tolerantForms(name: String, value: String) {
        #expect(validate(with(name, value)) == .success("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    }

    @Test func refusals() {
        #expect(validate(Self.good, method: "POST") == .failure(.methodNotGET("POST")))
        #expect(validate(Self.good, method: "get") == .failure(.methodNotGET("get")))
        #expect(validate(Self.good, minor: 0) == .failure(.httpVersionTooOld))
        #expect(validate(with("upgrade", nil)) == .failure(.missingUpgradeWebSocket))
        #expect(validate(with("upgrade", "h2c")) == .failure(.missingUpgradeWebSocket))
        #expect(validate(with("upgrade", "websockets")) == .failure(.missingUpgradeWebSocket))
        #expect(validate(with("connection", nil)) == .failure(.missingConnectionUpgrade))
        #expect(validate(with("connection", "keep-alive")) == .failure(.missingConnectionUpgrade))
        #expect(validate(with("connection", "upgraded")) == .failure(.missingConnectionUpgrade))
        #expect(validate(with("sec-websocket-version", "8")) == .failure(.unsupportedVersion("8")))
        #expect(validate(with("sec-websocket-version", nil)) == .failure(.unsupportedVersion(nil)))
        #expect(validate(with("sec-websocket-key", nil)) == .failure(.missingKey))
        #expect(validate(with("sec-websocket-key", "")) == .failure(.invalidKey))
        #expect(validate(with("sec-websocket-key", "not base64 at all!!!!!!!")) == .failure(.invalidKey))
        #expect(validate(with("sec-websocket-key", "AAAAAAAAAAAAAAAAAAAA")) == .failure(.invalidKey))       // 15 bytes
        #expect(validate(with("sec-websocket-key", "AAAAAAAAAAAAAAAAAAAAAAA=")) == .failure(.invalidKey))   // 17 bytes
        #expect(validate(with("sec-websocket-key", "AAAAAAAAAAAAAAAAAAAAAA==")) == .success(WebSocketHandshake.acceptValue(forKey: "AAAAAAAAAAAAAAAAAAAAAA==")))
    }

    @Test func statusesAndHeaders() {
        let version = WebSocketHandshakeError.unsupportedVersion("8")
        #expect(version.status == 426)
        #expect(version.responseHeaders.map(\.name) == ["Sec-WebSocket-Version"])
        #expect(version.responseHeaders.map(\.value) == ["13"])
        #expect(version.description.contains("426"))
        for error in [WebSocketHandshakeError.methodNotGET("PUT"), .httpVersionTooOld, .missingUpgradeWebSocket,
                      .missingConnectionUpgrade, .missingKey, .invalidKey] {
            #expect(error.status == 400)
            #expect(error.responseHeaders.isEmpty)
        }
    }

    @Test func responseHeadIsExact() {
        let head = WebSocketHandshake.responseHead(accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(String(decoding: head, as: UTF8.self) ==
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    }

    @Test func clientKeysAreFreshAndWellFormed() {
        let a = WebSocketHandshake.makeClientKey(), b = WebSocketHandshake.makeClientKey()
        #expect(a != b)
        var h = Self.good
        h["sec-websocket-key"] = a
        #expect(validate(h) == .success(WebSocketHandshake.acceptValue(forKey: a)))
    }
}
