// HTTPParseError: why a request's bytes were refused. Each kind has one status and one stable
// code (the CONTRACT's `error` field), so the mapping to a response lives in one place.
// Immutable values, created on the loop thread that owns the parser and freely sendable.

/// A request refused by `HTTPRequestParser`; after one, the connection answers it and closes.
public struct HTTPParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The closed set of reasons, one per response status.
    public enum Kind: Sendable, Equatable {
        /// Malformed syntax or framing (400).
        case badRequest
        /// The body is larger than `maxBodyBytes` (413).
        case bodyTooLarge
        /// The request-target is longer than `maxURIBytes` (414).
        case uriTooLong
        /// The head or trailers exceed `maxHeaderBytes` or `maxHeaderCount` (431).
        case headersTooLarge
        /// A transfer coding other than chunked (501).
        case notImplemented
        /// A well-formed HTTP version other than 1.0 or 1.1 (505).
        case versionNotSupported
    }

    /// Which rule the request broke.
    public let kind: Kind
    /// A short human explanation, safe to send back to the peer.
    public let message: String

    /// Makes an error of `kind` explained by `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The response status for this error.
    public var status: HTTPStatus {
        switch kind {
        case .badRequest: .badRequest
        case .bodyTooLarge: .contentTooLarge
        case .uriTooLong: .uriTooLong
        case .headersTooLarge: .requestHeaderFieldsTooLarge
        case .notImplemented: .notImplemented
        case .versionNotSupported: .httpVersionNotSupported
        }
    }

    /// The stable machine-readable code, used as the `error` field of the error body.
    public var code: String {
        switch kind {
        case .badRequest: "bad_request"
        case .bodyTooLarge: "body_too_large"
        case .uriTooLong: "uri_too_long"
        case .headersTooLarge: "headers_too_large"
        case .notImplemented: "not_implemented"
        case .versionNotSupported: "version_not_supported"
        }
    }

    /// `"<status> <code>: <message>"`, for logs.
    public var description: String { "\(status.code) \(code): \(message)" }

    static func bad(_ message: String) -> HTTPParseError { HTTPParseError(.badRequest, message) }
}
