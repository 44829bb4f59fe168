// The seam between the generic closed-loop client (ClientLoop) and a wire format: WebSocket for
// `ws`, newline-delimited JSON for `ingest`. A protocol value is immutable and shared by the
// threads of a run; per-connection state lives in ClientLoop.Conn.

/// Result of looking for the server's handshake response at the start of a connection's input.
enum HandshakeStatus {
    case needMore
    /// The response ended after `consumed` bytes; anything after it is protocol data.
    case done(consumed: Int)
    case failed(String)
}

/// One decoding step over a connection's buffered input. Offsets are relative to the buffer given.
enum Incoming {
    case needMore
    /// A complete data message (a reply candidate) with its payload range.
    case data(consumed: Int, payloadStart: Int, payloadCount: Int)
    /// A ping whose payload must be echoed in a pong.
    case ping(consumed: Int, payloadStart: Int, payloadCount: Int)
    /// Input that needs no action (pong, a non-final fragment).
    case skip(consumed: Int)
    /// The connection cannot go on (server close, malformed input).
    case fatal(String)
}

/// A request/reply wire format driven by ClientLoop. Encoders write into a caller-owned buffer and
/// never allocate, so the hot path does no allocation per message.
protocol WireProtocol {
    /// Bytes reserved before a message body for the encoder's header.
    static var headroom: Int { get }
    /// Bytes reserved after a message body for the encoder's trailer.
    static var trailer: Int { get }

    /// Whether the server answers the opening request (the WebSocket 101) before messages flow.
    var awaitsHandshakeResponse: Bool { get }

    /// The opening request of one connection (empty for none) and a token the response is checked against.
    func openingRequest() -> (request: [UInt8], expectation: String)

    /// Looks for the complete handshake response in `input`.
    func parseHandshake(_ input: UnsafeRawBufferPointer, expectation: String) -> HandshakeStatus

    /// Frames the body at `buffer[bodyStart ..< bodyStart + bodyCount]` in place; returns the
    /// range to send. The body may be rewritten (WebSocket masking).
    func frame(_ buffer: UnsafeMutableRawPointer, bodyStart: Int, bodyCount: Int, rng: inout FastRNG) -> (start: Int, count: Int)

    /// Writes the answer to a ping with `payload` into `buffer`; returns its length.
    func pong(_ payload: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawPointer, rng: inout FastRNG) -> Int

    /// Decodes the next unit of input. May unmask in place, hence the mutable buffer.
    func next(_ input: UnsafeMutableRawBufferPointer) -> Incoming

    /// What a reply means for the request it answers (ingest: an ack, a duplicate ack, an error).
    func classify(_ payload: UnsafeRawBufferPointer) -> AnswerKind
}

/// The meaning of one reply, counted separately by ClientLoop.
enum AnswerKind {
    case ok
    /// Accepted, but the server had already stored it (ingest `"duplicate":true`).
    case duplicate
    case error
}

extension WireProtocol {
    /// Echo-style protocols: every reply is a plain success.
    @inline(__always)
    func classify(_ payload: UnsafeRawBufferPointer) -> AnswerKind { .ok }
}

/// xorshift64* for WebSocket mask keys: masking only has to be unpredictable to intermediaries,
/// and a getrandom call per frame would cost more than the frame.
struct FastRNG {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    @inline(__always) mutating func next32() -> UInt32 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return UInt32(truncatingIfNeeded: (state &* 2_685_821_657_736_338_717) >> 32)
    }
}

/// Byte-string search used for --reply-match and ingest answers (short needles, short payloads).
@inline(__always)
func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool { find(haystack, needle) != nil }

/// Offset of the first occurrence of `needle` in `haystack`, nil when absent.
@inline(__always)
func find(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Int? {
    let n = needle.count
    guard n > 0 else { return 0 }
    guard haystack.count >= n else { return nil }
    let first = needle[0]
    var i = 0
    while i <= haystack.count - n {
        if haystack[i] == first {
            var j = 1
            while j < n && haystack[i + j] == needle[j] { j += 1 }
            if j == n { return i }
        }
        i += 1
    }
    return nil
}
