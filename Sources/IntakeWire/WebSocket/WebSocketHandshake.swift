// The server side of the RFC 6455 opening handshake (§4.2): checks a parsed HTTP/1.1 upgrade
// request and builds the 101 response. Stateless; called by the HTTP connection on its loop
// thread once the request head is complete. No extensions or subprotocols are negotiated.
import IntakeCrypto

/// Why an upgrade request was refused, with the HTTP response it calls for.
public enum WebSocketHandshakeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The method was not GET.
    case methodNotGET(String)
    /// The request was HTTP/1.0; RFC 6455 needs HTTP/1.1 or later.
    case httpVersionTooOld
    /// No `Upgrade` header with the token `websocket`.
    case missingUpgradeWebSocket
    /// No `Connection` header with the token `upgrade`.
    case missingConnectionUpgrade
    /// `Sec-WebSocket-Version` absent or not 13 (the value received, if any).
    case unsupportedVersion(String?)
    /// No `Sec-WebSocket-Key` header.
    case missingKey
    /// A `Sec-WebSocket-Key` that is not the base64 of exactly 16 bytes.
    case invalidKey

    /// The HTTP status to answer with: 426 for a version we do not speak, 400 otherwise.
    public var status: Int {
        if case .unsupportedVersion = self { return 426 }
        return 400
    }

    /// Headers the response must carry: `Sec-WebSocket-Version: 13` with a 426 (RFC 6455
    /// §4.4), so the client can retry with a version we speak.
    public var responseHeaders: [(name: String, value: String)] {
        if case .unsupportedVersion = self { return [("Sec-WebSocket-Version", "13")] }
        return []
    }

    /// A short human explanation, for the response body and the log.
    public var description: String {
        switch self {
        case .methodNotGET(let m): "WebSocket upgrade needs GET, not \(m)"
        case .httpVersionTooOld: "WebSocket upgrade needs HTTP/1.1"
        case .missingUpgradeWebSocket: "missing Upgrade: websocket"
        case .missingConnectionUpgrade: "missing Connection: upgrade"
        case .unsupportedVersion(let v): "unsupported Sec-WebSocket-Version \(v ?? "(none)"); answer 426 with Sec-WebSocket-Version: 13"
        case .missingKey: "missing Sec-WebSocket-Key"
        case .invalidKey: "Sec-WebSocket-Key is not base64 of 16 bytes"
        }
    }
}

/// The opening handshake, server side.
public enum WebSocketHandshake {
    /// The GUID RFC 6455 appends to the client's key before hashing.
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`:
    /// base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        Base64.encode(Digest.sha1(Array((key + guid).utf8)))
    }

    /// Checks an upgrade request and returns the accept value to answer with.
    /// - Parameters:
    ///   - method: the request method, as sent (methods are case-sensitive).
    ///   - versionMinor: the minor HTTP version of an HTTP/1.x request.
    ///   - header: the value of a request header by name, looked up case-insensitively; for a
    ///     header sent more than once, the values joined with ", ".
    public static func validate(method: String, versionMinor: Int,
                                header: (String) -> String?) -> Result<String, WebSocketHandshakeError> {
        guard method == "GET" else { return .failure(.methodNotGET(method)) }
        guard versionMinor >= 1 else { return .failure(.httpVersionTooOld) }
        guard let upgrade = header("Upgrade"), hasToken(upgrade, "websocket") else {
            return .failure(.missingUpgradeWebSocket)
        }
        guard let connection = header("Connection"), hasToken(connection, "upgrade") else {
            return .failure(.missingConnectionUpgrade)
        }
        let version = header("Sec-WebSocket-Version").map { trimmed($0) }
        guard version == "13" else { return .failure(.unsupportedVersion(version)) }
        guard let rawKey = header("Sec-WebSocket-Key") else { return .failure(.missingKey) }
        let key = trimmed(rawKey)
        guard key.utf8.count == 24, let nonce = Base64.decode(key), nonce.count == 16 else {
            return .failure(.invalidKey)
        }
        return .success(acceptValue(forKey: key))
    }

    /// A fresh `Sec-WebSocket-Key` for a client: base64 of 16 cryptographically random bytes.
    public static func makeClientKey() -> String {
        Base64.encode(SecureRandom.bytes(16))
    }

    /// The complete `101 Switching Protocols` response head, ending with the blank line.
    public static func responseHead(accept: String) -> [UInt8] {
        Array(("HTTP/1.1 101 Switching Protocols\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: \(accept)\r\n\r\n").utf8)
    }

    /// Whether a comma-separated header value lists `token` (ASCII case-insensitive).
    static func hasToken(_ value: String, _ token: String) -> Bool {
        value.split(separator: ",").contains { asciiLowercased(trimmed($0)) == token }
    }

    private static func trimmed<S: StringProtocol>(_ s: S) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = s.firstIndex(where: { !isSpace($0) }), let last = s.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(s[first...last])
    }

    private static func asciiLowercased(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
