// HTTPRequest: one complete request as the parser hands it over: the head (request line and
// headers, with the facts the connection needs precomputed) and the whole body. Values created
// on the connection's loop thread and sendable to the core thread.

/// The HTTP version of a request.
public struct HTTPVersion: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The major version (always 1 for a parsed request).
    public var major: Int
    /// The minor version (0 or 1 for a parsed request).
    public var minor: Int
    /// A version `major.minor`.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }
    /// HTTP/1.0.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1.
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    /// `"HTTP/1.1"`.
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// The request line and header section of a request.
public struct HTTPRequestHead: Sendable, Equatable {
    /// The method token exactly as sent (methods are case-sensitive), e.g. `"GET"`.
    public var method: String
    /// The request-target exactly as sent: origin-form `/p?q`, absolute-form
    /// `http://h/p?q`, `*` (OPTIONS only) or authority-form `host:port` (CONNECT only).
    public var target: String
    /// The percent-decoded path of the target (`/` for an absolute-form target without one).
    /// For `*` and authority-form it is the target itself. Note that `%2F` decodes to `/`.
    public var path: String
    /// The raw query after `?`, not decoded, or nil when the target has no `?`.
    public var query: String?
    /// The protocol version (1.0 or 1.1).
    public var version: HTTPVersion
    /// The header fields in the order sent.
    public var headers: HTTPHeaders
    /// Whether the connection stays open after the response: HTTP/1.1 unless `Connection:
    /// close`; HTTP/1.0 only with `Connection: keep-alive` (and never with `close`).
    public var keepAlive: Bool
    /// True for an HTTP/1.1 request with an `Upgrade` header and `Connection: upgrade`; the
    /// parser hands over no more requests after it (see `takeRemainingBytes()`).
    public var isUpgrade: Bool
    /// The `Upgrade` header's value as sent (e.g. `"websocket"`) when `isUpgrade`.
    public var upgradeProtocol: String?

    /// A head built by hand (tests, internal requests).
    public init(method: String, target: String, path: String, query: String?, version: HTTPVersion,
                headers: HTTPHeaders, keepAlive: Bool, isUpgrade: Bool = false, upgradeProtocol: String? = nil) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.keepAlive = keepAlive
        self.isUpgrade = isUpgrade
        self.upgradeProtocol = upgradeProtocol
    }

    /// The query's `name=value` pairs in order, with `+` as space and `%XX` decoded. Lenient:
    /// a bad escape stays as written and invalid UTF-8 becomes U+FFFD; empty pieces are skipped;
    /// a piece without `=` has an empty value.
    public func queryItems() -> [(String, String)] {
        guard let query, !query.isEmpty else { return [] }
        var items: [(String, String)] = []
        for piece in query.split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = piece.firstIndex(of: "=") {
                items.append((percentDecodeLenient(piece[..<eq].utf8, plusIsSpace: true),
                              percentDecodeLenient(piece[piece.index(after: eq)...].utf8, plusIsSpace: true)))
            } else {
                items.append((percentDecodeLenient(piece.utf8, plusIsSpace: true), ""))
            }
        }
        return items
    }
}

/// A complete request: head, whole body (bodies are bounded by `HTTPLimits.maxBodyBytes`), and
/// the trailer fields of a chunked body.
public struct HTTPRequest: Sendable, Equatable {
    /// The request line and headers.
    public var head: HTTPRequestHead
    /// The body, after chunked decoding; empty when the request has none.
    public var body: [UInt8]
    /// Trailer fields sent after a chunked body (empty otherwise). Kept apart from the head's
    /// headers on purpose: RFC 9110 §6.5 forbids merging them blindly.
    public var trailers: HTTPHeaders
    /// Path parameters captured by the router (`/api/v1/sessions/{id}` → ["id": …]).
    public var params: [String: String] = [:]

    /// A request built by hand (tests, internal requests).
    public init(head: HTTPRequestHead, body: [UInt8] = [], trailers: HTTPHeaders = HTTPHeaders()) {
        self.head = head
        self.body = body
        self.trailers = trailers
    }
}
