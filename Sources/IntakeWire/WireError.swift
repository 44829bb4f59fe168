// IntakeWire: resumable codecs for HTTP/1.1, WebSocket and NDJSON. Value types owned by the
// connection (and so the loop thread) that feeds them.

/// Why a peer's bytes were refused. Each case maps to one HTTP status or WebSocket close code
/// in one place (see `HTTPStatus`, `WebSocketCloseCode`).
public enum WireError: Error, Equatable, Sendable {
    case badRequest(String)
    case headersTooLarge
    case bodyTooLarge
    case uriTooLong
    case notImplemented(String)
}
