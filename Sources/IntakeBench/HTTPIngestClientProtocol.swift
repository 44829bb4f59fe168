// HTTP/1.1 keep-alive POSTs for `intake-bench ingest --http` (CONTRACT.md, POST /api/v1/messages):
// one request at a time per connection, the response framed by its status line and
// Content-Length. 202 is an acknowledgement, any other status an error. Immutable; any thread.

/// HTTP ingest request/response framing for ClientLoop.
struct HTTPIngestClientProtocol: WireProtocol {
    /// Room before the body for the request head, written right-aligned against it.
    static let headroom = 1024
    static let trailer = 0
    /// Longest response accepted.
    static let maxResponseBytes = 1 << 20
    private static let headEnd = Array("\r\n\r\n".utf8)
    private static let duplicateTrue = Array(#""duplicate":true"#.utf8)
    private static let duplicateTrueSpaced = Array(#""duplicate": true"#.utf8)

    /// The request head up to and including `Content-Length: `.
    private let head: [UInt8]

    init(endpoint: Endpoint, key: String?) throws(UsageError) {
        var text = "POST /api/v1/messages HTTP/1.1\r\nHost: \(endpoint.hostHeader)\r\n"
        if let key { text += "Authorization: Bearer \(key)\r\n" }
        text += "Content-Type: application/json\r\nContent-Length: "
        head = Array(text.utf8)
        guard head.count + 24 <= Self.headroom else { throw UsageError("--key is too long for the request head") }
    }

    var awaitsHandshakeResponse: Bool { false }
    func openingRequest() -> (request: [UInt8], expectation: String) { ([], "") }
    func parseHandshake(_ input: UnsafeRawBufferPointer, expectation: String) -> HandshakeStatus { .done(consumed: 0) }
    func pong(_ payload: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawPointer, rng: inout FastRNG) -> Int { 0 }

    /// Writes head, length and the blank line immediately before the body; returns the request's range.
    @inline(__always)
    func frame(_ buffer: UnsafeMutableRawPointer, bodyStart: Int, bodyCount: Int, rng: inout FastRNG) -> (start: Int, count: Int) {
        var start = bodyStart - 4
        for (i, byte) in Self.headEnd.enumerated() { buffer.storeBytes(of: byte, toByteOffset: start + i, as: UInt8.self) }
        start -= decimalDigits(UInt64(bodyCount))
        _ = writeDecimal(UInt64(bodyCount), to: buffer + start)
        start -= head.count
        head.withUnsafeBytes { (buffer + start).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return (start, bodyStart + bodyCount - start)
    }

    /// One whole response (head and body) as the payload.
    func next(_ input: UnsafeMutableRawBufferPointer) -> Incoming {
        let bytes = UnsafeRawBufferPointer(input)
        guard let end = find(bytes, Self.headEnd) else {
            return input.count > Self.maxResponseBytes ? .fatal("response head over \(Self.maxResponseBytes) bytes") : .needMore
        }
        let headBytes = UnsafeRawBufferPointer(rebasing: bytes[..<end])
        guard headBytes.starts(with: "HTTP/1.1 ".utf8) || headBytes.starts(with: "HTTP/1.0 ".utf8) else {
            return .fatal("not an HTTP/1.x response: " + String(decoding: headBytes.prefix(80), as: UTF8.self))
        }
        guard let length = Self.contentLength(headBytes) else {
            return .fatal("response without a usable Content-Length (chunked bodies are not supported)")
        }
        let total = end + 4 + length
        guard total <= Self.maxResponseBytes else { return .fatal("response over \(Self.maxResponseBytes) bytes") }
        return input.count < total ? .needMore : .data(consumed: total, payloadStart: 0, payloadCount: total)
    }

    /// 202 is an ack (a duplicate when its body says so); every other status is an error.
    @inline(__always)
    func classify(_ payload: UnsafeRawBufferPointer) -> AnswerKind {
        guard payload.count >= 12, payload[9] == UInt8(ascii: "2"), payload[10] == UInt8(ascii: "0"),
              payload[11] == UInt8(ascii: "2") else { return .error }
        return contains(payload, Self.duplicateTrue) || contains(payload, Self.duplicateTrueSpaced) ? .duplicate : .ok
    }

    /// The Content-Length header's value (names compared case-insensitively, no allocation); nil
    /// when absent or malformed, or when a Transfer-Encoding header is present (chunked body).
    static func contentLength(_ head: UnsafeRawBufferPointer) -> Int? {
        var length: Int? = nil
        var lineStart = (find(head, lf) ?? head.count) + 1
        while lineStart < head.count {
            let lineEnd = find(UnsafeRawBufferPointer(rebasing: head[lineStart...]), lf).map { lineStart + $0 } ?? head.count
            let line = UnsafeRawBufferPointer(rebasing: head[lineStart..<lineEnd])
            if hasName(line, transferEncoding) { return nil }
            if hasName(line, contentLengthName) {
                var value = 0
                var digits = 0
                for byte in line[contentLengthName.count...] {
                    if byte >= 0x30 && byte <= 0x39 {
                        guard value < 1 << 40 else { return nil }
                        value = value * 10 + Int(byte - 0x30)
                        digits += 1
                    } else if byte != 0x20 && byte != 0x09 && byte != 0x0D {
                        return nil
                    }
                }
                guard digits > 0 else { return nil }
                length = value
            }
            lineStart = lineEnd + 1
        }
        return length
    }

    private static let lf = [UInt8(ascii: "\n")]
    private static let contentLengthName = Array("content-length:".utf8)
    private static let transferEncoding = Array("transfer-encoding:".utf8)

    /// Whether `line` starts with the lower-case `name` (ASCII case-insensitive).
    private static func hasName(_ line: UnsafeRawBufferPointer, _ name: [UInt8]) -> Bool {
        guard line.count >= name.count else { return false }
        for i in 0..<name.count {
            let byte = line[i]
            let lower = byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
            if lower != name[i] { return false }
        }
        return true
    }
}
