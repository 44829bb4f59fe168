// Newline-delimited JSON over raw TCP (CONTRACT.md "Raw TCP"), the wire of `intake-bench ingest`:
// the auth line first, answered by `{"type":"authenticated",…}` (anything else fails the
// connection), then one Envelope line per request and one answer line each, `{"ack":…}` or
// `{"error":…}`. Immutable; any thread.

/// NDJSON request/answer framing for ClientLoop.
struct NDJSONClientProtocol: WireProtocol {
    static let headroom = 0
    static let trailer = 1  // the newline
    /// Longest answer line accepted.
    static let maxLineBytes = 1 << 20
    private static let authenticated = Array(#""authenticated""#.utf8)
    private static let error = Array(#""error""#.utf8)
    private static let ack = Array(#""ack""#.utf8)
    private static let duplicateTrue = Array(#""duplicate":true"#.utf8)
    private static let duplicateTrueSpaced = Array(#""duplicate": true"#.utf8)

    /// The `{"type":"auth",…}` line sent first; without one no answer is awaited.
    let authLine: String?
    var awaitsHandshakeResponse: Bool { authLine != nil }

    func openingRequest() -> (request: [UInt8], expectation: String) {
        (authLine.map { Array(($0 + "\n").utf8) } ?? [], "")
    }

    /// The answer to the auth line: the `"authenticated"` type lets the connection go on; an error
    /// line is fatal. Tolerates spaces after colons.
    func parseHandshake(_ input: UnsafeRawBufferPointer, expectation: String) -> HandshakeStatus {
        guard let newline = input.firstIndex(of: UInt8(ascii: "\n")) else {
            return input.count > Self.maxLineBytes ? .failed("auth answer over \(Self.maxLineBytes) bytes") : .needMore
        }
        let line = UnsafeRawBufferPointer(rebasing: input[..<newline])
        guard contains(line, Self.authenticated), !contains(line, Self.error) else {
            return .failed("auth refused: " + String(decoding: line.prefix(300), as: UTF8.self))
        }
        return .done(consumed: newline + 1)
    }

    @inline(__always)
    func frame(_ buffer: UnsafeMutableRawPointer, bodyStart: Int, bodyCount: Int, rng: inout FastRNG) -> (start: Int, count: Int) {
        buffer.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: bodyStart + bodyCount, as: UInt8.self)
        return (bodyStart, bodyCount + 1)
    }

    func pong(_ payload: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawPointer, rng: inout FastRNG) -> Int { 0 }

    @inline(__always)
    func next(_ input: UnsafeMutableRawBufferPointer) -> Incoming {
        guard let newline = input.firstIndex(of: UInt8(ascii: "\n")) else {
            return input.count > Self.maxLineBytes ? .fatal("answer line over \(Self.maxLineBytes) bytes") : .needMore
        }
        return .data(consumed: newline + 1, payloadStart: 0, payloadCount: newline)
    }

    /// An answer is an ack only if it has an `"ack"` member (inside a JSON string that token would
    /// be escaped); anything else, an error line above all, is an error.
    @inline(__always)
    func classify(_ payload: UnsafeRawBufferPointer) -> AnswerKind {
        guard contains(payload, Self.ack) else { return .error }
        return contains(payload, Self.duplicateTrue) || contains(payload, Self.duplicateTrueSpaced) ? .duplicate : .ok
    }
}
