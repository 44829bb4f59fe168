// HTTPLimits: the bounds every HTTP/1.1 request parser enforces, so that one peer can hold at
// most a known number of bytes of a connection's memory. Immutable values, shared freely.

/// The bounds a `HTTPRequestParser` enforces; each has its own error status when exceeded.
public struct HTTPLimits: Sendable, Equatable {
    /// Bytes of the request line plus all header lines, CRLFs included, the empty line that ends
    /// the head excluded (431 past it). The same bound applies to a chunked body's trailer section.
    public var maxHeaderBytes: Int
    /// Bytes of a request body, after chunked decoding (413 past it).
    public var maxBodyBytes: Int
    /// Header lines in a head (or trailer lines after a chunked body) (431 past it).
    public var maxHeaderCount: Int
    /// Bytes of the request-target as sent, before percent-decoding (414 past it).
    public var maxURIBytes: Int
    /// Bytes of one chunk-size line, extensions included, CRLF excluded (400 past it).
    public var maxChunkLineBytes: Int

    /// Limits with the broker's defaults: 16 KiB head, 1 MiB body, 100 headers, 8 KiB URI,
    /// 4 KiB chunk-size line.
    public init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1024 * 1024,
                maxHeaderCount: Int = 100, maxURIBytes: Int = 8 * 1024,
                maxChunkLineBytes: Int = 4 * 1024) {
        precondition(maxHeaderBytes > 0 && maxBodyBytes >= 0 && maxHeaderCount >= 0,
                     "BUG: HTTP limits must not be negative")
        precondition(maxURIBytes > 0 && maxChunkLineBytes > 0, "BUG: HTTP limits must be positive")
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxURIBytes = maxURIBytes
        self.maxChunkLineBytes = maxChunkLineBytes
    }
}
